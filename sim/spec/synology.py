"""Synology ``SYNO.CloudSync`` as documented in ``../shared/spec/synology-cloudsync.txt`` (the
``synology-api`` client's page), with the wire names the client sends (research §3) and the
error codes of DSM's Web API that the client lists (research §5)."""

from __future__ import annotations

from sim.spec.model import ApiSpec, DocError, MethodSpec, Transition, transitions

DOCUMENT = "synology-cloudsync.txt"

UNKNOWN = 100
NO_PARAMETER = 101
NO_SUCH_API = 102
NO_SUCH_METHOD = 103
VERSION_UNSUPPORTED = 104
NO_PERMISSION = 105
SESSION_TIMEOUT = 106
LOST_PARAMETER = 114
INVALID_SESSION = 119
INVALID_PARAMETER = 120
"""DSM's "invalid parameter" (the client's table reserves 120-149): a value that is ill-typed,
out of range, or names a connection or task that does not exist."""
WRONG_PASSWORD = 400
OTP_REQUIRED = 403
OTP_FAILED = 404

_CLIENT = "synology_api/error_codes.py (research §5)"
ERRORS: dict[int, DocError] = {e.code: e for e in (
    DocError(UNKNOWN, "Unknown error", _CLIENT),
    DocError(NO_PARAMETER, "No parameter of API, method or version", _CLIENT),
    DocError(NO_SUCH_API, "The requested API does not exist", _CLIENT),
    DocError(NO_SUCH_METHOD, "The requested method does not exist", _CLIENT),
    DocError(VERSION_UNSUPPORTED, "The requested version does not support the functionality",
             _CLIENT),
    DocError(NO_PERMISSION, "The logged in session does not have permission", _CLIENT),
    DocError(SESSION_TIMEOUT, "Session timeout", _CLIENT),
    DocError(LOST_PARAMETER, "Lost parameters for this API", _CLIENT),
    DocError(INVALID_SESSION, "Invalid session / SID not found.", _CLIENT),
    DocError(INVALID_PARAMETER, "Preserve for other purpose", _CLIENT),
    DocError(WRONG_PASSWORD, "No such account or incorrect password", _CLIENT),
    DocError(OTP_REQUIRED, "2 - factor authentication code required", _CLIENT),
    DocError(OTP_FAILED, "Failed to authenticate 2 - factor authentication code", _CLIENT),
)}

WIRE_METHODS: dict[str, str] = {
    "get_pkg_config": "get_config", "get_connections": "list_conn",
    "get_connection_settings": "get_connection_setting",
    "get_connection_information": "get_property", "get_connection_auth": "get_conn_auth_info",
    "get_connection_logs": "get_log", "get_tasks": "list_sess",
    "get_task_filters": "get_selective_sync_config",
    "get_task_cloud_folders": "get_selective_folder_list",
    "get_recently_modified": "get_recently_change", "set_pkg_config": "set_global_config",
    "set_relink_behavior": "set_personal_config",
    "set_connection_settings": "set_connection_setting",
    "set_connection_schedule": "set_schedule_setting", "set_task_settings": "set_session_setting",
    "set_task_filters": "set_selective_sync_config", "connection_pause": "pause",
    "connection_resume": "resume", "connection_remove": "unlink_connection",
    "task_remove": "unlink_session", "test_task_setting": "test_task_setting",
    "create_sync_task_s3": "create_session",
}
"""The client's method → the ``method=`` it sends (research §3)."""

MAX_LOG_COUNT = 100_000
"""set_pkg_config's log_count: "Defaults to 20000, max is 100000" (set_pkg_config)."""
MAX_WORKERS = 20
"""set_pkg_config's workers: "Defaults to 3, max is 20" (set_pkg_config)."""
SYNC_DIRECTIONS = ("ONLY_UPLOAD", "BIDIRECTION", "ONLY_DOWNLOAD")
"""set_task_settings' sync_direction values (set_task_settings)."""
SCHEDULE_LENGTH = 7 * 24
"""set_connection_schedule's schedule_info: 7 days × 24 hours (set_connection_schedule)."""

METHODS: tuple[MethodSpec, ...] = tuple(
    MethodSpec("CloudSync", wire, name, (0,), f"{DOCUMENT} {name}") for name, wire in
    WIRE_METHODS.items())
"""Keyed by the wire method; the page lists no codes per method, so the documented item of
each is its success (code 0)."""

_TRAY = "research synology-cloudsync.md §3.1 list_conn tray_status \"syncing\"|\"uptodate\"|"
_TRAY += "\"suspended\""
TRANSITIONS: tuple[Transition, ...] = transitions("list_conn.tray_status", tuple(
    (source, target, f"{_TRAY}; {why}") for source, target, why in (
        ("uptodate", "suspended", "§3 connection_pause() pauses every connection"),
        ("syncing", "suspended", "§3 connection_pause() pauses every connection"),
        ("suspended", "uptodate", "§3 connection_resume() with nothing left to sync"),
        ("suspended", "syncing", "§3 connection_resume() with files left to sync"),
        ("uptodate", "syncing", "a connection's status \"syncing\" (§3.1 list_conn conn[])"),
        ("syncing", "uptodate", "a connection's status back to \"uptodate\" (§3.1)"),
    )))
"""The NAS's overall status as list_conn reports it, from one read to the next: the status the
machine observes change (pause and resume of all connections, the engine's passes)."""

SPEC = ApiSpec("SYNO.CloudSync", DOCUMENT, ERRORS, METHODS, transitions=TRANSITIONS)

_BETWEEN_PASSES = ("the emulator syncs only while the machine advances its test clock "
                   "(60 s or 1 h at a time), and a pass of the seeded shares ends within one "
                   "advance: every read comes between passes and finds no task syncing")
UNREACHABLE: dict[tuple[str, str, str, str], str] = {
    t.item: _BETWEEN_PASSES for t in TRANSITIONS if "syncing" in (t.source, t.target)}
"""Documented items the emulated NAS does not show its client, and why."""
