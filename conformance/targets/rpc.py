"""The ``rpc`` target: an implementation in another process (or behind an agent on a device)
speaking syncrig-rpc/1 (:mod:`conformance.rpc`). ``syncrig serve rpc`` serves the references
this way, so the same suite runs in-process and over the wire."""

from __future__ import annotations

import os
import re
from typing import Any

from conformance.rpc import RpcClient
from sim.device import Device, load_profile
from sim.device.profile import fixtures_dir

APIS = ("cloudSync", "request")
"""The targets ``open`` makes: the name a campaign asks for, as the protocol spells it."""

TOKEN_ENV = "SYNCRIG_RPC_TOKEN"
"""Where a client finds the token of a server that needs one (and ``syncrig serve rpc`` its
own, when ``--token`` is not given)."""


def server_token(given: str | None) -> str | None:
    """A server's token: ``given`` (``--token``), else ``$SYNCRIG_RPC_TOKEN``, else none."""
    return given if given is not None else os.environ.get(TOKEN_ENV) or None


class RpcTarget:
    """A fresh target of one API on the server, one connection per target. ``token`` is the
    server's, when it has one; by default ``$SYNCRIG_RPC_TOKEN``."""

    def __init__(self, host: str, port: int, api: str, device: str = "phone",
                 profile: str = "documented", token: str | None = None) -> None:
        if token is None:
            token = os.environ.get(TOKEN_ENV) or None
        self._client = RpcClient.connect(host, port)
        try:
            self._remote = self._client.open(api, token=token, device=device, profile=profile)
        except BaseException:
            self._client.close()
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._remote, name)

    def close(self) -> None:
        try:
            self._remote.close()
        finally:
            self._client.close()


def device_names() -> list[str]:
    """The device profiles a client may name: those of the fixtures folder, by name only (a
    path would let a client make the server read any file)."""
    folder = fixtures_dir() / "devices"
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def open_target(target: str, options: dict[str, Any]) -> Any:
    """What ``syncrig serve rpc`` opens: a reference on a simulated device. Every option is
    checked, and the device built, before the target makes its folder: a refused ``open``
    leaves nothing behind."""
    if target not in APIS:
        raise ValueError(f"unknown target {target!r} (this server has: {', '.join(APIS)})")
    unknown = set(options) - {"device", "profile"}
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)} (known: device, profile)")
    device = options.get("device", "phone")
    profile = options.get("profile", "documented")
    if not isinstance(device, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", device) \
            or device not in device_names():
        raise ValueError(f"unknown device {device!r} (known: {', '.join(device_names())})")
    if not isinstance(profile, str):
        raise ValueError(f"unknown profile {profile!r}")
    if target == "cloudSync":
        from conformance.targets.reference import ReferenceCloudSync
        from sim.ohos.cloudsync.fidelity import PROFILES as CLOUDSYNC

        fidelity = _profile(CLOUDSYNC, profile)
        return ReferenceCloudSync(device, fidelity, device=Device(load_profile(device)))
    from conformance.targets.reference import ReferenceRequest
    from sim.ohos.request.fidelity import PROFILES as REQUEST

    fidelity = _profile(REQUEST, profile)
    return ReferenceRequest(device, fidelity, device=Device(load_profile(device)))


def _profile(profiles: dict[str, Any], name: str) -> Any:
    if name not in profiles:
        raise ValueError(f"unknown profile {name!r} (known: {', '.join(profiles)})")
    return profiles[name]
