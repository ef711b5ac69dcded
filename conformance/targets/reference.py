"""The reference targets: the cloudSync and ``@ohos.request`` references in-process, on a
simulated device (and, for cloudSync, a simulated cloud).

Each hands out the API namespace as each of its callers sees it and the device's Controls, so
machines can drive conditions as well as calls. ``syncrig serve rpc`` serves the same objects,
so a machine cannot tell them from an implementation in another process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

from sim.cloud import CloudService
from sim.cloud.drive import CloudObject
from sim.device import Device, load_profile
from sim.fs import Folder
from sim.ohos.cloudsync import CloudSyncModule
from sim.ohos.cloudsync.fidelity import DOCUMENTED, CloudSyncFidelity
from sim.ohos.common import CLOUDFILE_SYNC, AppSandbox, Caller
from sim.ohos.request import CurlOptions, RequestModule
from sim.ohos.request.fidelity import DOCUMENTED as REQUEST_DOCUMENTED
from sim.ohos.request.fidelity import RequestFidelity

BUNDLE = "com.example.conformance"
CALLERS = {
    "system": Caller.with_permissions(CLOUDFILE_SYNC, bundle_name=BUNDLE, system_app=True),
    "no-permission": Caller(BUNDLE, system_app=True),
    "not-system": Caller.with_permissions(CLOUDFILE_SYNC, bundle_name=BUNDLE),
}


BUNDLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+")
"""A bundle name as the platform spells one (``com.ohos.photos``): a folder's name, never a
path."""


def bundle_name(bundle: str) -> str:
    """``bundle`` if it is a bundle name (at most 128 characters), else ValueError."""
    if not isinstance(bundle, str) or len(bundle) > 128 or not BUNDLE_NAME.fullmatch(bundle):
        raise ValueError(f"not a bundle name: {bundle!r}")
    return bundle


class ReferenceCloudSync:
    """One device, one cloud drive, and the module as each caller sees it.

    The device is simulated unless one is given: a :class:`~sim.hil.device.HostDevice`
    follows the machine's own sensors and has no Controls, so rules that need them are
    filtered out."""

    def __init__(self, profile: str = "phone", fidelity: CloudSyncFidelity = DOCUMENTED,
                 device: Device | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="syncrig-conformance-"))
        self.device = device if device is not None else Device(load_profile(profile))
        self.has_controls = self.device.controls is not None
        self.cloud = CloudService(self.root / "cloud")
        self.drive = self.cloud.drive()
        sandbox = AppSandbox(self.root / "app", BUNDLE)
        system = CloudSyncModule(self.device, self.cloud, caller=CALLERS["system"],
                                 sandbox=sandbox, fidelity=fidelity)
        self.modules = {name: system if name == "system" else CloudSyncModule(
            self.device, self.cloud, caller=caller, sandbox=sandbox, fidelity=fidelity,
            service=system.service) for name, caller in CALLERS.items()}

    @property
    def controls(self) -> object:
        return self.device.controls

    # -- the world around the API, for machines (a target on a real device has none) -------

    def write_app_file(self, bundle: str, rel: str, data: bytes) -> None:
        """Another app (the Gallery, say) writing a file into its own cloud folder."""
        # (through the folder held by descriptor: a client over syncrig-rpc/1 may name any
        # ``rel``, and nothing outside the app's folder is written)
        engine = self.modules["system"].engine(bundle_name(bundle))  # makes its folder
        with Folder.hold(engine.folder.root) as folder:
            folder.write_atomic(rel, data, create_parents=True)

    def set_fs_fault(self, rel: str, error: int | None) -> None:
        """Make reading a file's stored state fail with ``error`` (an errno); None clears."""
        faults = self.modules["system"].service.fs_faults
        if error is None:
            faults.pop(rel, None)
        else:
            faults[rel] = error

    def plant_object(self, bundle: str, rel: str, size: int) -> None:
        """A cloud object of ``size`` bytes whose content is never read (to be too big)."""
        self.drive.quota = max(self.drive.quota, 10 * size)
        container = self.drive.container(bundle_name(bundle))
        container.objects[rel] = CloudObject(rel, size, "0" * 64, 1, 0.0)

    def close(self) -> None:
        close = getattr(self.device, "close", None)
        if close is not None:  # a host device stops following the machine
            close()
        shutil.rmtree(self.root, ignore_errors=True)


REQUEST_CURL = CurlOptions(connect_timeout_s=2, low_speed_time_s=5)
"""A refused or stalled transfer gives up in seconds, not the platform's minutes: the
suite's servers are on this machine. Each module gets its own copy: a target's options
are its own."""


class ReferenceRequest:
    """One device and ``@ohos.request`` as two apps see it: ``app`` holds INTERNET, ``denied``
    does not. The device is simulated unless one is given; ``own_device`` false leaves a
    shared device open when the target closes."""

    def __init__(self, profile: str = "phone", fidelity: RequestFidelity = REQUEST_DOCUMENTED,
                 device: Device | None = None, own_device: bool = True) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="syncrig-conformance-"))
        self.device = device if device is not None else Device(load_profile(profile))
        self.has_controls = self.device.controls is not None
        self.own_device = own_device
        self.sandbox = AppSandbox(self.root / "app")
        self.modules = {
            "app": RequestModule(self.device, sandbox=self.sandbox,
                                 curl_options=dataclasses.replace(REQUEST_CURL),
                                 fidelity=fidelity),
            "denied": RequestModule(self.device, sandbox=AppSandbox(self.root / "other"),
                                    caller=Caller(),
                                    curl_options=dataclasses.replace(REQUEST_CURL),
                                    fidelity=fidelity)}
        self.outside = self.root / "outside"
        """Sentinels beside the sandbox: no download, upload or remove may touch them."""
        self.outside.mkdir()
        for name in ("sentinel.bin", "f.bin"):
            (self.outside / name).write_bytes(b"OUTSIDE THE SANDBOX " + name.encode())

    def outside_state(self) -> list[tuple[str, int, int, str]]:
        """Every entry beside the sandbox (name, size, mtime, SHA-256), as it stands."""
        state = []
        for entry in sorted(os.scandir(self.outside), key=lambda e: e.name):
            info = entry.stat(follow_symlinks=False)
            digest = hashlib.sha256(Path(entry.path).read_bytes()).hexdigest() \
                if entry.is_file(follow_symlinks=False) else ""
            state.append((entry.name, info.st_size, info.st_mtime_ns, digest))
        return state

    def swap_for_symlink(self, rel: str) -> None:
        """Put a symlink leading outside where the cache entry ``rel`` (a file or a folder)
        was, as an attacker racing the app would: a file's link leads to a sentinel file, a
        folder's to the sentinels' folder (which holds an ``f.bin``)."""
        # (through the held cache folder, the name checked: a client over syncrig-rpc/1 may
        # name any ``rel``, and only entries of the cache folder are moved)
        cache = self.sandbox.cache
        with cache.parent(rel) as (fd, name):
            os.rename(name, name + ".swapped", src_dir_fd=fd, dst_dir_fd=fd)
            folder = stat.S_ISDIR(os.stat(name + ".swapped", dir_fd=fd,
                                          follow_symlinks=False).st_mode)
            os.symlink(self.outside if folder else self.outside / "sentinel.bin", name,
                       dir_fd=fd)

    def plant_link(self, rel: str) -> None:
        """A symlink ``rel`` in the cache folder leading to the sentinels' folder."""
        with self.sandbox.cache.parent(rel) as (fd, name):
            os.symlink(self.outside, name, dir_fd=fd)

    def cache_files(self) -> list[str]:
        """What the app's cache folder holds (paths relative to it), sorted: bad input must
        leave it as it was."""
        cache = self.sandbox.cache_dir
        return sorted(str(p.relative_to(cache)) for p in cache.rglob("*"))

    def read_cache(self, rel: str) -> bytes:
        """A downloaded file's bytes, to hold them to the server's."""
        return self.sandbox.cache.read_bytes(rel)  # UnsafePath for a name that leads out

    def write_cache(self, rel: str, data: bytes) -> None:
        """Put a file in the app's cache folder, as the app would before uploading it
        (``internal://cache/<rel>``)."""
        # (through the held cache folder: a client over syncrig-rpc/1 may name any ``rel``)
        self.sandbox.cache.write_atomic(rel, data, create_parents=True)

    def read_files(self, rel: str) -> bytes:
        """A file's bytes in the app's files folder (where an API 9 download may go)."""
        return self.sandbox.files.read_bytes(rel)

    def close(self) -> None:
        close = getattr(self.device, "close", None)
        if close is not None and self.own_device:  # a host device stops following the machine
            close()
        shutil.rmtree(self.root, ignore_errors=True)
