"""The ``rpc`` target: an implementation in another process (or behind an agent on a device)
speaking syncrig-rpc/1 (:mod:`conformance.rpc`). ``syncrig serve rpc`` serves the reference
this way, so the same suite runs in-process and over the wire."""

from __future__ import annotations

from typing import Any

from conformance.rpc import RpcClient


class RpcCloudSync:
    """A fresh cloudSync target on the server, one connection per target."""

    def __init__(self, host: str, port: int, device: str = "phone",
                 profile: str = "documented") -> None:
        self._client = RpcClient.connect(host, port)
        self._remote = self._client.open("cloudSync", device=device, profile=profile)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._remote, name)

    def close(self) -> None:
        try:
            self._remote.close()
        finally:
            self._client.close()


def open_target(target: str, options: dict[str, Any]) -> Any:
    """What ``syncrig serve rpc`` opens: the reference on a simulated device."""
    from conformance.targets.reference import ReferenceCloudSync

    if target != "cloudSync":
        raise ValueError(f"unknown target {target!r} (this server has: cloudSync)")
    from sim.ohos.cloudsync.fidelity import PROFILES

    unknown = set(options) - {"device", "profile"}
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)} (known: device, profile)")
    profile = str(options.get("profile", "documented"))
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
    return ReferenceCloudSync(str(options.get("device", "phone")), PROFILES[profile])
