"""The ``cloudSync`` namespace bound to one device, one cloud account and one calling app.

Argument errors are thrown at once (the platform's NAPI layer checks them synchronously);
service-side failures of asynchronous calls reject the promise. Permission (201) comes before
system-app (202), as ``CheckPermissions`` does (research §2.2).

A URI names a file of the app's cloud folder only as a plain relative path whose way meets no
symlink (:meth:`CloudSyncModule.relative`, checked with :mod:`sim.fs` without following any
link): anything else — another app or scheme, ``..``, NUL, a name over 255 bytes, a link — is
the method's documented invalid-URI code, never a Python exception (the platform's ``realpath``
check fails alike, research §2.11). Files are reached through the engine's held folder, so a
swap between the check and the use reaches nothing outside it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.cloud import CloudService
from sim.device.device import Device
from sim.errors import StorageFull, UnsafePath
from sim.fs import TEMP_PREFIX, Folder, parts
from sim.ohos.cloudsync import constants as K
from sim.ohos.cloudsync.conditions import start_refusal
from sim.ohos.cloudsync.constants import (
    ChangeData,
    DownloadProgress,
    FileSyncState,
    NotifyType,
    SyncProgress,
)
from sim.ohos.cloudsync.engine import SyncEngine
from sim.ohos.cloudsync.fidelity import DOCUMENTED, CloudSyncFidelity
from sim.ohos.cloudsync.service import CloudSyncService
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
BUNDLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+")
"""A bundle name as the platform spells one (``com.ohos.photos``): reverse-domain names."""
BUNDLE_NAME_MAX = 255
"""The longest bundle name taken, in bytes: one folder's name."""
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
        self.service.sandboxes.setdefault(self.sandbox.bundle_name, self.sandbox)
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
        """The app's own sandbox, or another app's as the device's sync service keeps it
        (never a path next to this one: that would be shared by every device whose
        sandbox is in the same folder)."""
        if bundle == self.sandbox.bundle_name:
            return self.sandbox
        return self.service.sandbox(bundle)

    def engine(self, bundle: str | None = None) -> SyncEngine:
        return self.service.engine(self.sandbox_for(bundle or self.sandbox.bundle_name))

    @property
    def folder(self) -> Folder:
        """The app's cloud folder, held by the sync engine."""
        return self.engine().folder.held

    def relative(self, uri: object, invalid: int) -> str:
        """The cloud-folder path a URI names; ``invalid`` is thrown when it names none: not
        this app's cloud folder, not a plain relative path (``..``, NUL, a name over 255
        bytes: :func:`sim.fs.parts`), or a path through a symlink, or a symlink itself.

        The platform resolves the path with ``realpath`` and accepts what stays inside
        (research §2.11); here ``..`` is refused even when it would stay inside, since
        resolving it needs the very lookups a swapped link subverts."""
        if not isinstance(uri, str) or not uri:
            raise self.error(K.INVALID_PARAMETER)
        prefix = self.sandbox.cloud_uri("")
        if not uri.startswith(prefix):
            raise self.error(invalid)
        try:
            rel = "/".join(parts(uri[len(prefix):]))
            status = self.folder.lstat(rel)
        except UnsafePath:
            raise self.error(invalid) from None
        if status is not None and stat.S_ISLNK(status.st_mode):
            raise self.error(invalid)
        return rel

    def status(self, rel: str) -> os.stat_result | None:
        """The entry ``rel`` of the cloud folder (checked by :meth:`relative`), or None."""
        try:
            return self.folder.lstat(rel)
        except UnsafePath:
            return None

    def is_file(self, rel: str) -> bool:
        status = self.status(rel)
        return status is not None and stat.S_ISREG(status.st_mode)

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
        if not self.is_file(rel):
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
        if self.status(rel) is None:
            raise self.error(K.INVALID_PARAMETER if as_401 else K.NO_SUCH_FILE)
        return self.sandbox.cloud_dir / rel

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
            engine = self._engine
            code = start_refusal(engine.device, engine.service.drive, engine.bundle)
            if code:
                error = module.error(code)
            else:
                engine.start()
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
        """``bundleName`` names an app; anything else (a path such as ``../x`` or ``/x``
        among them) is the page's parameter error, 401, before any effect."""
        if bundleName is not None and not is_bundle_name(bundleName):
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


def is_bundle_name(name: object) -> bool:
    """Whether ``name`` is a bundle name (:data:`BUNDLE_NAME`, at most
    :data:`BUNDLE_NAME_MAX` bytes): it names an app's sandbox, so it must never be a path."""
    return isinstance(name, str) and len(name) <= BUNDLE_NAME_MAX \
        and BUNDLE_NAME.fullmatch(name) is not None


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
            # a URI that names no file of the folder has no download to stop
            with contextlib.suppress(BusinessError):
                module.engine().stop_fetch(module.relative(uri, self._invalid_uri))
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
        the cached copy too. The answer is the stop's: a copy that is a link or has other
        names (a hard link) is left whole, as :meth:`cleanCache` leaves it."""
        module = self._module
        if callable(needClean) and callback is None:
            callback = needClean  # stop(uri, callback)
            needClean = False
        if not isinstance(needClean, bool):
            raise module.error(K.INVALID_PARAMETER)
        promise = self._stop(uri, callback, None)
        if needClean and isinstance(uri, str):
            engine = module.engine()
            try:
                rel = module.relative(uri, self._invalid_uri)
            except BusinessError:
                return promise
            status = module.status(rel)
            if status is not None and stat.S_ISREG(status.st_mode) and status.st_size \
                    and engine.container.get(rel) is not None:
                # swapped for a link meanwhile: nothing is cleaned through it
                with contextlib.suppress(OSError, UnsafePath):
                    engine.evict(rel)
        return promise

    def cleanCache(self, uri: str) -> None:
        """Drop a file's local content, keeping it in the cloud (synchronous).

        A file that is a link, or a file with other names outside the folder (a hard link),
        is not the app's cached file: 14000002, the page's code for a URI that names no file
        of the app's cloud folder. Not 13900002: something is there, and it is left whole."""
        module = self._module
        module.require_caller()
        if not isinstance(uri, str):
            raise module.error(K.INVALID_PARAMETER)
        module.require_ipc()
        rel = module.relative(uri, K.INVALID_URI)
        engine = module.engine()
        if not module.is_file(rel) or engine.container.get(rel) is None:
            raise module.error(K.NO_SUCH_FILE)
        try:
            engine.evict(rel)
        except UnsafePath:
            raise module.error(K.INVALID_URI) from None  # a link, or a file with other names


class LocalFiles:
    """The app writing its own cloud folder: real file operations that the sync service sees
    (and that change watchers hear about), charged to the device's storage. Paths are plain
    relative ones (:func:`sim.fs.parts`; anything else is :class:`~sim.errors.UnsafePath`, a
    ValueError), reached through the held folder: a file is replaced by rename, so a link at
    its name is replaced, never written through."""

    def __init__(self, module: CloudSyncModule) -> None:
        self._module = module

    @staticmethod
    def name(rel: str) -> str:
        """``rel`` as the folder names it (``a//./b`` is ``a/b``); UnsafePath if it is not a
        plain relative path."""
        return "/".join(parts(rel))

    def path(self, rel: str) -> Path:
        """Where ``rel`` is, for notifications and messages (files are reached by descriptor)."""
        return self._module.sandbox.cloud_dir / self.name(rel)

    def uri(self, rel: str) -> str:
        return self._module.sandbox.cloud_uri(rel)

    def _size(self, rel: str) -> int | None:
        status = self._module.folder.lstat(rel)
        return status.st_size if status is not None and stat.S_ISREG(status.st_mode) else None

    def write(self, rel: str, data: bytes) -> str:
        """Create or replace a file; StorageFull (ENOSPC) when the device has no room."""
        rel = self.name(rel)
        old = self._size(rel)
        storage = self._module.device.storage
        if len(data) > (old or 0):
            storage.write(len(data) - (old or 0))
        elif (old or 0) > len(data):
            storage.delete(min((old or 0) - len(data), storage.used - storage.filler))
        self._module.folder.write_atomic(rel, data, create_parents=True)
        engine = self._module.engine()
        engine.evicted.discard(rel)
        engine.file_state[rel] = FileSyncState.TO_BE_UPLOADED
        engine.notify(NotifyType.NOTIFY_MODIFIED if old is not None else NotifyType.NOTIFY_ADDED,
                      [self.path(rel)])
        return self.uri(rel)

    def delete(self, rel: str) -> None:
        """Delete a file (a link is removed itself, its target untouched)."""
        rel = self.name(rel)
        size = self._size(rel) or 0
        if not self._module.folder.unlink(rel):
            raise FileNotFoundError(f"{rel!r} is not in the app's cloud folder")
        storage = self._module.device.storage
        storage.delete(min(size, storage.used - storage.filler))
        engine = self._module.engine()
        engine.file_state.pop(rel, None)
        engine.evicted.discard(rel)
        engine.notify(NotifyType.NOTIFY_DELETED, [self.path(rel)])

    def rename(self, old: str, new: str) -> None:
        old, new = self.name(old), self.name(new)
        self._module.folder.rename(old, new)
        engine = self._module.engine()
        engine.file_state.pop(old, None)
        engine.file_state[new] = FileSyncState.TO_BE_UPLOADED
        engine.notify(NotifyType.NOTIFY_RENAMED, [self.path(old), self.path(new)])

    def read(self, rel: str) -> bytes:
        return self._module.folder.read_bytes(self.name(rel))

    def mkdir(self, rel: str) -> str:
        """Create a folder (and its parents) in the cloud folder; its URI."""
        self._module.folder.folder(self.name(rel), create=True).close()
        return self.uri(rel)

    def list(self, rel: str = "") -> list[str]:
        """The names of the regular files (not folders, not links) directly in a folder,
        sorted."""
        try:
            held = self._module.folder.folder(self.name(rel)) if rel else None
        except (OSError, UnsafePath):
            return []
        fd = held.fd if held is not None else self._module.folder.fd
        try:
            with os.scandir(fd) as entries:
                return sorted(e.name for e in entries if e.is_file(follow_symlinks=False)
                              and not e.name.startswith(TEMP_PREFIX))
        finally:
            if held is not None:
                held.close()


__all__ = ["CloudFileCache", "CloudSyncModule", "Download", "FileSync", "GallerySync",
           "LocalFiles", "StorageFull"]
