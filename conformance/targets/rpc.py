"""The ``rpc`` target: an implementation in another process (or behind an agent on a device)
speaking syncrig-rpc/1 (:mod:`conformance.rpc`). ``syncrig serve rpc`` serves the references
this way, so the same suite runs in-process and over the wire."""

from __future__ import annotations

from typing import Any

from conformance.rpc import RpcClient

APIS = ("cloudSync", "request")
"""The targets ``open`` makes: the name a campaign asks for, as the protocol spells it."""


class RpcTarget:
    """A fresh target of one API on the server, one connection per target."""

    def __init__(self, host: str, port: int, api: str, device: str = "phone",
                 profile: str = "documented") -> None:
        self._client = RpcClient.connect(host, port)
        try:
            self._remote = self._client.open(api, device=device, profile=profile)
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


def open_target(target: str, options: dict[str, Any]) -> Any:
    """What ``syncrig serve rpc`` opens: a reference on a simulated device."""
    if target not in APIS:
        raise ValueError(f"unknown target {target!r} (this server has: {', '.join(APIS)})")
    unknown = set(options) - {"device", "profile"}
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)} (known: device, profile)")
    device = str(options.get("device", "phone"))
    profile = str(options.get("profile", "documented"))
    if target == "cloudSync":
        from conformance.targets.reference import ReferenceCloudSync
        from sim.ohos.cloudsync.fidelity import PROFILES as CLOUDSYNC

        return ReferenceCloudSync(device, _profile(CLOUDSYNC, profile))
    from conformance.targets.reference import ReferenceRequest
    from sim.ohos.request.fidelity import PROFILES as REQUEST

    return ReferenceRequest(device, _profile(REQUEST, profile))


def _profile(profiles: dict[str, Any], name: str) -> Any:
    if name not in profiles:
        raise ValueError(f"unknown profile {name!r} (known: {', '.join(profiles)})")
    return profiles[name]
