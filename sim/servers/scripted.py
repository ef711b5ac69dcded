"""Answers that change from one request to the next, for the faults that only show across a
download's attempts: an error page before the file, a representation replaced between a pause
and its resume, a wrong ``Content-Range``, a chunked body that ends early.

``GET /scripted/TOKEN/NAME?script=A,B,C`` answers the n-th request for ``TOKEN`` (probes
included) with the n-th step of the script; the last step repeats. Steps:

=================  ==========================================================================
``ok``             the file, with ``ETag``, ``Range`` (206) and ``If-Range`` as ``/files/``
``changed``        another representation of the same length (other bytes, another ETag)
``page:S:N``       status ``S`` with an ``N``-byte HTML error page
``badrange``       to a ``Range`` request, a 206 of another, longer representation whatever
                   ``If-Range`` says (its ``Content-Range`` total is not the file's size)
``short``          200, chunked (no length), ending cleanly after half of the file
``drop:N``         as ``ok``, the connection closed after ``N`` body bytes
``otheretag``      to a ``Range`` request, a 206 of another representation of the same size,
                   with a right ``Content-Range`` and its own ETag, whatever ``If-Range`` says
``digits``         200 with ``Content-Range: bytes ¹-²/³`` (digits only to ``str.isdigit``)
``trickle:N``      200 announcing the whole file, then one byte every 0.2 s, ``N`` in all
=================  ==========================================================================

Each token counts its own requests, so one server serves any number of scripted downloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from pathlib import Path

from aiohttp import web

CHUNK = 64 * 1024
STEPS = ("ok", "changed", "page", "badrange", "short", "drop", "otheretag", "digits",
         "trickle")


def etag(data: bytes) -> str:
    """The ETag the scripted answers give ``data``."""
    return '"' + hashlib.sha256(data).hexdigest()[:16] + '"'


def changed(data: bytes) -> bytes:
    """The ``changed`` representation of ``data``: same length, other bytes."""
    return data[1:] + data[:1] if len(data) > 1 else data + b"!"


class Scripts:
    """The ``/scripted/`` routes of a fixture server whose files are under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("GET", "/scripted/{token}/{name:.+}", self._answer)

    def _step(self, request: web.Request) -> tuple[str, list[str]]:
        script = request.query.get("script", "ok").split(",")
        token = request.match_info["token"]
        with self._lock:
            n = self.counts.get(token, 0)
            self.counts[token] = n + 1
        kind, *args = script[min(n, len(script) - 1)].split(":")
        if kind not in STEPS:
            raise web.HTTPBadRequest(text=f"unknown script step {kind!r}\n")
        return kind, args

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        kind, args = self._step(request)
        path = (self.root / request.match_info["name"]).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise web.HTTPNotFound(text="no such file\n")
        data = path.read_bytes()
        if kind == "page":
            try:
                status, size = int(args[0]), int(args[1])
            except (IndexError, ValueError):
                raise web.HTTPBadRequest(text="page:STATUS:BYTES\n") from None
            page = (f"<html><body><h1>{status}</h1>".encode() + b"x" * size)[:size]
            return await self._send(request, web.StreamResponse(
                status=status, headers={"Content-Type": "text/html"}), page, len(page))
        if kind == "short":
            response = web.StreamResponse(status=200, headers={
                "Content-Type": "application/octet-stream", "ETag": etag(data)})
            response.enable_chunked_encoding()
            return await self._send(request, response, data[:len(data) // 2], None)
        if kind == "changed":
            data = changed(data)
        wanted = request.headers.get("Range", "")
        if kind == "badrange" and wanted:
            data = changed(data) + b"x" * 1000
        if kind == "otheretag" and wanted:
            data = changed(data)
        if kind == "digits":
            return await self._send(request, web.StreamResponse(status=200, headers={
                "Content-Range": "bytes \u00b9-\u00b2/\u00b3"}), data, len(data))
        if kind == "trickle":
            return await self._trickle(request, data, int(args[0]) if args else 10)
        tag = etag(data)
        headers = {"ETag": tag, "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream"}
        start, status = 0, 200
        if wanted.startswith("bytes=") and wanted.endswith("-") and (
                kind in ("badrange", "otheretag")
                or request.headers.get("If-Range", tag) == tag):
            start = int(wanted[6:-1]) if wanted[6:-1].isdigit() else 0
            if start >= len(data):
                raise web.HTTPRequestRangeNotSatisfiable(
                    headers={"Content-Range": f"bytes */{len(data)}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        response = web.StreamResponse(status=status, headers=headers)
        if kind == "drop":
            try:
                cut = int(args[0])
            except (IndexError, ValueError):
                raise web.HTTPBadRequest(text="drop:BYTES\n") from None
            response.content_length = len(body)
            with contextlib.suppress(ConnectionError):
                await response.prepare(request)
                await response.write(body[:cut])
                if request.transport is not None:
                    request.transport.abort()
            return response
        return await self._send(request, response, body, len(body))

    async def _trickle(self, request: web.Request, data: bytes,
                       count: int) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"ETag": etag(data)})
        response.content_length = len(data)
        with contextlib.suppress(ConnectionError):
            await response.prepare(request)
            for i in range(min(count, len(data))):
                await response.write(data[i:i + 1])
                await asyncio.sleep(0.2)
            if request.transport is not None:
                request.transport.abort()
        return response

    async def _send(self, request: web.Request, response: web.StreamResponse, body: bytes,
                    length: int | None) -> web.StreamResponse:
        if length is not None:
            response.content_length = length
        # the client may go away (a probe, a paused or aborted transfer): nothing to answer
        with contextlib.suppress(ConnectionError):
            await response.prepare(request)
            for offset in range(0, len(body), CHUNK):
                await response.write(body[offset:offset + CHUNK])
            await response.write_eof()
        return response
