"""The device's cloud sync service behind GallerySync/FileSync, Download and CloudFileCache.

One service per device and account: it keeps one :class:`SyncEngine` per app (bundle), the
apps' change watchers and the device-wide settings, and calls the apps' callbacks so that one
that raises never stops the service (on the platform it runs in another process).
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.cloud import CloudService, Drive
from sim.device.device import Device
from sim.fs import Folder
from sim.ohos.cloudsync import constants as K
from sim.ohos.cloudsync.constants import ChangeData, NotifyType
from sim.ohos.cloudsync.engine import SyncEngine
from sim.ohos.cloudsync.fidelity import CloudSyncFidelity
from sim.ohos.common import AppSandbox
from sim.trace import EventKind

LISTENER_FAILED = "cloudSync.listener"
"""The trace event of an app's callback that raised (``listener``, ``error``)."""


class CloudSyncService:
    """The device's sync service: one engine per app, change watchers, settings."""

    def __init__(self, device: Device, cloud: CloudService, drive: Drive,
                 fidelity: CloudSyncFidelity) -> None:
        self.device = device
        self.cloud = cloud
        self.drive = drive
        self.fidelity = fidelity
        self.engines: dict[str, SyncEngine] = {}
        self.sandboxes: dict[str, AppSandbox] = {}
        """Each app's sandbox on this device (bundle → sandbox): an app's own, as its module
        gives it, or one the service makes (:meth:`sandbox`)."""
        self._apps: Folder | None = None
        self.watchers: list[tuple[AppSandbox, Path, bool, Callable[[ChangeData], None]]] = []
        self.fs_faults: dict[str, int] = {}
        """Injected file-system errors (relative path → errno) for reading a file's state."""
        self.gallery_mobile_data = False
        """The Gallery's "use mobile data" setting; other apps may always upload on cellular."""

    def sandbox(self, bundle: str) -> AppSandbox:
        """The sandbox of ``bundle`` (a bundle name, checked by the caller). One no module
        brought, such as the Gallery's, is made in the service's own temporary folder,
        created private and held, and made and held from there following no link: never a
        path another device shares or anyone could plant a link at. The folder goes when
        the service does."""
        if bundle not in self.sandboxes:
            if self._apps is None:
                path = Path(tempfile.mkdtemp(prefix="syncrig-apps-"))
                self._apps = Folder.hold(path, follow=False)
                weakref.finalize(self, shutil.rmtree, path, True)
            self.sandboxes[bundle] = AppSandbox.made_in(self._apps, bundle)
        return self.sandboxes[bundle]

    def engine(self, sandbox: AppSandbox) -> SyncEngine:
        bundle = sandbox.bundle_name
        if bundle not in self.engines:
            self.engines[bundle] = SyncEngine(self, sandbox, gallery=bundle == K.GALLERY_BUNDLE)
        return self.engines[bundle]

    def call_app(self, listener: str, callback: Callable[[Any], None], value: Any) -> None:
        """Call an app's callback. One that raises is recorded in the trace and the service
        carries on: a JS callback that throws does not stop the platform's sync service,
        which runs in another process."""
        try:
            callback(value)
        except Exception as exc:
            self.device.trace.emit(EventKind.API, api=LISTENER_FAILED, listener=listener,
                                   error=f"{type(exc).__name__}: {exc}")

    def notify(self, sandbox: AppSandbox, kind: NotifyType, paths: list[Path],
               directory: bool = False) -> None:
        """Tell every watcher whose folder or file covers one of ``paths``."""
        for owner, watched, recursive, callback in list(self.watchers):
            if owner is not sandbox:
                continue
            hits = [p for p in paths if p == watched or p.parent == watched
                    or (recursive and p.is_relative_to(watched))]
            if hits:
                uris = [owner.cloud_uri(str(p.relative_to(owner.cloud_dir))) for p in hits]
                self.call_app("change", callback,
                              ChangeData(kind, [directory] * len(uris), uris))
