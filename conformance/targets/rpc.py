"""The ``rpc`` target: an implementation in another process (or behind an agent on a device)
speaking syncrig-rpc/1 (:mod:`conformance.rpc`). ``syncrig serve rpc`` serves the references
this way, so the same suite runs in-process and over the wire."""

from __future__ import annotations

import os
import re
from typing import Any

from simpy import Environment

from conformance.rpc import Capabilities, InvalidParams, Offer, RpcClient
from conformance.targets.reference import ReferenceCloudSync, ReferenceRequest
from sim.cloud.drive import CloudService, Container, Drive
from sim.device import Device, load_profile
from sim.device.device import SimulatedControls, SimulatedSensors
from sim.device.profile import fixtures_dir
from sim.device.storage import Storage
from sim.device.thermal import Thermal
from sim.ohos.cloudsync import CloudSyncModule
from sim.ohos.cloudsync.api import CloudFileCache, Download, FileSync, GallerySync, LocalFiles
from sim.ohos.cloudsync.fidelity import PROFILES as CLOUDSYNC
from sim.ohos.common import BusinessError, Context, Promise
from sim.ohos.request import RequestModule
from sim.ohos.request.download import DownloadTask
from sim.ohos.request.fidelity import PROFILES as REQUEST
from sim.ohos.request.upload import UploadTask
from sim.trace import Trace

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


def _names(*names: str) -> frozenset[str]:
    return frozenset(names)


_TARGET = _names("device", "has_controls", "modules")
_SYNC = _names("on", "off", "start", "stop")

CAPABILITIES = Capabilities(classes={
    # the targets: the API by caller, the device, and the helpers of the machines' world
    # (never their folders: ``root``, ``sandbox``, ``outside`` are not offered)
    ReferenceCloudSync: Offer(
        get=_TARGET | {"cloud", "drive", "controls"},
        call=_names("write_app_file", "set_fs_fault", "plant_object", "close")),
    ReferenceRequest: Offer(
        get=_TARGET,
        call=_names("cache_files", "read_cache", "read_files", "outside_state", "swap_for_symlink",
                    "plant_link", "write_cache", "close")),
    # @ohos.file.cloudSync: the namespace, its objects and the app's own files
    CloudSyncModule: Offer(
        get=_names("files"),
        call=_names("FileSync", "GallerySync", "Download", "CloudFileCache",
                    "getFileSyncState", "registerChange", "unregisterChange")),
    FileSync: Offer(call=_SYNC | {"getLastSyncTime"}),
    GallerySync: Offer(call=_SYNC),
    Download: Offer(call=_SYNC),
    CloudFileCache: Offer(call=_SYNC | {"cleanCache"}),
    LocalFiles: Offer(call=_names("write", "read", "mkdir", "list", "delete", "rename",
                                  "uri")),
    # @ohos.request: the namespace (legacy and API 9 entry points, the app's context, an
    # opaque reference to pass back) and its tasks
    RequestModule: Offer(get=_names("context"),
                         call=_names("download", "downloadFile", "upload", "uploadFile")),
    Context: Offer(get=_names("cacheDir", "filesDir")),
    DownloadTask: Offer(call=_names("on", "off", "pause", "resume", "remove", "query",
                                    "queryMimeType", "info", "delete", "suspend", "restore",
                                    "getTaskInfo", "getTaskMimeType")),
    UploadTask: Offer(call=_names("on", "off", "remove", "delete")),
    # what both APIs hand back
    Promise: Offer(get=_names("settled"), opaque=_names("callbacks")),
    BusinessError: Offer(get=_names("code", "message")),
    # the device: its clock, its Sensors and Controls ports, the state the machines read
    Device: Offer(get=_names("env", "sensors", "controls", "storage", "thermal", "trace"),
                  call=_names("run", "utc_ms")),
    Environment: Offer(get=_names("now")),
    SimulatedSensors: Offer(call=_names("battery", "temperature", "network", "storage",
                                        "subscribe")),
    SimulatedControls: Offer(call=_names(
        "set_battery_level", "plug_charger", "unplug_charger", "set_ambient", "set_radio",
        "configure_radio", "set_load", "fill_storage", "free_storage")),
    Storage: Offer(get=_names("capacity", "free"), call=_names("free_filler")),
    Thermal: Offer(get=_names("ambient_c", "celsius", "overheated")),
    Trace: Offer(call=_names("subscribe")),
    # the simulated cloud as the machines arrange it: faults, quota, login, switches
    CloudService: Offer(
        get=_names("server_down", "failing_ipc", "extra_latency_s"), call=_names("seed"),
        set={"server_down": bool, "failing_ipc": int, "extra_latency_s": float}),
    Drive: Offer(
        get=_names("quota", "used", "logged_in"), call=_names("container", "ready"),
        set={"quota": int, "logged_in": bool}, mappings={"switches": (str, bool)}),
    Container: Offer(call=_names("get", "delete")),
}, functions=_names("sim.trace:Trace.subscribe.<locals>.unsubscribe"))
"""What ``syncrig serve rpc`` hands out of a target, class by class: what the suite's machines
use over the wire (:mod:`conformance.targets`' protocols) and nothing else."""


class ReferenceTargets:
    """What ``syncrig serve rpc`` opens: a reference on a simulated device, offering
    :data:`CAPABILITIES`. Every option is checked, and the device built, before the target
    makes its folder: a refused ``open`` (:class:`~conformance.rpc.InvalidParams`) leaves
    nothing behind."""

    capabilities = CAPABILITIES

    def __call__(self, target: str, options: dict[str, Any], /) -> Any:
        if target not in APIS:
            raise InvalidParams(f"unknown target {target!r} (this server has: "
                                f"{', '.join(APIS)})")
        unknown = set(options) - {"device", "profile"}
        if unknown:
            raise InvalidParams(f"unknown options {sorted(unknown)} (known: device, profile)")
        device = options.get("device", "phone")
        profile = options.get("profile", "documented")
        if not isinstance(device, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", device) \
                or device not in device_names():
            raise InvalidParams(f"unknown device {device!r} (known: "
                                f"{', '.join(device_names())})")
        if not isinstance(profile, str):
            raise InvalidParams(f"unknown profile {profile!r}")
        if target == "cloudSync":
            fidelity = _profile(CLOUDSYNC, profile)
            return ReferenceCloudSync(device, fidelity, device=Device(load_profile(device)))
        fidelity = _profile(REQUEST, profile)
        return ReferenceRequest(device, fidelity, device=Device(load_profile(device)))


open_target = ReferenceTargets()


def _profile(profiles: dict[str, Any], name: str) -> Any:
    if name not in profiles:
        raise InvalidParams(f"unknown profile {name!r} (known: {', '.join(profiles)})")
    return profiles[name]
