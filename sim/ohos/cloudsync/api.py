"""The ``cloudSync`` namespace bound to one device, one cloud account and one calling app.

Argument errors are thrown at once (the platform's NAPI layer checks them synchronously);
service-side failures of asynchronous calls reject the promise. Permission (201) comes before
system-app (202), as ``CheckPermissions`` does (research §2.2).
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.cloud import CloudService
from sim.device.device import Device
from sim.errors import StorageFull
from sim.ohos.cloudsync import constants as K
from sim.ohos.cloudsync.constants import (
    ChangeData,
    DownloadProgress,
    FileSyncState,
    NotifyType,
    SyncProgress,
)
from sim.ohos.cloudsync.engine import CloudSyncService, SyncEngine
from sim.ohos.cloudsync.fidelity import DOCUMENTED, CloudSyncFidelity
from sim.ohos.common import (
    CLOUDFILE_SYNC,
    AppSandbox,
    AsyncCallback,
    BusinessError,
    Caller,
    Promise,
    deliver,
)

CLOUDFILE_SYNC_MANAGER = "ohos.permission.CLOUDFILE_SYNC_MANAGER"
MAX_STATE_URIS = 100
_ids = itertools.count(1)


class CloudSyncModule:
    """What a system app gets from ``import cloudSync from '@ohos.file.cloudSync'``."""

    SyncState = K.SyncState
    ErrorType = K.ErrorType
    State = K.State
    DownloadErrorType = K.DownloadErrorType
    FileSyncState = K.FileSyncState
    NotifyType = K.NotifyType

    def __init__(self, device: Device, cloud: CloudService, *, caller: Caller | None = None,
                 sandbox: AppSandbox | None = None, account: str = "default",
                 fidelity: CloudSyncFidelity = DOCUMENTED,
                 service: CloudSyncService | None = None) -> None:
        self.device = device
        self.cloud = cloud
        self.caller = caller if caller is not None else Caller.with_permissions(
            CLOUDFILE_SYNC, system_app=True)
        self.sandbox = sandbox if sandbox is not None else AppSandbox(
            Path(tempfile.mkdtemp(prefix="syncrig-app-")), self.caller.bundle_name)
        self.fidelity = fidelity
        self.service = service if service is not None else CloudSyncService(
            device, cloud, cloud.drive(account), fidelity)
        self._sandboxes = {self.sandbox.bundle_name: self.sandbox}
        self.files = LocalFiles(self)

    # -- helpers shared by the classes ---------------------------------------------------------

    def error(self, code: int) -> BusinessError:
        table = K.RUNTIME_MESSAGES if self.fidelity.runtime_messages else K.DOCUMENTED_MESSAGES
        return BusinessError(code, table[code])

    def caller_error(self, permission: bool = True, system: bool = True) -> BusinessError | None:
        if permission and not self.caller.has(CLOUDFILE_SYNC):
            return self.error(K.PERMISSION_DENIED)
        if system and not self.caller.system_app:
            return self.error(K.NOT_SYSTEM_APP)
        return None

    def require_caller(self, permission: bool = True, system: bool = True) -> None:
        error = self.caller_error(permission, system)
        if error is not None:
            raise error

    def require_ipc(self) -> None:
        if not self.cloud.ipc_ok():
            raise self.error(K.IPC_ERROR)

    def settle(self, error: BusinessError | None, value: object,
               callback: AsyncCallback | None) -> Promise | None:
        promise = Promise(self.device.env)
        if error is not None:
            promise.reject(error)
        else:
            promise.resolve(value)
        return deliver(promise, callback)

    def check_callback(self, callback: object) -> None:
        if callback is not None and not callable(callback):
            raise self.error(K.INVALID_PARAMETER)

    def sandbox_for(self, bundle: str) -> AppSandbox:
        if bundle not in self._sandboxes:
            self._sandboxes[bundle] = AppSandbox(self.sandbox.root.parent / bundle, bundle)
        return self._sandboxes[bundle]

    def engine(self, bundle: str | None = None) -> SyncEngine:
        return self.service.engine(self.sandbox_for(bundle or self.sandbox.bundle_name))

    def relative(self, uri: object, invalid: int) -> str:
        """The cloud-folder path a URI names; ``invalid`` is thrown when it names none."""
        if not isinstance(uri, str) or not uri:
            raise self.error(K.INVALID_PARAMETER)
        path = self.sandbox.resolve_cloud_uri(uri)
        if path is None:
            raise self.error(invalid)
        return str(path.relative_to(self.sandbox.cloud_dir))

    # -- the namespace -------------------------------------------------------------------------

    def GallerySync(self) -> GallerySync:
        return GallerySync(self)

    def FileSync(self, bundleName: object = None) -> FileSync:
        return FileSync(self, bundleName)

    def Download(self) -> Download:
        return Download(self)

    def CloudFileCache(self) -> CloudFileCache:
        return CloudFileCache(self)

    def getFileSyncState(self, uris: object, callback: AsyncCallback | None = None) -> Any:
        """Array form: Promise/callback of FileSyncState[]; string form: the state, at once."""
        if isinstance(uris, str):
            self.require_caller(permission=False)
            rel = self.relative(uris, K.INVALID_URI)
            return self._file_state(rel)
        if not isinstance(uris, list) or not uris or len(uris) > MAX_STATE_URIS \
                or not all(isinstance(u, str) for u in uris):
            raise self.error(K.INVALID_PARAMETER)
        self.check_callback(callback)
        error = self.caller_error()
        if error is None and not self.cloud.ipc_ok():
            error = self.error(K.IPC_ERROR)
        states: list[K.FileSyncState] = []
        if error is None:
            try:
                states = [self._file_state(self.relative(u, K.INVALID_URI)) for u in uris]
            except BusinessError as exc:
                error = exc
        return self.settle(error, states, callback)

    def _file_state(self, rel: str) -> K.FileSyncState:
        """The state kept for a file. The platform reads it from the file's extended
        attribute, so file-system errors surface here as their error codes (research §2.11);
        ``service.fs_faults`` injects such an error for a path."""
        engine = self.engine()
        fault = self.service.fs_faults.get(rel)
        if fault is not None:
            raise self.error(K.ERRNO_CODES.get(fault, K.UNKNOWN_ERROR))
        if not (self.sandbox.cloud_dir / rel).is_file():
            raise self.error(K.NO_SUCH_FILE)
        state = engine.file_state.get(rel)
        if state is None:
            state = (FileSyncState.TO_BE_UPLOADED if rel in engine.changed_locally()
                     else FileSyncState.COMPLETED)
        return state

    def _watched(self, uri: object) -> Path:
        """The file or folder a change subscription names (checks in the page's terms, or
        everything as 401 on the release)."""
        as_401 = self.fidelity.change_errors_as_401
        if not as_401:
            self.require_caller(permission=False)
        rel = self.relative(uri, K.INVALID_PARAMETER if as_401 else K.INVALID_URI)
        fault = self.service.fs_faults.get(rel)
        if fault is not None:
            raise self.error(K.INVALID_PARAMETER if as_401
                             else K.ERRNO_CODES.get(fault, K.UNKNOWN_ERROR))
        path = self.sandbox.cloud_dir / rel
        if not path.exists():
            raise self.error(K.INVALID_PARAMETER if as_401 else K.NO_SUCH_FILE)
        return path

    def registerChange(self, uri: object, recursion: object,
                       callback: Callable[[ChangeData], None]) -> None:
        """Watch a file or folder of the cloud folder (``recursion``: the whole subtree)."""
        if not isinstance(recursion, bool) or not callable(callback):
            raise self.error(K.INVALID_PARAMETER)
        path = self._watched(uri)
        for owner, watched, _, cb in self.service.watchers:
            if owner is self.sandbox and watched == path and cb is callback:
                raise self.error(K.INVALID_PARAMETER)
        self.service.watchers.append((self.sandbox, path, recursion, callback))

    def unregisterChange(self, uri: object) -> None:
        path = self._watched(uri)
        self.service.watchers[:] = [w for w in self.service.watchers
                                    if not (w[0] is self.sandbox and w[1] == path)]


class _SyncBase:
    """What GallerySync and FileSync share: one progress listener, start/stop. Every method
    needs CLOUDFILE_SYNC (201) and a system app (202), as the page says for both classes."""

    def __init__(self, module: CloudSyncModule, bundle: str | None = None) -> None:
        self._module = module
        self._bundle = bundle
        self._id = next(_ids)
        self._listening = False

    @property
    def _engine(self) -> SyncEngine:
        return self._module.engine(self._bundle)

    def _caller(self) -> BusinessError | None:
        return self._module.caller_error()

    def _service_call(self, callback: AsyncCallback | None) -> BusinessError | None:
        """The checks every asynchronous call makes: arguments (thrown), then the caller and
        the IPC to the service (the error the promise will reject with)."""
        self._module.check_callback(callback)
        error = self._caller()
        if error is None and not self._module.cloud.ipc_ok():
            error = self._module.error(K.IPC_ERROR)
        return error

    def on(self, evt: str, callback: Callable[[SyncProgress], None]) -> None:
        """Listen to sync progress. A second ``on`` keeps the first callback (research §2.8)."""
        module = self._module
        if evt != "progress" or not callable(callback):
            raise module.error(K.INVALID_PARAMETER)
        error = self._caller()
        if error is not None:
            raise error
        module.require_ipc()
        if self._listening:
            return
        self._listening = True
        self._engine.listeners[self._id] = callback
        if module.fidelity.push_state_on_register:
            callback(self._engine.last_progress)

    def off(self, evt: str, callback: Callable[[SyncProgress], None] | None = None) -> None:
        """Stop listening (whichever callback is given)."""
        module = self._module
        if evt != "progress" or (callback is not None and not callable(callback)):
            raise module.error(K.INVALID_PARAMETER)
        error = self._caller()
        if error is not None:
            raise error
        module.require_ipc()
        if not self._listening and module.fidelity.off_without_on_fails:
            raise module.error(K.INVALID_PARAMETER)
        self._listening = False
        self._engine.listeners.pop(self._id, None)

    def _answer(self, error: BusinessError | None, value: object,
                callback: AsyncCallback | None) -> Promise | None:
        if callback is not None and self._module.fidelity.callback_forms_ignored:
            callback = None  # the release returns a Promise and never calls back (§2.1)
        return self._module.settle(error, value, callback)

    def start(self, callback: AsyncCallback | None = None) -> Promise | None:
        """Start syncing. Refused with 22400002 (no network), 22400001 (cloud not ready) or
        22400003 (battery below 10 % and not charging); later problems arrive as progress."""
        module = self._module
        error = self._service_call(callback)
        if error is None:
            code = self._engine.check_start()
            if code:
                error = module.error(code)
            else:
                self._engine.start()
        return self._answer(error, None, callback)

    def stop(self, callback: AsyncCallback | None = None) -> Promise | None:
        """Stop syncing: a running sync ends with STOPPED and a pending re-run is dropped."""
        error = self._service_call(callback)
        if error is None:
            self._engine.stop()
        return self._answer(error, None, callback)


class GallerySync(_SyncBase):
    """Sync of the Gallery's media (system API; every call needs CLOUDFILE_SYNC)."""

    def __init__(self, module: CloudSyncModule) -> None:
        super().__init__(module, K.GALLERY_BUNDLE)


class FileSync(_SyncBase):
    """Sync of an app's cloud folder (a system API: both constructors need a system app)."""

    def __init__(self, module: CloudSyncModule, bundleName: object = None) -> None:
        if bundleName is not None and (not isinstance(bundleName, str) or not bundleName):
            raise module.error(K.INVALID_PARAMETER)
        if not module.caller.system_app:
            raise module.error(K.NOT_SYSTEM_APP)
        if bundleName is not None and bundleName != module.caller.bundle_name \
                and not module.caller.has(CLOUDFILE_SYNC_MANAGER):
            raise module.error(K.PERMISSION_DENIED)
        super().__init__(module, bundleName if isinstance(bundleName, str) else None)

    def getLastSyncTime(self, callback: AsyncCallback | None = None) -> Promise | None:
        """UTC milliseconds of the last run that completed without error (0 before any)."""
        error = self._service_call(callback)
        return self._module.settle(error, self._engine.last_sync_ms, callback)


class _FetchBase:
    """Download and CloudFileCache: on-demand downloads of cloud files."""

    _invalid_uri = K.NO_SUCH_FILE

    def __init__(self, module: CloudSyncModule) -> None:
        self._module = module
        self._listener: Callable[[DownloadProgress], None] | None = None

    def _progress(self, progress: DownloadProgress) -> None:
        if self._listener is not None:
            self._listener(progress)

    def _check_args(self, uri: object, callback: AsyncCallback | None) -> None:
        self._module.check_callback(callback)
        if not isinstance(uri, str) or not uri:
            raise self._module.error(K.INVALID_PARAMETER)

    def _start(self, uri: object, callback: AsyncCallback | None,
               caller: BusinessError | None) -> Promise | None:
        module = self._module
        self._check_args(uri, callback)
        error = caller
        if error is None and not module.cloud.ipc_ok():
            error = module.error(K.IPC_ERROR)
        if error is None:
            try:
                rel = module.relative(uri, self._invalid_uri)
                engine = module.engine()
                obj = engine.container.get(rel)
                if obj is None:
                    raise module.error(K.NO_SUCH_FILE)
                if obj.size > module.device.storage.free:
                    raise module.error(K.NO_SPACE)
                engine.fetch(rel, str(uri), self._progress)
            except BusinessError as exc:
                error = exc
        return module.settle(error, None, callback)

    def _stop(self, uri: object, callback: AsyncCallback | None,
              caller: BusinessError | None) -> Promise | None:
        module = self._module
        self._check_args(uri, callback)
        error = caller
        if error is None:
            path = module.sandbox.resolve_cloud_uri(uri)
            if path is not None:
                module.engine().stop_fetch(str(path.relative_to(module.sandbox.cloud_dir)))
        return module.settle(error, None, callback)


class Download(_FetchBase):
    """Download of cloud files' content (system API, CLOUDFILE_SYNC)."""

    def on(self, evt: str, callback: Callable[[DownloadProgress], None]) -> None:
        """Listen to download progress; the callback is registered with the sync service
        (an IPC call, so 13600001 when it does not answer)."""
        self._module.require_caller()
        if evt != "progress" or not callable(callback):
            raise self._module.error(K.INVALID_PARAMETER)
        self._module.require_ipc()
        self._listener = callback

    def off(self, evt: str, callback: Callable[[DownloadProgress], None] | None = None) -> None:
        self._module.require_caller()
        if evt != "progress" or (callback is not None and not callable(callback)):
            raise self._module.error(K.INVALID_PARAMETER)
        self._module.require_ipc()
        if self._listener is None:
            raise self._module.error(K.IPC_ERROR)  # no callback registered (research §2.1)
        self._listener = None

    def start(self, uri: str, callback: AsyncCallback | None = None) -> Promise | None:
        """Download ``uri``'s content: 13900002 when the cloud has no such file, 13900025 when
        it cannot fit; progress events follow."""
        return self._start(uri, callback, self._module.caller_error())

    def stop(self, uri: str, callback: AsyncCallback | None = None) -> Promise | None:
        """Stop a download: STOPPED follows and the partial file is removed."""
        return self._stop(uri, callback, self._module.caller_error())


class CloudFileCache(_FetchBase):
    """Caching of cloud files on the device (public; cleanCache is a system API)."""

    _invalid_uri = K.INVALID_URI

    def on(self, evt: str, callback: Callable[[DownloadProgress], None]) -> None:
        if evt != "progress" or not callable(callback):
            raise self._module.error(K.INVALID_PARAMETER)
        self._listener = callback

    def off(self, evt: str, callback: Callable[[DownloadProgress], None] | None = None) -> None:
        if evt != "progress" or (callback is not None and not callable(callback)):
            raise self._module.error(K.INVALID_PARAMETER)
        self._listener = None

    def start(self, uri: str, callback: AsyncCallback | None = None) -> Promise | None:
        return self._start(uri, callback, None)

    def stop(self, uri: str, needClean: object = False,
             callback: AsyncCallback | None = None) -> Promise | None:
        """Stop caching ``uri``; the partial file is always removed, and with ``needClean``
        the cached copy too."""
        module = self._module
        if callable(needClean) and callback is None:
            callback = needClean  # stop(uri, callback)
            needClean = False
        if not isinstance(needClean, bool):
            raise module.error(K.INVALID_PARAMETER)
        promise = self._stop(uri, callback, None)
        if needClean and isinstance(uri, str):
            path = module.sandbox.resolve_cloud_uri(uri)
            engine = module.engine()
            if path is not None and path.is_file() and path.stat().st_size:
                rel = str(path.relative_to(module.sandbox.cloud_dir))
                if engine.container.get(rel) is not None:
                    engine.evict(rel)
        return promise

    def cleanCache(self, uri: str) -> None:
        """Drop a file's local content, keeping it in the cloud (synchronous)."""
        module = self._module
        module.require_caller()
        if not isinstance(uri, str):
            raise module.error(K.INVALID_PARAMETER)
        module.require_ipc()
        rel = module.relative(uri, K.INVALID_URI)
        engine = module.engine()
        if not (module.sandbox.cloud_dir / rel).is_file() or engine.container.get(rel) is None:
            raise module.error(K.NO_SUCH_FILE)
        engine.evict(rel)


class LocalFiles:
    """The app writing its own cloud folder: real file operations that the sync service sees
    (and that change watchers hear about), charged to the device's storage."""

    def __init__(self, module: CloudSyncModule) -> None:
        self._module = module

    def path(self, rel: str) -> Path:
        path = self._module.sandbox.inside(self._module.sandbox.cloud_dir, rel)
        if path is None:
            raise ValueError(f"{rel!r} is not inside the app's cloud folder")
        return path

    def uri(self, rel: str) -> str:
        return self._module.sandbox.cloud_uri(rel)

    def write(self, rel: str, data: bytes) -> str:
        """Create or replace a file; StorageFull (ENOSPC) when the device has no room."""
        path = self.path(rel)
        old = path.stat().st_size if path.exists() else 0
        storage = self._module.device.storage
        if len(data) > old:
            storage.write(len(data) - old)
        elif old > len(data):
            storage.delete(min(old - len(data), storage.used))
        existed = path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        engine = self._module.engine()
        engine.evicted.discard(rel)
        engine.file_state[rel] = FileSyncState.TO_BE_UPLOADED
        engine.notify(NotifyType.NOTIFY_MODIFIED if existed else NotifyType.NOTIFY_ADDED, [path])
        return self.uri(rel)

    def delete(self, rel: str) -> None:
        path = self.path(rel)
        size = path.stat().st_size
        path.unlink()
        storage = self._module.device.storage
        storage.delete(min(size, storage.used))
        engine = self._module.engine()
        engine.file_state.pop(rel, None)
        engine.evicted.discard(rel)
        engine.notify(NotifyType.NOTIFY_DELETED, [path])

    def rename(self, old: str, new: str) -> None:
        source, target = self.path(old), self.path(new)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        engine = self._module.engine()
        engine.file_state.pop(old, None)
        engine.file_state[new] = FileSyncState.TO_BE_UPLOADED
        engine.notify(NotifyType.NOTIFY_RENAMED, [source, target])

    def read(self, rel: str) -> bytes:
        return self.path(rel).read_bytes()

    def mkdir(self, rel: str) -> str:
        """Create a folder (and its parents) in the cloud folder; its URI."""
        self.path(rel).mkdir(parents=True, exist_ok=True)
        return self.uri(rel)

    def list(self, rel: str = "") -> list[str]:
        """The names of the files (not folders) directly in a folder, sorted."""
        folder = self.path(rel) if rel else self._module.sandbox.cloud_dir
        return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() \
            else []


__all__ = ["CloudFileCache", "CloudSyncModule", "Download", "FileSync", "GallerySync",
           "LocalFiles", "StorageFull"]
