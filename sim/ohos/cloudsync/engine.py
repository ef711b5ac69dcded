"""The cloud sync service behind GallerySync/FileSync, Download and CloudFileCache.

One :class:`SyncEngine` per app (bundle). A run pulls the cloud's changes (downloading, then
applying deletions), then pushes the local ones (uploads of new and modified files, then
deletions), moving real bytes between the app's cloud folder and the simulated cloud's blobs
through the device's link. Progress events follow the platform's order (research §3.2–3.3); the
device decides every failure: no network, no Wi-Fi for uploads, battery below 10 %/15 %, heat,
cloud quota, local space (research §2.3–2.7).

Integrity rules: a download is written under a temporary name and renamed into place only when
complete, an upload becomes a cloud object only when all its bytes arrived and the quota allows
(:class:`~sim.cloud.CloudFull` leaves nothing), and a file changed on both sides keeps the local
copy under a conflict name, so no sequence of faults loses a file or presents a partial one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import simpy

from sim.cloud import (
    CloudFull,
    CloudObject,
    CloudService,
    CloudUnavailable,
    Container,
    Drive,
    VersionConflict,
)
from sim.device.device import Device
from sim.device.radio import NetworkType
from sim.errors import StorageFull, TransferInterrupted
from sim.ohos.cloudsync import constants as K
from sim.ohos.cloudsync.constants import (
    ChangeData,
    DownloadErrorType,
    DownloadProgress,
    ErrorType,
    FileSyncState,
    NotifyType,
    State,
    SyncProgress,
    SyncState,
)
from sim.ohos.cloudsync.fidelity import CloudSyncFidelity
from sim.ohos.common import AppSandbox
from sim.trace import EventKind

Gen = Generator[simpy.Event, Any, Any]
BATCH = 8
"""Files per fetch/create batch; a progress event follows each batch."""
BATCH_PAUSE_S = 1.0
"""The engine sleeps 1 s after each handled batch before reporting it (research §3.2)."""
PRIORITY = (ErrorType.NETWORK_UNAVAILABLE, ErrorType.WIFI_UNAVAILABLE,
            ErrorType.BATTERY_LEVEL_WARNING, ErrorType.BATTERY_LEVEL_LOW,
            ErrorType.CLOUD_STORAGE_FULL, ErrorType.LOCAL_STORAGE_FULL,
            ErrorType.DEVICE_TEMPERATURE_TOO_HIGH)
"""``GetErrorType()``'s order (research §3.4); heat last, as the documents add it."""
TEMP_PREFIX = ".syncrig-part-"


@dataclass(frozen=True)
class Synced:
    """What local and cloud agreed on for a path at its last successful transfer."""

    version: int
    sha256: str
    size: int
    mtime_ns: int = -1
    """The local file's mtime then: an unchanged size and mtime means an unchanged file."""


class Halt(Exception):
    """Ends a phase early: a fault bit is set, or stop() was called."""

    moved = 0
    """Bytes the interrupted transfer had carried."""


@dataclass(frozen=True)
class _Snapshot:
    """A file's bytes as taken for upload: in memory when small, else a copy on disk."""

    rel: str
    path: Path | None
    data: bytes | None
    sha256: str
    size: int
    mtime_ns: int


SMALL_FILE = 1024 * 1024
"""Files up to this size are snapshotted in memory (one file open instead of three)."""


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


Watcher = tuple[Path, bool, Callable[[ChangeData], None]]


class SyncEngine:
    """Sync for one app on one device."""

    def __init__(self, service: CloudSyncService, sandbox: AppSandbox, gallery: bool) -> None:
        self.service = service
        self.device = service.device
        self.env = service.device.env
        self.sandbox = sandbox
        self.bundle = sandbox.bundle_name
        self.gallery = gallery
        self.container: Container = service.drive.container(self.bundle)
        self.listeners: dict[int, Callable[[SyncProgress], None]] = {}
        self.running = False
        self.pending = False
        self.stop_requested = False
        self.bits: set[ErrorType] = set()
        self.last_sync_ms = 0
        self.last_progress = SyncProgress(SyncState.COMPLETED, ErrorType.NO_ERROR)
        self.synced: dict[str, Synced] = {}
        self.file_state: dict[str, FileSyncState] = {}
        self.evicted: set[str] = set()
        self.cursor = 0
        self.runs = 0
        self._transfer: Any = None
        self._folders: set[Path] = set()
        self.downloads: dict[str, _Fetch] = {}

    @property
    def root(self) -> Path:
        return self.sandbox.cloud_dir

    # -- events ----------------------------------------------------------------------------

    def _emit(self, state: SyncState, error: ErrorType = ErrorType.NO_ERROR) -> None:
        progress = SyncProgress(state, error)
        self.last_progress = progress
        self.device.trace.emit(EventKind.API, api="cloudSync.sync", bundle=self.bundle,
                               state=state.name, error=error.name)
        for listener in list(self.listeners.values()):
            listener(progress)

    def notify(self, kind: NotifyType, paths: list[Path], directory: bool = False) -> None:
        self.service.notify(self.sandbox, kind, paths, directory)

    # -- control -----------------------------------------------------------------------------

    def check_start(self) -> int:
        """``start()``'s preconditions in the platform's order (research §2.3): 0 or a code."""
        if not self.device.internet:
            return K.NETWORK_UNAVAILABLE
        if not self.service.drive.ready(self.bundle):
            return K.CLOUD_NOT_READY
        battery = self.device.battery
        if battery is not None and not battery.charging \
                and battery.level < K.STOP_CAPACITY_LIMIT:
            return K.BATTERY_LOW
        return 0

    def start(self) -> None:
        """Start a run, or coalesce into one re-run after the current one (research §2.8)."""
        if self.running:
            self.pending = True
            return
        self.running = True
        self.stop_requested = False
        self.env.process(self._runs())

    def stop(self) -> None:
        """Stop the run (STOPPED follows) and cancel a pending re-run."""
        self.pending = False
        if self.running:
            self.stop_requested = True
            if self._transfer is not None and not self._transfer.triggered:
                self._transfer.cancel("stopped")

    # -- the run -----------------------------------------------------------------------------

    def _runs(self) -> Gen:
        try:
            while True:
                self.runs += 1
                self.bits = set()
                outcome = yield from self._run()
                if self.stop_requested:
                    self._emit(SyncState.STOPPED)
                    break
                if self.pending:
                    self.pending = False
                    continue  # the coalesced start: no COMPLETED for this run
                if outcome == "completed":
                    self.last_sync_ms = self.device.utc_ms()
                    self._emit(SyncState.COMPLETED)
                self.pending = False
                break
        finally:
            self.running = False
            self.stop_requested = False
            self._transfer = None

    def _run(self) -> Gen:
        if self.gallery:
            self._emit(SyncState.DOWNLOADING)
        with contextlib.suppress(Halt):
            yield from self._pull()
        if self.stop_requested:
            return "stopped"
        if self.bits:
            self._emit(SyncState.DOWNLOAD_FAILED, self._top())
            return "failed"
        if self.gallery:
            self._emit(SyncState.UPLOADING)
        with contextlib.suppress(Halt):
            yield from self._push()
        if self.stop_requested:
            return "stopped"
        if self.bits:
            self._emit(SyncState.UPLOAD_FAILED, self._top())
            return "failed"
        return "completed"

    def _top(self) -> ErrorType:
        return next(e for e in PRIORITY if e in self.bits)

    def _fault(self, error: ErrorType) -> Halt:
        self.bits.add(error)
        return Halt(error.name)

    def _check_conditions(self) -> None:
        """Conditions checked before every file: stop, network, heat."""
        if self.stop_requested:
            raise Halt("stopped")
        if not self.device.internet:
            raise self._fault(ErrorType.NETWORK_UNAVAILABLE)
        if self.service.fidelity.temperature_reported and self.device.thermal.overheated:
            raise self._fault(ErrorType.DEVICE_TEMPERATURE_TOO_HIGH)

    def _move(self, nbytes: int, direction: str, label: str) -> Gen:
        """Carry ``nbytes`` over the link, plus the server's extra latency; a halt carries the
        bytes that did arrive (``Halt.moved``)."""
        if self.service.cloud.extra_latency_s:
            yield self.env.timeout(self.service.cloud.extra_latency_s)
        transfer = self.device.link.transfer(nbytes, direction, label=label)
        self._transfer = transfer
        try:
            yield transfer
        except TransferInterrupted as exc:
            halt = Halt("stopped") if exc.reason == "stopped" else \
                self._fault(ErrorType.NETWORK_UNAVAILABLE)
            halt.moved = exc.bytes_done
            raise halt from None
        finally:
            self._transfer = None

    def _carried(self, nbytes: int, direction: str, label: str) -> Gen:
        """A batch's transfer that may be cut short: (bytes that arrived, the halt or None),
        so the caller keeps the whole files that made it before re-raising the halt."""
        try:
            yield from self._move(nbytes, direction, label)
        except Halt as exc:
            return exc.moved, exc
        return nbytes, None

    def _batches(self, items: list[str]) -> list[list[str]]:
        return [items[i:i + BATCH] for i in range(0, len(items), BATCH)]

    # -- pull ----------------------------------------------------------------------------------

    def _pull(self) -> Gen:
        try:
            self.service.cloud.check_server()
        except CloudUnavailable:
            raise self._fault(ErrorType.NETWORK_UNAVAILABLE) from None
        changes = self.container.changes_since(self.cursor)
        wanted: dict[str, None] = {}
        gone: dict[str, None] = {}
        for change in changes:
            if change.op == "rename" and change.old_path is not None:
                gone[change.old_path] = None
            if change.op == "delete":
                gone[change.path] = None
                wanted.pop(change.path, None)
            else:
                wanted[change.path] = None
                gone.pop(change.path, None)
        to_fetch = [p for p in wanted if (obj := self.container.get(p)) is not None
                    and (self.synced.get(p) is None or self.synced[p].version != obj.version)]
        for batch in self._batches(to_fetch):
            self._check_conditions()
            yield from self._download_batch(batch)
            yield self.env.timeout(BATCH_PAUSE_S)
            self._emit(SyncState.DOWNLOADING)
        for path in gone:
            self._apply_cloud_delete(path)
        self.cursor = changes[-1].seq if changes else self.cursor

    def _download_batch(self, paths: list[str]) -> Gen:
        """One fetch: the batch's bytes in one link transfer, files placed whole, in order."""
        objects = [obj for p in paths if (obj := self.container.get(p)) is not None]
        for obj in objects:
            self.file_state[obj.path] = FileSyncState.DOWNLOADING
        total = sum(obj.size for obj in objects)
        try:
            reservation = self.device.storage.reserve(total)
        except StorageFull:
            for obj in objects:
                self.file_state[obj.path] = FileSyncState.STOPPED
            raise self._fault(ErrorType.LOCAL_STORAGE_FULL) from None
        moved, halt = yield from self._carried(total, "down", f"sync-down:{len(objects)} files")
        placed = 0
        for obj in objects:
            if placed + obj.size > moved:
                self.file_state[obj.path] = FileSyncState.STOPPED
                continue
            placed += obj.size
            self._receive(obj)
        reservation.commit(placed)
        if halt is not None:
            raise halt

    def _receive(self, obj: CloudObject) -> None:
        """Put a downloaded object in place, keeping a local edit the cloud never saw."""
        local = self.root / obj.path
        synced = self.synced.get(obj.path)
        try:
            old_size = os.stat(local).st_size
            existed = True
        except FileNotFoundError:
            old_size, existed = 0, False
        if existed and obj.path not in self.evicted:
            local_sha = sha256_of(local)
            if local_sha == obj.sha256:
                self._record(obj, os.stat(local).st_mtime_ns)
                self.device.storage.delete(min(obj.size, self.device.storage.used))
                return
            if synced is None or local_sha != synced.sha256:
                self._keep_conflict(local)  # changed on both sides: keep the local copy too
                existed, old_size = False, 0
        mtime_ns = self._place(self.container.blob(obj), local, obj.size)
        if old_size:
            self.device.storage.delete(min(old_size, self.device.storage.used))
        self.evicted.discard(obj.path)
        self._record(obj, mtime_ns)
        self.notify(NotifyType.NOTIFY_MODIFIED if existed else NotifyType.NOTIFY_ADDED, [local])

    def _record(self, obj: CloudObject, mtime_ns: int) -> None:
        self.synced[obj.path] = Synced(obj.version, obj.sha256, obj.size, mtime_ns)
        self.file_state[obj.path] = FileSyncState.COMPLETED

    def _place(self, blob: Path, local: Path, size: int) -> int:
        """Copy a blob to ``local`` via a temporary name (never a partial file in place);
        returns the new file's mtime."""
        parent = local.parent
        if parent not in self._folders or not parent.is_dir():
            parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(parent)
        temp = parent / (TEMP_PREFIX + local.name)
        if size <= SMALL_FILE:
            with open(blob, "rb") as src:
                data = src.read()
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, data)
                mtime_ns = os.fstat(fd).st_mtime_ns
            finally:
                os.close(fd)
        else:
            shutil.copyfile(blob, temp)
            mtime_ns = os.stat(temp).st_mtime_ns
        os.replace(temp, local)
        return mtime_ns

    def _keep_conflict(self, local: Path) -> None:
        target = local.with_name(f"{local.stem} (conflict){local.suffix}")
        n = 2
        while target.exists():
            target = local.with_name(f"{local.stem} (conflict {n}){local.suffix}")
            n += 1
        os.replace(local, target)
        rel = str(target.relative_to(self.root))
        self.file_state[rel] = FileSyncState.TO_BE_UPLOADED
        self.notify(NotifyType.NOTIFY_RENAMED, [local, target])

    def _apply_cloud_delete(self, path: str) -> None:
        local = self.root / path
        synced = self.synced.pop(path, None)
        self.evicted.discard(path)
        self.file_state.pop(path, None)
        if not local.exists():
            return
        if synced is None or sha256_of(local) != synced.sha256:
            # never synced, or edited here since: local content the cloud never had — keep it
            self.file_state[path] = FileSyncState.TO_BE_UPLOADED
            return
        size = local.stat().st_size
        local.unlink()
        self.device.storage.delete(min(size, self.device.storage.used))
        self.notify(NotifyType.NOTIFY_DELETED, [local])

    # -- push ----------------------------------------------------------------------------------

    def scan(self) -> dict[str, os.stat_result]:
        """Every file of the cloud folder (relative path → stat), temporary files excluded."""
        found: dict[str, os.stat_result] = {}
        stack = [(str(self.root), "")]
        while stack:
            folder, prefix = stack.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, prefix + entry.name + "/"))
                    elif entry.is_file() and not entry.name.startswith(TEMP_PREFIX):
                        found[prefix + entry.name] = entry.stat()
        return found

    def local_files(self) -> dict[str, Path]:
        return {rel: self.root / rel for rel in self.scan()}

    def changed_locally(self) -> list[str]:
        """Local files whose content the cloud does not have (new or modified). A file whose
        size and mtime match the last sync is not re-read."""
        out = []
        for rel, stat in sorted(self.scan().items()):
            if rel in self.evicted:
                continue
            synced = self.synced.get(rel)
            if synced is None:
                out.append(rel)
                continue
            if stat.st_size == synced.size and stat.st_mtime_ns == synced.mtime_ns:
                continue
            if stat.st_size != synced.size or sha256_of(self.root / rel) != synced.sha256:
                out.append(rel)
            else:
                self.synced[rel] = replace(synced, mtime_ns=stat.st_mtime_ns)
        return out

    def _uploads_allowed_here(self) -> bool:
        net = self.device.active_network
        if net is NetworkType.WIFI:
            return True
        if self.service.fidelity.uploads_need_wifi_for_all:
            return False
        if net is NetworkType.ETHERNET:
            return True
        if self.bundle == K.GALLERY_BUNDLE:
            return self.service.gallery_mobile_data
        return True

    def _check_battery(self) -> None:
        battery = self.device.battery
        if battery is None or battery.charging:
            return
        if battery.level < K.STOP_CAPACITY_LIMIT:
            raise self._fault(ErrorType.BATTERY_LEVEL_LOW)
        if battery.level < K.PAUSE_CAPACITY_LIMIT:
            raise self._fault(ErrorType.BATTERY_LEVEL_WARNING if
                              self.service.fidelity.battery_warning
                              else ErrorType.BATTERY_LEVEL_LOW)

    def _push(self) -> Gen:
        uploads = self.changed_locally()
        for rel in uploads:
            self.file_state[rel] = FileSyncState.TO_BE_UPLOADED
        for batch in self._batches(uploads):
            self._check_conditions()
            self._check_battery()  # before each batch of new records (research §2.4)
            if not self._uploads_allowed_here():
                raise self._fault(ErrorType.WIFI_UNAVAILABLE)
            yield from self._upload_batch(batch)
            yield self.env.timeout(BATCH_PAUSE_S)
            self._emit(SyncState.UPLOADING)
        local = self.scan()
        for rel in [r for r in self.synced if r not in local and r not in self.evicted]:
            self._check_conditions()
            try:
                self.container.delete(rel)
            except CloudUnavailable:
                raise self._fault(ErrorType.NETWORK_UNAVAILABLE) from None
            del self.synced[rel]
            self.file_state.pop(rel, None)

    def _snapshot(self, rel: str, folder: Path) -> _Snapshot | None:
        """Take a file's bytes now, hashing them on the way (as an open descriptor holds
        them): the app may go on editing or delete the file while it uploads."""
        path = self.root / rel
        try:
            stat = path.stat()
            if stat.st_size <= SMALL_FILE:
                data = path.read_bytes()
                return _Snapshot(rel, None, data, hashlib.sha256(data).hexdigest(), len(data),
                                 stat.st_mtime_ns)
            target = folder / f"{self.runs}-{abs(hash(rel))}"
            # hash on a second thread while the kernel copies: both release the GIL, and
            # nothing else touches the file until this step of the simulation returns
            with ThreadPoolExecutor(max_workers=1) as pool:
                digest = pool.submit(sha256_of, path)
                shutil.copyfile(path, target)
                sha = digest.result()
        except FileNotFoundError:
            self.file_state.pop(rel, None)  # deleted meanwhile: the push of deletions sees it
            return None
        return _Snapshot(rel, target, None, sha, stat.st_size, stat.st_mtime_ns)

    def _upload_batch(self, rels: list[str]) -> Gen:
        """One create-records batch: snapshots, one link transfer, then each object stored."""
        folder = self.sandbox.root / ".sync-snapshots"
        folder.mkdir(exist_ok=True)
        snaps = [snap for rel in rels if (snap := self._snapshot(rel, folder)) is not None]
        for snap in snaps:
            self.file_state[snap.rel] = FileSyncState.UPLOADING
        total = sum(snap.size for snap in snaps)
        moved, halt = yield from self._carried(total, "up", f"sync-up:{len(snaps)} files")
        try:
            arrived = 0
            for snap in snaps:
                if arrived + snap.size > moved:
                    self.file_state[snap.rel] = FileSyncState.UPLOAD_FAILURE
                    continue
                arrived += snap.size
                self._store(snap)
        finally:
            for snap in snaps:
                if snap.path is not None:
                    snap.path.unlink(missing_ok=True)
        if halt is not None:
            raise halt

    def _store(self, snap: _Snapshot) -> None:
        synced = self.synced.get(snap.rel)
        base = synced.version if synced else 0
        try:
            if snap.data is not None:
                obj = self.container.put_bytes(snap.rel, snap.data, snap.sha256, self.env.now,
                                               base_version=base)
            else:
                assert snap.path is not None
                obj = self.container.put_staged(snap.rel, snap.path, snap.sha256, snap.size,
                                                self.env.now, base_version=base)
        except VersionConflict:
            # the cloud changed since our last pull: pull again before pushing this file
            self.file_state[snap.rel] = FileSyncState.TO_BE_UPLOADED
            self.pending = True
            return
        except CloudFull:
            self.file_state[snap.rel] = FileSyncState.UPLOAD_FAILURE
            raise self._fault(ErrorType.CLOUD_STORAGE_FULL) from None
        except CloudUnavailable:
            self.file_state[snap.rel] = FileSyncState.UPLOAD_FAILURE
            raise self._fault(ErrorType.NETWORK_UNAVAILABLE) from None
        self.synced[snap.rel] = Synced(obj.version, obj.sha256, obj.size, snap.mtime_ns)
        path = self.root / snap.rel
        unchanged = path.is_file() and path.stat().st_mtime_ns == snap.mtime_ns
        self.file_state[snap.rel] = FileSyncState.UPLOAD_SUCCESS if unchanged \
            else FileSyncState.TO_BE_UPLOADED

    # -- on-demand downloads (Download, CloudFileCache) ---------------------------------------

    def fetch(self, rel: str, uri: str, on_progress: Callable[[DownloadProgress], None]) -> None:
        """Download a cloud file's content now (placeholder → local file)."""
        if rel in self.downloads:
            return  # already downloading: no duplicate task
        fetch = _Fetch(self, rel, uri, on_progress)
        self.downloads[rel] = fetch
        fetch.process = self.env.process(fetch.run())

    def stop_fetch(self, rel: str) -> bool:
        fetch = self.downloads.get(rel)
        if fetch is None:
            return False
        fetch.stop()
        return True

    def evict(self, rel: str) -> None:
        """Drop a file's local content, keeping an empty placeholder (cleanCache)."""
        local = self.root / rel
        size = local.stat().st_size
        local.write_bytes(b"")
        self.device.storage.delete(min(size, self.device.storage.used))
        self.evicted.add(rel)


class _Fetch:
    """One on-demand download, with its progress events (research §3.7)."""

    def __init__(self, engine: SyncEngine, rel: str, uri: str,
                 on_progress: Callable[[DownloadProgress], None]) -> None:
        self.engine = engine
        self.rel = rel
        self.uri = uri
        self.on_progress = on_progress
        self.transfer: Any = None
        self.stopped = False
        self.process: simpy.Process | None = None
        self.temp = (engine.root / rel).with_name(TEMP_PREFIX + Path(rel).name)

    def _report(self, state: State, processed: int, size: int,
                error: DownloadErrorType = DownloadErrorType.NO_ERROR) -> None:
        self.engine.device.trace.emit(EventKind.API, api="cloudSync.download",
                                      uri=self.uri, state=state.name, processed=processed,
                                      size=size, error=error.name)
        self.on_progress(DownloadProgress(state, processed, size, self.uri, error))

    def stop(self) -> None:
        self.stopped = True
        if self.transfer is not None and not self.transfer.triggered:
            self.transfer.cancel("stopped")

    def run(self) -> Gen:
        engine = self.engine
        obj = engine.container.get(self.rel)
        try:
            if obj is None:
                self._report(State.FAILED, 0, 0, DownloadErrorType.CONTENT_NOT_FOUND)
                return
            if not engine.device.internet:
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
                self.temp.unlink(missing_ok=True)
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
                self.temp.unlink(missing_ok=True)
                self._report(State.FAILED, obj.size, obj.size,
                             DownloadErrorType.CONTENT_NOT_FOUND)
                return
            local = engine.root / self.rel
            mtime_ns = engine._place(engine.container.blob(obj), local, obj.size)
            reservation.commit(obj.size)
            engine.evicted.discard(self.rel)
            engine._record(obj, mtime_ns)
            self._report(State.COMPLETED, obj.size, obj.size)
        finally:
            engine.downloads.pop(self.rel, None)


class CloudSyncService:
    """The device's sync service: one engine per app, change watchers, settings."""

    def __init__(self, device: Device, cloud: CloudService, drive: Drive,
                 fidelity: CloudSyncFidelity) -> None:
        self.device = device
        self.cloud = cloud
        self.drive = drive
        self.fidelity = fidelity
        self.engines: dict[str, SyncEngine] = {}
        self.watchers: list[tuple[AppSandbox, Path, bool, Callable[[ChangeData], None]]] = []
        self.fs_faults: dict[str, int] = {}
        """Injected file-system errors (relative path → errno) for reading a file's state."""
        self.gallery_mobile_data = False
        """The Gallery's "use mobile data" setting; other apps may always upload on cellular."""

    def engine(self, sandbox: AppSandbox) -> SyncEngine:
        bundle = sandbox.bundle_name
        if bundle not in self.engines:
            self.engines[bundle] = SyncEngine(self, sandbox, gallery=bundle == K.GALLERY_BUNDLE)
        return self.engines[bundle]

    def notify(self, sandbox: AppSandbox, kind: NotifyType, paths: list[Path],
               directory: bool = False) -> None:
        """Tell every watcher whose folder or file covers one of ``paths``."""
        for owner, watched, recursive, callback in list(self.watchers):
            if owner is not sandbox:
                continue
            hits = [p for p in paths if p == watched or p.parent == watched
                    or (recursive and p.is_relative_to(watched))]
            if hits:
                uris = [owner.cloud_uri(str(p.relative_to(owner.cloud_dir))) for p in hits]
                callback(ChangeData(kind, [directory] * len(uris), uris))
