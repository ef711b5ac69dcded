"""A fault-injecting HTTP server for transfer tests: real sockets on 127.0.0.1, real files.

Routes (every fault is chosen by the URL, so one server serves every test at once):

=================================  ==========================================================
``GET|HEAD /files/NAME``           a file under the root, with ``Content-Length``, ``ETag``,
                                   ``Last-Modified``, single ``Range`` requests (206, 416) and
                                   ``If-Range``
``GET /chunked/NAME``              the same bytes with chunked encoding and no length
``GET /redirect/N/REST``           a chain of N 302 redirects ending at ``/REST``
``GET /loop``                      a redirect that never ends
``GET|HEAD|POST|PUT /status/CODE`` that status with a short text body
``POST /upload``, ``PUT /upload``  stores multipart parts (POST) or the raw body (PUT)
``GET /scripted/TOKEN/NAME``       a different answer per request (:mod:`.scripted`)
=================================  ==========================================================

Query parameters that add faults to any file route: ``ignore_range=1`` (answer 200 with the
whole file whatever Range says), ``drop_after=N`` (close the connection after N body bytes),
``rate=B`` (throttle to B bytes/s), ``delay_headers=S`` (wait S seconds before the headers).
Upload routes take ``status=CODE``, ``reply_header=Name:Value`` (repeatable) and
``reply_body=TEXT`` for the answer, and ``drop_after=N`` to close the connection once N bytes
of the request body have arrived (recorded as an incomplete upload).

A fault is only ever the one asked for: a value the server cannot use (``rate=abc``, a status
outside 100..599, a header that is not one) is answered 400 with a one-line reason before any
byte of a body, and a request it cannot read (a body cut short, a false ``Content-Encoding``) is
a 400 too — never a 5xx that was not requested, never a traceback. A raw upload under
``Content-Encoding: gzip`` or ``deflate`` is stored decoded; a multipart one, or another
coding, is a 400 with the reason.

The server runs its own event loop in a thread, so synchronous code (libcurl, SimPy) can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

from aiohttp import BodyPartReader, web
from multidict import MultiMapping

from sim.servers import coding
from sim.servers.scripted import Scripts
from sim.servers.threaded import ThreadedServer

CHUNK = 64 * 1024
MAX_DELAY_S = 3600.0
"""The longest ``delay_headers`` served: a client's own timeout is what such tests probe."""

log = logging.getLogger(__name__)

_NUMBER = re.compile(r"[0-9]{1,15}(\.[0-9]{1,9})?")
_COUNT = re.compile(r"[0-9]{1,18}")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP header name (RFC 9110's token)."""


def _bad(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=reason + "\n")


def _number(query: Mapping[str, str], name: str, default: float, high: float | None = None,
            ) -> float:
    """A non-negative decimal query value (ASCII digits, an optional fraction); 400 else."""
    text = query.get(name)
    if text is None:
        return default
    if not _NUMBER.fullmatch(text) or (high is not None and float(text) > high):
        within = f" within 0..{high:g}" if high is not None else ""
        raise _bad(f"{name} must be a non-negative number{within}, got {text!r}")
    return float(text)


def _count(query: Mapping[str, str], name: str, default: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not _COUNT.fullmatch(text):
        raise _bad(f"{name} must be a non-negative integer, got {text!r}")
    return int(text)


def _status(text: str, name: str) -> int:
    if not _COUNT.fullmatch(text) or not 100 <= int(text) <= 599:
        raise _bad(f"{name} must be a status code within 100..599, got {text!r}")
    return int(text)


@dataclass
class _Faults:
    """A file route's faults, read from the query before anything is sent."""

    drop_after: int
    rate: float

    @classmethod
    def of(cls, query: Mapping[str, str]) -> _Faults:
        return cls(_count(query, "drop_after", -1), _number(query, "rate", 0.0))


@dataclass
class _Reply:
    """An upload route's answer, read from the query before the body is."""

    status: int
    headers: dict[str, str]
    body: str | None

    @classmethod
    def of(cls, query: MultiMapping[str]) -> _Reply:
        status = _status(query["status"], "status") if "status" in query else 200
        headers = {}
        for item in query.getall("reply_header", []):
            name, _, value = item.partition(":")
            name, value = name.strip(), value.strip()
            if not _TOKEN.fullmatch(name) or any(c in value for c in "\r\n\x00"):
                raise _bad(f"reply_header must be Name:Value, got {item!r}")
            headers[name] = value
        return cls(status, headers, query.get("reply_body"))


@dataclass
class ReceivedUpload:
    """What one upload request delivered, as the server parsed it."""

    method: str
    path: str
    headers: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)
    files: list[dict[str, object]] = field(default_factory=list)
    """One entry per file part: ``name``, ``filename``, ``content_type``, ``size``, ``sha256``,
    ``stored`` (where the bytes were saved)."""
    incomplete: str = ""
    """Why the body ended early, when it did."""


@dataclass
class _Range:
    start: int
    end: int  # inclusive


def _parse_range(header: str, size: int) -> _Range | None:
    """A single ``bytes=`` range; None when it cannot be satisfied. Multi-ranges are ignored."""
    if not header.startswith("bytes=") or "," in header:
        raise ValueError("unsupported range")
    first, _, last = header[6:].strip().partition("-")
    if first == "":
        length = int(last)
        if length <= 0:
            return None
        return _Range(max(0, size - length), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return None
    return _Range(start, min(end, size - 1))


class FixtureHTTPServer(ThreadedServer):
    """Serve ``root`` (on 127.0.0.1 unless told otherwise); uploads are stored under
    ``uploads`` (default root/uploads)."""

    thread_name = "fixture-http"

    def __init__(self, root: Path, uploads: Path | None = None, port: int = 0, *,
                 host: str = "127.0.0.1") -> None:
        super().__init__(port, host=host)
        self.root = Path(root).resolve()
        self.uploads_dir = Path(uploads) if uploads is not None else self.root / "uploads"
        self.received: list[ReceivedUpload] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        """Every request seen: method, path with query, headers."""

    def start(self) -> FixtureHTTPServer:
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        return super().start()

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=1024**4)
        app.router.add_get("/files/{name:.+}", self._file)  # HEAD too
        app.router.add_route("GET", "/chunked/{name:.+}", self._chunked)
        app.router.add_route("GET", "/redirect/{count:[0-9]{1,9}}/{rest:.*}", self._redirect)
        app.router.add_route("GET", "/loop", self._loop_redirect)
        app.router.add_route("*", "/status/{code:[0-9]{1,9}}", self._status)
        app.router.add_route("POST", "/upload", self._upload)
        app.router.add_route("PUT", "/upload", self._upload)
        Scripts(self.root).add_routes(app)
        app.middlewares.append(self._record)
        return app

    # -- handlers ----------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                      ) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs, dict(request.headers)))
        delay = _number(request.query, "delay_headers", 0.0, high=MAX_DELAY_S)
        if delay:
            await asyncio.sleep(delay)
        return await handler(request)

    def _resolve(self, name: str) -> Path:
        try:
            path = (self.root / name).resolve()
            found = path.is_relative_to(self.root) and path.is_file()
        except (ValueError, OSError):  # a NUL in the name, a name too long
            found = False
        if not found:
            raise web.HTTPNotFound(text=f"no such file: {name!r}\n")
        return path

    async def _file(self, request: web.Request) -> web.StreamResponse:
        faults = _Faults.of(request.query)
        path = self._resolve(request.match_info["name"])
        stat = path.stat()
        size = stat.st_size
        etag = '"' + hashlib.sha1(f"{size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16] + '"'
        headers = {
            "ETag": etag,
            "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
            "Accept-Ranges": "bytes",
            "Content-Type": mimetypes.guess_type(path.name)[0] or "application/octet-stream",
        }
        start, end, status = 0, size - 1, 200
        wanted = request.headers.get("Range")
        if_range = request.headers.get("If-Range")
        if wanted and request.query.get("ignore_range") != "1" and if_range in (None, etag):
            try:
                chosen = _parse_range(wanted, size)
            except ValueError:
                chosen = _Range(0, size - 1)
            if chosen is None:
                raise web.HTTPRequestRangeNotSatisfiable(
                    headers={"Content-Range": f"bytes */{size}"})
            start, end, status = chosen.start, chosen.end, 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(0, end - start + 1)
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = length
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        await self._send(request, response, path, start, length, faults)
        return response

    async def _chunked(self, request: web.Request) -> web.StreamResponse:
        faults = _Faults.of(request.query)
        path = self._resolve(request.match_info["name"])
        response = web.StreamResponse(status=200, headers={
            "Content-Type": mimetypes.guess_type(path.name)[0] or "application/octet-stream"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await self._send(request, response, path, 0, path.stat().st_size, faults)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    async def _send(self, request: web.Request, response: web.StreamResponse, path: Path,
                    start: int, length: int, faults: _Faults) -> None:
        # the client may go away (an aborted or paused transfer): nothing to answer then
        # (aiohttp says so with ConnectionResetError or a bare ConnectionError)
        with contextlib.suppress(ConnectionError):
            await self._stream(request, response, path, start, length, faults)

    async def _stream(self, request: web.Request, response: web.StreamResponse, path: Path,
                      start: int, length: int, faults: _Faults) -> None:
        drop_after, rate = faults.drop_after, faults.rate
        sent = 0
        began = time.monotonic()
        with path.open("rb") as f:
            f.seek(start)
            while sent < length:
                n = min(CHUNK, length - sent)
                if 0 <= drop_after - sent < n:
                    n = drop_after - sent
                data = f.read(n)
                if data:
                    await response.write(data)
                    sent += len(data)
                if sent == drop_after:
                    transport = request.transport
                    if transport is not None:
                        transport.abort()
                    raise asyncio.CancelledError
                if rate > 0:
                    ahead = sent / rate - (time.monotonic() - began)
                    if ahead > 0:
                        await asyncio.sleep(ahead)

    async def _redirect(self, request: web.Request) -> web.StreamResponse:
        count = int(request.match_info["count"])
        rest = request.match_info["rest"]
        target = f"/redirect/{count - 1}/{rest}" if count > 1 else f"/{rest}"
        if request.query_string:
            target += "?" + request.query_string
        raise web.HTTPFound(target)

    async def _loop_redirect(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/loop")

    async def _status(self, request: web.Request) -> web.StreamResponse:
        code = int(request.match_info["code"])
        if not 100 <= code <= 599:
            raise web.HTTPBadRequest(text="status code must be within 100..599\n")
        body = None if code in (204, 304) or code < 200 else f"status {code}\n"
        return web.Response(status=code, text=body)

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        reply = _Reply.of(request.query)
        drop_after = _count(request.query, "drop_after", -1)
        if drop_after >= 0:
            await self._drop_upload(request, drop_after)
        try:
            record = await self._receive(request)
        # the client stopped mid-body (a lost radio, a removed task) or sent one that cannot be
        # read (a multipart type over a plain body, a false Content-Encoding): record it, 400
        except Exception as exc:
            log.debug("upload %s unreadable: %r", request.path_qs, exc)
            self.received.append(ReceivedUpload(request.method, request.path_qs,
                                                dict(request.headers), incomplete=repr(exc)))
            reason = f"unreadable upload: {exc}" if isinstance(exc, coding.UnreadableBody) \
                else "incomplete upload"
            response = web.Response(status=400, text=reason + "\n")
            if request.content.exception() is not None and not isinstance(
                    request.content.exception(), ConnectionError):
                # what is left of a broken stream cannot be drained for a next request
                response.force_close()
                with contextlib.suppress(ConnectionError):  # the HTTP layer gave it up already
                    await response.prepare(request)
                    await response.write_eof()
                request.protocol.force_close()
            return response
        self.received.append(record)
        body = reply.body if reply.body is not None else f"received {len(record.files)} file(s)\n"
        return web.Response(status=reply.status, text=body, headers=reply.headers)

    async def _drop_upload(self, request: web.Request, after: int) -> None:
        """Read ``after`` bytes of the body, then close the connection: a server that goes
        away mid-upload."""
        received = 0
        with contextlib.suppress(ConnectionError):
            while received < after:
                chunk = await request.content.read(min(CHUNK, after - received))
                if not chunk:
                    break
                received += len(chunk)
        self.received.append(ReceivedUpload(request.method, request.path_qs,
                                            dict(request.headers),
                                            incomplete=f"dropped after {received} bytes"))
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError

    async def _receive(self, request: web.Request) -> ReceivedUpload:
        record = ReceivedUpload(request.method, request.path_qs, dict(request.headers))
        index = len(self.received)
        names = coding.codings(request.headers)
        multipart = request.method == "POST" and request.content_type.startswith("multipart/")
        if multipart and names:
            raise coding.UnreadableBody(f"a multipart body under Content-Encoding "
                                        f"{request.headers['Content-Encoding']!r}: send its "
                                        f"parts as they are")
        if multipart:
            reader = await request.multipart()
            part_no = 0
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.filename is None:
                    record.fields[part.name or ""] = await part.text()
                    continue
                stored = self.uploads_dir / f"{index}-{part_no}-{_stored_name(part.filename)}"
                part_no += 1
                digest = hashlib.sha256()
                size = 0
                with stored.open("wb") as out:
                    while chunk := await part.read_chunk(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                record.files.append({
                    "name": part.name, "filename": part.filename,
                    "content_type": part.headers.get("Content-Type"), "size": size,
                    "sha256": digest.hexdigest(), "stored": str(stored)})
        else:
            stored = self.uploads_dir / f"{index}-body"
            digest = hashlib.sha256()
            size = 0
            decoder = coding.Decoder(names)  # the bytes stored are the body decoded
            with stored.open("wb") as out:
                async for chunk in request.content.iter_chunked(CHUNK):
                    for piece in decoder.feed(chunk):
                        digest.update(piece)
                        size += len(piece)
                        out.write(piece)
                decoder.end()
            record.files.append({"name": None, "filename": None,
                                 "content_type": request.headers.get("Content-Type"),
                                 "size": size, "sha256": digest.hexdigest(),
                                 "stored": str(stored)})
        return record


def _stored_name(filename: str) -> str:
    """A part's file name as a name in the uploads folder: its last component, without NUL,
    at most 100 characters (the client chose it)."""
    return Path(filename.replace("\x00", "")).name[-100:] or "part"
