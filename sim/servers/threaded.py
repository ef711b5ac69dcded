"""An aiohttp server (on 127.0.0.1 unless told otherwise) running its own event loop in a
thread.

The fixture HTTP server and the emulated NAS both need this: synchronous code (libcurl, the
``synology-api`` client, SimPy) calls them while they serve, so they cannot share its thread.
Subclasses build their application in :meth:`make_app`; a request's body reaches them as
sent, its ``Content-Encoding`` for them to decode (:mod:`sim.servers.coding`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Self

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError


class _MalformedHttpIsNoFault(logging.Filter):
    """aiohttp logs a request it cannot parse (a request line over 8 KB, a malformed chunked
    body, a body left unread that breaks as it is drained) as an error with a traceback, though
    the fault is the client's: such a record becomes one INFO line. A real server fault passes
    unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        malformed = isinstance(exc, RequestPayloadError) or (
            isinstance(exc, HttpProcessingError) and (exc.code or 400) < 500)
        if exc is not None and malformed:
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "refused a malformed request: %s", (str(exc)[:200],)
            record.exc_info, record.exc_text = None, None
            return logging.getLogger(record.name).isEnabledFor(logging.INFO)
        return True


PROTOCOL_LOG = logging.getLogger("sim.servers.http")
"""The HTTP layer's log (requests that never reach a handler)."""
PROTOCOL_LOG.addFilter(_MalformedHttpIsNoFault())


class ThreadedServer:
    """Start with :meth:`start` (or ``with``); :attr:`url` is known once started."""

    thread_name = "aiohttp"

    def __init__(self, port: int = 0, *, host: str = "127.0.0.1") -> None:
        self.host = host
        """The address listened on: loopback by default, so nothing outside the machine can
        reach a server that has no authentication of its own."""
        self._port = port
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def make_app(self) -> web.Application:
        raise NotImplementedError

    async def started(self) -> None:
        """Hook run on the server's loop once it listens."""

    @property
    def url(self) -> str:
        """Where a client on this machine reaches the server."""
        if self.host in ("", "0.0.0.0", "::"):
            return f"http://127.0.0.1:{self.port}"
        return f"http://[{self.host}]:{self.port}" if ":" in self.host \
            else f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._serve, name=self.thread_name, daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(15)
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        leftover = asyncio.all_tasks(loop)  # handlers still sleeping (slow headers, throttling)
        for task in leftover:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
        loop.close()

    async def _startup(self) -> None:
        # connections still open at shutdown (a paused client, a dropped body) get 1 s, not 60;
        # a body comes to the handler as sent: aiohttp's own decoding of a false
        # Content-Encoding answers before any handler, or not at all, and inflates without
        # bound (the handlers decode with sim.servers.coding)
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0,
                                     logger=PROTOCOL_LOG, auto_decompress=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host or None, self._port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        await self.started()

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
