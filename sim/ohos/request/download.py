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
from sim.fs import parts
from sim.ohos.common import AsyncCallback, Promise, deliver
from sim.ohos.request import constants as C
from sim.ohos.request.app import App
from sim.ohos.request.curl import (
    CONNECT_ERRORS,
    HOLD_S,
    CurlOptions,
    CurlResult,
    Fetch,
    Head,
    probe,
)
from sim.ohos.request.errors import business_error, param_error
from sim.ohos.request.wire import sendable_header, sendable_url
from sim.trace import DeviceEvent, EventKind

if TYPE_CHECKING:
    from sim.device.storage import Reservation

EVENTS = ("progress", "complete", "pause", "remove", "fail")
HALTS = ("paused by user", "removed")
"""Reasons a task's own call gives when it stops the task's transfer."""
STEP = 4 * 1024 * 1024
"""Bytes paced through the simulated link at a time (a progress event each)."""
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


def parse_config(module: App, config: object) -> DownloadConfig:
    """Check a DownloadConfig the way the platform does (§3.1 steps 5-7)."""
    fidelity = module.fidelity
    if not isinstance(config, dict):
        raise param_error(fidelity, "download config has wrong type")
    url = config.get("url")
    if not sendable_url(url):
        raise param_error(fidelity, "download config url error")
    header = config.get("header", {})
    if header is None:
        header = {}
    if not isinstance(header, dict) or not all(
            sendable_header(k, v) for k, v in header.items()):
        raise param_error(fidelity, "download config header error")
    values: dict[str, Any] = {"url": url, "header": dict(header)}
    for key, kind in (("enableMetered", bool), ("enableRoaming", bool), ("background", bool),
                      ("description", str), ("filePath", str), ("title", str)):
        if key in config and config[key] is not None:
            if not isinstance(config[key], kind):
                raise param_error(fidelity, f"download config {key} has wrong type")
            values[key] = config[key]
    network_type = config.get("networkType", 0)
    if network_type is None:
        network_type = 0
    if isinstance(network_type, bool) or not isinstance(network_type, int) \
            or not 0 <= network_type <= 0xFFFFFFFF:
        raise param_error(fidelity, "download config networkType has wrong type")
    values["networkType"] = network_type
    return DownloadConfig(**values)


def _file_error(code: int) -> Exception:
    return business_error(C.EXCEPTION_FILEIO, f"Failed to open file errno {code}")


def create_file(module: App, config: DownloadConfig) -> tuple[int, str, str]:
    """Create the task's file now under the app's cache folder: its descriptor (held by the
    task for every write), its path relative to the folder, and its URI.

    Per the page, ``filePath`` is relative to ``internal://cache/`` (``'test.txt'``,
    ``'workspace/test.txt'``, ``'workspace/'``); a path ending in ``/`` or empty takes the URL's
    last segment as the file name. An existing file, a path that leaves the cache folder or
    meets a symlink on the way is 13400002; a file that cannot be created (a name longer than
    the file system takes: errno 36) is 13400001 (§3.1 step 8).
    """
    folder = module.sandbox.cache
    relative = config.filePath.removeprefix("internal://cache/")
    if relative == "" or relative.endswith("/"):
        segment = config.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        relative += segment or "download"
    try:
        relative = "/".join(parts(relative))
        existing = folder.lstat(relative)
        if existing is not None and not stat.S_ISDIR(existing.st_mode):
            raise business_error(C.EXCEPTION_FILEPATH, "Download File already exists")
        fd = folder.create(relative, create_parents=True)
    except UnsafePath as exc:
        if exc.reason in (UnsafePath.NAME_TOO_LONG, UnsafePath.PATH_TOO_LONG):
            raise _file_error(errno.ENAMETOOLONG) from None
        raise business_error(C.EXCEPTION_FILEPATH, "Download File Path Valid") from None
    except OSError as exc:
        raise _file_error(exc.errno or errno.EIO) from None
    return fd, relative, "internal://cache/" + relative


class DownloadTask:
    """One download, as the app sees it. Create it with ``request.download(config)``."""

    def __init__(self, service: DownloadService, task_id: int, config: DownloadConfig,
                 fd: int, relative: str, uri: str) -> None:
        self._service = service
        self._fidelity = service.module.fidelity
        self.id = task_id
        self.config = config
        self.relative = relative
        """The file's path inside the app's cache folder."""
        self.path = service.module.sandbox.cache_dir / relative
        """Where the file was created: for reading it back, never for writing it."""
        self.uri = uri
        self.fd = fd
        """The file, held from creation to the task's end: every byte goes through it."""
        self._closer = weakref.finalize(self, os.close, fd)
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
        self._listeners: dict[str, Callable[..., Any]] = {}
        self._sticky: dict[str, tuple[Any, ...]] = {}
        self._last_progress: tuple[int, int] | None = None

    # -- events ------------------------------------------------------------------------------

    def _check_event(self, type_: object, callback: object, needed: bool) -> bool:
        if not isinstance(type_, str):
            raise param_error(self._fidelity, "type is not a string")
        if (needed or callback is not None) and not callable(callback):
            raise param_error(self._fidelity, "callback is not a function")
        if type_ not in EVENTS:
            if self._fidelity.plain_param_errors:
                return False  # 3.2 ignores unknown types silently (§3.9)
            raise param_error(self._fidelity, f"unknown event type {type_!r}")
        return True

    def on(self, type: str, callback: Callable[..., Any]) -> None:
        """Listen to ``type``; one listener per type (a new one replaces the old). A late
        ``complete``/``fail`` listener is called once with what already happened."""
        if not self._check_event(type, callback, needed=True):
            return
        self._listeners[type] = callback
        if type in self._sticky:
            self._call(type, callback, self._sticky.pop(type))

    def off(self, type: str, callback: Callable[..., Any] | None = None) -> None:
        """Stop listening to ``type`` (whatever ``callback`` is)."""
        if not self._check_event(type, callback, needed=False):
            return
        had = self._listeners.pop(type, None) is not None
        if callback is not None and self._fidelity.off_calls_callback:
            if type == "progress":
                callback(*((0, 0) if had else (-1, -1)))
            elif type == "fail":
                callback(0 if had else -1)
            else:
                callback()

    def _emit(self, type_: str, *args: Any) -> None:
        listener = self._listeners.get(type_)
        if listener is not None:
            self._call(type_, listener, args)
        elif type_ in ("complete", "fail"):
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

    def remove(self, callback: AsyncCallback | None = None) -> Promise | None:
        """Delete the task; ``remove`` fires before this returns. Resolves ``true``."""
        if not self.removed:
            self.removed = True
            self._service.forget(self)
            self._halt("removed")
            self._release()
            self._emit("remove")
            if not self._fidelity.remove_keeps_file:
                # by name through the held cache folder: a folder swapped for a symlink is
                # not followed, a file swapped for one is removed itself, not its target
                with contextlib.suppress(UnsafePath, OSError):
                    self._service.module.sandbox.cache.unlink(self.relative)
        return self._answer(True, callback)

    def pause(self, callback: AsyncCallback | None = None) -> Promise | None:
        """Pause a running or queued task (``pause`` fires at once)."""
        if not self.removed and self.status in (C.SESSION_RUNNING, C.SESSION_PENDING):
            self._service.unqueue(self)
            self._halt("paused by user")
            self._set(C.SESSION_PAUSED, C.ERROR_UNKNOWN, C.PAUSED_BY_USER)
        return self._answer(True if self._fidelity.pause_resolves_true else None, callback)

    def resume(self, callback: AsyncCallback | None = None) -> Promise | None:
        """Queue a paused task again; it continues from the file's length with ``Range``."""
        if not self.removed and self.status == C.SESSION_PAUSED:
            reason = None if self._fidelity.paused_reason_sticky else C.PAUSED_UNKNOWN
            self._set(C.SESSION_PENDING, None, reason)
            self._service.enqueue(self)
        return self._answer(True if self._fidelity.pause_resolves_true else None, callback)

    def query(self, callback: AsyncCallback | None = None) -> Promise | None:
        """The task's DownloadInfo."""
        return self._answer(self.info(), callback)

    def queryMimeType(self, callback: AsyncCallback | None = None) -> Promise | None:
        """The ``Content-Type`` the size probe saw (``""`` before it)."""
        return self._answer(self.mime_type, callback)

    def info(self) -> DownloadInfo:
        directory = self.uri.rsplit("/", 1)[0]
        return DownloadInfo(
            description=self.config.description, downloadedBytes=self.downloaded,
            downloadId=self.id, failedReason=self.failed_reason, fileName=self.path.name,
            filePath=directory if self._fidelity.query_path_is_directory else self.uri,
            pausedReason=self.paused_reason, status=self.status, targetURI=self.config.url,
            downloadTitle=self.config.title, downloadTotalBytes=self.total)

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

    def create(self, config: DownloadConfig, fd: int, relative: str, uri: str) -> DownloadTask:
        task = DownloadTask(self, self._next_id, config, fd, relative, uri)
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
        if not self.device.sensors.network().internet:
            task._set(C.SESSION_FAILED, C.ERROR_OFFLINE, C.PAUSED_UNKNOWN)
            return
        task._set(C.SESSION_RUNNING)
        attempts = 0
        while not task.halted:
            if not self.satisfied(task.config):
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
                    task._set(C.SESSION_PAUSED, C.ERROR_UNKNOWN, C.PAUSED_WAITING_TO_RETRY)
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
                task._set(C.SESSION_FAILED, C.ERROR_UNHANDLED_HTTP_CODE, C.PAUSED_UNKNOWN)
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
        finished = False
        heard = time.monotonic()
        while not finished:
            chunk = next(chunks, None)
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
                if pending_size < STEP:
                    continue
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
                    task._set(C.SESSION_FAILED, C.ERROR_UNHANDLED_HTTP_CODE, C.PAUSED_UNKNOWN)
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
                task._set(C.SESSION_FAILED, C.ERROR_UNHANDLED_HTTP_CODE, C.PAUSED_UNKNOWN)
            else:
                task._set(C.SESSION_SUCCESSFUL)
        elif result.code == pycurl.E_WRITE_ERROR and ok_status:
            task._set(C.SESSION_FAILED, C.ERROR_HTTP_DATA_ERROR, C.PAUSED_UNKNOWN)
        elif result.code == pycurl.E_TOO_MANY_REDIRECTS:
            task._set(C.SESSION_FAILED, C.ERROR_TOO_MANY_REDIRECTS, C.PAUSED_UNKNOWN)
        else:
            task._set(C.SESSION_FAILED, C.ERROR_UNHANDLED_HTTP_CODE, C.PAUSED_UNKNOWN)


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
