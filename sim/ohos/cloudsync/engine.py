"""An app's sync run: pull the cloud's changes, then push the local ones.

One :class:`SyncEngine` per app (bundle). A run pulls the cloud's changes (applying deletions,
then downloading), then pushes the local ones (uploads of new and modified files, then
deletions), moving real bytes between the app's cloud folder (:mod:`.folder`) and the simulated
cloud's blobs through the device's link. Progress events follow the platform's order (research
§3.2–3.3); the device decides every failure (:mod:`.conditions`).

Integrity rules: a download is written under a random temporary name and renamed into place
only when complete, an upload becomes a cloud object only when all its bytes arrived and the
quota allows (:class:`~sim.cloud.CloudFull` leaves nothing), puts and deletes are conditional
on the version last synced (a conflict becomes a pull, never a loss), and whatever is changed on
both sides — two edits of a file, an edit and a delete, a file and a folder of one name — keeps
the cloud's version under the name and the local one under a conflict name, so no sequence of
faults loses a version or presents a partial file. A path the cloud lists that cannot be a file
of the folder is skipped and recorded in the device's trace.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

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
from sim.errors import StorageFull, TransferInterrupted, UnsafePath
from sim.ohos.cloudsync.conditions import (
    battery_fault,
    file_fault,
    uploads_allowed,
)
from sim.ohos.cloudsync.constants import (
    DownloadProgress,
    ErrorType,
    FileSyncState,
    NotifyType,
    SyncProgress,
    SyncState,
)
from sim.ohos.cloudsync.fetch import Fetch
from sim.ohos.cloudsync.fidelity import CloudSyncFidelity
from sim.ohos.cloudsync.folder import NO_CONFLICT_NAME, CloudFolder, Snapshot, cloud_path_problem
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
REJECTED = "cloudSync.rejected"
"""The trace event of a path the engine refused to act on (``path``, ``reason``)."""


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


class Service(Protocol):
    """What an app's engine uses of the device's sync service."""

    @property
    def device(self) -> Device: ...
    @property
    def cloud(self) -> CloudService: ...
    @property
    def drive(self) -> Drive: ...
    @property
    def fidelity(self) -> CloudSyncFidelity: ...
    @property
    def gallery_mobile_data(self) -> bool: ...

    def call_app(self, listener: str, callback: Callable[[Any], None], value: Any) -> None: ...
    def notify(self, sandbox: AppSandbox, kind: NotifyType, paths: list[Path],
               directory: bool = False) -> None: ...


class SyncEngine:
    """Sync for one app on one device."""

    def __init__(self, service: Service, sandbox: AppSandbox, gallery: bool) -> None:
        self.service = service
        self.device = service.device
        self.env = service.device.env
        self.sandbox = sandbox
        self.bundle = sandbox.bundle_name
        self.gallery = gallery
        self.container: Container = service.drive.container(self.bundle)
        self.folder = CloudFolder(sandbox)
        """The app's cloud folder: every file operation of the engine goes through it."""
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
        self.downloads: dict[str, Fetch] = {}

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

    def reject(self, path: str, reason: str) -> None:
        """Record a path the engine will not act on, with why."""
        self.device.trace.emit(EventKind.API, api=REJECTED, bundle=self.bundle, path=path,
                               reason=reason)

    # -- control -----------------------------------------------------------------------------

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
        fault = file_fault(self.device, self.service.fidelity)
        if fault is not None:
            raise self._fault(fault)

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

    # -- local files -------------------------------------------------------------------------

    def _keep_conflict(self, rel: str) -> str:
        """Move the local file or folder ``rel`` aside to a free conflict name (free here and
        in the cloud) so the cloud's version can take the name; its content uploads under
        the new one. The new path."""
        target = self.folder.free_conflict_name(
            rel, lambda name: self.container.get(name) is not None
            or self.container.clash(name) is not None)
        moved, directory = self.folder.move_aside(rel, target)
        for path in moved:
            self.file_state[path] = FileSyncState.TO_BE_UPLOADED
        root = self.folder.root
        self.notify(NotifyType.NOTIFY_RENAMED, [root / rel, root / target], directory)
        return target

    def _make_way(self, rel: str) -> None:
        """The folders on ``rel``'s way, before placing a cloud file there: a local file
        where the cloud has a folder moves aside to a conflict name (the cloud's version keeps
        the name, as for two edits of a file); a link there refuses the placement
        (:class:`UnsafePath`)."""
        names = rel.split("/")
        for i in range(1, len(names)):
            prefix = "/".join(names[:i])
            status = self.folder.held.lstat(prefix)
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
            self.reject(path, problem)
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
        current = self.container.get(rel)
        if current is None or current.version != obj.version:
            # deleted or replaced in the cloud while its bytes were on the way: nothing of
            # this version is recorded (the next pull applies what the cloud did to what is
            # here, a local write since included)
            if self.file_state.get(rel) is FileSyncState.DOWNLOADING:
                del self.file_state[rel]
            return 0
        try:
            self._make_way(rel)
            status = self.folder.held.lstat(rel)
            existed = status is not None and stat.S_ISREG(status.st_mode)
            old_size = status.st_size if status is not None and existed else 0
            if status is not None and stat.S_ISDIR(status.st_mode):
                if not self.folder.remove_empty(rel):
                    self._keep_conflict(rel)  # a folder where the cloud has a file
            elif status is not None and existed and rel not in self.evicted:
                local_sha = self.folder.sha256(rel)
                if local_sha == obj.sha256:
                    self.record(obj, status.st_mtime_ns)
                    return 0
                synced = self.synced.get(rel)
                if synced is None or local_sha != synced.sha256:
                    self._keep_conflict(rel)  # changed on both sides: keep the local copy too
                    existed, old_size = False, 0
            placed = self.folder.place(rel, self.container.blob(obj))
        except UnsafePath as exc:
            self._unplaced(obj, exc)
            return 0
        if old_size:
            self._free(old_size)
        self.record(obj, placed.st_mtime_ns)
        self.notify(NotifyType.NOTIFY_MODIFIED if existed else NotifyType.NOTIFY_ADDED,
                    [self.folder.root / rel])
        return obj.size

    def _unplaced(self, obj: CloudObject, exc: UnsafePath) -> None:
        """A link (or a non-folder) on a cloud file's way, or a local file in its way with no
        conflict name to move to: nothing is written through or lost; the file is tried again
        at the next pull. Names were checked before: any other refusal is the engine's own
        error."""
        if exc.reason not in (UnsafePath.LINK, UnsafePath.NOT_FILE, NO_CONFLICT_NAME):
            raise exc
        self.file_state[obj.path] = FileSyncState.STOPPED
        self.unplaced.add(obj.path)
        self.reject(obj.path, exc.reason)

    def record(self, obj: CloudObject, mtime_ns: int) -> None:
        """``obj`` is in place with its content: synced at its version."""
        self.evicted.discard(obj.path)
        self.synced[obj.path] = Synced(obj.version, obj.sha256, obj.size, mtime_ns)
        self.file_state[obj.path] = FileSyncState.COMPLETED
        self.unplaced.discard(obj.path)

    def _apply_cloud_delete(self, path: str) -> None:
        """The cloud deleted ``path``: delete the local file if it is what was synced;
        local content the cloud never had is kept (and uploads again)."""
        synced = self.synced.pop(path, None)
        evicted = path in self.evicted
        self.evicted.discard(path)
        # the app wrote it since it was synced (even the same bytes: the last write is the
        # app's, and it outlives a delete made elsewhere before it)
        written = self.file_state.pop(path, None) is FileSyncState.TO_BE_UPLOADED
        try:
            status = self.folder.held.lstat(path)
            if status is None or not stat.S_ISREG(status.st_mode):
                return  # nothing of the sync's there (a link is not deleted through)
            if not evicted and (written or synced is None
                                or self.folder.sha256(path) != synced.sha256):
                # never synced, or written here since: local content the cloud never had
                self.file_state[path] = FileSyncState.TO_BE_UPLOADED
                return
            self.folder.held.unlink(path)
        except UnsafePath as exc:
            self.reject(path, exc.reason)
            return
        self._free(status.st_size)
        self.notify(NotifyType.NOTIFY_DELETED, [self.folder.root / path])

    # -- push ----------------------------------------------------------------------------------

    def changed_locally(self) -> list[str]:
        """Local files whose content the cloud does not have (new or modified). A file whose
        size and mtime match the last sync is not re-read."""
        out = []
        for rel, status in sorted(self.folder.scan().items()):
            if rel in self.evicted:
                continue
            synced = self.synced.get(rel)
            if synced is None:
                out.append(rel)
                continue
            if status.st_size == synced.size and status.st_mtime_ns == synced.mtime_ns:
                continue
            try:
                changed = status.st_size != synced.size \
                    or self.folder.sha256(rel) != synced.sha256
            except (OSError, UnsafePath):
                continue  # gone or swapped since the scan: the next scan decides
            if changed:
                out.append(rel)
            else:
                self.synced[rel] = replace(synced, mtime_ns=status.st_mtime_ns)
        return out

    def _check_battery(self) -> None:
        fault = battery_fault(self.device, self.service.fidelity)
        if fault is not None:
            raise self._fault(fault)

    def _push(self) -> Gen:
        uploads = self.changed_locally()
        for rel in uploads:
            self.file_state[rel] = FileSyncState.TO_BE_UPLOADED
        for batch in self._batches(uploads):
            self._check_conditions()
            self._check_battery()  # before each batch of new records (research §2.4)
            if not uploads_allowed(self.device, self.service.fidelity, self.bundle,
                                   self.service.gallery_mobile_data):
                raise self._fault(ErrorType.WIFI_UNAVAILABLE)
            yield from self._upload_batch(batch)
            yield self.env.timeout(BATCH_PAUSE_S)
            self._emit(SyncState.UPLOADING)
        local = self.folder.scan()
        for rel in [r for r in self.synced if r not in local and r not in self.evicted]:
            self._check_conditions()
            self._push_delete(rel)

    def _push_delete(self, rel: str) -> None:
        """Delete from the cloud a synced file gone from the folder — only the version last
        synced: a newer one another device uploaded meanwhile is pulled instead. A link at
        the name or on its way is not a deletion (the file is out of reach, not gone)."""
        if self.folder.behind_link(rel):
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

    def _unreadable(self, rel: str, exc: OSError | UnsafePath) -> None:
        """A file to upload that could not be opened: deleted meanwhile (the push of deletions
        sees it), or swapped for a link or a folder since the scan (never read through, and
        recorded). It is not uploaded."""
        self.file_state.pop(rel, None)
        if not isinstance(exc, FileNotFoundError):
            self.reject(rel, exc.reason if isinstance(exc, UnsafePath) else str(exc))

    def _upload_batch(self, rels: list[str]) -> Gen:
        """One create-records batch: snapshots, one link transfer, then each object stored."""
        snaps = [snap for rel in rels
                 if (snap := self.folder.snapshot(rel, str(self.runs), self._unreadable))
                 is not None]
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
                if snap.fd is not None:
                    os.close(snap.fd)
        if halt is not None:
            raise halt

    def _store(self, snap: Snapshot) -> None:
        synced = self.synced.get(snap.rel)
        base = synced.version if synced else 0
        try:
            if snap.data is not None:
                obj = self.container.put_bytes(snap.rel, snap.data, snap.sha256, self.env.now,
                                               base_version=base)
            else:
                assert snap.fd is not None
                obj = self.container.put_file(snap.rel, snap.fd, snap.sha256, snap.size,
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
            now = self.folder.held.lstat(snap.rel)
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
        fetch = Fetch(self, rel, uri, on_progress)
        self.downloads[rel] = fetch
        fetch.process = self.env.process(fetch.run())

    def stop_fetch(self, rel: str) -> bool:
        fetch = self.downloads.get(rel)
        if fetch is None:
            return False
        fetch.stop()
        return True

    def evict(self, rel: str) -> None:
        """Drop a file's local content, keeping an empty placeholder (cleanCache); a link
        there is refused (:class:`UnsafePath`)."""
        self._free(self.folder.evict(rel))
        self.evicted.add(rel)

