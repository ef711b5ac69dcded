"""The emulated Synology NAS: DSM's web API on 127.0.0.1, state in SQLite, a sync engine.

``Nas`` holds the state (:class:`~sim.synology.store.Store`), the remote clouds (one
:class:`~sim.cloud.Drive` per connection), the shares (real folders under the data directory)
and the NAS as a simulated device whose link carries every transfer. ``NasServer`` serves
``/webapi/*.cgi``: dispatch on ``api``/``method``/``version``, the DSM 7 login handshake, sessions
by ``_sid``, ``SYNO.Entry.Request`` compounds, and — only with ``test_control`` — an endpoint
that advances simulated time and changes the device's conditions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import simpy
from aiohttp import web

from sim.cloud import CloudFull, CloudService, CloudUnavailable, Drive, VersionConflict
from sim.device import Device, load_profile
from sim.errors import TransferInterrupted
from sim.servers.threaded import ThreadedServer
from sim.synology import crypto, methods
from sim.synology.errors import (
    INVALID_SESSION,
    LOST_PARAMETER,
    NO_PARAMETER,
    NO_SUCH_API,
    NO_SUCH_METHOD,
    OTP_FAILED,
    OTP_REQUIRED,
    SESSION_TIMEOUT,
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
        self.shares.mkdir(parents=True, exist_ok=True)
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
        used = sum(p.stat().st_size for p in self.shares.rglob("*") if p.is_file())
        return max(0, int(row["size_total"]) - used)

    def share_exists(self, path: str) -> bool:
        share = path.strip("/").split("/", 1)[0]
        return bool(share) and (self.shares / share).is_dir()

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
        with self.lock:
            self.env.run(until=self.env.now + seconds)

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
            except (CloudFull, CloudUnavailable, TransferInterrupted) as exc:
                self.store.set_status("tasks", sess_id, "error")
                self.store.log(sess_id, self._stamp(), ACTION_UPLOAD, ERROR, str(exc),
                               error_code=1)
            finally:
                self.processing.pop(sess_id, None)
                self.pending.pop(sess_id, None)
                self.save_cloud()

    def _stamp(self) -> int:
        return self.device.utc_ms() // 1000

    def _sync(self, task: Any, conn: Any) -> Any:
        settings = json.loads(task["settings"])
        filters = json.loads(task["filters"])
        conn_settings = json.loads(conn["settings"])
        direction = settings["sync_direction"]
        local_root = self.shares / task["local_sync_path"].strip("/")
        local_root.mkdir(parents=True, exist_ok=True)
        remote_root = task["remote_sync_path"].rstrip("/")
        box = self.drive(conn).container("files")
        synced = {r["rel"]: r for r in self.store.query(
            "SELECT * FROM synced WHERE task_id = ?", (task["id"],))}
        local = {str(p.relative_to(local_root)): p for p in local_root.rglob("*")
                 if p.is_file() and not p.name.startswith(".syncrig-")}
        remote = {path[len(remote_root) + 1:]: obj for path, obj in box.objects.items()
                  if path.startswith(remote_root + "/")}
        downloads = [rel for rel, obj in remote.items() if direction != "ONLY_UPLOAD"
                     and not _excluded(rel, obj.size, filters, upload=False)
                     and (rel not in synced or synced[rel]["version"] != obj.version)]
        uploads = [rel for rel, path in local.items() if direction != "ONLY_DOWNLOAD"
                   and not _excluded(rel, path.stat().st_size, filters, upload=True)
                   and (rel not in synced or synced[rel]["mtime_ns"] != path.stat().st_mtime_ns)
                   and rel not in downloads]
        self.pending[task["id"]] = len(downloads) + len(uploads)
        if downloads or uploads:
            self.store.set_status("tasks", task["id"], "syncing")
        for rel in downloads:
            obj = remote[rel]
            yield from self._carry(task, conn_settings, rel, obj.size, "down")
            target = local_root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(".syncrig-" + target.name)
            with box.blob(obj).open("rb") as src, temp.open("wb") as out:
                while chunk := src.read(1024 * 1024):
                    out.write(chunk)
            os.replace(temp, target)
            self._remember(task["id"], rel, obj.version, target.stat().st_mtime_ns)
            self.store.log(task["id"], self._stamp(), ACTION_DOWNLOAD, INFO,
                           f"{task['local_sync_path'].rstrip('/')}/{rel}")
            self.pending[task["id"]] -= 1
        for rel in uploads:
            path = local[rel]
            size = path.stat().st_size
            yield from self._carry(task, conn_settings, rel, size, "up")
            base = synced[rel]["version"] if rel in synced else (
                remote[rel].version if rel in remote else 0)
            try:
                obj = box.put(f"{remote_root}/{rel}", path, self.env.now, base_version=base)
            except VersionConflict:
                continue  # the cloud moved on: the next round downloads it first
            self._remember(task["id"], rel, obj.version, path.stat().st_mtime_ns)
            self.store.log(task["id"], self._stamp(), ACTION_UPLOAD, INFO,
                           f"{task['local_sync_path'].rstrip('/')}/{rel}")
            self.pending[task["id"]] -= 1
        # a file deleted here: an upload-only task removes it from the cloud unless no_delete;
        # a two-way task does so only with the relink behaviour "locally deleted files will
        # also be removed from the cloud" (sync_mode), else it fetches the file again
        delete_from_cloud = direction == "ONLY_UPLOAD" or (
            direction == "BIDIRECTION" and bool(self.store.config()["sync_mode"]))
        for rel in [r for r in synced if r not in local and r in remote]:
            if delete_from_cloud and not settings["no_delete"]:
                box.delete(f"{remote_root}/{rel}")
                self.store.log(task["id"], self._stamp(), ACTION_DELETE_REMOTE, INFO,
                               f"{remote_root}/{rel}")
            self._forget(task["id"], rel)  # forgotten: a remaining cloud copy comes back
        for rel in [r for r in synced if r not in remote and r in local]:
            if direction != "ONLY_UPLOAD":
                local[rel].unlink()
                self.store.log(task["id"], self._stamp(), ACTION_DELETE_LOCAL, INFO,
                               f"{task['local_sync_path'].rstrip('/')}/{rel}")
            self._forget(task["id"], rel)
        self.store.set_status("tasks", task["id"], "uptodate")

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


class NasServer(ThreadedServer):
    """The NAS's web server on 127.0.0.1, in its own thread (like the fixture HTTP server)."""

    thread_name = "nas-http"

    def __init__(self, nas: Nas, port: int = 0, *, test_control: bool = False,
                 realtime: bool = True) -> None:
        super().__init__(port)
        self.nas = nas
        self.test_control = test_control
        self.realtime = realtime and not test_control
        self.ssid = crypto.new_ssid()
        crypto.rsa_key()

    def make_app(self) -> web.Application:
        app = web.Application()
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
            self.nas.advance(now - last)
            last = now

    # -- test control --------------------------------------------------------------------------

    async def _advance(self, request: web.Request) -> web.Response:
        seconds = float(request.query.get("seconds", "0"))
        if not 0 <= seconds <= 10**7:
            return web.json_response({"success": False, "error": "seconds out of range"})
        self.nas.advance(seconds)
        return web.json_response({"success": True, "now": self.nas.env.now})

    async def _device(self, request: web.Request) -> web.Response:
        controls = self.nas.device.controls
        for radio in ("ethernet", "wifi"):
            if radio in request.query:
                controls.set_radio(radio, request.query[radio] == "up")
        return web.json_response({"success": True})

    # -- the web API ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        params: dict[str, str] = dict(request.query)
        if request.method == "POST":
            params.update({k: v for k, v in (await request.post()).items()
                           if isinstance(v, str)})
        api = params.get("api") or request.match_info["path"].rsplit("/", 1)[-1]
        try:
            with self.nas.lock:
                data, cookie = self._dispatch(api, params)
        except SynoError as exc:
            return web.json_response({"success": False, "error": {"code": exc.code}})
        except Exception:  # never a 500: an unexpected failure is DSM's "unknown error"
            return web.json_response({"success": False, "error": {"code": 100}})
        response = web.json_response({"success": True, "data": data} if data is not None
                                     else {"success": True})
        if cookie:
            response.set_cookie("_SSID", cookie, path="/")
        return response

    def _dispatch(self, api: str, params: dict[str, str]) -> tuple[Any, str | None]:
        if api not in APIS:
            raise SynoError(NO_SUCH_API if api else NO_PARAMETER, api)
        if "method" not in params or "version" not in params:
            raise SynoError(NO_PARAMETER, "api, method and version are required")
        method = params["method"]
        try:
            version = int(params["version"])
        except ValueError:
            raise SynoError(NO_PARAMETER, "version must be a number") from None
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
            return {}, self.ssid
        if api == "SYNO.API.Encryption":
            if method != "getinfo":
                raise SynoError(NO_SUCH_METHOD, method)
            return {"cipherkey": crypto.CIPHER_KEY, "ciphertoken": crypto.CIPHER_TOKEN,
                    "public_key": crypto.public_key_hex(), "server_time": int(time.time())}, None
        if api == "SYNO.API.Auth":
            return self._auth(method, params), None
        session = self._session(params)
        if api == "SYNO.Entry.Request":
            if method != "request":
                raise SynoError(NO_SUCH_METHOD, method)
            return self._compound(params, session), None
        handler = methods.METHODS.get(method)
        if handler is None:
            raise SynoError(NO_SUCH_METHOD, method)
        return handler(self.nas, params, session), None

    def _auth(self, method: str, params: dict[str, str]) -> Any:
        if method == "logout":
            sid = params.get("_sid")
            if sid:
                with self.nas.store.tx() as db:
                    db.execute("DELETE FROM sessions WHERE sid = ?", (sid,))
            return None
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
            import pyotp

            code = params.get("otp_code", "")
            if not code:
                raise SynoError(OTP_REQUIRED)
            if not pyotp.TOTP(user["totp_secret"]).verify(code, valid_window=1):
                raise SynoError(OTP_FAILED)
        sid, token = self.nas.store.new_session(user["name"], self.nas.session_ttl_s)
        return {"sid": sid, "synotoken": token, "account": user["name"]}

    def _session(self, params: dict[str, str]) -> Any:
        sid = params.get("_sid")
        if not sid:
            raise SynoError(INVALID_SESSION, "no _sid")
        session = self.nas.store.session(sid)
        if session is None:
            raise SynoError(INVALID_SESSION, "unknown _sid")
        if session["expires"] < time.time():
            raise SynoError(SESSION_TIMEOUT)
        return session

    def _compound(self, params: dict[str, str], session: Any) -> dict[str, Any]:
        try:
            calls = json.loads(params.get("compound", ""))
        except ValueError:
            raise SynoError(LOST_PARAMETER, "compound must be a JSON list") from None
        if not isinstance(calls, list):
            raise SynoError(LOST_PARAMETER, "compound must be a JSON list")
        stop = params.get("stop_when_error", "false") == "true"
        results, failed = [], False
        for call in calls:
            if not isinstance(call, dict):
                results.append({"success": False, "error": {"code": NO_PARAMETER}})
                failed = True
            else:
                sub = {k: v if isinstance(v, str) else json.dumps(v) for k, v in call.items()}
                sub["_sid"] = params["_sid"]
                try:
                    data, _ = self._dispatch(str(call.get("api", "")), sub)
                    results.append({"api": call.get("api"), "method": call.get("method"),
                                    "success": True, "data": data})
                except SynoError as exc:
                    results.append({"api": call.get("api"), "method": call.get("method"),
                                    "success": False, "error": {"code": exc.code}})
                    failed = True
            if failed and stop:
                break
        return {"has_fail": failed, "result": results}

