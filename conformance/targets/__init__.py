"""What a conformance machine talks to: a *target* — the reference in this process, the same
over syncrig-rpc/1 (:class:`~conformance.targets.rpc.RpcTarget`), a NAS
(:class:`~conformance.targets.nas.NasTarget`), or an agent on a device.

The protocols below are what the machines may use of a target, and nothing else. A target
whose device has no Controls (real hardware, ``has_controls`` false) offers no way to change
the device's conditions: the machines' rules that need them carry preconditions and are
skipped, and the documented items only they reach are excused with that reason. The helpers
that arrange a target's world (an app file written, a symlink swapped in) exist on targets the
suite builds; each is named in the protocol of the machine that uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Target(Protocol):
    """What every machine needs: the device the API runs on, the API as each caller sees
    it, whether the device's conditions can be changed, and a way to let it all go."""

    device: Any
    """The device (its ``sensors``, ``trace``, ``run``; its ``controls`` when it has them)."""
    has_controls: bool
    modules: Mapping[str, Any]
    """The API module by caller (``system``, ``no-permission``, ``not-system`` for
    cloudSync; ``app`` and ``denied`` for request)."""

    def close(self) -> None: ...


class CloudSyncTarget(Target, Protocol):
    """A cloudSync target: the cloud account behind the module, and the world around it."""

    cloud: Any
    """The simulated cloud service (faults: ``server_down``, ``extra_latency_s``)."""
    drive: Any
    """The account's drive (quota, login, per-app switches and containers)."""

    def write_app_file(self, bundle: str, rel: str, data: bytes) -> None: ...
    def set_fs_fault(self, rel: str, error: int | None) -> None: ...
    def plant_object(self, bundle: str, rel: str, size: int) -> None: ...


class RequestTarget(Target, Protocol):
    """A request target: the app's cache folder as files, and sentinels beside the sandbox
    the path attacks must leave alone."""

    def cache_files(self) -> list[str]: ...
    def read_cache(self, rel: str) -> bytes: ...
    def read_files(self, rel: str) -> bytes: ...
    def outside_state(self) -> list[tuple[str, int, int, str]]: ...
    def swap_for_symlink(self, rel: str) -> None: ...
    def plant_link(self, rel: str) -> None: ...
