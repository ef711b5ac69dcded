"""``request.download``: DownloadTask and the download service behind it.

The service follows the platform's (research §3): tasks queue FIFO and at most four run at once;
each run probes the size, resumes with ``Range`` from the file's length, and maps libcurl's
result onto SESSION_*/ERROR_*/PAUSED_* exactly as §3.5 lays out. Bytes come over real HTTP and
are paced by the simulated link: a chunk is written to the file only once the device's link has
carried it, so a radio lost mid-body leaves exactly the bytes the link delivered.

What reaches the file is only ever the server's representation: the body of an answer is
written only when the answer is the file (200 to a plain request; to a resume, a 206 whose
``Content-Range`` starts where the file ends and totals what the probe announced); a resume
carries ``If-Range`` with the first answer's validator, so bytes of a replaced representation
are never appended (its 200 is libcurl's range error, §3.5's last row); and ``complete`` needs
the file to hold exactly the announced size. The file is created ``O_EXCL`` through the
app's held cache folder and written through the descriptor the task holds, so a symlink
swapped in for it or its folder later is never followed (:mod:`sim.fs`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
import weakref
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pycurl
import simpy

from sim.device.radio import NetworkType
from sim.errors import StorageFull, TransferInterrupted, UnsafePath
from sim.fs import Folder, parts
from sim.ohos.common import AsyncCallback, Context, Promise, deliver
from sim.ohos.request import constants as C
from sim.ohos.request.app import App
from sim.ohos.request.curl import (
    CONNECT_ERRORS,
    HOLD_S,
    WRITE_SIZE,
    CurlOptions,
    CurlResult,
    Fetch,
    Head,
    next_step,
    probe,
)
from sim.ohos.request.errors import (
    bad_call,
    business_error,
    callback_only,
    given,
    param_error,
)
from sim.ohos.request.listeners import Listeners
from sim.ohos.request.wire import sendable_header, sendable_url
from sim.trace import DeviceEvent, EventKind

if TYPE_CHECKING:
    from sim.device.storage import Reservation

EVENTS = ("progress", "complete", "pause", "remove", "fail")
HALTS = ("paused by user", "removed")
"""Reasons a task's own call gives when it stops the task's transfer."""
SESSION_UNKNOWN = 5
"""The status 3.2 reports for a queued task: not an exported constant (§3.2)."""
STEP = 4 * 1024 * 1024
"""The most bytes paced through the simulated link between two progress events."""
STALL_S = 1.0
"""Real seconds without a step of the body after which a server counts as stalled (or
trickling): from then on the simulation's time passes while it waits."""

Gen = Generator[simpy.Event, Any, Any]


@dataclass(frozen=True)
class DownloadConfig:
    url: str
    header: dict[str, str]
    enableMetered: bool = False
    enableRoaming: bool = False
    description: str = ""
    networkType: int = 0
    filePath: str = ""
    title: str = ""
    background: bool = False


@dataclass(frozen=True)
class DownloadInfo:
    """``query()``'s result: the 11 fields of the page's DownloadInfo."""

    description: str
    downloadedBytes: int
    downloadId: int
    failedReason: int
    fileName: str
    filePath: str
    pausedReason: int
    status: int
    targetURI: str
    downloadTitle: str
    downloadTotalBytes: int


def parse_config(module: App, config: object, *, api9: bool = False) -> DownloadConfig:
    """Check a DownloadConfig the way the platform does (§3.1 steps 5-7): 401 for the API 9
    form, the profile's bad-argument error for the legacy one. An optional field given as
    undefined (None) is one not given."""
    fidelity = module.fidelity
    if not isinstance(config, dict):
        raise bad_call(fidelity, "download config has wrong type", api9=api9)
    url = config.get("url")
    if not sendable_url(url):
        raise bad_call(fidelity, "download config url error", api9=api9)
    header = config.get("header", {})
    if header is None:
        header = {}
    if not isinstance(header, dict) or not all(
            sendable_header(k, v) for k, v in header.items()):
        raise bad_call(fidelity, "download config header error", api9=api9)
    values: dict[str, Any] = {"url": url, "header": dict(header)}
    for key, kind in (("enableMetered", bool), ("enableRoaming", bool), ("background", bool),
                      ("description", str), ("filePath", str), ("title", str)):
        if key in config and config[key] is not None:
            if not isinstance(config[key], kind):
                raise bad_call(fidelity, f"download config {key} has wrong type",
                               api9=api9)
            values[key] = config[key]
    network_type = config.get("networkType", 0)
    if network_type is None:
        network_type = 0
    if isinstance(network_type, bool) or not isinstance(network_type, int) \
            or not 0 <= network_type <= 0xFFFFFFFF:
        raise bad_call(fidelity, "download config networkType has wrong type",
                       api9=api9)
    values["networkType"] = network_type
    return DownloadConfig(**values)


def _file_error(code: int) -> Exception:
    return business_error(C.EXCEPTION_FILEIO, f"Failed to open file errno {code}")


BAD_PATH = "Download File Path Valid"
"""The platform's detail for a path it refuses (sic: it means "not valid", §1.2)."""


@dataclass(frozen=True)
class Placement:
    """Where a task's file was created: the held folder, the file's path in it, what the app
    calls the file (a URI or a device path) and the descriptor every byte goes through."""

    folder: Folder
    relative: str
    name: str
    fd: int


def _segment(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "download"


def _create(folder: Folder, relative: str, name: str, *, create_parents: bool,
            missing_folder_code: int) -> Placement:
    """Create ``relative`` in ``folder`` (``O_EXCL``, no link followed) as the platform's
    client does at task creation (§3.1 step 8): an existing file or a link on the way is
    13400002; a folder that is not there is ``missing_folder_code``; a file that cannot be
    created (a name too long: errno 36) is 13400001."""
    try:
        relative = "/".join(parts(relative))
        existing = folder.lstat(relative)
        if existing is not None and not stat.S_ISDIR(existing.st_mode):
            raise business_error(C.EXCEPTION_FILEPATH, "Download File already exists")
        fd = folder.create(relative, create_parents=create_parents)
    except UnsafePath as exc:
        if exc.reason in (UnsafePath.NAME_TOO_LONG, UnsafePath.PATH_TOO_LONG):
            raise _file_error(errno.ENAMETOOLONG) from None
        raise business_error(C.EXCEPTION_FILEPATH, BAD_PATH) from None
    except FileNotFoundError:
        if missing_folder_code == C.EXCEPTION_FILEPATH:
            raise business_error(C.EXCEPTION_FILEPATH, BAD_PATH) from None
        raise _file_error(errno.ENOENT) from None
    except OSError as exc:
        raise _file_error(exc.errno or errno.EIO) from None
    return Placement(folder, relative, name, fd)


def create_file(module: App, config: DownloadConfig) -> Placement:
    """``download(config)``'s file, created now under the app's cache folder.

    Per the page, ``filePath`` is relative to ``internal://cache/`` (``'test.txt'``,
    ``'workspace/test.txt'``, ``'workspace/'``); a path ending in ``/`` or empty takes the URL's
    last segment as the file name.
    """
    relative = config.filePath.removeprefix("internal://cache/")
    if relative == "" or relative.endswith("/"):
        relative += _segment(config.url)
    placed = _create(module.sandbox.cache, relative, "", create_parents=True,
                     missing_folder_code=C.EXCEPTION_FILEPATH)
    return Placement(placed.folder, placed.relative, "internal://cache/" + placed.relative,
                     placed.fd)


def place_file(module: App, context: Context, config: DownloadConfig) -> Placement:
    """``downloadFile(context, config)``'s file: ``filePath`` is a device path inside the
    app's cache or files folder (``context.cacheDir``/``filesDir``); relative, it is taken
    under ``cacheDir``, and without one the file is ``cacheDir/<last URL segment>`` — or, on a
    profile that says so, only an absolute path is taken (§3.1 step 8). A path outside the
    app's folders cannot be opened there: 13400001 (errno 13, as the platform's tests expect
    for ``/system/lib/…`` and another app's sandbox)."""
    fidelity = module.fidelity
    path = config.filePath
    if not path.startswith("/"):
        if fidelity.absolute_paths_only or "://" in path:
            raise business_error(C.EXCEPTION_FILEPATH, BAD_PATH)
        # none: the URL's last segment as it stands (``InterceptData``), query and all
        relative = path.removeprefix("./") if path else config.url.rsplit("/", 1)[-1]
        path = f"{context.cacheDir}/{relative}"
    sandbox = module.sandbox
    inside = [(folder, path[len(base):].removeprefix("/")) for base, folder in (
        (context.cacheDir, sandbox.cache), (context.filesDir, sandbox.files))
        if path == base or path.startswith(base + "/")]
    if not inside:
        raise _file_error(errno.EACCES)
    folder, relative = inside[0]
    parent, _, last = relative.rpartition("/")
    if last in ("", ".", ".."):
        # a folder's name: its folder part must be there (§3.1 step 8), then it cannot be
        # opened for writing
        try:
            there = not parent or folder.lstat(parent) is not None
        except UnsafePath:
            raise business_error(C.EXCEPTION_FILEPATH, BAD_PATH) from None
        if not there:
            if fidelity.missing_folder_code == C.EXCEPTION_FILEPATH:
                raise business_error(C.EXCEPTION_FILEPATH, BAD_PATH)
            raise _file_error(errno.ENOENT)
        raise _file_error(errno.EISDIR)
    return _create(folder, relative, path, create_parents=False,
                   missing_folder_code=fidelity.missing_folder_code)


class DownloadTask:
    """One download, as the app sees it. Create it with ``request.download(config)``."""

    def __init__(self, service: DownloadService, task_id: int, config: DownloadConfig,
                 placed: Placement, *, api9: bool = False) -> None:
        self._service = service
        self._fidelity = service.module.fidelity
        self.id = task_id
        self.config = config
        self.api9 = api9
        """Created by ``downloadFile`` (API 9): its errors are 401 on every profile."""
        self.folder = placed.folder
        """The app's folder the file is in, held: the file is removed through it."""
        self.relative = placed.relative
        """The file's path inside :attr:`folder`."""
        self.path = placed.folder.path / placed.relative
        """Where the file was created: for reading it back, never for writing it."""
        self.uri = placed.name
        """What the app calls the file: its ``internal://cache/`` URI, or (API 9) its device
        path."""
        self.fd = placed.fd
        """The file, held from creation to the task's end: every byte goes through it."""
        self._closer = weakref.finalize(self, os.close, placed.fd)
        self.validator = ""
        """The first answer's ETag or Last-Modified: a resume continues only that
        representation (``If-Range``)."""
        self.status = C.SESSION_PENDING
        self.failed_reason = C.ERROR_UNKNOWN
        self.paused_reason = C.PAUSED_UNKNOWN
        self.total = -1
        self.downloaded = 0
        self.mime_type = ""
        self.probed = False
        self.removed = False
        self.transfer: Any = None
        self._listeners = Listeners(many=self._fidelity.listeners_many)
        self._sticky: dict[str, tuple[Any, ...]] = {}
        self._last_progress: tuple[int, int] | None = None

    # -- events ------------------------------------------------------------------------------

    def _check_event(self, args: tuple[object, ...], needed: bool) -> tuple[str, Any] | None:
        """``on``'s and ``off``'s arguments checked as the platform checks them (§3.9): the
        type, and the callback ``on`` needs and ``off`` may take; None where 3.2 ignores the
        call silently (a wrong count, an unknown type)."""
        fidelity = self._fidelity
        if not (2 if needed else 1) <= len(args if needed else given(args)) <= 2:
            if fidelity.plain_param_errors:
                return None
            raise param_error(fidelity, "need 2 parameters" if needed
                              else "need 1 or 2 parameters")
        type_ = args[0]
        callback = args[1] if len(args) > 1 else None
        if not isinstance(type_, str):
            raise param_error(fidelity, "type is not a string")
        if (needed or callback is not None) and not callable(callback):
            raise param_error(fidelity, "callback is not a function")
        if type_ not in EVENTS:
            if fidelity.plain_param_errors:
                return None  # 3.2 ignores unknown types silently (§3.9)
            raise param_error(fidelity, f"unknown event type {type_!r}")
        return type_, callback

    def on(self, *args: Any) -> None:
        """``on(type, callback)``: listen to ``type`` — one listener per type (a new one
        replaces the old), or several on a profile that keeps them. A late
        ``complete``/``fail`` listener is called once with what already happened."""
        checked = self._check_event(args, needed=True)
        if checked is None:
            return
        type_, callback = checked
        self._listeners.add(type_, callback)
        if type_ in self._sticky:
            self._call(type_, callback, self._sticky.pop(type_))

    def off(self, *args: Any) -> None:
        """``off(type[, callback])``: stop listening to ``type`` — whatever ``callback`` is, or
        on a profile with several listeners that one (all of them without it)."""
        checked = self._check_event(args, needed=False)
        if checked is None:
            return
        type_, callback = checked
        had = self._listeners.remove(type_, callback)
        if callback is not None and self._fidelity.off_calls_callback:
            if type_ == "progress":
                callback(*((0, 0) if had else (-1, -1)))
            elif type_ == "fail":
                callback(0 if had else -1)
            else:
                callback()

    def _emit(self, type_: str, *args: Any) -> None:
        listeners = self._listeners.of(type_)
        for listener in listeners:
            self._call(type_, listener, args)
        if not listeners and type_ in ("complete", "fail"):
            self._sticky[type_] = args

    def _call(self, type_: str, listener: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """Call an app's listener; what it raises is the app's fault, recorded in the trace,
        and the service carries on (as a throwing JS callback does not stop the platform's)."""
        try:
            listener(*args)
        except Exception as exc:
            self._service.device.trace.emit(
                EventKind.API, api="request.download", task=self.id, what="listener raised",
                event=type_, error=f"{type(exc).__name__}: {exc}")

    def _release(self) -> None:
        """Let go of the file (the task has ended: nothing more is written). The number is
        forgotten too, so no later write can reach whatever file reuses it."""
        self._closer()
        self.fd = -1

    def _set(self, status: int, code: int | None = None, reason: int | None = None) -> None:
        """The service's ``SetStatus``: an event only when something changed (§3.3)."""
        if self.paused_reason == C.PAUSED_BY_USER and self._fidelity.paused_reason_sticky:
            reason = None
        before = (self.status, self.failed_reason, self.paused_reason)
        self.status = status
        if code is not None:
            self.failed_reason = code
        if reason is not None:
            self.paused_reason = reason
        if before == (self.status, self.failed_reason, self.paused_reason):
            return
        self._service.trace(self, "state")
        if status in (C.SESSION_SUCCESSFUL, C.SESSION_FAILED):
            self._release()
        if status == C.SESSION_SUCCESSFUL:
            self._emit("complete")
        elif status == C.SESSION_PAUSED:
            self._emit("pause")
        elif status == C.SESSION_FAILED:
            self._emit("fail", self.failed_reason)

    def _progress(self) -> None:
        unit = self._fidelity.progress_unit
        received = self.downloaded // unit
        total = self.total // unit if self.total >= 0 else -1
        if (received, total) != self._last_progress:
            self._last_progress = (received, total)
            self._emit("progress", received, total)

    # -- task methods --------------------------------------------------------------------------

    def _answer(self, value: object, callback: AsyncCallback | None) -> Promise | None:
        return deliver(Promise(self._service.env).resolve(value), callback)

    def _refuse(self, error: Exception, callback: AsyncCallback | None) -> Promise | None:
        return deliver(Promise(self._service.env).reject(error), callback)

    def remove(self, *args: Any) -> Promise | None:
        """``remove([callback])``: delete the task; ``remove`` fires before this returns.
        Resolves ``true``."""
        return self._remove(callback_only(self._fidelity, args, api9=False))

    def delete(self, *args: Any) -> Promise | None:
        """``delete([callback])`` (API 9): :meth:`remove`, its arguments checked with 401."""
        return self._remove(callback_only(self._fidelity, args, api9=True))

    def _remove(self, callback: AsyncCallback | None) -> Promise | None:
        if not self.removed:
            self.removed = True
            self._service.forget(self)
            self._halt("removed")
            self._release()
            self._emit("remove")
            if not self._fidelity.remove_keeps_file:
                # by name through the held folder: a folder swapped for a symlink is not
                # followed, a file swapped for one is removed itself, not its target
                with contextlib.suppress(UnsafePath, OSError):
                    self.folder.unlink(self.relative)
        return self._answer(True, callback)

    def pause(self, *args: Any) -> Promise | None:
        """``pause([callback])``: pause a running or queued task (``pause`` fires at once).
        Resolves nothing as documented (``true`` on 3.2)."""
        callback = callback_only(self._fidelity, args, api9=False)
        self._pause()
        return self._answer(True if self._fidelity.pause_resolves_true else None, callback)

    def suspend(self, *args: Any) -> Promise | None:
        """``suspend([callback])`` (API 9): :meth:`pause`, resolving ``true`` (§2.2)."""
        callback = callback_only(self._fidelity, args, api9=True)
        self._pause()
        return self._answer(True, callback)

    def _pause(self) -> None:
        if not self.removed and self.status in (C.SESSION_RUNNING, C.SESSION_PENDING):
            self._service.unqueue(self)
            self._halt("paused by user")
            self._set(C.SESSION_PAUSED, C.ERROR_UNKNOWN, C.PAUSED_BY_USER)

    def resume(self, *args: Any) -> Promise | None:
        """``resume([callback])``: queue a paused task again; it continues from the file's
        length with ``Range``."""
        callback = callback_only(self._fidelity, args, api9=False)
        self._resume()
        return self._answer(True if self._fidelity.pause_resolves_true else None, callback)

    def restore(self, *args: Any) -> Promise | None:
        """``restore([callback])`` (API 9): :meth:`resume`, resolving ``true`` (§2.2)."""
        callback = callback_only(self._fidelity, args, api9=True)
        self._resume()
        return self._answer(True, callback)

    def _resume(self) -> None:
        if not self.removed and self.status == C.SESSION_PAUSED:
            reason = None if self._fidelity.paused_reason_sticky else C.PAUSED_UNKNOWN
            self._set(C.SESSION_PENDING, None, reason)
            self._service.enqueue(self)

    def query(self, *args: Any) -> Promise | None:
        """``query([callback])``: the task's DownloadInfo, at any stage (§3.10)."""
        return self._answer(self.info(), callback_only(self._fidelity, args, api9=False))

    def getTaskInfo(self, *args: Any) -> Promise | None:
        """``getTaskInfo([callback])`` (API 9): :meth:`query`."""
        return self._answer(self.info(), callback_only(self._fidelity, args, api9=True))

    def queryMimeType(self, *args: Any) -> Promise | None:
        """``queryMimeType([callback])``: the ``Content-Type`` the size probe saw — ``""``
        before it, or 13400003 on a profile that rejects then (§2.2)."""
        callback = callback_only(self._fidelity, args, api9=False)
        return self._mime(callback, self._fidelity.legacy_empty_mime_rejects)

    def getTaskMimeType(self, *args: Any) -> Promise | None:
        """``getTaskMimeType([callback])`` (API 9): the type, 13400003 while there is none
        (documented and 3.2; the current platform resolves ``""``)."""
        callback = callback_only(self._fidelity, args, api9=True)
        return self._mime(callback, self._fidelity.empty_mime_rejects)

    def _mime(self, callback: AsyncCallback | None, rejects: bool) -> Promise | None:
        if not self.mime_type and rejects:
            return self._refuse(business_error(C.EXCEPTION_SERVICE, "download service failed"),
                                callback)
        return self._answer(self.mime_type, callback)

    def info(self) -> DownloadInfo:
        fidelity = self._fidelity
        status = self.status
        if fidelity.queued_status_unknown and self._service.queued(self):
            status = SESSION_UNKNOWN
        downloaded, total, task_id = self.downloaded, self.total, self.id
        if fidelity.query_uint32:
            if not self.probed and not downloaded:
                downloaded = -1  # the service's initial value, before a first run (§3.2)
            downloaded, total = downloaded & 0xFFFFFFFF, total & 0xFFFFFFFF
            task_id = 0  # read from the high half of the 64-bit count (§3.10)
        file_path = self.uri.rsplit("/", 1)[0] if fidelity.query_path_is_directory \
            else self.uri
        return DownloadInfo(
            description=self.config.description, downloadedBytes=downloaded,
            downloadId=task_id, failedReason=self.failed_reason, fileName=self.path.name,
            filePath=file_path, pausedReason=self.paused_reason, status=status,
            targetURI=self.config.url,
            downloadTitle=self.config.title or fidelity.default_title,
            downloadTotalBytes=total)

    def _halt(self, reason: str) -> None:
        if self.transfer is not None and not self.transfer.triggered:
            self.transfer.cancel(reason)

    @property
    def halted(self) -> bool:
        return self.removed or (self.status == C.SESSION_PAUSED
                                and self.paused_reason == C.PAUSED_BY_USER)


class DownloadService:
    """The device's download service: queue, four workers, network watching."""

    def __init__(self, module: App, curl_options: CurlOptions | None = None) -> None:
        self.module = module
        self.device = module.device
        self.env = module.device.env
        self.curl_options = curl_options or CurlOptions()
        self.tasks: dict[int, DownloadTask] = {}
        self._next_id = 0
        self._queue: deque[DownloadTask] = deque()
        self._running: set[DownloadTask] = set()
        self._requeue: set[DownloadTask] = set()
        self.device.sensors.subscribe(self._on_device_event)

    def create(self, config: DownloadConfig, placed: Placement, *,
               api9: bool = False) -> DownloadTask:
        task = DownloadTask(self, self._next_id, config, placed, api9=api9)
        self._next_id += 1
        self.tasks[task.id] = task
        self.trace(task, "created")
        self.enqueue(task)
        return task

    def trace(self, task: DownloadTask, what: str) -> None:
        self.device.trace.emit(EventKind.API, api="request.download", task=task.id, what=what,
                               status=task.status, failedReason=task.failed_reason,
                               pausedReason=task.paused_reason, downloaded=task.downloaded,
                               total=task.total)

    # -- scheduling ----------------------------------------------------------------------------

    def enqueue(self, task: DownloadTask) -> None:
        if task in self._running:
            self._requeue.add(task)  # still winding down: queue it when its worker ends
        elif task not in self._queue:
            self._queue.append(task)
        self._dispatch()

    def unqueue(self, task: DownloadTask) -> None:
        self._requeue.discard(task)
        with contextlib.suppress(ValueError):
            self._queue.remove(task)

    def queued(self, task: DownloadTask) -> bool:
        """Whether ``task`` waits in the queue for a worker."""
        return task in self._queue or task in self._requeue

    def forget(self, task: DownloadTask) -> None:
        self.unqueue(task)
        self.tasks.pop(task.id, None)

    def _dispatch(self) -> None:
        while self._queue and len(self._running) < C.MAX_RUNNING_DOWNLOADS:
            task = self._queue.popleft()
            self._running.add(task)
            self.env.process(self._worker(task))

    @property
    def running(self) -> int:
        return len(self._running)

    def _worker(self, task: DownloadTask) -> Gen:
        try:
            # the service picks the task up after its creation has returned: the app holds
            # its task, and has registered its listeners, before the first event (§3.2)
            yield self.env.timeout(0)
            yield from self._run(task)
        finally:
            self._running.discard(task)
            if task in self._requeue:
                self._requeue.discard(task)
                if not task.removed and task.status == C.SESSION_PENDING:
                    self._queue.append(task)
            self._dispatch()

    # -- network rules -------------------------------------------------------------------------

    def satisfied(self, config: DownloadConfig) -> bool:
        """The platform's ``IsSatisfiedConfiguration`` (§3.8): no check when networkType is 0."""
        if config.networkType == 0:
            return True
        net = self.device.sensors.network()
        radio = net.active_radio
        if radio is None:
            return False
        if radio.roaming and not config.enableRoaming:
            return False
        if radio.metered and not config.enableMetered:
            return False
        current = {NetworkType.CELLULAR: C.NETWORK_MOBILE, NetworkType.WIFI: C.NETWORK_WIFI}.get(
            net.active, 0)
        return bool(current & config.networkType)

    def _on_device_event(self, event: DeviceEvent) -> None:
        if event.kind not in (EventKind.RADIO, EventKind.RADIO_LINK):
            return
        for task in list(self.tasks.values()):
            if (task.status == C.SESSION_PAUSED
                    and task.paused_reason == C.PAUSED_WAITING_FOR_NETWORK
                    and self.device.sensors.network().internet
                    and self.satisfied(task.config)):
                task._set(C.SESSION_PENDING, None, C.PAUSED_UNKNOWN)
                self.enqueue(task)

    # -- one run of a task ----------------------------------------------------------------------

    def _run(self, task: DownloadTask) -> Gen:
        if task.halted:
            return
        waits = self.module.fidelity.unavailable_network_waits
        if not self.device.sensors.network().internet:
            if waits:  # WAITING until a network comes (§3.13)
                task._set(C.SESSION_PAUSED, None, C.PAUSED_WAITING_FOR_NETWORK)
                return
            task._set(C.SESSION_FAILED, C.ERROR_OFFLINE, C.PAUSED_UNKNOWN)
            return
        task._set(C.SESSION_RUNNING)
        attempts = 0
        while not task.halted:
            if not self.satisfied(task.config):
                if waits:  # WAITING until a network the config allows (§3.8)
                    task._set(C.SESSION_PAUSED, None, C.PAUSED_WAITING_FOR_NETWORK)
                    return
                task._set(C.SESSION_FAILED, C.ERROR_UNSUPPORTED_NETWORK_TYPE, C.PAUSED_UNKNOWN)
                return
            outcome = yield from self._attempt(task)
            if outcome == "halted":
                return
            if outcome == "lost" and self.module.fidelity.network_loss_waits:
                task._set(C.SESSION_PAUSED, None, C.PAUSED_WAITING_FOR_NETWORK)
                self._on_device_event(DeviceEvent(self.env.now, EventKind.RADIO))
                return
            if outcome in ("lost", "retry"):
                attempts += 1
                if attempts >= C.MAX_ATTEMPTS:
                    task._set(C.SESSION_PAUSED, C.ERROR_UNKNOWN,
                              self.module.fidelity.retry_pause_reason)
                    return
                task._set(C.SESSION_PENDING)
                yield self.env.timeout(1.0)  # the service's idle interval before the next try
                if task.halted:
                    return
                task._set(C.SESSION_RUNNING)
                continue
            return

    def _headers(self, task: DownloadTask) -> list[str]:
        return [f"{name}:{value}" for name, value in task.config.header.items() if value]

    def _attempt(self, task: DownloadTask) -> Gen:
        """One request (after the probe, once per task); returns ``"done"``, ``"retry"``
        (connect/DNS/timeout) or ``"lost"`` (the device's network went away)."""
        link = self.device.link
        if link.active_radio() is None:
            return "lost"
        headers = self._headers(task)
        if not task.probed:
            round_trip = link.transfer(0, "down", label=f"download-{task.id}-probe")
            task.transfer = round_trip
            try:
                yield round_trip
            except TransferInterrupted as exc:
                return "halted" if exc.reason in HALTS else "lost"
            result = probe(task.config.url, headers, self.curl_options)
            if result.code in CONNECT_ERRORS:
                return "retry"
            if result.code == 0 and result.http_status == 200:
                task.total = result.content_length
                task.mime_type = result.content_type
                task.validator = Head.of(result.header_lines).validator
                task.probed = True
        position = os.fstat(task.fd).st_size
        task.downloaded = position
        if task.total >= 0 and position >= task.total:
            if position == task.total:
                task._set(C.SESSION_SUCCESSFUL)
            else:  # more bytes than the representation has: not its bytes
                task._set(C.SESSION_FAILED, self.unhandled, C.PAUSED_UNKNOWN)
            return "done"
        remaining = task.total - position if task.total >= 0 else None
        reservation: Reservation | None = None
        if remaining is not None:
            try:
                reservation = self.device.storage.reserve(remaining)
            except StorageFull:
                self._fail_space(task)
                return "done"
        outcome, result, head = yield from self._body(task, headers, position, remaining,
                                                      reservation)
        if outcome != "done" or task.halted:
            return outcome
        assert result is not None
        if result.code in CONNECT_ERRORS:
            return "retry"
        self._conclude(task, result, position, head)
        return "done"

    @property
    def unhandled(self) -> int:
        """The code of an answer that is not the file (§3.5's last row): ERROR_UNKNOWN on a
        profile whose service has no such code (§3.6)."""
        return C.ERROR_UNKNOWN if self.module.fidelity.http_error_unknown \
            else C.ERROR_UNHANDLED_HTTP_CODE

    def _fail_space(self, task: DownloadTask) -> None:
        code = (C.ERROR_INSUFFICIENT_SPACE if self.module.fidelity.insufficient_space_code
                else C.ERROR_HTTP_DATA_ERROR)
        task._set(C.SESSION_FAILED, code, C.PAUSED_UNKNOWN)

    def _body(self, task: DownloadTask, headers: list[str], position: int,
              remaining: int | None, reservation: Reservation | None) -> Gen:
        """One GET from ``position``; returns (outcome, curl's result, the answer's head).

        Every body the server sends crosses the link (the device receives an error page as
        it receives a file), but only the file's own bytes are written (:meth:`_belongs`).
        """
        link = self.device.link
        if position > 0 and task.validator:
            headers = [*headers, f"If-Range:{task.validator}"]
        fetch = Fetch(task.config.url, headers, self.curl_options, resume_from=position)
        transfer = link.transfer(remaining if remaining is not None else 2**62, "down",
                                 label=f"download-{task.id}")
        task.transfer = transfer
        carried = 0  # bytes the link carried in this attempt
        written = 0  # of which the file took
        keep: bool | None = None
        pending: list[bytes] = []
        pending_size = 0
        outcome = "done"
        chunks = fetch.chunks()
        step = WRITE_SIZE
        backlog: deque[bytes] = deque()  # received, not yet through a step of the link
        finished = False
        heard = time.monotonic()
        while not finished:
            chunk = backlog.popleft() if backlog else next(chunks, None)
            if chunk == b"":  # nothing from the server yet
                if task.halted:  # paused or removed meanwhile
                    fetch.abort()
                    self._commit(reservation, written)
                    return "halted", None, fetch.head
                if time.monotonic() - heard >= STALL_S:
                    # a server that stalls or trickles: its time passes here too, so the
                    # simulation goes on (and the app can pause or remove) meanwhile; a
                    # brief wait on a busy machine moves no simulated time
                    yield self.env.timeout(HOLD_S)
                continue
            if chunk is not None:
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size < step:
                    continue
                if pending_size > step:  # what arrived at once goes on a step at a time
                    joined = b"".join(pending)
                    pending, pending_size = [joined[:step]], step
                    backlog.appendleft(joined[step:])
            else:
                finished = True
            if not pending_size:
                continue
            if keep is None:
                assert fetch.head is not None
                if not task.probed and fetch.head.status in (200, 206):
                    # no size from the probe: the service's write callback takes nothing,
                    # curl's write error with a 200 (research §3.4) — a body of unknown
                    # length is never taken for the file
                    fetch.abort()
                    transfer.cancel("write error")
                    self._commit(reservation, written)
                    task._set(C.SESSION_FAILED, C.ERROR_HTTP_DATA_ERROR, C.PAUSED_UNKNOWN)
                    return "failed", None, fetch.head
                keep = self._belongs(task, fetch.head, position)
                if keep is None:  # a 206 of other bytes than were asked: never appended
                    fetch.abort()
                    transfer.cancel("wrong range")
                    self._commit(reservation, written)
                    task._set(C.SESSION_FAILED, self.unhandled, C.PAUSED_UNKNOWN)
                    return "failed", None, fetch.head
                if keep and position == 0:
                    # the file holds this answer's bytes: a resume continues this
                    # representation, whatever the probe saw before it
                    task.validator = fetch.head.validator
            if keep and reservation is None:
                try:
                    self.device.storage.write(pending_size)
                except StorageFull:
                    fetch.abort()
                    transfer.cancel("storage full")
                    self._fail_space(task)
                    return "failed", None, fetch.head
            began = self.env.now
            try:
                yield transfer.reached(carried + pending_size)
                kept = pending_size
            except TransferInterrupted as exc:
                kept = max(0, min(pending_size, exc.bytes_done - carried))
                outcome = "halted" if exc.reason in HALTS else "lost"
            if keep and task.fd >= 0:  # (a task removed meanwhile has let its file go)
                data = pending if kept == pending_size else [b"".join(pending)[:kept]]
                try:
                    _write_all(task.fd, data, position + written)
                except OSError:
                    # the file cannot take the bytes: curl's write error, ERROR_HTTP_DATA_ERROR
                    fetch.abort()
                    if not transfer.triggered:
                        transfer.cancel("write error")
                    self._commit(reservation, written)
                    task._set(C.SESSION_FAILED, C.ERROR_HTTP_DATA_ERROR, C.PAUSED_UNKNOWN)
                    return "failed", None, fetch.head
                written += kept
                task.downloaded = position + written
                task._progress()
            carried += kept
            step = next_step(step, self.env.now - began, STEP)
            pending, pending_size = [], 0
            heard = time.monotonic()  # a step of the body went over the link
            if outcome != "done":
                fetch.abort()
                break
        self._commit(reservation, written)
        if outcome != "done":
            return outcome, None, fetch.head
        if not transfer.triggered:
            if remaining is None or carried < remaining:
                transfer.finish()  # the sender closed the body (normally, or early)
            yield transfer
        assert fetch.result is not None
        return "done", fetch.result, fetch.head

    def _commit(self, reservation: Reservation | None, written: int) -> None:
        if reservation is not None:
            reservation.commit(min(written, reservation.nbytes))

    def _belongs(self, task: DownloadTask, head: Head, position: int) -> bool | None:
        """Whether an answer's body is the file's next bytes: True to write it, False for an
        answer whose body is not the file (an error page: received, never written), None
        for a 206 of other bytes than were asked (a failure)."""
        if position == 0:
            return head.status == 200
        if head.status != 206:
            return False
        span = head.content_range
        if span is None or span[0] != position or \
                (task.total >= 0 and span[2] not in (task.total, -1)) or \
                (span[2] >= 0 and span[1] != span[2] - 1) or \
                (head.content_length >= 0 and head.content_length != span[1] - span[0] + 1) or \
                not head.same_representation(task.validator):
            # other bytes than asked, a span that is not the rest of the file, or another
            # representation than the file holds (a 206 in spite of If-Range)
            return None
        return True

    def _conclude(self, task: DownloadTask, result: CurlResult, position: int,
                  head: Head | None) -> None:
        """``HandleResponseCode`` (§3.5), and ``complete`` only for the whole representation:
        the file must hold what the probe and the answer announced (a body that ended early
        without a length to say so is a partial file: §3.5's last row)."""
        ok_status = result.http_status == 200 or (result.http_status == 206 and position > 0)
        if result.code == 0 and ok_status:
            size = os.fstat(task.fd).st_size
            announced = [task.total]
            if head is not None:
                span = head.content_range
                announced.append(span[2] if span is not None else head.content_length)
            elif result.http_status == 200:
                announced.append(result.content_length)
            if any(n >= 0 and n != size for n in announced):
                task._set(C.SESSION_FAILED, self.unhandled, C.PAUSED_UNKNOWN)
            else:
                task._set(C.SESSION_SUCCESSFUL)
        elif result.code == pycurl.E_WRITE_ERROR and ok_status:
            task._set(C.SESSION_FAILED, C.ERROR_HTTP_DATA_ERROR, C.PAUSED_UNKNOWN)
        elif result.code == pycurl.E_TOO_MANY_REDIRECTS:
            task._set(C.SESSION_FAILED, C.ERROR_TOO_MANY_REDIRECTS, C.PAUSED_UNKNOWN)
        else:
            task._set(C.SESSION_FAILED, self.unhandled, C.PAUSED_UNKNOWN)


def _write_all(fd: int, blocks: list[bytes], offset: int) -> None:
    """Write ``blocks`` one after another at ``offset`` (a short write is retried, not
    lost)."""
    n = os.pwritev(fd, blocks, offset)
    total = sum(len(b) for b in blocks)
    if n < total:  # rare: finish byte by byte from where the kernel stopped
        view = memoryview(b"".join(blocks))[n:]
        offset += n
        while view:
            written = os.pwrite(fd, view, offset)
            view, offset = view[written:], offset + written
