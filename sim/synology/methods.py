"""``SYNO.CloudSync`` methods of the emulated NAS: argument checks, effects, reply shapes.

Every method receives the request's parameters (strings, as they arrive on the wire) and the
caller's session, and returns the ``data`` of the reply or raises :class:`SynoError`. A value
that is ill-typed, out of range or names a connection or task that does not exist is
:data:`INVALID_PARAMETER` and changes nothing (each setter validates everything before its one
transaction).

Connections belong to the user who made them. A user sees and changes only their own; an
administrator sees and changes every user's while the package's admin mode is on. A connection
the caller may not see is answered as one that does not exist (120), so its id tells nothing.
Package-wide settings (``set_global_config``, pausing or resuming every connection) and a
connection's secrets (``get_conn_auth_info``) are for administrators only (105); the relink
behaviour (``set_personal_config``) is each user's own.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sim import fs
from sim.errors import UnsafePath
from sim.spec.synology import (
    MAX_LOG_COUNT,
    MAX_WORKERS,
    SCHEDULE_LENGTH,
    SYNC_DIRECTIONS,
)
from sim.synology.errors import INVALID_PARAMETER, LOST_PARAMETER, NO_PERMISSION, SynoError

if TYPE_CHECKING:
    from sim.synology.state import Nas

Params = dict[str, str]
Handler = Callable[["Nas", Params, sqlite3.Row], dict[str, Any] | None]
DIRECTIONS = SYNC_DIRECTIONS
INT64 = range(-(2**63), 2**63)
"""What SQLite's INTEGER holds: every integer parameter lies within it."""
_INTEGER = re.compile(r"[+-]?[0-9]{1,32}")
"""An integer as DSM's CGI reads one: ASCII digits with an optional sign — no spaces, no
underscores, no other script's digits (``int()`` accepts all three)."""


def parse_int(text: str) -> int | None:
    """``text`` as a strict decimal integer within :data:`INT64`; None when it is not one."""
    if not _INTEGER.fullmatch(text):
        return None
    value = int(text)
    return value if value in INT64 else None


def json_value(name: str, text: str) -> Any:
    """A JSON parameter; 120 naming ``name`` when it is not JSON or nests too deep to read."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise SynoError(INVALID_PARAMETER, f"{name} must be JSON") from None


def _raw(params: Params, name: str) -> str:
    if name not in params:
        raise SynoError(LOST_PARAMETER, f"missing {name}")
    return params[name]


def int_param(params: Params, name: str, low: int | None = None, high: int | None = None,
              default: int | None = None) -> int:
    if name not in params and default is not None:
        return default
    text = _raw(params, name)
    if not _INTEGER.fullmatch(text):
        raise SynoError(INVALID_PARAMETER, f"{name} must be an integer, got {text!r}")
    value = int(text)
    if (low is not None and value < low) or (high is not None and value > high) \
            or value not in INT64:
        raise SynoError(INVALID_PARAMETER, f"{name} out of range: {value}")
    return value


def bool_param(params: Params, name: str, default: bool | None = None) -> bool:
    if name not in params and default is not None:
        return default
    text = _raw(params, name)
    if text not in ("true", "false"):
        raise SynoError(INVALID_PARAMETER, f"{name} must be true or false, got {text!r}")
    return text == "true"


def quoted_param(params: Params, name: str) -> str:
    """A value the client wraps in double quotes (``storage_class="STANDARD"``)."""
    text = _raw(params, name)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    raise SynoError(INVALID_PARAMETER, f"{name} must be a quoted string, got {text!r}")


def list_param(params: Params, name: str) -> list[str]:
    value = json_value(name, _raw(params, name))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SynoError(INVALID_PARAMETER, f"{name} must be a JSON list of strings")
    return value


def share_path(params: Params, name: str) -> str:
    """A path inside the caller's sync folder or the cloud (``/a/b``): absolute, no ``..``, no
    NUL, each name at most 255 bytes; 120 otherwise. Returned normalised (``/a//./b`` is
    ``/a/b``)."""
    normal = confined(_raw(params, name))
    if normal is None:
        raise SynoError(INVALID_PARAMETER, f"{name} must be an absolute path without ..")
    return normal


def confined(path: object) -> str | None:
    """``path`` normalised when it is ``/`` or an absolute path :func:`sim.fs.parts` accepts;
    None otherwise."""
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    if path == "/":
        return path
    try:
        return "/" + "/".join(fs.parts(path[1:]))
    except UnsafePath:
        return None


# -- who may see and change what --------------------------------------------------------------

def is_admin(nas: Nas, session: sqlite3.Row) -> bool:
    user = nas.store.user(session["user"])
    return user is not None and bool(user["is_admin"])


def sees_all(nas: Nas, session: sqlite3.Row) -> bool:
    """An administrator in admin mode sees (and changes) every user's connections."""
    return is_admin(nas, session) and nas.store.config()["admin_mode"] == "enable"


def may_use(nas: Nas, session: sqlite3.Row, conn: sqlite3.Row) -> bool:
    return bool(conn["user_name"] == session["user"]) or sees_all(nas, session)


def require_admin(nas: Nas, session: sqlite3.Row, what: str) -> None:
    if not is_admin(nas, session):
        raise SynoError(NO_PERMISSION, f"{what} is for administrators only")


def connection(nas: Nas, params: Params, session: sqlite3.Row) -> sqlite3.Row:
    conn_id = int_param(params, "connection_id", low=0)
    row = nas.store.connection(conn_id)
    if row is None or not may_use(nas, session, row):
        raise SynoError(INVALID_PARAMETER, f"no connection {conn_id}")
    return row


def task(nas: Nas, params: Params, session: sqlite3.Row,
         conn: sqlite3.Row | None = None) -> sqlite3.Row:
    sess_id = int_param(params, "session_id", low=0)
    row = nas.store.task(sess_id)
    if row is None or (conn is not None and row["conn_id"] != conn["id"]):
        raise SynoError(INVALID_PARAMETER, f"no task {sess_id}")
    owner = nas.store.connection(row["conn_id"])
    if owner is None or not may_use(nas, session, owner):
        raise SynoError(INVALID_PARAMETER, f"no task {sess_id}")
    return row


def visible_connections(nas: Nas, session: sqlite3.Row) -> list[sqlite3.Row]:
    rows = nas.store.connections()
    if sees_all(nas, session):
        return rows
    return [r for r in rows if r["user_name"] == session["user"]]


# -- reads ---------------------------------------------------------------------------------------

def get_config(nas: Nas, params: Params, session: sqlite3.Row) -> dict[str, Any]:
    config = nas.store.config()
    volumes = [{"desc": row["description"], "display": f"{row['description']} "
                f"({row['mount_point']})", "mount_point": row["mount_point"],
                "size_free": str(nas.volume_free(row)), "size_total": str(row["size_total"]),
                "value": row["value"], "vol_desc": row["description"]}
               for row in nas.store.query("SELECT * FROM volumes ORDER BY value")]
    return {"admin_mode": config["admin_mode"], "log_count": config["log_count"],
            "repo_vol_path": config["repo_vol_path"],
            "sync_mode": nas.store.sync_mode(session["user"]),
            "volume_count": len(volumes), "volume_list": volumes,
            "worker_count": config["worker_count"]}


def _conn_entry(nas: Nas, row: sqlite3.Row, tasks: list[sqlite3.Row], paused_all: bool,
                uids: dict[str, int]) -> dict[str, Any]:
    settings = json.loads(row["settings"])
    return {"id": row["id"], "link_status": 1, "resource": "",
            "status": nas.connection_status(row, tasks, paused_all),
            "task_display_name": settings["task_name"], "task_name": settings["task_name"],
            "type": row["type"], "type_id": row["type_id"],
            "unfinished_files": nas.engine.unfinished_files(row["id"], tasks),
            "user_id": uids[row["user_name"]],
            "user_name": row["user_name"]}


def list_conn(nas: Nas, params: Params, session: sqlite3.Row) -> dict[str, Any]:
    group_by = params.get("group_by", "group_by_user")
    if group_by not in ("group_by_user", "group_by_cloud_type"):
        raise SynoError(INVALID_PARAMETER, f"unknown group_by {group_by!r}")
    if params.get("is_tray", "false") not in ("true", "false"):
        raise SynoError(INVALID_PARAMETER, "is_tray must be true or false")
    rows = visible_connections(nas, session)
    key = "user_name" if group_by == "group_by_user" else "type"
    rows.sort(key=lambda r: (r[key], r["id"]))
    config = nas.store.config()
    paused = bool(config["paused"])
    by_conn: dict[int, list[sqlite3.Row]] = {}
    for t in nas.store.tasks():
        by_conn.setdefault(t["conn_id"], []).append(t)
    uids = nas.store.uids()
    conns = [_conn_entry(nas, row, by_conn.get(row["id"], []), paused, uids) for row in rows]
    statuses = {c["status"] for c in conns}
    tray = "suspended" if paused else "syncing" if "syncing" in statuses else "uptodate"
    busy = sum(c["unfinished_files"] for c in conns)
    return {"conn": conns, "is_admin_mode": sees_all(nas, session),
            "is_pause": paused, "notification": {"file_count": busy} if busy else None,
            "total": len(conns), "tray_status": tray}


def get_connection_setting(nas: Nas, params: Params, session: sqlite3.Row) -> dict[str, Any]:
    row = connection(nas, params, session)
    return {"client_type": row["type"], **json.loads(row["settings"])}


def get_property(nas: Nas, params: Params, session: sqlite3.Row) -> dict[str, Any]:
    row = connection(nas, params, session)
    drive = nas.drive(row)
    properties = json.loads(row["properties"])
    return {"auth_version": "", "bucket_name": properties.get("bucket_name", ""),
            "container_name": "", "project_id": "", "public_url": "",
            "quota_total": drive.quota, "quota_used": drive.used,
            "region": properties.get("region", ""), "server_addr": "", "shared_drive_name": "",
            "storage_class": json.loads(row["settings"]).get("storage_class", ""),
            "type": row["type"], "type_id": row["type_id"], "user_name": row["account"]}


def get_conn_auth_info(nas: Nas, params: Params, session: sqlite3.Row) -> dict[str, Any]:
    require_admin(nas, session, "a connection's secrets")
    row = connection(nas, params, session)
    auth = json.loads(row["auth"])
    keys = ("access_key", "access_token", "auth_pass", "auth_user", "bucket_id", "bucket_name",
            "client_id", "container_name", "download_url", "public_url", "refresh_token",
            "resource", "root_folder_id", "secret_key", "server_addr", "service_host",
            "unique_id")
    return {**{k: auth.get(k, "") for k in keys}, "auth_scheme": 0, "client_type": row["type"],
            "conn_id": row["id"], "root_folder_path": "/", "user_name": row["account"]}


def get_log(nas: Nas, params: Params, session: sqlite3.Row) -> dict[str, Any]:
    row = connection(nas, params, session)
    offset = int_param(params, "offset", low=0, default=0)
    limit = int_param(params, "limit", low=0, high=100_000, default=200)
    date_from = int_param(params, "date_from", low=0, default=0)
    date_to = int_param(params, "date_to", low=0, default=0)
    level = int_param(params, "log_level", low=-1, high=2, default=-1)
    action = int_param(params, "action", low=-1, high=9, default=-1)
    keyword = params.get("keyword", "")
    where = ["session_id IN (SELECT id FROM tasks WHERE conn_id = ?)"]
    args: list[Any] = [row["id"]]
    if keyword:
        where.append("instr(lower(path), lower(?)) > 0")
        args.append(keyword)
    if date_from:
        where.append("time >= ?")
        args.append(date_from)
    if date_to:
        where.append("time <= ?")
        args.append(date_to)
    if level >= 0:
        where.append("log_level = ?")
        args.append(level)
    if action >= 0:
        where.append("action = ?")
        args.append(action)
    clause = " AND ".join(where)
    total = nas.store.query(f"SELECT COUNT(*) FROM logs WHERE {clause}", tuple(args))[0][0]
    rows = nas.store.query(f"SELECT * FROM logs WHERE {clause} ORDER BY time DESC, id DESC "
                           "LIMIT ? OFFSET ?", (*args, limit, offset))
    items = [{k: r[k] for k in ("action", "error_code", "file_name", "file_type", "log_level",
                                "path", "session_id", "time")} for r in rows]
    return {"items": items, "total": total}


def _task_entry(nas: Nas, row: sqlite3.Row, conn: sqlite3.Row) -> dict[str, Any]:
    settings = json.loads(row["settings"])
    return {"cloud_type_str": conn["type"], "conn_id": conn["id"], "error": row["error"],
            "error_desc": "", "link_status": 1, "local_sync_path": row["local_sync_path"],
            "remote_folder_id": row["remote_folder_id"],
            "remote_sync_path": row["remote_sync_path"], "sess_id": row["id"],
            "sync_direction": settings["sync_direction"],
            "sync_status": nas.task_status(row, conn)}


def list_sess(nas: Nas, params: Params, session: sqlite3.Row) -> dict[str, Any]:
    conn = connection(nas, params, session)
    sess = [_task_entry(nas, row, conn) for row in nas.store.tasks(conn["id"])]
    return {"sess": sess, "total": len(sess)}


def get_selective_sync_config(nas: Nas, params: Params, session: sqlite3.Row) -> dict[str, Any]:
    row = task(nas, params, session)
    filters = json.loads(row["filters"])
    return {"filtered_extensions": filters["filtered_extensions"],
            "filtered_max_upload_size": filters["filtered_max_upload_size"],
            "filtered_names": filters["filtered_names"],
            "filtered_paths": filters["filtered_paths"],
            "user_defined_extensions": filters["user_defined_extensions"],
            "user_defined_names": filters["user_defined_names"]}


def get_selective_folder_list(nas: Nas, params: Params, session: sqlite3.Row) -> dict[str, Any]:
    row = task(nas, params, session)
    path = share_path(params, "path")
    _raw(params, "file_id")
    folders = nas.remote_folders(row, path)
    filtered = json.loads(row["filters"])["filtered_paths"]
    return {"children": [{"exists_type": 3 if p in filtered else 1, "file_id": f"id:{p}",
                          "path": p, "text": p.rsplit("/", 1)[-1]} for p in folders]}


def get_recently_change(nas: Nas, params: Params, session: sqlite3.Row) -> dict[str, Any]:
    everyone = sees_all(nas, session)
    if everyone:
        rows = nas.store.query("SELECT * FROM logs ORDER BY id DESC LIMIT 100")
    else:
        rows = nas.store.query(
            "SELECT * FROM logs WHERE session_id IN (SELECT t.id FROM tasks t JOIN "
            "connections c ON c.id = t.conn_id WHERE c.user_name = ?) ORDER BY id DESC "
            "LIMIT 100", (session["user"],))
    history = [{"action": r["action"], "base_name": r["file_name"], "log_level": r["log_level"],
                "path": r["path"], "session_id": r["session_id"],
                "syncfolder_basename": nas.sync_folder_name(r["session_id"])} for r in rows]
    moving = nas.engine.processing_items()
    if not everyone:
        mine = {t["id"] for c in visible_connections(nas, session)
                for t in nas.store.tasks(c["id"])}
        moving = [item for item in moving if item["session_id"] in mine]
    return {"history_items": history, "is_admin_mode": everyone,
            "processing_items": moving, "server_merge_items": []}


# -- writes ------------------------------------------------------------------------------------

def set_global_config(nas: Nas, params: Params, session: sqlite3.Row) -> None:
    require_admin(nas, session, "the package's settings")
    volume = _raw(params, "repo_vol_path")
    mounts = {r["mount_point"] for r in nas.store.query("SELECT mount_point FROM volumes")}
    if volume not in mounts:
        raise SynoError(INVALID_PARAMETER, f"no volume {volume!r}")
    log_count = int_param(params, "log_count", low=1, high=MAX_LOG_COUNT)
    workers = int_param(params, "worker_count", low=1, high=MAX_WORKERS)
    admin_mode = _raw(params, "admin_mode")
    if admin_mode not in ("enable", "disable"):
        raise SynoError(INVALID_PARAMETER, "admin_mode must be enable or disable")
    nas.store.set_config(repo_vol_path=volume, log_count=log_count, worker_count=workers,
                         admin_mode=admin_mode)
    nas.engine.set_workers(workers)


def set_personal_config(nas: Nas, params: Params, session: sqlite3.Row) -> None:
    """The caller's own relink behaviour: what a deletion on the NAS does to the cloud copy
    in their connections' tasks."""
    nas.store.set_sync_mode(session["user"], sync_mode=bool_param(params, "sync_mode"))


def set_connection_setting(nas: Nas, params: Params, session: sqlite3.Row) -> None:
    row = connection(nas, params, session)
    name = _raw(params, "task_name")
    if not name.strip():
        raise SynoError(INVALID_PARAMETER, "task_name must not be empty")
    values = {"task_name": name,
              "pull_event_period": int_param(params, "pull_event_period", low=1, high=86400),
              "max_upload_speed": int_param(params, "max_upload_speed", low=0),
              "max_download_speed": int_param(params, "max_download_speed", low=0),
              "storage_class": quoted_param(params, "storage_class"),
              "isSSE": bool_param(params, "isSSE"),
              "part_size": int_param(params, "part_size", low=1, high=4096)}
    nas.store.update_json("connections", "settings", row["id"], **values)


def set_schedule_setting(nas: Nas, params: Params, session: sqlite3.Row) -> None:
    row = connection(nas, params, session)
    enabled = bool_param(params, "is_enabled_schedule")
    schedule = quoted_param(params, "schedule_info")
    if len(schedule) != SCHEDULE_LENGTH or set(schedule) - {"0", "1"}:
        raise SynoError(INVALID_PARAMETER,
                        f"schedule_info must be {SCHEDULE_LENGTH} characters of 0 and 1")
    nas.store.update_json("connections", "settings", row["id"], is_enabled_schedule=enabled,
                          schedule_info=schedule)


def set_session_setting(nas: Nas, params: Params, session: sqlite3.Row) -> None:
    row = task(nas, params, session)
    direction = _raw(params, "sync_direction")
    if direction not in DIRECTIONS:
        raise SynoError(INVALID_PARAMETER, f"unknown sync_direction {direction!r}")
    values = {"sync_direction": direction,
              "sync_attr_check_option": bool_param(params, "sync_attr_check_option"),
              "no_delete": bool_param(params, "no_delete"),
              "google_drive_convert_online_doc": bool_param(
                  params, "google_drive_convert_online_doc")}
    nas.store.update_json("tasks", "settings", row["id"], **values)


def set_selective_sync_config(nas: Nas, params: Params, session: sqlite3.Row) -> None:
    row = task(nas, params, session)
    paths = [confined(p) for p in list_param(params, "filtered_paths")]
    if None in paths:
        raise SynoError(INVALID_PARAMETER, "filtered_paths must be absolute, without ..")
    values = {"filtered_paths": paths,
              "filtered_names": list_param(params, "filtered_names"),
              "filtered_extensions": [e.lower().lstrip(".")
                                      for e in list_param(params, "filtered_extensions")],
              "user_defined_names": list_param(params, "user_defined_names"),
              "user_defined_extensions": list_param(params, "user_defined_extensions"),
              "filtered_max_upload_size": int_param(params, "filtered_max_upload_size", low=0)}
    nas.store.update_json("tasks", "filters", row["id"], **values)


def _may_pause(nas: Nas, params: Params, session: sqlite3.Row) -> None:
    """One connection: the caller's (or anyone's in admin mode); every connection: an
    administrator's call."""
    if "connection_id" in params:
        connection(nas, params, session)
    else:
        require_admin(nas, session, "pausing or resuming every connection")


def _pause(nas: Nas, params: Params, paused: bool) -> None:
    if "connection_id" in params:
        conn_id = int_param(params, "connection_id", low=0)
        with nas.store.tx() as db:
            db.execute("UPDATE connections SET paused = ? WHERE id = ?", (int(paused), conn_id))
    else:
        nas.store.set_config(paused=paused)
    nas.engine.changed()


def pause(nas: Nas, params: Params, session: sqlite3.Row) -> None:
    _may_pause(nas, params, session)
    _pause(nas, params, True)


def resume(nas: Nas, params: Params, session: sqlite3.Row) -> None:
    _may_pause(nas, params, session)
    _pause(nas, params, False)


def unlink_connection(nas: Nas, params: Params, session: sqlite3.Row) -> None:
    row = connection(nas, params, session)
    with nas.store.tx() as db:
        db.execute("DELETE FROM tasks WHERE conn_id = ?", (row["id"],))
        db.execute("DELETE FROM connections WHERE id = ?", (row["id"],))
    nas.engine.changed()


def unlink_session(nas: Nas, params: Params, session: sqlite3.Row) -> None:
    """Remove a task; its files stay where they are, on the NAS and in the cloud."""
    conn = connection(nas, params, session)
    row = task(nas, params, session, conn)
    with nas.store.tx() as db:
        db.execute("DELETE FROM tasks WHERE id = ?", (row["id"],))
    nas.engine.changed()


def test_task_setting(nas: Nas, params: Params, session: sqlite3.Row) -> dict[str, Any]:
    """Check a new task's settings; a bad one fails the call (so a compound reports
    ``has_fail``), naming what is wrong."""
    info = _conn_info(params)
    problems = _check_new_task(nas, info, session)
    if problems:
        raise SynoError(INVALID_PARAMETER, "invalid task setting: " + ", ".join(problems))
    return {"result": [{"key": "all", "success": True}]}


def create_session(nas: Nas, params: Params, session: sqlite3.Row) -> dict[str, Any]:
    info = _conn_info(params)
    problems = _check_new_task(nas, info, session)
    if problems:
        raise SynoError(INVALID_PARAMETER, "invalid task setting: " + ", ".join(problems))
    sess_id = nas.create_task(_new_task(info))
    return {"sess_id": sess_id}


def _conn_info(params: Params) -> dict[str, Any]:
    raw = params.get("conn_info")
    if raw is None:
        raise SynoError(LOST_PARAMETER, "missing conn_info")
    info = json_value("conn_info", raw)
    if not isinstance(info, dict):
        raise SynoError(INVALID_PARAMETER, "conn_info must be an object")
    return info


def _json_int(value: object) -> int | None:
    """A JSON integer field (a number, or a string of digits as forms send it); None when it
    is neither, or outside :data:`INT64`."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value in INT64 else None
    if isinstance(value, str):
        return parse_int(value)
    return None


FILTER_LISTS = ("filtered_names", "filtered_extensions", "user_defined_names",
                "user_defined_extensions")


def _filters(value: object) -> dict[str, Any] | None:
    """A new task's ``filter_file`` as stored; None when a field has the wrong type."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        return None
    filters: dict[str, Any] = {}
    for key in FILTER_LISTS:
        if key in value:
            items = value[key]
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                return None
            filters[key] = [i.lower().lstrip(".") for i in items] if "extensions" in key \
                else items
    if "filtered_paths" in value:
        paths = value["filtered_paths"]
        if not isinstance(paths, list) or any(confined(p) is None for p in paths):
            return None
        filters["filtered_paths"] = [confined(p) for p in paths]
    if "filtered_max_upload_size" in value:
        size = _json_int(value["filtered_max_upload_size"])
        if size is None or size < 0:
            return None
        filters["filtered_max_upload_size"] = size
    return filters


def _text_field(info: dict[str, Any], key: str) -> str:
    value = info.get(key)
    return value if isinstance(value, str) else ""


def _check_new_task(nas: Nas, info: dict[str, Any], session: sqlite3.Row) -> dict[str, bool]:
    problems: dict[str, bool] = {}
    conn_id = _json_int(info.get("conn_id"))
    conn = nas.store.connection(conn_id) if conn_id is not None else None
    if conn is None or not may_use(nas, session, conn):
        problems["conn_id"] = True
    direction = info.get("sync_direction")
    if not isinstance(direction, str) or direction not in DIRECTIONS:
        problems["sync_direction"] = True
    path = _text_field(info, "path")
    if not path.startswith("/") or not nas.share_exists(path):
        problems["path"] = True
    server = _text_field(info, "server_folder_path")
    if confined(server) is None or (len(server) > 1 and server.endswith("/")):
        problems["server_folder_path"] = True
    if _filters(info.get("filter_file")) is None:
        problems["filter_file"] = True
    for flag in ("no_delete", "sync_attr_check_option"):
        if flag in info and not isinstance(info[flag], bool):
            problems[flag] = True
    return problems


def _new_task(info: dict[str, Any]) -> dict[str, Any]:
    """A checked ``conn_info`` as the task is stored: ids as integers, paths normalised."""
    return {"conn_id": _json_int(info["conn_id"]),
            "path": confined(info["path"]) or str(info["path"]),
            "server_folder_path": confined(info["server_folder_path"]) or "/",
            "sync_direction": info["sync_direction"],
            "filter_file": _filters(info.get("filter_file")) or {},
            "sync_attr_check_option": info.get("sync_attr_check_option", True),
            "no_delete": info.get("no_delete", False)}


METHODS: dict[str, Handler] = {
    "get_config": get_config, "list_conn": list_conn,
    "get_connection_setting": get_connection_setting, "get_property": get_property,
    "get_conn_auth_info": get_conn_auth_info, "get_log": get_log, "list_sess": list_sess,
    "get_selective_sync_config": get_selective_sync_config,
    "get_selective_folder_list": get_selective_folder_list,
    "get_recently_change": get_recently_change, "set_global_config": set_global_config,
    "set_personal_config": set_personal_config,
    "set_connection_setting": set_connection_setting,
    "set_schedule_setting": set_schedule_setting, "set_session_setting": set_session_setting,
    "set_selective_sync_config": set_selective_sync_config, "pause": pause, "resume": resume,
    "unlink_connection": unlink_connection, "unlink_session": unlink_session,
    "test_task_setting": test_task_setting, "create_session": create_session,
}
