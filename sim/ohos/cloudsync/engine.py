"""The cloud sync service behind GallerySync/FileSync, Download and CloudFileCache.

One :class:`SyncEngine` per app (bundle). A run pulls the cloud's changes (applying deletions,
then downloading), then pushes the local ones (uploads of new and modified files, then
deletions), moving real bytes between the app's cloud folder and the simulated cloud's blobs
through the device's link. Progress events follow the platform's order (research §3.2–3.3); the
device decides every failure: no network, no Wi-Fi for uploads, battery below 10 %/15 %, heat,
cloud quota, local space (research §2.3–2.7).

Integrity rules: a download is written under a random temporary name and renamed into place
only when complete, an upload becomes a cloud object only when all its bytes arrived and the
quota allows (:class:`~sim.cloud.CloudFull` leaves nothing), puts and deletes are conditional
on the version last synced (a conflict becomes a pull, never a loss), and whatever is changed on
both sides — two edits of a file, an edit and a delete, a file and a folder of one name — keeps
the cloud's version under the name and the local one under a conflict name, so no sequence of
faults loses a version or presents a partial file.

Path safety: the cloud folder is held by descriptor (:class:`sim.fs.Folder`) and every file
operation in it — scan, upload snapshot, placing a download, conflict copies, deletes, evicting,
on-demand fetches — walks to its target without following a link. A symlink in the cloud folder
is never uploaded, written through or deleted through, and a name planted where a temporary
file would go is never written (temporary names are random and created ``O_EXCL``). Paths the
cloud lists are checked before any local effect (:func:`cloud_path_problem`): one that is not a
plain relative path inside the folder is skipped and recorded in the device's trace.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

import simpy

from sim.cloud import (
    CloudFull,
    CloudObject,
    CloudService,
    CloudUnavailable,
    Container,
    Drive,
    PathClash,
    VersionConflict,
)
from sim.device.device import Device
from sim.device.radio import NetworkType
from sim.errors import StorageFull, TransferInterrupted, UnsafePath
from sim.fs import NAME_MAX, TEMP_PREFIX, Folder, parts
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
CONFLICT_RERUNS = 3
"""Re-runs one start() may add to resolve conflicts with the cloud (each pulls again); past
them the files wait for the next start, so a cloud that keeps conflicting cannot keep a sync
running forever."""
NOT_CANONICAL = "not in canonical form (empty or . names)"
"""A cloud path that names a file only once normalised: the device could not keep its name."""
TEMPORARY_NAME = "a temporary file's name"
"""A cloud path with a name the folder listing leaves out: it would never sync back."""
REJECTED = "cloudSync.rejected"
"""The trace event of a path the engine refused to act on (``path``, ``reason``)."""
LISTENER_FAILED = "cloudSync.listener"
"""The trace event of an app's callback that raised (``listener``, ``error``)."""


def cloud_path_problem(path: str) -> str | None:
    """Why a path the cloud lists cannot be a file of the cloud folder, or None when it can:
    a relative path of names (no ``..``, NUL, absolute path, name over 255 bytes —
    :func:`sim.fs.parts`), written as the device writes it, with no temporary file's name."""
    try:
        names = parts(path)
    except UnsafePath as exc:
        return exc.reason
    if "/".join(names) != path:
        return NOT_CANONICAL
    if any(name.startswith(TEMP_PREFIX) for name in names):
        return TEMPORARY_NAME
    return None


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
_BLOCK = 1024 * 1024


def _digest(fd: int) -> str:
    """SHA-256 of an open file from its start, read by offset (``pread``): the descriptor's
    own position is left alone, so another thread may copy from it meanwhile."""
    digest = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, _BLOCK, offset):
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()


def _copy(source: int, target: int) -> int:
    """Copy an open file into another in the kernel; the bytes copied."""
    offset = 0
    while sent := os.sendfile(target, source, offset, 64 * _BLOCK):
        offset += sent
    return offset


def _conflict_name(name: str, n: int) -> str:
    """``name (conflict).ext``, then ``(conflict 2)``…, shortened to fit a name's 255 bytes."""
    pure = PurePosixPath(name)
    stem, suffix = (pure.stem, pure.suffix) if pure.stem else (name, "")
    label = " (conflict)" if n == 1 else f" (conflict {n})"
    room = NAME_MAX - len((label + suffix).encode())
    while len(stem.encode()) > room:
        stem = stem[:-1]
    return f"{stem}{label}{suffix}"


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
        self.folder = Folder.hold(sandbox.cloud_dir, create=True)
        """The app's cloud folder, held: every file operation of the engine starts here."""
        self._snapshots: Folder | None = None
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
        self.unplaced: set[str] = set()
        """Cloud files a link on their way kept out: tried again at every pull."""
        self.full_pull = False
        """After a conflict the next pull compares every cloud object, not only new changes."""
        self.conflict_reruns = 0
        self.cursor = 0
        self.runs = 0
        self._transfer: Any = None
        self.downloads: dict[str, _Fetch] = {}

    @property
    def root(self) -> Path:
        """Where the cloud folder is: for messages and change notifications, never access."""
        return self.sandbox.cloud_dir

    # -- events ----------------------------------------------------------------------------

    def _emit(self, state: SyncState, error: ErrorType = ErrorType.NO_ERROR) -> None:
        progress = SyncProgress(state, error)
        self.last_progress = progress
        self.device.trace.emit(EventKind.API, api="cloudSync.sync", bundle=self.bundle,
                               state=state.name, error=error.name)
        for listener in list(self.listeners.values()):
            self.service.call_app("progress", listener, progress)

    def notify(self, kind: NotifyType, paths: list[Path], directory: bool = False) -> None:
        self.service.notify(self.sandbox, kind, paths, directory)

    def _reject(self, path: str, reason: str) -> None:
        """Record a path the engine will not act on, with why."""
        self.device.trace.emit(EventKind.API, api=REJECTED, bundle=self.bundle, path=path,
                               reason=reason)

    # -- control -----------------------------------------------------------------------------

    def _online(self) -> bool:
        return self.device.sensors.network().internet

    def _battery_below(self, limit: float) -> bool:
        """Discharging below ``limit`` percent (a device without a battery never is)."""
        battery = self.device.sensors.battery()
        return battery.percent is not None and not battery.charging \
            and battery.percent < limit

    def check_start(self) -> int:
        """``start()``'s preconditions in the platform's order (research §2.3): 0 or a code.
        Conditions are read through the device's Sensors port, as on hardware."""
        if not self._online():
            return K.NETWORK_UNAVAILABLE
        if not self.service.drive.ready(self.bundle):
            return K.CLOUD_NOT_READY
        if self._battery_below(K.STOP_CAPACITY_LIMIT):
            return K.BATTERY_LOW
        return 0

    def start(self) -> None:
        """Start a run, or coalesce into one re-run after the current one (research §2.8)."""
        if self.running:
            self.pending = True
            return
        self.running = True
        self.stop_requested = False
        self.conflict_reruns = 0
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

    def _pull_again(self) -> None:
        """A conflict with the cloud: the next run pulls every cloud object again (the
        other side's version comes down, the local one is kept under a conflict name)."""
        self.full_pull = True
        if self.conflict_reruns < CONFLICT_RERUNS:
            self.conflict_reruns += 1
            self.pending = True

    def _check_conditions(self) -> None:
        """Conditions checked before every file: stop, network, heat."""
        if self.stop_requested:
            raise Halt("stopped")
        if not self._online():
            raise self._fault(ErrorType.NETWORK_UNAVAILABLE)
        if self.service.fidelity.temperature_reported and \
                self.device.sensors.temperature().overheated:
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

    def _free(self, nbytes: int) -> None:
        """Give back to the device's storage what a deleted or replaced file held."""
        storage = self.device.storage
        storage.delete(max(0, min(nbytes, storage.used - storage.filler)))

    # -- local files, by descriptor -------------------------------------------------------

    def _sha256(self, rel: str) -> str:
        """SHA-256 of the regular file ``rel`` (a link there is refused, not followed)."""
        fd = self.folder.open(rel)
        try:
            return _digest(fd)
        finally:
            os.close(fd)

    def _place(self, rel: str, blob: Path) -> os.stat_result:
        """Write a blob's bytes to ``rel`` under a random temporary name created ``O_EXCL``
        and rename it into place: never a partial file, never through a planted name or a
        link (:meth:`sim.fs.Folder.write_atomic`). The new file's status."""
        with blob.open("rb") as src:
            return self.folder.write_atomic(rel, src, create_parents=True)

    def _keep_conflict(self, rel: str) -> str:
        """Move the local file or folder ``rel`` aside to a free conflict name (free here and
        in the cloud) so the cloud's version can take the name; its content uploads under
        the new one. The new path."""
        head, _, name = rel.rpartition("/")
        n = 1
        while True:
            target = (head + "/" if head else "") + _conflict_name(name, n)
            if self.folder.lstat(target) is None and self.container.get(target) is None \
                    and self.container.clash(target) is None:
                break
            n += 1
        status = self.folder.lstat(rel)
        directory = status is not None and stat.S_ISDIR(status.st_mode)
        self.folder.rename(rel, target)
        moved = [sub for sub, _ in self.folder.walk(target)] if directory else [target]
        for path in moved:
            self.file_state[path] = FileSyncState.TO_BE_UPLOADED
        self.notify(NotifyType.NOTIFY_RENAMED, [self.root / rel, self.root / target], directory)
        return target

    def _remove_empty(self, rel: str) -> bool:
        """Remove the folder ``rel`` if it holds nothing but empty folders (empty folders are
        not synced); whether it is gone."""
        try:
            with self.folder.folder(rel) as held:
                names = os.listdir(held.fd)
            for name in names:
                status = self.folder.lstat(f"{rel}/{name}")
                if status is None or not stat.S_ISDIR(status.st_mode) \
                        or not self._remove_empty(f"{rel}/{name}"):
                    return False
            with self.folder.parent(rel) as (pfd, last):
                os.rmdir(last, dir_fd=pfd)
        except (OSError, UnsafePath):
            return False
        return True

    def _make_way(self, rel: str) -> None:
        """The folders on ``rel``'s way, before placing a cloud file there: a local file
        where the cloud has a folder moves aside to a conflict name (the cloud's version keeps
        the name, as for two edits of a file); a link there refuses the placement
        (:class:`UnsafePath`)."""
        names = rel.split("/")
        for i in range(1, len(names)):
            prefix = "/".join(names[:i])
            status = self.folder.lstat(prefix)
            if status is None:
                return  # created by the placement
            if stat.S_ISDIR(status.st_mode):
                continue
            if stat.S_ISREG(status.st_mode):
                self._keep_conflict(prefix)
                return
            raise UnsafePath(rel, UnsafePath.LINK)

    # -- pull ----------------------------------------------------------------------------------

    def _pull(self) -> Gen:
        """Deletions first, then downloads: a folder the cloud emptied is gone before a file
        of its name arrives. A path the cloud lists that cannot be a file of the folder
        (:func:`cloud_path_problem`) is skipped and recorded in the trace (``cloudSync.
        rejected``, with the path and the reason) before anything local is touched.

        Such a path does not fail the run: the page's ErrorType has no member for a bad
        record from the server (REMOTE_SERVER_ABNORMAL is API 20's, research §1.1), and the
        open engine reports a condition outside ``GetErrorType()``'s list as NO_ERROR (§3.4).
        So the run ends as its other files decide — COMPLETED when nothing else failed — and
        the skipped object never becomes a local file (nor a URI the app could name)."""
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
        if self.full_pull:
            self.full_pull = False
            wanted |= dict.fromkeys(self.container.objects)
            gone |= dict.fromkeys(p for p in self.synced if self.container.get(p) is None)
        self.unplaced = {p for p in self.unplaced if self.container.get(p) is not None}
        wanted |= dict.fromkeys(self.unplaced)
        accepted = {p for p in {**gone, **wanted} if self._accepted(p)}
        for path in [p for p in gone if p in accepted]:
            self._apply_cloud_delete(path)
        to_fetch = [p for p in wanted if p in accepted
                    and (obj := self.container.get(p)) is not None
                    and (self.synced.get(p) is None or self.synced[p].version != obj.version)]
        for batch in self._batches(to_fetch):
            self._check_conditions()
            yield from self._download_batch(batch)
            yield self.env.timeout(BATCH_PAUSE_S)
            self._emit(SyncState.DOWNLOADING)
        self.cursor = changes[-1].seq if changes else self.cursor

    def _accepted(self, path: str) -> bool:
        problem = cloud_path_problem(path)
        if problem is not None:
            self._reject(path, problem)
        return problem is None

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
        arrived = written = 0
        for obj in objects:
            if arrived + obj.size > moved:
                self.file_state[obj.path] = FileSyncState.STOPPED
                continue
            arrived += obj.size
            written += self._receive(obj)
        reservation.commit(written)
        if halt is not None:
            raise halt

    def _receive(self, obj: CloudObject) -> int:
        """Put a downloaded object in place, keeping a local edit the cloud never saw (and a
        local folder where the cloud has a file) under a conflict name. The bytes written."""
        rel = obj.path
        try:
            self._make_way(rel)
            status = self.folder.lstat(rel)
            existed = status is not None and stat.S_ISREG(status.st_mode)
            old_size = status.st_size if status is not None and existed else 0
            if status is not None and stat.S_ISDIR(status.st_mode):
                if not self._remove_empty(rel):
                    self._keep_conflict(rel)  # a folder where the cloud has a file
            elif status is not None and existed and rel not in self.evicted:
                local_sha = self._sha256(rel)
                if local_sha == obj.sha256:
                    self._record(obj, status.st_mtime_ns)
                    return 0
                synced = self.synced.get(rel)
                if synced is None or local_sha != synced.sha256:
                    self._keep_conflict(rel)  # changed on both sides: keep the local copy too
                    existed, old_size = False, 0
            placed = self._place(rel, self.container.blob(obj))
        except UnsafePath as exc:
            self._unplaced(obj, exc)
            return 0
        if old_size:
            self._free(old_size)
        self.evicted.discard(rel)
        self._record(obj, placed.st_mtime_ns)
        self.notify(NotifyType.NOTIFY_MODIFIED if existed else NotifyType.NOTIFY_ADDED,
                    [self.root / rel])
        return obj.size

    def _unplaced(self, obj: CloudObject, exc: UnsafePath) -> None:
        """A link (or a non-folder) on a cloud file's way: nothing is written through it; the
        file is tried again at the next pull. Names were checked before: any other refusal
        is the engine's own error."""
        if exc.reason not in (UnsafePath.LINK, UnsafePath.NOT_FILE):
            raise exc
        self.file_state[obj.path] = FileSyncState.STOPPED
        self.unplaced.add(obj.path)
        self._reject(obj.path, exc.reason)

    def _record(self, obj: CloudObject, mtime_ns: int) -> None:
        self.synced[obj.path] = Synced(obj.version, obj.sha256, obj.size, mtime_ns)
        self.file_state[obj.path] = FileSyncState.COMPLETED
        self.unplaced.discard(obj.path)

    def _apply_cloud_delete(self, path: str) -> None:
        """The cloud deleted ``path``: delete the local file if it is what was synced;
        local content the cloud never had is kept (and uploads again)."""
        synced = self.synced.pop(path, None)
        evicted = path in self.evicted
        self.evicted.discard(path)
        self.file_state.pop(path, None)
        try:
            status = self.folder.lstat(path)
            if status is None or not stat.S_ISREG(status.st_mode):
                return  # nothing of the sync's there (a link is not deleted through)
            if not evicted and (synced is None or self._sha256(path) != synced.sha256):
                # never synced, or edited here since: local content the cloud never had
                self.file_state[path] = FileSyncState.TO_BE_UPLOADED
                return
            self.folder.unlink(path)
        except UnsafePath as exc:
            self._reject(path, exc.reason)
            return
        self._free(status.st_size)
        self.notify(NotifyType.NOTIFY_DELETED, [self.root / path])

    # -- push ----------------------------------------------------------------------------------

    def scan(self) -> dict[str, os.stat_result]:
        """Every regular file of the cloud folder (relative path → status): no link followed
        or listed, temporary files left out."""
        return dict(self.folder.walk())

    def changed_locally(self) -> list[str]:
        """Local files whose content the cloud does not have (new or modified). A file whose
        size and mtime match the last sync is not re-read."""
        out = []
        for rel, status in sorted(self.scan().items()):
            if rel in self.evicted:
                continue
            synced = self.synced.get(rel)
            if synced is None:
                out.append(rel)
                continue
            if status.st_size == synced.size and status.st_mtime_ns == synced.mtime_ns:
                continue
            try:
                changed = status.st_size != synced.size or self._sha256(rel) != synced.sha256
            except (OSError, UnsafePath):
                continue  # gone or swapped since the scan: the next scan decides
            if changed:
                out.append(rel)
            else:
                self.synced[rel] = replace(synced, mtime_ns=status.st_mtime_ns)
        return out

    def _uploads_allowed_here(self) -> bool:
        net = self.device.sensors.network().active
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
        if self._battery_below(K.STOP_CAPACITY_LIMIT):
            raise self._fault(ErrorType.BATTERY_LEVEL_LOW)
        if self._battery_below(K.PAUSE_CAPACITY_LIMIT):
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
            self._push_delete(rel)

    def _push_delete(self, rel: str) -> None:
        """Delete from the cloud a synced file gone from the folder — only the version last
        synced: a newer one another device uploaded meanwhile is pulled instead. A link at
        the name or on its way is not a deletion (the file is out of reach, not gone)."""
        if self._behind_link(rel):
            return
        try:
            self.container.delete(rel, base_version=self.synced[rel].version)
        except VersionConflict:
            self._pull_again()  # changed in the cloud since: it comes down, nothing is lost
            return
        except CloudUnavailable:
            raise self._fault(ErrorType.NETWORK_UNAVAILABLE) from None
        del self.synced[rel]
        self.file_state.pop(rel, None)

    def _behind_link(self, rel: str) -> bool:
        """Whether a symlink is at ``rel`` or on its way (a file or nothing there is not)."""
        names = rel.split("/")
        for i in range(1, len(names) + 1):
            try:
                status = self.folder.lstat("/".join(names[:i]))
            except UnsafePath:
                return True
            if status is None or stat.S_ISLNK(status.st_mode):
                return status is not None
            if not stat.S_ISDIR(status.st_mode):
                return False
        return False

    def _snapshot(self, rel: str) -> _Snapshot | None:
        """Take a file's bytes now from the file opened and held (no link followed), hashing
        them on the way: the app may go on editing, delete or swap the file while it
        uploads, and what uploads is what was held."""
        try:
            fd = self.folder.open(rel)
        except FileNotFoundError:
            self.file_state.pop(rel, None)  # deleted meanwhile: the push of deletions sees it
            return None
        except (OSError, UnsafePath) as exc:
            # swapped for a link (or a folder) since the scan: never read through it
            self.file_state.pop(rel, None)
            self._reject(rel, exc.reason if isinstance(exc, UnsafePath) else str(exc))
            return None
        try:
            status = os.fstat(fd)
            if status.st_size <= SMALL_FILE:
                with os.fdopen(fd, "rb", closefd=False) as f:
                    data = f.read()
                return _Snapshot(rel, None, data, hashlib.sha256(data).hexdigest(), len(data),
                                 status.st_mtime_ns)
            snapshots = self._snapshot_folder()
            name = f"{self.runs}-{secrets.token_hex(8)}"
            out = snapshots.create(name)
            try:
                # hash on a second thread while the kernel copies: both release the GIL, and
                # nothing else touches the file until this step of the simulation returns
                with ThreadPoolExecutor(max_workers=1) as pool:
                    digest = pool.submit(_digest, fd)
                    size = _copy(fd, out)
                    sha = digest.result()
            finally:
                os.close(out)
        finally:
            os.close(fd)
        return _Snapshot(rel, snapshots.path / name, None, sha, size, status.st_mtime_ns)

    def _snapshot_folder(self) -> Folder:
        if self._snapshots is None:
            self._snapshots = Folder.hold(self.sandbox.root / ".sync-snapshots", create=True)
        return self._snapshots

    def _upload_batch(self, rels: list[str]) -> Gen:
        """One create-records batch: snapshots, one link transfer, then each object stored."""
        snaps = [snap for rel in rels if (snap := self._snapshot(rel)) is not None]
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
        except (VersionConflict, PathClash):
            # the cloud changed since our last pull (or holds a folder or file of this name):
            # pull again before pushing this file
            self.file_state[snap.rel] = FileSyncState.TO_BE_UPLOADED
            self._pull_again()
            return
        except CloudFull:
            self.file_state[snap.rel] = FileSyncState.UPLOAD_FAILURE
            raise self._fault(ErrorType.CLOUD_STORAGE_FULL) from None
        except CloudUnavailable:
            self.file_state[snap.rel] = FileSyncState.UPLOAD_FAILURE
            raise self._fault(ErrorType.NETWORK_UNAVAILABLE) from None
        self.synced[snap.rel] = Synced(obj.version, obj.sha256, obj.size, snap.mtime_ns)
        try:
            now = self.folder.lstat(snap.rel)
        except UnsafePath:
            now = None
        unchanged = now is not None and stat.S_ISREG(now.st_mode) \
            and now.st_mtime_ns == snap.mtime_ns
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
        """Drop a file's local content, keeping an empty placeholder (cleanCache). The file is
        opened without following a link: a link there is refused (:class:`UnsafePath`)."""
        fd = self.folder.open(rel, os.O_WRONLY)
        try:
            size = os.fstat(fd).st_size
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)
        self._free(size)
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
            if not engine._online():
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
                placed = engine._place(self.rel, engine.container.blob(obj))
            except (OSError, UnsafePath) as exc:
                # a link swapped onto its way (or a folder at its name) since start(): nothing
                # is written through it; "any other error" (research §2.7)
                reservation.release()
                engine._reject(self.rel, exc.reason if isinstance(exc, UnsafePath)
                               else str(exc))
                self._report(State.FAILED, obj.size, obj.size, DownloadErrorType.UNKNOWN_ERROR)
                return
            reservation.commit(obj.size)
            engine.evicted.discard(self.rel)
            engine._record(obj, placed.st_mtime_ns)
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

    def call_app(self, listener: str, callback: Callable[[Any], None], value: Any) -> None:
        """Call an app's callback. One that raises is recorded in the trace and the service
        carries on: a JS callback that throws does not stop the platform's sync service,
        which runs in another process."""
        try:
            callback(value)
        except Exception as exc:
            self.device.trace.emit(EventKind.API, api=LISTENER_FAILED, listener=listener,
                                   error=f"{type(exc).__name__}: {exc}")

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
                self.call_app("change", callback,
                              ChangeData(kind, [directory] * len(uris), uris))
