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
``reply_body=TEXT`` for the answer.

The server runs its own event loop in a thread, so synchronous code (libcurl, SimPy) can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import mimetypes
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

from aiohttp import BodyPartReader, web

from sim.servers.scripted import Scripts
from sim.servers.threaded import ThreadedServer

CHUNK = 64 * 1024


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
    """Serve ``root`` on 127.0.0.1; uploads are stored under ``uploads`` (default root/uploads)."""

    thread_name = "fixture-http"

    def __init__(self, root: Path, uploads: Path | None = None, port: int = 0) -> None:
        super().__init__(port)
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
        app.router.add_route("GET", "/redirect/{count:\\d+}/{rest:.*}", self._redirect)
        app.router.add_route("GET", "/loop", self._loop_redirect)
        app.router.add_route("*", "/status/{code:\\d+}", self._status)
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
        delay = request.query.get("delay_headers")
        if delay:
            await asyncio.sleep(float(delay))
        return await handler(request)

    def _resolve(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise web.HTTPNotFound(text=f"no such file: {name}\n")
        return path

    async def _file(self, request: web.Request) -> web.StreamResponse:
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
        await self._send(request, response, path, start, length)
        return response

    async def _chunked(self, request: web.Request) -> web.StreamResponse:
        path = self._resolve(request.match_info["name"])
        response = web.StreamResponse(status=200, headers={
            "Content-Type": mimetypes.guess_type(path.name)[0] or "application/octet-stream"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await self._send(request, response, path, 0, path.stat().st_size)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    async def _send(self, request: web.Request, response: web.StreamResponse, path: Path,
                    start: int, length: int) -> None:
        # the client may go away (an aborted or paused transfer): nothing to answer then
        # (aiohttp says so with ConnectionResetError or a bare ConnectionError)
        with contextlib.suppress(ConnectionError):
            await self._stream(request, response, path, start, length)

    async def _stream(self, request: web.Request, response: web.StreamResponse, path: Path,
                      start: int, length: int) -> None:
        drop_after = int(request.query.get("drop_after", -1))
        rate = float(request.query.get("rate", 0))
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
        try:
            return await self._receive(request)
        except (ConnectionError, ValueError, asyncio.IncompleteReadError) as exc:
            # the client stopped mid-body (a lost radio, a removed task): record it, answer 400
            self.received.append(ReceivedUpload(request.method, request.path_qs,
                                                dict(request.headers), incomplete=str(exc)))
            return web.Response(status=400, text="incomplete upload\n")

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        record = ReceivedUpload(request.method, request.path_qs, dict(request.headers))
        index = len(self.received)
        if request.method == "POST" and request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            part_no = 0
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.filename is None:
                    record.fields[part.name or ""] = await part.text()
                    continue
                stored = self.uploads_dir / f"{index}-{part_no}-{Path(part.filename).name}"
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
            with stored.open("wb") as out:
                async for chunk in request.content.iter_chunked(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            record.files.append({"name": None, "filename": None,
                                 "content_type": request.headers.get("Content-Type"),
                                 "size": size, "sha256": digest.hexdigest(),
                                 "stored": str(stored)})
        self.received.append(record)
        headers = {}
        for item in request.query.getall("reply_header", []):
            name, _, value = item.partition(":")
            headers[name.strip()] = value.strip()
        status = int(request.query.get("status", 200))
        body = request.query.get("reply_body", f"received {len(record.files)} file(s)\n")
        return web.Response(status=status, text=body, headers=headers)
