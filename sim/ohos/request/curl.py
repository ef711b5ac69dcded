"""libcurl transfers in a worker thread, handing the body to the simulation chunk by chunk.

The platform's download service and upload library both drive libcurl, so this reference does
too: curl's result codes then map onto the documented reasons one to one. libcurl blocks, and
SimPy must never run outside its own thread, so each transfer runs ``perform()`` on a thread
and exchanges chunks with the simulation through a bounded queue (backpressure both ways).
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pycurl

BUFFER = 1024 * 1024
BLOCK = 1024 * 1024
"""Body bytes handed from the curl thread to the simulation at a time."""
HOLD_S = 0.05
"""Longest a received byte waits in the curl thread, and the simulation for a byte, before
each gives the other what it has (or the news that there is nothing yet)."""
WRITE_SIZE = 16 * 1024
"""The most libcurl hands its write callback at once (``CURL_MAX_WRITE_SIZE``): a body's
first bytes reach the app's progress listener in steps this small."""
PROGRESS_S = 1.0
"""libcurl calls the progress callback on data and about once a second (research §3.9)."""


def next_step(size: int, took_s: float, largest: int) -> int:
    """The bytes to pace through the simulated link before the next progress event.

    On a device progress follows the data: first at libcurl's write size, then as often as
    data arrives, and at least about once a second. A step grows from :data:`WRITE_SIZE` while
    one takes well under a second of simulated time and shrinks when one takes longer — so a
    100 KB file gives several events, as on a device, and a large one is not paced 16 KiB at a
    time (at most ``largest``).
    """
    if took_s > PROGRESS_S:
        return max(WRITE_SIZE, size // 2)
    if took_s < PROGRESS_S / 4:
        return min(largest, size * 2)
    return size


CONNECT_ERRORS = frozenset({
    pycurl.E_COULDNT_RESOLVE_PROXY, pycurl.E_COULDNT_RESOLVE_HOST,
    pycurl.E_COULDNT_CONNECT, pycurl.E_OPERATION_TIMEDOUT,
})
"""curl results the platform treats as "try again later" rather than a failure (§3.5)."""


@dataclass
class CurlResult:
    """How a transfer ended: curl's code (0 = OK), the HTTP status and the response headers."""

    code: int
    http_status: int
    content_type: str = ""
    content_length: int = -1
    header_lines: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class CurlOptions:
    """Timeouts and limits; the platform's figures are the defaults (§1.3)."""

    connect_timeout_s: float = 60.0
    low_speed_time_s: int = 60
    max_redirects: int = 30


def _base(url: str, headers: list[str], options: CurlOptions) -> pycurl.Curl:
    c = pycurl.Curl()
    # as bytes: a URL or header the app gave in UTF-8 reaches libcurl as the platform's
    # napi_get_value_string_utf8 hands it over (libcurl decides what it accepts)
    c.setopt(pycurl.URL, url.encode("utf-8"))
    c.setopt(pycurl.FOLLOWLOCATION, 1)
    c.setopt(pycurl.MAXREDIRS, options.max_redirects)
    c.setopt(pycurl.CONNECTTIMEOUT_MS, int(options.connect_timeout_s * 1000))
    c.setopt(pycurl.LOW_SPEED_LIMIT, 1)
    c.setopt(pycurl.LOW_SPEED_TIME, options.low_speed_time_s)
    c.setopt(pycurl.USERAGENT, "libcurl-agent/1.0")
    c.setopt(pycurl.NOSIGNAL, 1)
    c.setopt(pycurl.BUFFERSIZE, BUFFER)
    c.setopt(pycurl.COOKIEFILE, "")
    if headers:
        c.setopt(pycurl.HTTPHEADER, [h.encode("utf-8") for h in headers])
    return c


def _digits(text: str) -> bool:
    """ASCII digits only: a server's header is not a number because ``str.isdigit`` says
    so (``¹²³`` are digits to it, not to ``int``)."""
    return bool(_DIGITS.fullmatch(text))


_DIGITS = re.compile(r"[0-9]{1,19}")


@dataclass(frozen=True)
class Head:
    """The status and headers of the final response (after redirects), as they stand when its
    body begins: what decides whether that body belongs in a file at all."""

    status: int
    lines: tuple[str, ...]

    @classmethod
    def of(cls, lines: list[str]) -> Head:
        block = _last_header_block(lines)
        status = 0
        if block:
            fields = block[0].split()
            if len(fields) > 1 and _digits(fields[1]):
                status = int(fields[1])
        return cls(status, tuple(block))

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        found = None
        for line in self.lines[1:]:
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == wanted:
                found = value.strip()
        return found

    @property
    def content_length(self) -> int:
        value = self.header("Content-Length")
        return int(value) if value is not None and _digits(value) else -1

    @property
    def content_range(self) -> tuple[int, int, int] | None:
        """``Content-Range: bytes FIRST-LAST/TOTAL`` as numbers (TOTAL -1 for ``*``)."""
        value = self.header("Content-Range")
        if value is None or not value.startswith("bytes "):
            return None
        span, _, total = value[6:].partition("/")
        first, _, last = span.partition("-")
        if not (_digits(first) and _digits(last) and (_digits(total) or total == "*")):
            return None
        return int(first), int(last), int(total) if total != "*" else -1

    def same_representation(self, validator: str) -> bool:
        """Whether this answer names the representation ``validator`` (an ETag or a
        Last-Modified) named: a 206 must carry the same strong ETag, or the same
        Last-Modified, as the answer whose bytes it continues (RFC 9110 §13.1.5, §15.3.7)."""
        if not validator:
            return True  # nothing to hold it to
        if validator.startswith('"'):
            return self.header("ETag") == validator
        return self.header("Last-Modified") == validator

    @property
    def validator(self) -> str:
        """What ``If-Range`` may carry to resume only this representation: a strong ETag,
        else Last-Modified, else nothing (RFC 9110 §13.1.5)."""
        etag = self.header("ETag")
        if etag and not etag.startswith("W/"):
            return etag
        return self.header("Last-Modified") or ""


def _finish(c: pycurl.Curl, lines: list[str]) -> CurlResult:
    code, message = 0, ""
    try:
        c.perform()
    except pycurl.error as exc:
        code = int(exc.args[0])
        message = str(exc.args[1]) if len(exc.args) > 1 else ""
    status = int(c.getinfo(pycurl.RESPONSE_CODE) or 0)
    content_type = c.getinfo(pycurl.CONTENT_TYPE) or ""
    length = int(c.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T))
    c.close()
    last_block = _last_header_block(lines)
    return CurlResult(code, status, content_type, length, last_block, message)


def _last_header_block(lines: list[str]) -> list[str]:
    """The header lines of the final response (after redirects), from its status line on."""
    start = 0
    for i, line in enumerate(lines):
        if line.startswith("HTTP/"):
            start = i
    return lines[start:]


def probe(url: str, headers: list[str], options: CurlOptions) -> CurlResult:
    """The size probe: a GET without reading the body (``CUSTOMREQUEST GET`` + ``NOBODY``),
    as the platform's service sends it (§3.4)."""
    lines: list[str] = []
    c = _base(url, headers, options)
    c.setopt(pycurl.CUSTOMREQUEST, "GET")
    c.setopt(pycurl.NOBODY, 1)
    # headers only: a server that trickles them ends the probe in bounded time (the
    # simulation waits for the probe as the platform's service does)
    c.setopt(pycurl.TIMEOUT_MS, int((options.connect_timeout_s + options.low_speed_time_s)
                                    * 1000))
    c.setopt(pycurl.HEADERFUNCTION, lambda raw: lines.append(raw.decode("latin-1")))
    return _finish(c, lines)


def _launch(c: pycurl.Curl, lines: list[str], abort: threading.Event,
            run: Callable[[], None], name: str) -> threading.Thread:
    """Start ``run`` (which performs ``c``) on its own thread, collecting header lines into
    ``lines``; setting ``abort`` makes curl give up at its next progress callback."""
    c.setopt(pycurl.HEADERFUNCTION, lambda raw: lines.append(raw.decode("latin-1")))
    c.setopt(pycurl.NOPROGRESS, 0)
    c.setopt(pycurl.XFERINFOFUNCTION, lambda *_: 1 if abort.is_set() else 0)
    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


_END = object()


class Fetch:
    """A GET (with ``Range`` from ``resume_from``) whose body is read with :meth:`chunks`."""

    def __init__(self, url: str, headers: list[str], options: CurlOptions,
                 resume_from: int = 0) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=16)
        self._abort = threading.Event()
        self._block: list[bytes] = []
        self._block_size = 0
        self._block_since = 0.0
        self.result: CurlResult | None = None
        self.head: Head | None = None
        """The final response's status and headers, set before its first body block."""
        self._lines: list[str] = []
        c = _base(url, headers, options)
        if resume_from > 0:
            c.setopt(pycurl.RESUME_FROM_LARGE, resume_from)
        c.setopt(pycurl.WRITEFUNCTION, self._write)
        self._curl = c
        self._thread = _launch(c, self._lines, self._abort, self._run, "curl-fetch")

    def _write(self, data: bytes) -> int | None:
        if self.head is None:
            self.head = Head.of(self._lines)  # the headers are complete once the body begins
        # hand over blocks of BLOCK bytes: one queue operation per block, not per recv() —
        # or what came within HOLD_S, so a server that trickles bytes is heard as it sends
        if not self._block:
            self._block_since = time.monotonic()
        self._block.append(data)
        self._block_size += len(data)
        if self._block_size < BLOCK and time.monotonic() - self._block_since < HOLD_S:
            return None
        return None if self._hand_over() else 0  # 0 makes curl stop (CURLE_WRITE_ERROR)

    def _hand_over(self) -> bool:
        block = self._block[0] if len(self._block) == 1 else b"".join(self._block)
        self._block, self._block_size = [], 0
        while not self._abort.is_set():
            try:
                self._queue.put(block, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            self.result = _finish(self._curl, self._lines)
            if self._block and not self._abort.is_set():
                self._hand_over()
        finally:
            while True:
                try:
                    self._queue.put(_END, timeout=0.05)
                    break
                except queue.Full:
                    if self._abort.is_set():
                        self._drain()

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def chunks(self) -> Iterator[bytes]:
        """Body chunks as curl receives them; ends when the transfer ends (see :attr:`result`).
        An empty chunk means nothing arrived within :data:`HOLD_S`: the caller lets its own
        time pass (a slow server costs time, it does not freeze the caller)."""
        while True:
            try:
                item = self._queue.get(timeout=HOLD_S)
            except queue.Empty:
                yield b""
                continue
            if item is _END:
                self._thread.join()
                return
            yield item  # type: ignore[misc]

    def abort(self) -> CurlResult:
        """Stop the transfer and wait for curl to give up; returns its result."""
        self._abort.set()
        self._drain()
        self._thread.join()
        self._drain()
        assert self.result is not None
        return self.result


class Send:
    """A POST or PUT whose body the simulation feeds with :meth:`feed` as its link carries it.

    Redirects are not followed (the platform's upload library does not set it, §4.3).
    """

    def __init__(self, url: str, method: str, headers: list[str], length: int,
                 options: CurlOptions) -> None:
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=64)
        self._abort = threading.Event()
        self._buffer = memoryview(b"")
        self._eof = False
        self.body = bytearray()
        self.result: CurlResult | None = None
        self._lines: list[str] = []
        c = _base(url, headers, options)
        c.setopt(pycurl.FOLLOWLOCATION, 0)
        if method == "PUT":
            c.setopt(pycurl.UPLOAD, 1)
            c.setopt(pycurl.INFILESIZE_LARGE, length)
        else:
            c.setopt(pycurl.POST, 1)
            c.setopt(pycurl.POSTFIELDSIZE_LARGE, length)
        c.setopt(pycurl.READFUNCTION, self._read)
        c.setopt(pycurl.UPLOAD_BUFFERSIZE, 2 * 1024 * 1024)
        c.setopt(pycurl.WRITEFUNCTION, self._write)
        self._curl = c
        self._thread = _launch(c, self._lines, self._abort, self._run, "curl-send")

    def _run(self) -> None:
        self.result = _finish(self._curl, self._lines)

    def _write(self, data: bytes) -> None:
        if len(self.body) < 64 * 1024 * 1024:
            self.body += data

    def _read(self, size: int) -> bytes | int:
        while not self._buffer and not self._eof:
            if self._abort.is_set():
                return pycurl.READFUNC_ABORT
            try:
                chunk = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            if chunk == b"":
                self._eof = True
            self._buffer = memoryview(chunk)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return bytes(out)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def feed(self, data: bytes) -> bool:
        """Hand body bytes to curl; False if curl has already finished (the server answered
        or the connection failed) and takes no more."""
        while self._thread.is_alive():
            try:
                self._queue.put(data, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def close(self) -> None:
        """The body is complete."""
        self.feed(b"")

    def wait(self) -> CurlResult:
        self._thread.join()
        assert self.result is not None
        return self.result

    def abort(self) -> CurlResult:
        self._abort.set()
        return self.wait()
