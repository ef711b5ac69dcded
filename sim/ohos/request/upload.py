"""``request.upload``: UploadTask, one HTTP request per file (research §4).

POST sends ``multipart/form-data`` — the form fields, then the file part — and PUT the raw file.
Success is HTTP 200 exactly. The body is built here and streamed to libcurl as the device's
simulated link carries it, so a radio lost mid-body stops the upload where the link stopped.

Each file is opened when its URI is resolved — through the app's held cache folder, following
no symlink — and that descriptor is what is sent: a file swapped afterwards (for a symlink to
something outside, say) changes nothing that reaches the server.
"""

from __future__ import annotations

import mimetypes
import os
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import simpy

from sim.errors import TransferInterrupted, UnsafePath
from sim.ohos.common import INTERNET, AsyncCallback, Promise, deliver
from sim.ohos.request import constants as C
from sim.ohos.request.app import App
from sim.ohos.request.curl import WRITE_SIZE, CurlOptions, CurlResult, Send
from sim.ohos.request.errors import bad_call, business_error, callback_only, given, param_error
from sim.ohos.request.listeners import Listeners
from sim.ohos.request.wire import form_safe, sendable_header, sendable_url, utf8
from sim.trace import EventKind

EVENTS = ("progress", "headerReceive", "complete", "fail")
STEP = 1024 * 1024
START_DELAY_S = 0.05
"""The library waits 50 ms before it starts (``USLEEP_INTERVEL_BEFOR_RUN``, §1.3)."""

Gen = Generator[simpy.Event, Any, Any]


@dataclass(frozen=True)
class File:
    """An entry of ``UploadConfig.files``."""

    uri: str
    filename: str = ""
    name: str = "file"
    type: str = ""


@dataclass(frozen=True)
class RequestData:
    name: str
    value: str


@dataclass(frozen=True)
class UploadConfig:
    url: str
    header: dict[str, str]
    method: str
    files: tuple[File, ...]
    data: tuple[RequestData, ...]


@dataclass(frozen=True)
class TaskState:
    """The outcome for one file: ``path`` (last segment of its uri), ``responseCode`` and
    ``message`` (research §1.3)."""

    path: str
    responseCode: int
    message: str


def parse_config(module: App, config: object, *, api9: bool = False) -> UploadConfig:
    """Check an UploadConfig as the platform does (§4.1): every field required; 401 "config
    error!" for the API 9 form, the profile's bad-argument error for the legacy one."""
    fidelity = module.fidelity
    fail = "Initialize. ParseUploadConfig fail"

    def bad(detail: str) -> Exception:
        return bad_call(fidelity, "config error!" if api9 else detail, api9=api9)

    if not isinstance(config, dict):
        raise bad(fail)
    for key in ("url", "header", "method", "files", "data"):
        if key not in config:
            raise bad(f"{fail}: {key} is missing")
    url, header, method = config["url"], config["header"], config["method"]
    if not sendable_url(url):
        raise bad(f"{fail}: url")
    if not isinstance(header, dict) or not all(
            sendable_header(k, v) for k, v in header.items()):
        raise bad(f"{fail}: header")
    if not isinstance(method, str) or method.upper() not in ("POST", "PUT"):
        raise bad(f"{fail}: method")
    files_in, data_in = config["files"], config["data"]
    if not isinstance(files_in, list) or not files_in:
        raise bad(f"{fail}: files")
    if not isinstance(data_in, list):
        raise bad(f"{fail}: data")
    files = []
    for entry in files_in:
        if not isinstance(entry, dict) or not isinstance(entry.get("uri"), str):
            raise bad(f"{fail}: files")
        for key in ("filename", "name", "type"):
            if key in entry and not (isinstance(entry[key], str) and form_safe(entry[key])):
                raise bad(f"{fail}: files.{key}")
        uri = entry["uri"]
        kind = entry.get("type") or mimetypes.guess_type(uri)[0] or "application/octet-stream"
        files.append(File(uri, entry.get("filename", ""), entry.get("name") or "file", kind))
    data = []
    for entry in data_in:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
                or not isinstance(entry.get("value"), str) or not form_safe(entry["name"]) \
                or not utf8(entry["value"]):
            raise bad(f"{fail}: data")
        data.append(RequestData(entry["name"], entry["value"]))
    return UploadConfig(url, dict(header), method.upper(), tuple(files), tuple(data))


class UploadTask:
    """One upload, as the app sees it. Create it with ``request.upload(config)``."""

    def __init__(self, service: UploadService, config: UploadConfig) -> None:
        self._service = service
        self._fidelity = service.module.fidelity
        self.config = config
        self.uploaded = 0
        self.total = 0
        self.removed = False
        self.states: list[TaskState] = []
        self.send: Send | None = None
        self.transfer: Any = None
        self._listeners = Listeners(many=self._fidelity.listeners_many)
        self._sticky: dict[str, tuple[Any, ...]] = {}
        self._pending_headers: list[Any] = []
        self._last_header: Any = None
        self._last_progress: tuple[int, int] | None = None

    def _check(self, args: tuple[object, ...], needed: bool) -> tuple[str, Any]:
        """``on``'s and ``off``'s arguments (§4.7): ``on`` takes exactly a type and a
        function, ``off`` a type and perhaps one."""
        count = len(args) if needed else len(given(args))
        if not (2 if needed else 1) <= count <= 2:
            raise param_error(self._fidelity, "ParseParam fail")
        type_ = args[0]
        callback = args[1] if len(args) > 1 else None
        if not isinstance(type_, str) or type_ not in EVENTS:
            raise param_error(self._fidelity, "ParseParam fail")
        if (needed or callback is not None) and not callable(callback):
            raise param_error(self._fidelity, "ParseParam fail")
        return type_, callback

    def on(self, *args: Any) -> None:
        """``on(type, callback)``: listen to ``type`` (one listener per type, or several on a
        profile that keeps them). A late ``progress`` listener gets the current values at
        once, a late ``complete``/``fail`` listener the stored states, and headers that
        arrived before a ``headerReceive`` listener are delivered in order."""
        type_, callback = self._check(args, needed=True)
        if not self._listeners.add(type_, callback):
            return
        if type_ == "progress" and self.uploaded:
            self._progress(force=True)
        elif type_ in self._sticky:
            self._call(type_, callback, self._sticky.pop(type_))
        elif type_ == "headerReceive":
            pending, self._pending_headers = self._pending_headers, []
            for header in pending:
                self._call(type_, callback, (header,))

    def off(self, *args: Any) -> None:
        """``off(type[, callback])``: stop listening to ``type`` (on a profile with several
        listeners, only ``callback`` when given)."""
        type_, callback = self._check(args, needed=False)
        had = self._listeners.remove(type_, callback)
        if callback is not None and had and self._fidelity.off_calls_callback:
            unit = self._fidelity.progress_unit
            if type_ == "progress":
                callback(self.uploaded // unit, self.total // unit)
            elif type_ == "headerReceive":
                callback(self._last_header)
            else:
                callback(list(self.states))

    def remove(self, *args: Any) -> Promise | None:
        """``remove([callback])``: abort the upload; files not yet sent get code 7 and no
        complete/fail follows. Resolves ``true``."""
        return self._remove(callback_only(self._fidelity, args, api9=False))

    def delete(self, *args: Any) -> Promise | None:
        """``delete([callback])`` (API 9): :meth:`remove`, its arguments checked with 401."""
        return self._remove(callback_only(self._fidelity, args, api9=True))

    def _remove(self, callback: AsyncCallback | None) -> Promise | None:
        if not self.removed:
            self.removed = True
            if self.transfer is not None and not self.transfer.triggered:
                self.transfer.cancel("removed")
        return deliver(Promise(self._service.env).resolve(True), callback)

    def _emit(self, type_: str, *args: Any) -> None:
        listeners = self._listeners.of(type_)
        for listener in listeners:
            self._call(type_, listener, args)
        if listeners:
            return
        if type_ in ("complete", "fail"):
            self._sticky[type_] = args
        elif type_ == "headerReceive":
            self._pending_headers.append(args[0])

    def _call(self, type_: str, listener: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """Call an app's listener; what it raises is recorded in the trace and the upload
        carries on (a throwing JS callback does not stop the platform's library)."""
        try:
            listener(*args)
        except Exception as exc:
            self._service.device.trace.emit(
                EventKind.API, api="request.upload", what="listener raised", event=type_,
                error=f"{type(exc).__name__}: {exc}")

    def _progress(self, force: bool = False) -> None:
        """Emit when the values changed (or at once for a new listener, §4.4)."""
        unit = self._fidelity.progress_unit
        values = (self.uploaded // unit, self.total // unit)
        if force or values != self._last_progress:
            self._last_progress = values
            self._emit("progress", *values)

    def _header(self, result: CurlResult, body: bytes) -> None:
        if self._fidelity.header_receive_string:
            payload: Any = "".join(result.header_lines)
        else:
            headers = {}
            for line in result.header_lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip()] = value.strip()
            payload = {"headers": headers, "body": body.decode("utf-8", "replace")}
        self._last_header = payload
        self._emit("headerReceive", payload)


class UploadService:
    """Runs upload tasks; each task runs on its own (no queue, as on the platform, §6)."""

    def __init__(self, module: App, curl_options: CurlOptions | None = None) -> None:
        self.module = module
        self.device = module.device
        self.env = module.device.env
        self.curl_options = curl_options or CurlOptions(connect_timeout_s=30.0)

    def upload(self, config: object, callback: object) -> Promise | None:
        """``upload(config[, callback])``: the task arrives through the promise/callback."""
        module = self.module
        if callback is not None and not callable(callback):
            raise param_error(module.fidelity, "callback is not a function")
        if not module.caller.has(INTERNET) and not module.fidelity.permission_denied_silent:
            promise = Promise(self.env).reject(business_error(C.EXCEPTION_PERMISSION))
            return deliver(promise, callback)
        return self._start(parse_config(module, config), callback)

    def upload_file(self, config: object, callback: object) -> Promise | None:
        """``uploadFile(context, config[, callback])`` past its permission and context (§4.1):
        what is wrong is thrown — 401 for the config or callback, 13400002 for a file URI
        that is not ``internal://cache/<name>`` or (as documented and on the current
        platform) a file that is not there."""
        module = self.module
        parsed = parse_config(module, config, api9=True)
        if callback is not None and not callable(callback):
            raise business_error(C.EXCEPTION_PARAMCHECK, "callback is not a function")
        prefix = "internal://cache/"
        for f in parsed.files:
            usable = f.uri.startswith(prefix) and len(f.uri) > len(prefix)
            if usable and module.fidelity.upload_checks_files:
                fd = self._open(f.uri)
                usable = fd is not None
                if fd is not None:
                    os.close(fd)
            if not usable:
                raise business_error(C.EXCEPTION_FILEPATH,
                                     f" --{{{f.filename} 13400002 bad file path}}-- ")
        return self._start(parsed, callback)

    def _start(self, config: UploadConfig, callback: object) -> Promise | None:
        task = UploadTask(self, config)
        self.env.process(self._run(task))
        return deliver(Promise(self.env).resolve(task), callback)  # type: ignore[arg-type]

    def _trace(self, task: UploadTask, what: str, **data: Any) -> None:
        self.device.trace.emit(EventKind.API, api="request.upload", what=what,
                               uploaded=task.uploaded, total=task.total, **data)

    def _open(self, uri: str) -> int | None:
        """The file an ``internal://cache/`` URI names, opened now through the app's held
        cache folder (no symlink followed, a regular file only); None if it cannot be had."""
        prefix = "internal://cache/"
        if not uri.startswith(prefix):
            return None
        try:
            return self.module.sandbox.cache.open(uri[len(prefix):])
        except (UnsafePath, OSError):
            return None

    def _run(self, task: UploadTask) -> Gen:
        yield self.env.timeout(START_DELAY_S)
        fds: list[int] = []
        try:
            yield from self._run_files(task, fds)
        finally:
            for fd in fds:
                os.close(fd)

    def _run_files(self, task: UploadTask, fds: list[int]) -> Gen:
        config = task.config
        codes: list[int | None] = []
        for f in config.files:
            if not f.uri.startswith("internal://"):
                codes.append(C.UPLOAD_UNSUPPORTED_URI)
                continue
            fd = self._open(f.uri)
            if fd is not None:
                fds.append(fd)
            codes.append(None if fd is not None else C.UPLOAD_GET_FILE_ERROR)
        names = [f.uri.rstrip(" ").rsplit("/", 1)[-1] for f in config.files]
        if any(code is not None for code in codes):
            # a file that cannot be obtained: nothing is sent; the others report 5 (§4.5)
            task.states = [TaskState(n, c if c is not None else C.UPLOAD_FAIL,
                                     C.UPLOAD_MESSAGES[c if c is not None else C.UPLOAD_FAIL])
                           for n, c in zip(names, codes, strict=True)]
            self._finish(task)
            return
        task.total = sum(os.fstat(fd).st_size for fd in fds)
        results: list[int] = []
        for index, (f, fd) in enumerate(zip(config.files, fds, strict=True)):
            if task.removed:
                results.append(C.UPLOAD_REMOVED)
                continue
            code, result, body = yield from self._send(task, f, fd)
            results.append(code)
            last = index == len(config.files) - 1
            if result is not None and result.header_lines and (
                    not self._service_fidelity_string() or last or result.http_status != 200):
                task._header(result, body)
        task.states = [TaskState(n, c, C.UPLOAD_MESSAGES[c])
                       for n, c in zip(names, results, strict=True)]
        self._finish(task)

    def _service_fidelity_string(self) -> bool:
        return self.module.fidelity.header_receive_string

    def _finish(self, task: UploadTask) -> None:
        if task.removed:
            self._trace(task, "removed")
            return
        ok = all(s.responseCode == C.UPLOAD_OK for s in task.states)
        self._trace(task, "complete" if ok else "fail",
                    codes=[s.responseCode for s in task.states])
        task._emit("complete" if ok else "fail", list(task.states))

    def _body(self, task: UploadTask, f: File, fd: int) -> tuple[list[str], int, Iterator[bytes],
                                                                 int]:
        """Headers, length, chunks and the length of the framing before the file's bytes."""
        config = task.config
        user = [f"{k}: {v}" for k, v in config.header.items()]
        has_type = any("Content-Type:" in h for h in user)
        size = os.fstat(fd).st_size
        if config.method == "PUT":
            headers = user + ([] if has_type else ["Content-Type: application/octet-stream"])
            return headers, size, _file_chunks(fd, b"", b""), 0
        fidelity = self.module.fidelity
        boundary = "----syncrig" + uuid.uuid4().hex
        part_name = "file" if fidelity.multipart_name_file else (f.name or "file")
        uri_name = f.uri.rstrip(" ").rsplit("/", 1)[-1]
        filename = uri_name if fidelity.multipart_filename_from_uri or not f.filename \
            else f.filename
        # a file's own name may hold a quote or a line break: escaped as HTML forms do
        # (RFC 7578 §4.2), it stays one parameter of one part
        filename = filename.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{d.name}"\r\n\r\n'
            f"{d.value}\r\n".encode() for d in config.data)
        head += (f'--{boundary}\r\nContent-Disposition: form-data; name="{part_name}"; '
                 f'filename="{filename}"\r\nContent-Type: {f.type}\r\n\r\n').encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        content_type = [] if has_type else [
            f"Content-Type: multipart/form-data; boundary={boundary}"]
        return (user + content_type, len(head) + size + len(tail),
                _file_chunks(fd, head, tail), len(head))

    def _send(self, task: UploadTask, f: File, fd: int) -> Gen:
        """One file's request; returns (TaskState code, curl result or None, response body)."""
        link = self.device.link
        if link.active_radio() is None:
            return C.UPLOAD_LIB_ERROR, None, b""
        try:
            headers, length, chunks, framing = self._body(task, f, fd)
            size = os.fstat(fd).st_size
        except OSError:
            return C.UPLOAD_GET_FILE_ERROR, None, b""  # the file went away before its turn
        send = Send(task.config.url, task.config.method, headers, length, self.curl_options)
        task.send = send
        transfer = link.transfer(length, "up", label="upload")
        task.transfer = transfer
        sent = 0
        base = task.uploaded
        stopped = False
        while True:
            try:
                chunk = next(chunks, None)
            except OSError:  # the file could not be read to the end
                send.abort()
                if not transfer.triggered:
                    transfer.cancel("read error")
                return C.UPLOAD_GET_FILE_ERROR, None, b""
            if chunk is None:
                break
            try:
                yield transfer.reached(sent + len(chunk))
            except TransferInterrupted as exc:
                kept = max(0, exc.bytes_done - sent)
                send.feed(chunk[:kept])
                sent += kept
                task.uploaded = base + min(size, max(0, sent - framing))
                task._progress()
                stopped = True
                break
            if not send.feed(chunk):
                break  # the server answered (or the connection failed) before the body ended
            sent += len(chunk)
            task.uploaded = base + min(size, max(0, sent - framing))
            task._progress()
        if stopped:
            result = send.abort()
            return (C.UPLOAD_REMOVED if task.removed else C.UPLOAD_LIB_ERROR), result, b""
        send.close()
        result = send.wait()
        if not transfer.triggered:
            transfer.cancel("server answered")
        if task.removed:
            return C.UPLOAD_REMOVED, result, bytes(send.body)
        if result.code != 0:
            return C.UPLOAD_LIB_ERROR, result, bytes(send.body)
        if result.http_status != 200:
            return C.UPLOAD_FAIL, result, bytes(send.body)
        return C.UPLOAD_OK, result, bytes(send.body)


def _file_chunks(fd: int, head: bytes, tail: bytes) -> Iterator[bytes]:
    """The request body in pieces from libcurl's buffer size up to STEP bytes: framing, the
    held file from its start, closing boundary."""
    if head:
        yield head
    offset = 0
    size = WRITE_SIZE  # small first: the first progress comes early, as on a device (§4.4)
    while chunk := os.pread(fd, size, offset):
        offset += len(chunk)
        size = min(STEP, size * 2)
        yield chunk
    if tail:
        yield tail
