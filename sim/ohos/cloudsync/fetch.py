"""On-demand downloads of cloud files (Download, CloudFileCache), with their progress events.

A fetch is not part of a sync run: it moves one file's bytes when the app asks, reports
RUNNING/COMPLETED/STOPPED/FAILED as the platform does (research §3.7), and writes the file only
when every byte arrived, under a temporary name, so a stopped or failed download leaves
nothing behind. It uses the app's sync engine only through :class:`Engine`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Protocol

import simpy

from sim.cloud import CloudObject, Container
from sim.device.device import Device
from sim.errors import StorageFull, TransferInterrupted, UnsafePath
from sim.ohos.cloudsync.conditions import online
from sim.ohos.cloudsync.constants import DownloadErrorType, DownloadProgress, State
from sim.ohos.cloudsync.folder import CloudFolder
from sim.trace import EventKind

Gen = Generator[simpy.Event, Any, Any]


class AppCalls(Protocol):
    """How the sync service calls an app's callback."""

    def call_app(self, listener: str, callback: Callable[[Any], None], value: Any) -> None: ...


class Engine(Protocol):
    """What a fetch uses of its app's sync engine."""

    @property
    def device(self) -> Device: ...
    @property
    def service(self) -> AppCalls: ...
    @property
    def container(self) -> Container: ...
    @property
    def folder(self) -> CloudFolder: ...
    @property
    def downloads(self) -> dict[str, Fetch]: ...

    def reject(self, path: str, reason: str) -> None: ...
    def record(self, obj: CloudObject, mtime_ns: int) -> None: ...


class Fetch:
    """One on-demand download, with its progress events (research §3.7)."""

    def __init__(self, engine: Engine, rel: str, uri: str,
                 on_progress: Callable[[DownloadProgress], None]) -> None:
        self.engine = engine
        self.rel = rel
        self.uri = uri
        self.on_progress = on_progress
        self.transfer: Any = None
        self.stopped = False
        self.process: simpy.Process | None = None

    def _report(self, state: State, processed: int, size: int,
                error: DownloadErrorType = DownloadErrorType.NO_ERROR) -> None:
        self.engine.device.trace.emit(EventKind.API, api="cloudSync.download",
                                      uri=self.uri, state=state.name, processed=processed,
                                      size=size, error=error.name)
        self.engine.service.call_app("download progress", self.on_progress,
                                     DownloadProgress(state, processed, size, self.uri, error))

    def stop(self) -> None:
        self.stopped = True
        if self.transfer is not None and not self.transfer.triggered:
            self.transfer.cancel("stopped")

    def run(self) -> Gen:
        """The bytes cross the link first; the file is written only when all arrived, under
        a temporary name (so a stopped or failed download leaves nothing behind)."""
        engine = self.engine
        obj = engine.container.get(self.rel)
        try:
            if obj is None:
                self._report(State.FAILED, 0, 0, DownloadErrorType.CONTENT_NOT_FOUND)
                return
            if not online(engine.device):
                self._report(State.FAILED, 0, obj.size, DownloadErrorType.NETWORK_UNAVAILABLE)
                return
            try:
                reservation = engine.device.storage.reserve(obj.size)
            except StorageFull:
                self._report(State.FAILED, 0, obj.size, DownloadErrorType.LOCAL_STORAGE_FULL)
                return
            self._report(State.RUNNING, 0, obj.size)
            transfer = engine.device.link.transfer(obj.size, "down", label=f"fetch:{self.rel}")
            self.transfer = transfer
            done = 0
            step = max(1, obj.size // 4)
            try:
                for target in [*range(step, obj.size, step), obj.size]:
                    done = yield transfer.reached(target)
                    self._report(State.RUNNING, min(done, obj.size), obj.size)
                yield transfer
            except TransferInterrupted as exc:
                reservation.release()
                if self.stopped or exc.reason == "stopped":
                    self._report(State.STOPPED, exc.bytes_done, obj.size)
                else:
                    self._report(State.FAILED, exc.bytes_done, obj.size,
                                 DownloadErrorType.NETWORK_UNAVAILABLE)
                return
            current = engine.container.get(self.rel)
            if current is None or current.version != obj.version:
                # deleted or replaced in the cloud while its bytes were on the way: the
                # content asked for is gone
                reservation.release()
                self._report(State.FAILED, obj.size, obj.size,
                             DownloadErrorType.CONTENT_NOT_FOUND)
                return
            try:
                placed = engine.folder.place(self.rel, engine.container.blob(obj))
            except (OSError, UnsafePath) as exc:
                # a link swapped onto its way (or a folder at its name) since start(): nothing
                # is written through it; "any other error" (research §2.7)
                reservation.release()
                engine.reject(self.rel, exc.reason if isinstance(exc, UnsafePath)
                              else str(exc))
                self._report(State.FAILED, obj.size, obj.size, DownloadErrorType.UNKNOWN_ERROR)
                return
            reservation.commit(obj.size)
            engine.record(obj, placed.st_mtime_ns)
            self._report(State.COMPLETED, obj.size, obj.size)
        finally:
            engine.downloads.pop(self.rel, None)
