"""The ``cloudSync`` namespace bound to one device, one cloud account and one calling app.

Argument errors are thrown at once (the platform's NAPI layer checks them synchronously);
service-side failures of asynchronous calls reject the promise. Permission (201) comes before
system-app (202), as ``CheckPermissions`` does (research §2.2).

Every method takes its arguments as JavaScript passes them: positionally, any number of them.
:meth:`CloudSyncModule.arguments` holds them to the d.ts's arity (:data:`~sim.spec.
ohos_cloudsync.ARITY`), so a missing, extra or ``undefined`` (``None``) mandatory argument is
401 and never a Python ``TypeError``; an optional one given as ``None`` is absent.

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
from sim.spec.ohos_cloudsync import ARITY

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
        return BusinessError(code, self.fidelity.message(code))

    def arguments(self, method: str, given: tuple[object, ...]) -> list[object]:
        """``given`` as ``method`` (``Owner.name``) takes it, padded with ``None`` to its
        most arguments: 401 for more than it takes, or for a mandatory one missing or
        ``undefined`` (research §2.1, the NAPI's ``InitArgs``)."""
        mandatory, most = ARITY[method]
        padded = [*given, *[None] * (most - len(given))]
        if len(given) > most or any(value is None for value in padded[:mandatory]):
            raise self.error(K.INVALID_PARAMETER)
        return padded

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

    def callback(self, value: object) -> AsyncCallback | None:
        """An optional callback argument: a function, or None; anything else is 401."""
        if value is not None and not callable(value):
            raise self.error(K.INVALID_PARAMETER)
        return value

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

    def GallerySync(self, *args: object) -> GallerySync:
        self.arguments("GallerySync.constructor", args)
        return GallerySync(self)

    def FileSync(self, *args: object) -> FileSync:
        (bundle_name,) = self.arguments("FileSync.constructor", args)
        return FileSync(self, bundle_name)

    def Download(self, *args: object) -> Download:
        self.arguments("Download.constructor", args)
        return Download(self)

    def CloudFileCache(self, *args: object) -> CloudFileCache:
        self.arguments("CloudFileCache.constructor", args)
        return CloudFileCache(self)

    def getFileSyncState(self, *args: object) -> Any:
        """Array form: Promise/callback of FileSyncState[]; string form: the state, at once."""
        uris, given = self.arguments("cloudSync.getFileSyncState", args)
        if isinstance(uris, str):
            if given is not None:  # the string form takes no callback
                raise self.error(K.INVALID_PARAMETER)
            self.require_caller(permission=self.fidelity.state_string_needs_permission)
            rel = self.relative(uris, K.INVALID_URI)
            return self._file_state(rel)
        if not isinstance(uris, list) or not uris or len(uris) > MAX_STATE_URIS \
                or not all(isinstance(u, str) for u in uris):
            raise self.error(K.INVALID_PARAMETER)
        callback = self.callback(given)
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
            raise self.error(K.INVALID_URI if self.fidelity.missing_file_invalid_uri
                             else K.NO_SUCH_FILE)
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

    def registerChange(self, *args: object) -> None:
        """Watch a file or folder of the cloud folder (``recursion``: the whole subtree)."""
        uri, recursion, callback = self.arguments("cloudSync.registerChange", args)
        if not isinstance(recursion, bool) or not callable(callback):
            raise self.error(K.INVALID_PARAMETER)
        path = self._watched(uri)
        for owner, watched, _, cb in self.service.watchers:
            if owner is self.sandbox and watched == path and cb is callback:
                raise self.error(K.INVALID_PARAMETER)
        self.service.watchers.append((self.sandbox, path, recursion, callback))

    def unregisterChange(self, *args: object) -> None:
        (uri,) = self.arguments("cloudSync.unregisterChange", args)
        path = self._watched(uri)
        self.service.watchers[:] = [w for w in self.service.watchers
                                    if not (w[0] is self.sandbox and w[1] == path)]


class _SyncBase:
    """What GallerySync and FileSync share: the progress listeners, start/stop. Every method
    needs CLOUDFILE_SYNC (201) and a system app (202), as the page says for both classes
    (FileSync's only on a profile where it is not public)."""

    _api = "GallerySync"
    """The class's name in the d.ts, which names its methods' arity."""

    def __init__(self, module: CloudSyncModule, bundle: str | None = None) -> None:
        self._module = module
        self._bundle = bundle
        self._id = next(_ids)
        self._listeners: dict[int, Callable[[SyncProgress], None]] = {}
        """This instance's registrations (id → callback) in its engine's listeners."""
        self._registered = False
        """Whether an ``on`` has given this instance its callback id (research §2.8)."""

    @property
    def _engine(self) -> SyncEngine:
        return self._module.engine(self._bundle)

    def _args(self, name: str, given: tuple[object, ...]) -> list[object]:
        return self._module.arguments(f"{self._api}.{name}", given)

    def _caller(self) -> BusinessError | None:
        return self._module.caller_error()

    def _service_call(self, callback: AsyncCallback | None) -> BusinessError | None:
        """The checks every asynchronous call makes after its arguments: the caller, then
        the IPC to the service (the error the promise will reject with)."""
        error = self._caller()
        if error is None and not self._module.cloud.ipc_ok():
            error = self._module.error(K.IPC_ERROR)
        return error

    def on(self, *args: object) -> None:
        """Listen to sync progress: each ``on`` adds a listener, or, on a release, a second
        ``on`` keeps the first callback (research §2.8)."""
        module = self._module
        evt, callback = self._args("on", args)
        if evt != "progress" or not callable(callback):
            raise module.error(K.INVALID_PARAMETER)
        error = self._caller()
        if error is not None:
            raise error
        module.require_ipc()
        if self._listeners and module.fidelity.one_listener:
            return
        key = next(_ids)
        self._listeners[key] = callback
        self._engine.listeners[key] = callback
        self._registered = True
        if module.fidelity.push_state_on_register:
            callback(self._engine.last_progress)

    def off(self, *args: object) -> None:
        """Stop listening: ``callback``'s registrations, or all (a release drops its one
        callback whichever is given)."""
        module = self._module
        evt, callback = self._args("off", args)
        if evt != "progress" or (callback is not None and not callable(callback)):
            raise module.error(K.INVALID_PARAMETER)
        error = self._caller()
        if error is not None:
            raise error
        module.require_ipc()
        if not self._registered and module.fidelity.off_without_on_fails:
            # no callback id yet: the client refuses (§2.8); once an ``on`` has set one it
            # stays, and a second ``off`` asks the service again and succeeds
            raise module.error(K.INVALID_PARAMETER)
        for key in [k for k, cb in self._listeners.items() if callback is None
                    or cb == callback or module.fidelity.one_listener]:
            del self._listeners[key]
            self._engine.listeners.pop(key, None)

    def _answer(self, error: BusinessError | None, value: object,
                callback: AsyncCallback | None) -> Promise | None:
        if callback is not None and self._module.fidelity.callback_forms_ignored:
            callback = None  # the release returns a Promise and never calls back (§2.1)
        return self._module.settle(error, value, callback)

    def start(self, *args: object) -> Promise | None:
        """Start syncing. Refused with 22400002 (no network), 22400001 (cloud not ready) or
        22400003 (battery below 10 % and not charging); later problems arrive as progress."""
        module = self._module
        callback = module.callback(*self._args("start", args))
        error = self._service_call(callback)
        if error is None:
            engine = self._engine
            code = start_refusal(engine.device, engine.service.drive, engine.bundle)
            if code:
                error = module.error(code)
            else:
                engine.start()
        return self._answer(error, None, callback)

    def stop(self, *args: object) -> Promise | None:
        """Stop syncing: a running sync ends with STOPPED and a pending re-run is dropped.
        Where the client does not load a service that is not running, that is all
        (research §2.2)."""
        module = self._module
        callback = module.callback(*self._args("stop", args))
        if module.fidelity.stop_without_service and not module.cloud.loaded:
            return self._answer(None, None, callback)
        error = self._service_call(callback)
        if error is None:
            self._engine.stop()
        return self._answer(error, None, callback)


class GallerySync(_SyncBase):
    """Sync of the Gallery's media (system API; every call needs CLOUDFILE_SYNC)."""

    def __init__(self, module: CloudSyncModule) -> None:
        super().__init__(module, K.GALLERY_BUNDLE)


class FileSync(_SyncBase):
    """Sync of an app's cloud folder (a system API on the page: both constructors need a
    system app; public on a profile that says so)."""

    _api = "FileSync"

    def __init__(self, module: CloudSyncModule, bundleName: object = None) -> None:
        """``bundleName`` names an app; anything else (a path such as ``../x`` or ``/x``
        among them) is the page's parameter error, 401, before any effect."""
        if bundleName is not None and not is_bundle_name(bundleName):
            raise module.error(K.INVALID_PARAMETER)
        if not module.caller.system_app and not module.fidelity.file_sync_public:
            raise module.error(K.NOT_SYSTEM_APP)
        super().__init__(module, bundleName if isinstance(bundleName, str) else None)
        self._foreign = bundleName is not None and bundleName != module.caller.bundle_name \
            and not module.caller.has(CLOUDFILE_SYNC_MANAGER)
        """Another app's FileSync without CLOUDFILE_SYNC_MANAGER: the service refuses each
        call with 201 (``GetTargetBundleName``); the constructor does not (research §2.1,
        §2.2)."""

    def _caller(self) -> BusinessError | None:
        if self._foreign:
            return self._module.error(K.PERMISSION_DENIED)
        if self._module.fidelity.file_sync_public:
            return None  # public since API 12: no permission check (research §2.2)
        return self._module.caller_error()

    def getLastSyncTime(self, *args: object) -> Promise | None:
        """UTC milliseconds of the last run that completed without error (0 before any)."""
        module = self._module
        (given,) = self._args("getLastSyncTime", args)
        if is_number(given) and module.fidelity.wrong_type_einval:
            raise module.error(K.INVALID_ARGUMENT)  # the NAPI's EINVAL (research §2.1)
        callback = module.callback(given)
        error = self._service_call(callback)
        return self._module.settle(error, self._engine.last_sync_ms, callback)


def is_number(value: object) -> bool:
    """Whether ``value`` is what JavaScript calls a number (a boolean is not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_bundle_name(name: object) -> bool:
    """Whether ``name`` is a bundle name (:data:`BUNDLE_NAME`, at most
    :data:`BUNDLE_NAME_MAX` bytes): it names an app's sandbox, so it must never be a path."""
    return isinstance(name, str) and len(name) <= BUNDLE_NAME_MAX \
        and BUNDLE_NAME.fullmatch(name) is not None


class _FetchBase:
    """Download and CloudFileCache: on-demand downloads of cloud files."""

    _api = "Download"
    """The class's name in the d.ts, which names its methods' arity."""
    _invalid_uri = K.NO_SUCH_FILE

    def __init__(self, module: CloudSyncModule) -> None:
        self._module = module
        self._listener: Callable[[DownloadProgress], object] | None = None

    def _progress(self, progress: DownloadProgress) -> None:
        if self._listener is not None:
            self._listener(progress)

    def _listen_args(self, name: str, given: tuple[object, ...]
                     ) -> Callable[[DownloadProgress], object] | None:
        """``on``/``off``'s arguments: the event, and the callback (mandatory for ``on``:
        the arity says so)."""
        evt, callback = self._module.arguments(f"{self._api}.{name}", given)
        if evt != "progress" or (callback is not None and not callable(callback)):
            raise self._module.error(K.INVALID_PARAMETER)
        return callback

    def _check_args(self, name: str, given: tuple[object, ...]) -> tuple[str,
                                                                          AsyncCallback | None]:
        """``start``/``stop``'s arguments: a URI (a non-empty string) and the callback."""
        uri, callback = self._module.arguments(f"{self._api}.{name}", given)
        if not isinstance(uri, str) or not uri:
            raise self._module.error(K.INVALID_PARAMETER)
        return uri, self._module.callback(callback)

    def _failure(self, error: BusinessError) -> BusinessError:
        """The error the app sees for a service's refusal of a download."""
        return error

    def _start(self, uri: str, callback: AsyncCallback | None,
               caller: BusinessError | None) -> Promise | None:
        module = self._module
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
                engine.fetch(rel, uri, self._progress)
            except BusinessError as exc:
                error = self._failure(exc)
        return module.settle(error, None, callback)

    def _stop(self, uri: str, callback: AsyncCallback | None,
              caller: BusinessError | None) -> Promise | None:
        module = self._module
        error = caller
        if error is None:
            # a URI that names no file of the folder has no download to stop
            with contextlib.suppress(BusinessError):
                module.engine().stop_fetch(module.relative(uri, self._invalid_uri))
        return module.settle(error, None, callback)


class Download(_FetchBase):
    """Download of cloud files' content (system API, CLOUDFILE_SYNC)."""

    def on(self, *args: object) -> None:
        """Listen to download progress; the callback is registered with the sync service
        (an IPC call, so 13600001 when it does not answer). The caller is checked before
        the event and the callback (research §2.1)."""
        self._module.arguments("Download.on", args)
        self._module.require_caller()
        callback = self._listen_args("on", args)
        self._module.require_ipc()
        self._listener = callback

    def off(self, *args: object) -> None:
        self._module.arguments("Download.off", args)
        self._module.require_caller()
        self._listen_args("off", args)
        self._module.require_ipc()
        if self._listener is None:
            raise self._module.error(K.IPC_ERROR)  # no callback registered (research §2.1)
        self._listener = None

    def start(self, *args: object) -> Promise | None:
        """Download ``uri``'s content: 13900002 when the cloud has no such file, 13900025 when
        it cannot fit; progress events follow."""
        return self._start(*self._check_args("start", args), self._module.caller_error())

    def stop(self, *args: object) -> Promise | None:
        """Stop a download: STOPPED follows and the partial file is removed."""
        return self._stop(*self._check_args("stop", args), self._module.caller_error())


class CloudFileCache(_FetchBase):
    """Caching of cloud files on the device (public; cleanCache is a system API)."""

    _api = "CloudFileCache"
    _invalid_uri = K.INVALID_URI

    def __init__(self, module: CloudSyncModule) -> None:
        super().__init__(module)
        self._registered = False
        """Whether ``on`` or ``start`` made the instance's callback object (research §2.1)."""

    def on(self, *args: object) -> None:
        self._listener = self._listen_args("on", args)
        self._registered = True

    def off(self, *args: object) -> None:
        self._listen_args("off", args)
        self._listener = None

    def _failure(self, error: BusinessError) -> BusinessError:
        if self._module.fidelity.cache_start_as_ipc and error.code != K.INVALID_PARAMETER:
            return self._module.error(K.IPC_ERROR)  # the NAPI's rewrite (research §2.1)
        return error

    def start(self, *args: object) -> Promise | None:
        uri, callback = self._check_args("start", args)
        self._registered = True
        return self._start(uri, callback, None)

    def stop(self, *args: object) -> Promise | None:
        """Stop caching ``uri``: ``stop(uri, needClean?)`` or ``stop(uri, callback)``. The
        partial file is always removed, and with ``needClean`` the cached copy too. The
        answer is the stop's: a copy that is a link or has other names (a hard link) is left
        whole, as :meth:`cleanCache` leaves it."""
        module = self._module
        uri, second = module.arguments("CloudFileCache.stop", args)
        needClean = second if isinstance(second, bool) else False
        uri, callback = self._check_args("stop", (uri, None if isinstance(second, bool)
                                                  else second))
        if module.fidelity.cache_stop_needs_callback and not self._registered:
            return module.settle(module.error(K.INVALID_PARAMETER), None, callback)
        promise = self._stop(uri, callback, None)
        if needClean:
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

    def cleanCache(self, *args: object) -> None:
        """Drop a file's local content, keeping it in the cloud (synchronous).

        A file that is a link, or a file with other names outside the folder (a hard link),
        is not the app's cached file: 14000002, the page's code for a URI that names no file
        of the app's cloud folder. Not 13900002: something is there, and it is left whole.
        Where the service drops the engine's answer (research §2.1), those succeed, with
        nothing cleaned."""
        module = self._module
        (uri,) = module.arguments("CloudFileCache.cleanCache", args)
        if not isinstance(uri, str):
            raise module.error(K.INVALID_ARGUMENT if module.fidelity.wrong_type_einval
                               else K.INVALID_PARAMETER)
        module.require_caller()
        module.require_ipc()
        try:
            self._clean(uri)
        except BusinessError:
            if not module.fidelity.clean_cache_ignores_engine:
                raise

    def _clean(self, uri: str) -> None:
        module = self._module
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
