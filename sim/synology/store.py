"""The emulated NAS's state in SQLite: package config, users, sessions, connections, tasks,
filters, schedules and logs.

WAL journal and one transaction per change: a change acknowledged to a client has been
committed, so a restart — or a kill -9 mid-write — loses none of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, salt TEXT NOT NULL, pw_hash TEXT NOT NULL,
    totp_secret TEXT, is_admin INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sessions (
    sid TEXT PRIMARY KEY, user TEXT NOT NULL, synotoken TEXT NOT NULL, expires REAL NOT NULL,
    token_required INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS user_config (
    user TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (user, key));
CREATE TABLE IF NOT EXISTS volumes (
    value TEXT PRIMARY KEY, mount_point TEXT NOT NULL, description TEXT NOT NULL,
    size_total INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS connections (
    id INTEGER PRIMARY KEY, user_name TEXT NOT NULL, type TEXT NOT NULL,
    type_id INTEGER NOT NULL, account TEXT NOT NULL, task_name TEXT NOT NULL,
    settings TEXT NOT NULL, auth TEXT NOT NULL, properties TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT 'uptodate');
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY, conn_id INTEGER NOT NULL REFERENCES connections(id),
    local_sync_path TEXT NOT NULL, remote_sync_path TEXT NOT NULL,
    remote_folder_id TEXT NOT NULL, settings TEXT NOT NULL, filters TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'uptodate', error INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS synced (
    task_id INTEGER NOT NULL, rel TEXT NOT NULL, version INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, PRIMARY KEY (task_id, rel));
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id INTEGER NOT NULL, time INTEGER NOT NULL,
    action INTEGER NOT NULL, log_level INTEGER NOT NULL, error_code INTEGER NOT NULL,
    file_name TEXT NOT NULL, path TEXT NOT NULL, file_type TEXT NOT NULL);
"""

FIRST_UID = 1024  # DSM numbers local users from here

DEFAULT_CONFIG = {"repo_vol_path": "/volume1", "log_count": 20000, "worker_count": 3,
                  "admin_mode": "enable", "sync_mode": False, "paused": False}


def hash_password(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), 10000).hex()


class Store:
    """All state of one emulated NAS, in ``<data>/nas.sqlite3``."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "nas.sqlite3"
        self._lock = threading.Lock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        columns = {row["name"] for row in self.db.execute("PRAGMA table_info(sessions)")}
        if "token_required" not in columns:  # a data directory from before CSRF protection
            self.db.execute("ALTER TABLE sessions ADD COLUMN token_required INTEGER NOT NULL "
                            "DEFAULT 0")
        self._config: dict[str, Any] | None = None
        with self.tx() as db:
            for key, value in DEFAULT_CONFIG.items():
                db.execute("INSERT OR IGNORE INTO config VALUES (?, ?)", (key, json.dumps(value)))

    def close(self) -> None:
        self.db.close()

    # -- transactions ------------------------------------------------------------------------

    class _Tx:
        def __init__(self, store: Store) -> None:
            self.store = store

        def __enter__(self) -> sqlite3.Connection:
            self.store._lock.acquire()
            self.store.db.execute("BEGIN IMMEDIATE")
            return self.store.db

        def __exit__(self, kind: object, *rest: object) -> None:
            try:
                self.store.db.execute("ROLLBACK" if kind is not None else "COMMIT")
            finally:
                self.store._lock.release()

    def tx(self) -> Store._Tx:
        """One transaction: committed on success, rolled back on any exception."""
        return Store._Tx(self)

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self.db.execute(sql, args))

    # -- config ------------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """The package config (read often — every list — and written rarely, so cached)."""
        cached = self._config
        if cached is None:
            cached = {row["key"]: json.loads(row["value"])
                      for row in self.query("SELECT * FROM config")}
            self._config = cached
        return dict(cached)

    def set_config(self, **values: Any) -> None:
        with self.tx() as db:
            for key, value in values.items():
                db.execute("INSERT OR REPLACE INTO config VALUES (?, ?)", (key, json.dumps(value)))
            self._config = None

    def sync_mode(self, user: str) -> bool:
        """``user``'s relink behaviour (True: a file deleted on the NAS is deleted from the
        cloud too); the package's value until they set their own."""
        rows = self.query("SELECT value FROM user_config WHERE user = ? AND key = 'sync_mode'",
                          (user,))
        return bool(json.loads(rows[0]["value"]) if rows else self.config()["sync_mode"])

    def set_sync_mode(self, user: str, *, sync_mode: bool) -> None:
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO user_config VALUES (?, 'sync_mode', ?)",
                       (user, json.dumps(sync_mode)))

    # -- users and sessions ------------------------------------------------------------------

    def add_user(self, name: str, password: str, *, totp_secret: str | None = None,
                 is_admin: bool = False) -> None:
        salt = os.urandom(16).hex()
        with self.tx() as db:
            # an upsert keeps the user's rowid, from which its uid derives (see :meth:`uids`)
            db.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE "
                       "SET salt = excluded.salt, pw_hash = excluded.pw_hash, "
                       "totp_secret = excluded.totp_secret, is_admin = excluded.is_admin",
                       (name, salt, hash_password(password, salt), totp_secret, int(is_admin)))

    def uids(self) -> dict[str, int]:
        """Each user's DSM uid: local users are numbered from 1024 in the order created."""
        return {row["name"]: FIRST_UID - 1 + row["rowid"]
                for row in self.query("SELECT rowid, name FROM users")}

    def user(self, name: str) -> sqlite3.Row | None:
        rows = self.query("SELECT * FROM users WHERE name = ?", (name,))
        return rows[0] if rows else None

    def check_password(self, name: str, password: str) -> sqlite3.Row | None:
        user = self.user(name)
        if user is None or not secrets.compare_digest(
                hash_password(password, user["salt"]), user["pw_hash"]):
            return None
        return user

    def new_session(self, user: str, ttl_s: float, *,
                    token_required: bool = False) -> tuple[str, str]:
        """A new session's sid and synotoken; with ``token_required`` every call made with it
        must carry the synotoken (it logged in with ``enable_syno_token=yes``)."""
        sid, token = secrets.token_urlsafe(24), secrets.token_urlsafe(12)
        with self.tx() as db:
            db.execute("INSERT INTO sessions (sid, user, synotoken, expires, token_required) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (sid, user, token, time.time() + ttl_s, int(token_required)))
        return sid, token

    def session(self, sid: str) -> sqlite3.Row | None:
        rows = self.query("SELECT * FROM sessions WHERE sid = ?", (sid,))
        return rows[0] if rows else None

    # -- connections and tasks -----------------------------------------------------------------

    def connections(self) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM connections ORDER BY id")

    def connection(self, conn_id: int) -> sqlite3.Row | None:
        rows = self.query("SELECT * FROM connections WHERE id = ?", (conn_id,))
        return rows[0] if rows else None

    def tasks(self, conn_id: int | None = None) -> list[sqlite3.Row]:
        if conn_id is None:
            return self.query("SELECT * FROM tasks ORDER BY id")
        return self.query("SELECT * FROM tasks WHERE conn_id = ? ORDER BY id", (conn_id,))

    def task(self, sess_id: int) -> sqlite3.Row | None:
        rows = self.query("SELECT * FROM tasks WHERE id = ?", (sess_id,))
        return rows[0] if rows else None

    def update_json(self, table: str, column: str, row_id: int, **values: Any) -> None:
        """Merge ``values`` into the JSON column of one row, in one transaction."""
        assert table in ("connections", "tasks") and column in ("settings", "filters", "auth",
                                                                  "properties")
        with self.tx() as db:
            (current,) = db.execute(f"SELECT {column} FROM {table} WHERE id = ?",
                                    (row_id,)).fetchone()
            merged = {**json.loads(current), **values}
            db.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?",
                       (json.dumps(merged), row_id))

    def set_status(self, table: str, row_id: int, status: str) -> None:
        assert table in ("connections", "tasks")
        with self.tx() as db:
            db.execute(f"UPDATE {table} SET status = ? WHERE id = ?",
                       (status, row_id))

    # -- logs ------------------------------------------------------------------------------

    def log(self, session_id: int, when: int, action: int, level: int, path: str,
            error_code: int = 0, file_type: str = "file") -> None:
        """Append a log line; each connection keeps at most ``log_count`` lines (the
        documented "maximum number of logs retained per connection"), oldest dropped."""
        keep = int(self.config()["log_count"])
        with self.tx() as db:
            db.execute("INSERT INTO logs (session_id, time, action, log_level, error_code, "
                       "file_name, path, file_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (session_id, when, action, level, error_code,
                        path.rsplit("/", 1)[-1], path, file_type))
            db.execute("DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE session_id IN "
                       "(SELECT id FROM tasks WHERE conn_id = (SELECT conn_id FROM tasks "
                       "WHERE id = ?)) ORDER BY id DESC LIMIT -1 OFFSET ?)",
                       (session_id, keep))
