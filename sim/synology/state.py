"""The emulated NAS itself: its state, its clouds, its shares and its clock.

:class:`Nas` holds the state (:class:`~sim.synology.store.Store`, SQLite), the remote clouds
(one :class:`~sim.cloud.Drive` per connection, their object tables saved beside the database),
the shares (real folders under the data directory, reached through a held folder) and the NAS
as a simulated device whose link carries every transfer; it runs the sync engine
(:mod:`sim.synology.engine`) on that device's time. The web API (:mod:`sim.synology.web`) and
the methods read and change the NAS only through it.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from sim import fs
from sim.cloud import CloudObject, CloudService, Drive
from sim.device import Device, load_profile
from sim.errors import UnsafePath
from sim.synology.engine import SyncEngine, account
from sim.synology.seed import CLOUD_TYPES, NasSeed
from sim.synology.store import Store


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
        if fresh and seed is not None:
            self._apply_seed(seed)
        self._load_drives()
        self.engine = SyncEngine(self)

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
            self.cloud.drive(account(row["id"]), quota=quota)
        state = self.data_dir / "cloud-state.json"
        if state.exists():
            self._restore_cloud(json.loads(state.read_text()))

    def drive_by_id(self, conn_id: int) -> Drive:
        return self.cloud.drive(account(conn_id))

    def drive(self, row: Any) -> Drive:
        return self.drive_by_id(int(row["id"]))

    def _restore_cloud(self, state: dict[str, Any]) -> None:
        for name, objects in state.items():
            drive = self.cloud.drive(name)
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

    # -- views used by the methods -------------------------------------------------------------

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
        self.engine.changed()
        return int(next_id)

    # -- time ------------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Run the simulation ``seconds`` on; no time at all (0, or too little to change a
        clock this far on) is nothing to run, where SimPy would refuse it."""
        with self.lock:
            until = self.env.now + seconds
            if until > self.env.now:
                self.env.run(until=until)


def _no_filters() -> dict[str, Any]:
    return {"filtered_paths": [], "filtered_names": [], "filtered_extensions": [],
            "user_defined_names": [], "user_defined_extensions": [],
            "filtered_max_upload_size": 0}
