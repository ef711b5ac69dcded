"""The NAS's sync engine: each task syncs a share's folder with a remote folder in rounds.

Each connection is an account on the simulated cloud; each task's round compares the folder
with the remote one and the baseline of its last sync, then moves files by the task's
direction, filters, schedule, speed caps and part size over the NAS's link. Every local file
is reached through the held folder of shares (:mod:`sim.fs`), so no path a client sets or a
cloud holds leads out of the share it names. A file in a share is the share's own only when it
is a regular file with one link: a symlink is never listed, and a file with other hard links
(which may lie outside the share) is neither uploaded nor written through — each round logs it
as an error and goes on; a download replaces it with a file of its own, as it does a symlink
(:meth:`sim.fs.Folder.write_atomic`). Kept apart from the NAS's state and its web API
so that a round reads only what it needs of the NAS (:class:`Nas`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Protocol

import simpy

from sim import fs
from sim.cloud import CloudFull, CloudService, CloudUnavailable, VersionConflict
from sim.device import Device
from sim.errors import TransferInterrupted, UnsafePath
from sim.synology.store import Store

log = logging.getLogger(__name__)

ACTION_DELETE_REMOTE, ACTION_DOWNLOAD, ACTION_UPLOAD, ACTION_DELETE_LOCAL = 0, 1, 2, 3
INFO, WARN, ERROR = 0, 1, 2
HARD_LINK = "a file with other hard links"
"""Why a regular file with more than one link is not uploaded: its other names may lie outside
the share (a link to ``/etc/shadow`` made inside it), so its bytes are not the share's own."""


def account(conn_id: int) -> str:
    """The simulated cloud's account of a connection."""
    return f"conn-{conn_id}"


class Nas(Protocol):
    """What the engine uses of the NAS."""

    @property
    def store(self) -> Store: ...
    @property
    def cloud(self) -> CloudService: ...
    @property
    def share_root(self) -> fs.Folder: ...
    @property
    def device(self) -> Device: ...

    def save_cloud(self) -> None: ...


class SyncEngine:
    """The tasks' sync rounds, on the NAS's simulated time."""

    def __init__(self, nas: Nas) -> None:
        self.nas = nas
        self.store = nas.store
        self.cloud = nas.cloud
        self.share_root = nas.share_root
        self.device = nas.device
        self.env = nas.device.env
        self.processing: dict[int, dict[str, Any]] = {}
        self.pending: dict[int, int] = {}
        self._wake = self.env.event()
        self.workers = simpy.Resource(self.env, capacity=self.store.config()["worker_count"])
        self.env.process(self._scheduler())

    def unfinished_files(self, conn_id: int, tasks: list[Any] | None = None) -> int:
        if tasks is None:
            tasks = self.store.tasks(conn_id)
        return sum(self.pending.get(t["id"], 0) for t in tasks)

    def processing_items(self) -> list[dict[str, Any]]:
        """What is moving now, with its live byte count and rate."""
        items = []
        for item in self.processing.values():
            entry = {k: v for k, v in item.items() if not k.startswith("_")}
            transfer, started, base = item.get("_transfer"), item.get("_started"), item.get(
                "_base", 0)
            if transfer is not None and started is not None:
                done = base + transfer.bytes_done
                elapsed = self.env.now - started
                entry.update(current_size=done, bit_rate=int(done / elapsed) if elapsed else 0)
            items.append(entry)
        return items

    def set_workers(self, count: int) -> None:
        """A new worker_count applies to the rounds that start from now on."""
        self.workers = simpy.Resource(self.env, capacity=count)

    def changed(self) -> None:
        """Something the engine depends on changed: run the next sync round now."""
        if not self._wake.triggered:
            self._wake.succeed()

    def _now_utc(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.device.utc_ms() / 1000, dt.UTC)

    # -- rounds --------------------------------------------------------------------------------

    def _scheduler(self) -> Any:
        """Run every task's round each pull period, or at once when something changed."""
        while True:
            for task in self.store.tasks():
                conn = self.store.connection(task["conn_id"])
                if conn is not None and task["id"] not in self.processing:
                    self.env.process(self._round(task["id"]))
            period = min([json.loads(c["settings"])["pull_event_period"]
                          for c in self.store.connections()] or [60])
            self._wake = self.env.event()
            yield self.env.any_of([self._wake, self.env.timeout(period)])

    def _allowed_now(self, conn: Any) -> bool:
        if conn["paused"] or self.store.config()["paused"]:
            return False
        settings = json.loads(conn["settings"])
        if not settings["is_enabled_schedule"]:
            return True
        now = self._now_utc()
        day = (now.weekday() + 1) % 7  # Sunday first, as the schedule bitmap is
        return bool(settings["schedule_info"][day * 24 + now.hour] == "1")

    def _round(self, sess_id: int) -> Any:
        with self.workers.request() as slot:
            yield slot
            task = self.store.task(sess_id)
            conn = self.store.connection(task["conn_id"]) if task is not None else None
            if task is None or conn is None or not self._allowed_now(conn):
                return
            try:
                yield from self._sync(task, conn)
            except (CloudFull, CloudUnavailable, TransferInterrupted, UnsafePath,
                    OSError) as exc:
                self.store.set_status("tasks", sess_id, "error")
                self.store.log(sess_id, self._stamp(), ACTION_UPLOAD, ERROR, str(exc),
                               error_code=1)
            except Exception:  # a fault of the engine: the task shows it, the clock runs on
                log.exception("sync round of task %s failed", sess_id)
                self.store.set_status("tasks", sess_id, "error")
            finally:
                self.processing.pop(sess_id, None)
                self.pending.pop(sess_id, None)
                self.nas.save_cloud()

    def _stamp(self) -> int:
        return self.device.utc_ms() // 1000

    def _sync(self, task: Any, conn: Any) -> Any:
        """One round of a task, every local file reached through the held share folder."""
        names = fs.parts(task["local_sync_path"].strip("/"))
        share = self.share_root.folder(names[0])  # a share is never created by a task
        try:
            local_root = share.folder("/".join(names[1:]), create=True) if names[1:] \
                else share
            try:
                yield from self._sync_in(task, conn, local_root)
            finally:
                if local_root is not share:
                    local_root.close()
        finally:
            share.close()

    def _sync_in(self, task: Any, conn: Any, root: fs.Folder) -> Any:
        settings = json.loads(task["settings"])
        filters = json.loads(task["filters"])
        conn_settings = json.loads(conn["settings"])
        direction = settings["sync_direction"]
        shown = task["local_sync_path"].rstrip("/")
        remote_root = task["remote_sync_path"].rstrip("/")
        box = self.cloud.drive(account(int(conn["id"]))).container("files")
        synced = {r["rel"]: r for r in self.store.query(
            "SELECT * FROM synced WHERE task_id = ?", (task["id"],))}
        local = dict(root.walk())
        # an object whose name would not be a plain path inside the folder never comes down
        remote = {rel: obj for path, obj in box.objects.items()
                  if path.startswith(remote_root + "/")
                  and _plain(rel := path[len(remote_root) + 1:])}
        downloads = [rel for rel, obj in remote.items() if direction != "ONLY_UPLOAD"
                     and not _excluded(rel, obj.size, filters, upload=False)
                     and (rel not in synced or synced[rel]["version"] != obj.version)]
        uploads = [rel for rel, status in local.items() if direction != "ONLY_DOWNLOAD"
                   and not _excluded(rel, status.st_size, filters, upload=True)
                   and (rel not in synced or synced[rel]["mtime_ns"] != status.st_mtime_ns)
                   and rel not in downloads]
        self.pending[task["id"]] = len(downloads) + len(uploads)
        if downloads or uploads:
            self.store.set_status("tasks", task["id"], "syncing")
        for rel in downloads:
            obj = remote[rel]
            yield from self._carry(task, conn_settings, rel, obj.size, "down")
            try:
                with box.blob(obj).open("rb") as src:
                    written = root.write_atomic(rel, src, create_parents=True)
            except (UnsafePath, OSError) as exc:
                self._refused(task, ACTION_DOWNLOAD, f"{shown}/{rel}", exc)
                continue
            self._remember(task["id"], rel, obj.version, written.st_mtime_ns)
            self.store.log(task["id"], self._stamp(), ACTION_DOWNLOAD, INFO, f"{shown}/{rel}")
            self.pending[task["id"]] -= 1
        for rel in uploads:
            if local[rel].st_nlink > 1:
                self._refused(task, ACTION_UPLOAD, f"{shown}/{rel}",
                              UnsafePath(rel, HARD_LINK))
                continue
            yield from self._carry(task, conn_settings, rel, local[rel].st_size, "up")
            base = synced[rel]["version"] if rel in synced else (
                remote[rel].version if rel in remote else 0)
            try:
                self.cloud.check_server()
                fd = root.open(rel)
                with os.fdopen(fd, "rb") as src:
                    opened = os.fstat(fd)
                    if opened.st_nlink > 1:  # linked since the folder was read
                        raise UnsafePath(rel, HARD_LINK)
                    mtime_ns = opened.st_mtime_ns
                    staged, digest, size = self._stage(src)
            except (UnsafePath, OSError) as exc:
                self._refused(task, ACTION_UPLOAD, f"{shown}/{rel}", exc)
                continue
            try:
                obj = box.put_staged(f"{remote_root}/{rel}", staged, digest, size,
                                     self.env.now, base_version=base)
            except VersionConflict:
                continue  # the cloud moved on: the next round downloads it first
            self._remember(task["id"], rel, obj.version, mtime_ns)
            self.store.log(task["id"], self._stamp(), ACTION_UPLOAD, INFO, f"{shown}/{rel}")
            self.pending[task["id"]] -= 1
        # a file deleted here: an upload-only task removes it from the cloud unless no_delete;
        # a two-way task does so only with the relink behaviour "locally deleted files will
        # also be removed from the cloud" (sync_mode, the connection owner's), else it fetches
        # the file again
        delete_from_cloud = direction == "ONLY_UPLOAD" or (
            direction == "BIDIRECTION" and self.store.sync_mode(conn["user_name"]))
        for rel in [r for r in synced if r not in local and r in remote]:
            if delete_from_cloud and not settings["no_delete"]:
                box.delete(f"{remote_root}/{rel}")
                self.store.log(task["id"], self._stamp(), ACTION_DELETE_REMOTE, INFO,
                               f"{remote_root}/{rel}")
            self._forget(task["id"], rel)  # forgotten: a remaining cloud copy comes back
        for rel in [r for r in synced if r not in remote and r in local]:
            if direction != "ONLY_UPLOAD":
                try:
                    root.unlink(rel)
                except (UnsafePath, OSError) as exc:
                    self._refused(task, ACTION_DELETE_LOCAL, f"{shown}/{rel}", exc)
                    continue
                self.store.log(task["id"], self._stamp(), ACTION_DELETE_LOCAL, INFO,
                               f"{shown}/{rel}")
            self._forget(task["id"], rel)
        self.store.set_status("tasks", task["id"], "uptodate")

    def _refused(self, task: Any, action: int, path: str, exc: Exception) -> None:
        """One file the round could not touch (a symlink on its way, a folder where a file
        should be): logged as an error, the rest of the round goes on."""
        self.store.log(task["id"], self._stamp(), action, ERROR, path, error_code=1)
        log.info("task %s: %s: %s", task["id"], path, exc)

    def _stage(self, src: IO[bytes]) -> tuple[Path, str, int]:
        """Copy an opened file into the cloud's staging area, hashing it."""
        handle, name = tempfile.mkstemp(dir=self.cloud.blobs, prefix=".upload-")
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(handle, "wb") as out:
            while chunk := src.read(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        return Path(name), digest.hexdigest(), size

    def _carry(self, task: Any, conn_settings: dict[str, Any], rel: str, size: int,
               direction: str) -> Any:
        """Move ``size`` bytes over the NAS's link — uploads in parts of ``part_size`` MB, as
        multipart uploads go — no faster than the connection's speed cap (bytes/s, 0 = none)."""
        cap = conn_settings["max_upload_speed" if direction == "up" else "max_download_speed"]
        part = conn_settings["part_size"] * 1024 * 1024 if direction == "up" else size
        conn = self.store.connection(task["conn_id"])
        item: dict[str, Any] = {
            "base_name": rel.rsplit("/", 1)[-1], "bit_rate": 0, "current_size": 0,
            "path": f"{task['local_sync_path'].rstrip('/')}/{rel}", "session_id": task["id"],
            "status": "uploading" if direction == "up" else "downloading",
            "total_size": size, "user_name": conn["user_name"] if conn is not None else "",
            "_started": self.env.now, "_base": 0}
        self.processing[task["id"]] = item
        started = self.env.now
        sent = 0
        while True:
            chunk = min(part, size - sent) if part else size - sent
            transfer = self.device.link.transfer(chunk, direction, label=f"nas:{rel}")
            item.update(_transfer=transfer, _base=sent)
            yield transfer
            sent += chunk
            if sent >= size:
                break
        if cap:
            floor = size / cap
            if self.env.now - started < floor:
                yield self.env.timeout(floor - (self.env.now - started))
        item.update(_transfer=None, current_size=size,
                    bit_rate=int(size / max(self.env.now - started, 1e-9)))

    def _remember(self, task_id: int, rel: str, version: int, mtime_ns: int) -> None:
        with self.store.tx() as db:
            db.execute("INSERT OR REPLACE INTO synced VALUES (?, ?, ?, ?)",
                       (task_id, rel, version, mtime_ns))

    def _forget(self, task_id: int, rel: str) -> None:
        with self.store.tx() as db:
            db.execute("DELETE FROM synced WHERE task_id = ? AND rel = ?", (task_id, rel))


def _plain(rel: str) -> bool:
    """Whether ``rel`` is a relative path :func:`sim.fs.parts` accepts as it is written."""
    try:
        return "/".join(fs.parts(rel)) == rel
    except UnsafePath:
        return False


def _excluded(rel: str, size: int, filters: dict[str, Any], upload: bool) -> bool:
    path = "/" + rel
    if any(path == p or path.startswith(p.rstrip("/") + "/") for p in filters["filtered_paths"]):
        return True
    name = rel.rsplit("/", 1)[-1]
    if name in filters["filtered_names"]:
        return True
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext and ext in filters["filtered_extensions"]:
        return True
    limit = filters["filtered_max_upload_size"]
    return upload and limit > 0 and size > limit
