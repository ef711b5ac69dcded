"""The emulated Synology NAS: DSM's web API on 127.0.0.1, state in SQLite, a sync engine.

``Nas`` holds the state (:class:`~sim.synology.store.Store`), the remote clouds (one
:class:`~sim.cloud.Drive` per connection), the shares (real folders under the data directory)
and the NAS as a simulated device whose link carries every transfer. ``NasServer`` serves
``/webapi/*.cgi``: dispatch on ``api``/``method``/``version``, the DSM 7 login handshake, sessions
by ``_sid`` (or the ``id`` cookie) with the synotoken checked, ``SYNO.Entry.Request`` compounds,
and — only with ``test_control`` — an endpoint that advances simulated time and changes the
device's conditions.

Every input is treated as hostile: whatever arrives, the reply is a documented DSM code with
HTTP 200 (100 only for a fault of the emulator itself, logged with its traceback), and the
engine touches the shares only through held folder descriptors (:mod:`sim.fs`), so no path a
client sets or a cloud holds leads out of the share it names.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
import sqlite3
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyotp
import simpy
from aiohttp import BodyPartReader, MultipartReader, StreamReader, web
from aiohttp.base_protocol import BaseProtocol

from sim import fs
from sim.cloud import CloudFull, CloudService, CloudUnavailable, Drive, VersionConflict
from sim.device import Device, load_profile
from sim.errors import TransferInterrupted, UnsafePath
from sim.servers import coding
from sim.servers.threaded import ThreadedServer
from sim.synology import crypto, methods
from sim.synology.errors import (
    INVALID_PARAMETER,
    INVALID_SESSION,
    LOST_PARAMETER,
    NO_PARAMETER,
    NO_SUCH_API,
    NO_SUCH_METHOD,
    OTP_FAILED,
    OTP_REQUIRED,
    SESSION_TIMEOUT,
    UNKNOWN,
    VERSION_UNSUPPORTED,
    WRONG_PASSWORD,
    SynoError,
)
from sim.synology.seed import CLOUD_TYPES, NasSeed
from sim.synology.store import Store

APIS: dict[str, dict[str, Any]] = {
    "SYNO.API.Info": {"path": "query.cgi", "minVersion": 1, "maxVersion": 1},
    "SYNO.API.Auth": {"path": "entry.cgi", "minVersion": 1, "maxVersion": 7},
    "SYNO.API.Auth.UIConfig": {"path": "entry.cgi", "minVersion": 1, "maxVersion": 1},
    "SYNO.API.Encryption": {"path": "entry.cgi", "minVersion": 1, "maxVersion": 1},
    "SYNO.Entry.Request": {"path": "entry.cgi", "minVersion": 1, "maxVersion": 2},
    "SYNO.CloudSync": {"path": "entry.cgi", "minVersion": 1, "maxVersion": 1},
}
log = logging.getLogger(__name__)

ACTION_DELETE_REMOTE, ACTION_DOWNLOAD, ACTION_UPLOAD, ACTION_DELETE_LOCAL = 0, 1, 2, 3
INFO, WARN, ERROR = 0, 1, 2


class Nas:
    """One emulated NAS and everything it knows."""

    def __init__(self, data_dir: Path, seed: NasSeed | None = None, *,
                 session_ttl_s: float = 86400.0, device: Device | None = None) -> None:
        """``device``: the simulated device the NAS runs on — by default its own (the ``nas``
        profile); given one, its link, clock and conditions are shared with whatever else
        runs there."""
        self.data_dir = Path(data_dir)
        fresh = not (self.data_dir / "nas.sqlite3").exists()
        self.store = Store(self.data_dir)
        self.shares = self.data_dir / "shares"
        self.share_root = fs.Folder.hold(self.shares, create=True)
        """The folder of shares, held: every file the engine touches is reached from it."""
        self.cloud = CloudService(self.data_dir / "cloud")
        self.session_ttl_s = session_ttl_s
        self.device = device if device is not None else Device(load_profile("nas"))
        self.env = self.device.env
        self.lock = threading.RLock()
        self.processing: dict[int, dict[str, Any]] = {}
        self.pending: dict[int, int] = {}
        self._wake = self.env.event()
        if fresh and seed is not None:
            self._apply_seed(seed)
        self._load_drives()
        self.workers = simpy.Resource(self.env, capacity=self.store.config()["worker_count"])
        self.env.process(self._scheduler())

    # -- seed and clouds -----------------------------------------------------------------------

    def _apply_seed(self, seed: NasSeed) -> None:
        for user in seed.users:
            self.store.add_user(user.name, user.password, totp_secret=user.totp_secret,
                                is_admin=user.admin)
        with self.store.tx() as db:
            for v in seed.volumes:
                db.execute("INSERT OR REPLACE INTO volumes VALUES (?, ?, ?, ?)",
                           (v.value, v.mount_point, v.description, v.size))
            for c in seed.connections:
                settings = {"task_name": c.task_name, "isSSE": False, "is_enabled_schedule": False,
                            "max_download_speed": 0, "max_upload_speed": 0, "part_size": 128,
                            "pull_event_period": 60, "schedule_info": "1" * 168,
                            "storage_class": ""}
                auth = {"access_token": f"token-{c.id}", "refresh_token": f"refresh-{c.id}",
                        "client_id": "syncrig", "secret_key": f"secret-{c.id}",
                        "access_key": c.account, "bucket_name": c.bucket_name,
                        "root_folder_id": "id:root", "unique_id": f"uid-{c.id}"}
                props = {"region": c.region, "bucket_name": c.bucket_name, "quota": c.quota}
                db.execute("INSERT INTO connections (id, user_name, type, type_id, account, "
                           "task_name, settings, auth, properties) VALUES (?,?,?,?,?,?,?,?,?)",
                           (c.id, c.user, c.type, CLOUD_TYPES[c.type], c.account, c.task_name,
                            json.dumps(settings), json.dumps(auth), json.dumps(props)))
                for t in c.tasks:
                    db.execute("INSERT INTO tasks (id, conn_id, local_sync_path, "
                               "remote_sync_path, remote_folder_id, settings, filters) "
                               "VALUES (?,?,?,?,?,?,?)",
                               (t.id, c.id, t.local, t.remote, f"id:{t.remote}",
                                json.dumps({"sync_direction": t.direction,
                                            "sync_attr_check_option": True,
                                            "no_delete": t.no_delete,
                                            "google_drive_convert_online_doc": False}),
                                json.dumps(_no_filters())))
        for share in seed.shares:
            (self.shares / share).mkdir(exist_ok=True)
        self._load_drives()
        for c in seed.connections:
            drive = self.drive_by_id(c.id)
            for path, text in c.remote_files.items():
                self.cloud.seed(drive, "files", path, text.encode())

    def _load_drives(self) -> None:
        for row in self.store.connections():
            quota = json.loads(row["properties"]).get("quota", 2 * 10**9)
            self.cloud.drive(f"conn-{row['id']}", quota=quota)
        state = self.data_dir / "cloud-state.json"
        if state.exists():
            self._restore_cloud(json.loads(state.read_text()))

    def drive_by_id(self, conn_id: int) -> Drive:
        return self.cloud.drive(f"conn-{conn_id}")

    def drive(self, row: Any) -> Drive:
        return self.drive_by_id(int(row["id"]))

    def _restore_cloud(self, state: dict[str, Any]) -> None:
        from sim.cloud.drive import CloudObject

        for account, objects in state.items():
            drive = self.cloud.drive(account)
            box = drive.container("files")
            for path, o in objects.items():
                box.objects[path] = CloudObject(path, o["size"], o["sha256"], o["version"],
                                                o["mtime"])
                box.generations[path] = o["version"]
            drive.used = sum(o.size for o in box.objects.values())

    def save_cloud(self) -> None:
        """The remote clouds' object tables (their blobs are files already)."""
        state = {name: {p: o.__dict__ for p, o in drive.container("files").objects.items()}
                 for name, drive in self.cloud.drives.items()}
        temp = self.data_dir / "cloud-state.json.part"
        temp.write_text(json.dumps(state))
        os.replace(temp, self.data_dir / "cloud-state.json")

    # -- views used by the methods -----------------------------------------------------------

    def volume_free(self, row: Any) -> int:
        used = sum(status.st_size for _, status in self.share_root.walk())
        return max(0, int(row["size_total"]) - used)

    def share_exists(self, path: str) -> bool:
        """Whether ``path`` (``/share/sub…``) lies inside an existing share: no ``..``, no NUL,
        names of at most 255 bytes, the share a real folder and every folder of the path that
        exists a real folder too (a symlink on the way would lead out of the share)."""
        if not isinstance(path, str) or not path.startswith("/"):
            return False
        try:
            names = fs.parts(path[1:])
        except UnsafePath:
            return False
        for depth in range(1, len(names) + 1):
            try:
                self.share_root.folder("/".join(names[:depth])).close()
            except FileNotFoundError:
                return depth > 1  # the rest is made when the task first syncs
            except (UnsafePath, OSError):
                return False
        return True

    def connection_status(self, row: Any, tasks: list[Any] | None = None,
                          paused_all: bool | None = None) -> str:
        if paused_all is None:
            paused_all = bool(self.store.config()["paused"])
        if row["paused"] or paused_all:
            return "pause"
        if tasks is None:
            tasks = self.store.tasks(row["id"])
        statuses = {str(t["status"]) for t in tasks}
        for status in ("error", "syncing"):
            if status in statuses:
                return status
        return "uptodate"

    def task_status(self, task: Any, conn: Any) -> str:
        if conn["paused"] or self.store.config()["paused"]:
            return "pause"
        return str(task["status"])

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

    def sync_folder_name(self, sess_id: int) -> str:
        row = self.store.task(sess_id)
        return row["local_sync_path"].rstrip("/").rsplit("/", 1)[-1] if row else ""

    def remote_folders(self, task: Any, path: str) -> list[str]:
        prefix = task["remote_sync_path"].rstrip("/") + "/" + path.strip("/")
        prefix = prefix.rstrip("/") + "/"
        box = self.drive_by_id(task["conn_id"]).container("files")
        base = task["remote_sync_path"].rstrip("/")
        found = set()
        for obj_path in box.objects:
            if obj_path.startswith(prefix):
                rest = obj_path[len(prefix):]
                if "/" in rest:
                    found.add(prefix[len(base):] + rest.split("/", 1)[0])
        return sorted(found)

    def create_task(self, info: dict[str, Any]) -> int:
        with self.store.tx() as db:
            (next_id,) = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM tasks").fetchone()
            filters = _no_filters()
            filters.update({k: v for k, v in dict(info.get("filter_file") or {}).items()
                            if k in filters})
            db.execute("INSERT INTO tasks (id, conn_id, local_sync_path, remote_sync_path, "
                       "remote_folder_id, settings, filters) VALUES (?,?,?,?,?,?,?)",
                       (next_id, int(info["conn_id"]), info["path"],
                        info["server_folder_path"], f"id:{info['server_folder_path']}",
                        json.dumps({"sync_direction": info["sync_direction"],
                                    "sync_attr_check_option": bool(
                                        info.get("sync_attr_check_option", True)),
                                    "no_delete": bool(info.get("no_delete", False)),
                                    "google_drive_convert_online_doc": False}),
                        json.dumps(filters)))
        self.changed()
        return int(next_id)

    # -- time ------------------------------------------------------------------------------------

    def changed(self) -> None:
        """Something the engine depends on changed: run the next sync round now."""
        if not self._wake.triggered:
            self._wake.succeed()

    def advance(self, seconds: float) -> None:
        """Run the simulation ``seconds`` on; no time at all (0, or too little to change a
        clock this far on) is nothing to run, where SimPy would refuse it."""
        with self.lock:
            until = self.env.now + seconds
            if until > self.env.now:
                self.env.run(until=until)

    def now_utc(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.device.utc_ms() / 1000, dt.UTC)

    # -- the sync engine ---------------------------------------------------------------------------

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
        now = self.now_utc()
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
                self.save_cloud()

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
        box = self.drive(conn).container("files")
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
            yield from self._carry(task, conn_settings, rel, local[rel].st_size, "up")
            base = synced[rel]["version"] if rel in synced else (
                remote[rel].version if rel in remote else 0)
            try:
                self.cloud.check_server()
                fd = root.open(rel)
                with os.fdopen(fd, "rb") as src:
                    mtime_ns = os.fstat(fd).st_mtime_ns
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


def _no_filters() -> dict[str, Any]:
    return {"filtered_paths": [], "filtered_names": [], "filtered_extensions": [],
            "user_defined_names": [], "user_defined_extensions": [],
            "filtered_max_upload_size": 0}


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


_SECONDS = re.compile(r"[0-9]{1,8}(\.[0-9]{1,9})?")
MAX_BODY = 1024**2
"""The largest POST body read, as sent and once its Content-Encoding is undone."""
MAX_FIELDS = 1000
"""The most form fields a body may carry."""
MAX_ADVANCE_S = 10**7
RADIO_CONTROLS = ("ethernet", "wifi")


@dataclass(frozen=True)
class Credentials:
    """What a request presents to be a session: its sid (from ``_sid``, else the ``id``
    cookie DSM's web UI sends) and its synotoken (the ``X-SYNO-TOKEN`` header, else the
    ``SynoToken`` parameter)."""

    sid: str | None
    by_cookie: bool
    token: str | None


def _credentials(request: web.Request, params: dict[str, str]) -> Credentials:
    sid = params.get("_sid") or None
    by_cookie = False
    if sid is None and request.cookies.get("id"):
        sid, by_cookie = request.cookies["id"], True
    token = request.headers.get("X-SYNO-TOKEN") or params.get("SynoToken") or None
    return Credentials(sid, by_cookie, token)


def _api_from_path(path: str) -> str:
    """The API named by a path-style URL (``entry.cgi/SYNO.API.Auth.UIConfig``); none for a
    plain CGI path, so a request without ``api`` is 101 rather than a made-up API name."""
    last = path.rsplit("/", 1)[-1]
    return last if last.startswith("SYNO.") else ""


async def _form(request: web.Request, body: bytes) -> dict[str, str]:
    """A decoded POST body's text fields, as DSM reads a form: URL-encoded (or untyped) or
    ``multipart/form-data``; a body of any other type carries no parameters. A later field of
    the same name wins."""
    charset = request.charset or "utf-8"
    if request.content_type in ("", "application/x-www-form-urlencoded"):
        text = body.rstrip().decode(charset)
        return dict(urllib.parse.parse_qsl(text, keep_blank_values=True, encoding=charset,
                                           max_num_fields=MAX_FIELDS)) if text else {}
    if request.content_type != "multipart/form-data":
        return {}
    stream = StreamReader(BaseProtocol(asyncio.get_running_loop()), 2**16)
    stream.feed_data(body)
    stream.feed_eof()
    reader = MultipartReader(request.headers, stream, client_max_size=MAX_BODY)
    fields: dict[str, str] = {}
    count = 0
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise ValueError("a multipart inside a form")
        if part.name is None:
            raise ValueError("a form field without a name")
        count += 1
        if count > MAX_FIELDS:
            raise ValueError(f"more than {MAX_FIELDS} form fields")
        value = await part.read(decode=True)
        field_type = part.headers.get("Content-Type")
        if not part.filename and (field_type is None or field_type.startswith("text/")):
            fields[part.name] = bytes(value).decode(part.get_charset(default="utf-8"))
    return fields


def _is_text(value: str) -> bool:
    """Whether ``value`` can be stored: JSON may carry lone surrogates that UTF-8 cannot."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _error(code: int) -> web.Response:
    return web.json_response({"success": False, "error": {"code": code}})


def _bad_request(reason: str) -> web.Response:
    return web.Response(status=400, text=reason + "\n")


class NasServer(ThreadedServer):
    """The NAS's web server (on 127.0.0.1 unless told otherwise), in its own thread."""

    thread_name = "nas-http"

    def __init__(self, nas: Nas, port: int = 0, *, test_control: bool = False,
                 realtime: bool = True, host: str = "127.0.0.1") -> None:
        super().__init__(port, host=host)
        self.nas = nas
        self.test_control = test_control
        self.realtime = realtime and not test_control
        self.ssid = crypto.new_ssid()
        crypto.rsa_key()

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/webapi/{path:.*}", self._handle)
        if self.test_control:
            app.router.add_post("/_test/advance", self._advance)
            app.router.add_post("/_test/device", self._device)
        return app

    async def started(self) -> None:
        if self.realtime:
            asyncio.get_running_loop().create_task(self._clock())

    async def _clock(self) -> None:
        """Simulated time follows the wall clock."""
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.2)
            now = time.monotonic()
            try:
                self.nas.advance(now - last)
            except Exception:  # the clock must not stop: the fault is logged, time goes on
                log.exception("advancing the NAS's clock failed")
            last = now

    # -- test control --------------------------------------------------------------------------

    async def _advance(self, request: web.Request) -> web.Response:
        text = request.query.get("seconds", "0")
        if not _SECONDS.fullmatch(text) or float(text) > MAX_ADVANCE_S:
            return _bad_request(f"seconds must be a number within 0..{MAX_ADVANCE_S}, "
                                f"got {text!r}")
        try:
            self.nas.advance(float(text))
        except Exception:
            log.exception("advancing the NAS's clock by %s s failed", text)
            return _error(UNKNOWN)
        return web.json_response({"success": True, "now": self.nas.env.now})

    async def _device(self, request: web.Request) -> web.Response:
        for name, value in request.query.items():
            if name not in RADIO_CONTROLS:
                return _bad_request(f"unknown control {name!r}: "
                                    f"{' and '.join(RADIO_CONTROLS)} only")
            if value not in ("up", "down"):
                return _bad_request(f"{name} must be up or down, got {value!r}")
        controls = self.nas.device.controls
        with self.nas.lock:
            for name, value in request.query.items():
                controls.set_radio(name, value == "up")
        return web.json_response({"success": True})

    # -- the web API ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            params = await self._params(request)
        except SynoError as exc:
            return await self._refuse_body(request, exc.code)
        try:
            credentials = _credentials(request, params)
            api = params.get("api") or _api_from_path(request.match_info["path"])
            with self.nas.lock:
                data, cookies = self._dispatch(api, params, credentials)
        except SynoError as exc:
            return _error(exc.code)
        except Exception:  # never a 500: a fault of the emulator is DSM's "unknown error"
            log.exception("internal fault answering %s %s", request.method, request.path)
            return _error(UNKNOWN)
        response = web.json_response({"success": True, "data": data} if data is not None
                                     else {"success": True})
        for name, value in (cookies or {}).items():
            if value is None:
                response.del_cookie(name, path="/")
            else:
                response.set_cookie(name, value, path="/", httponly=name == "id",
                                    samesite="Strict" if name == "id" else None)
        return response

    async def _refuse_body(self, request: web.Request, code: int) -> web.Response:
        """The reply to a body that could not be read. When the body's stream itself broke (a
        malformed chunked encoding), what is left of it cannot be drained for the next request
        on the connection: the reply is sent and the connection closed."""
        response = _error(code)
        if request.content.exception() is not None and not isinstance(
                request.content.exception(), ConnectionError):
            response.force_close()
            # when the stream broke mid-body the HTTP layer has already given up the
            # connection: nothing can be sent, it is closed at once rather than left hanging
            with contextlib.suppress(ConnectionError):
                await response.prepare(request)
                await response.write_eof()
            request.protocol.force_close()
        return response

    async def _params(self, request: web.Request) -> dict[str, str]:
        """The query's parameters, and a POST body's form fields over them."""
        params: dict[str, str] = dict(request.query)
        if request.method == "POST" and request.body_exists:
            try:
                raw = await request.read()  # all of it, at most MAX_BODY as sent
                body = coding.decode(raw, coding.codings(request.headers), MAX_BODY)
                params.update(await _form(request, body))
            # whatever stops the body being read — an unknown or false Content-Encoding, one
            # that inflates past MAX_BODY, a multipart type over a plain body, an unknown
            # charset, bytes that are not the charset, a body cut short or too large — is the
            # request's fault: its parameters are bad
            except Exception as exc:
                raise SynoError(INVALID_PARAMETER, f"unreadable body: {exc!r}") from None
        return params

    def _dispatch(self, api: str, params: dict[str, str], credentials: Credentials,
                  session: sqlite3.Row | None = None,
                  ) -> tuple[Any, dict[str, str | None] | None]:
        """The reply's data and the cookies to set (None: delete). ``session`` is given for
        the calls of a compound, whose request was authenticated once."""
        if not all(_is_text(k) and _is_text(v) for k, v in params.items()):
            raise SynoError(INVALID_PARAMETER, "a parameter is not text")
        if api not in APIS:
            raise SynoError(NO_SUCH_API if api else NO_PARAMETER, api)
        if "method" not in params or "version" not in params:
            raise SynoError(NO_PARAMETER, "api, method and version are required")
        method = params["method"]
        version = methods.parse_int(params["version"])
        if version is None:
            raise SynoError(NO_PARAMETER, "version must be a number")
        spec = APIS[api]
        if not spec["minVersion"] <= version <= spec["maxVersion"]:
            raise SynoError(VERSION_UNSUPPORTED, f"{api} v{version}")
        if api == "SYNO.API.Info":
            if method != "query":
                raise SynoError(NO_SUCH_METHOD, method)
            return APIS, None
        if api == "SYNO.API.Auth.UIConfig":
            if method != "get":
                raise SynoError(NO_SUCH_METHOD, method)
            return {}, {"_SSID": self.ssid}
        if api == "SYNO.API.Encryption":
            if method != "getinfo":
                raise SynoError(NO_SUCH_METHOD, method)
            return {"cipherkey": crypto.CIPHER_KEY, "ciphertoken": crypto.CIPHER_TOKEN,
                    "public_key": crypto.public_key_hex(), "server_time": int(time.time())}, None
        if api == "SYNO.API.Auth":
            return self._auth(method, params, credentials)
        if session is None:
            session = self._session(credentials)
        if api == "SYNO.Entry.Request":
            if method != "request":
                raise SynoError(NO_SUCH_METHOD, method)
            return self._compound(params, credentials, session), None
        handler = methods.METHODS.get(method)
        if handler is None:
            raise SynoError(NO_SUCH_METHOD, method)
        return handler(self.nas, params, session), None

    def _auth(self, method: str, params: dict[str, str], credentials: Credentials,
              ) -> tuple[Any, dict[str, str | None] | None]:
        if method == "logout":
            if credentials.sid:
                with self.nas.store.tx() as db:
                    db.execute("DELETE FROM sessions WHERE sid = ?", (credentials.sid,))
            return None, {"id": None} if credentials.by_cookie else None
        if method != "login":
            raise SynoError(NO_SUCH_METHOD, method)
        fields = dict(params)
        if crypto.CIPHER_KEY in params:
            try:
                fields.update(crypto.decrypt_login(params[crypto.CIPHER_KEY]))
            except ValueError:
                raise SynoError(WRONG_PASSWORD, "unreadable credentials") from None
        if "account" not in fields or "passwd" not in fields:
            raise SynoError(LOST_PARAMETER, "account and passwd are required")
        user = self.nas.store.check_password(fields["account"], fields["passwd"])
        if user is None:
            raise SynoError(WRONG_PASSWORD)
        if user["totp_secret"]:
            code = params.get("otp_code", "")
            if not code:
                raise SynoError(OTP_REQUIRED)
            if not pyotp.TOTP(user["totp_secret"]).verify(code, valid_window=1):
                raise SynoError(OTP_FAILED)
        sid, token = self.nas.store.new_session(
            user["name"], self.nas.session_ttl_s,
            token_required=fields.get("enable_syno_token") == "yes")
        cookies: dict[str, str | None] | None = {"id": sid} \
            if fields.get("format") == "cookie" else None
        return {"sid": sid, "synotoken": token, "account": user["name"]}, cookies

    def _session(self, credentials: Credentials) -> sqlite3.Row:
        """The caller's session. One that logged in with ``enable_syno_token=yes`` — and any
        presented by cookie, which a browser sends on its own — must come with its own
        synotoken (DSM's protection against cross-site requests), else 119."""
        if not credentials.sid:
            raise SynoError(INVALID_SESSION, "no _sid")
        session = self.nas.store.session(credentials.sid)
        if session is None:
            raise SynoError(INVALID_SESSION, "unknown _sid")
        if session["expires"] < time.time():
            raise SynoError(SESSION_TIMEOUT)
        if session["token_required"] or credentials.by_cookie:
            given = (credentials.token or "").encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(given, session["synotoken"].encode()):
                raise SynoError(INVALID_SESSION, "synotoken missing or not the session's")
        return session

    def _compound(self, params: dict[str, str], credentials: Credentials,
                  session: sqlite3.Row) -> dict[str, Any]:
        """``SYNO.Entry.Request``: the calls of ``compound`` in order, as the session that
        sent them; a compound inside a compound is refused (120)."""
        if "compound" not in params:
            raise SynoError(LOST_PARAMETER, "missing compound")
        calls = methods.json_value("compound", params["compound"])
        if not isinstance(calls, list):
            raise SynoError(INVALID_PARAMETER, "compound must be a JSON list")
        if params.get("mode", "sequential") not in ("sequential", "parallel"):
            raise SynoError(INVALID_PARAMETER, "mode must be sequential or parallel")
        stop = methods.bool_param(params, "stop_when_error", default=False)
        results, failed = [], False
        for call in calls:
            if not isinstance(call, dict):
                results.append({"success": False, "error": {"code": NO_PARAMETER}})
                failed = True
            else:
                # the reply names the call by its api and method when they are text (a
                # nested value echoed back could be too deep to encode)
                named = {k: v if isinstance(v, str) else None
                         for k, v in (("api", call.get("api")), ("method", call.get("method")))}
                try:
                    data = self._call(call, credentials, session)
                    results.append({**named, "success": True, "data": data})
                except SynoError as exc:
                    results.append({**named, "success": False, "error": {"code": exc.code}})
                    failed = True
            if failed and stop:
                break
        return {"has_fail": failed, "result": results}

    def _call(self, call: dict[str, Any], credentials: Credentials, session: sqlite3.Row) -> Any:
        """One call of a compound, its values as the wire would carry them."""
        try:
            sub = {k: v if isinstance(v, str) else json.dumps(v) for k, v in call.items()}
        except RecursionError:
            raise SynoError(INVALID_PARAMETER, "a value nests too deep") from None
        api = sub.get("api", "")
        if api == "SYNO.Entry.Request":
            raise SynoError(INVALID_PARAMETER, "a compound inside a compound")
        data, _ = self._dispatch(api, sub, credentials, session)
        return data
