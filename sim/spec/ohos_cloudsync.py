"""``@ohos.file.cloudSync`` as documented in ``../shared/spec/ohos-file-cloudsync.md``.

Enum values and messages are the page's (its most frequent wording where pages differ);
``RUNTIME_MESSAGES`` is the release overlay (``../shared/research/ohos-cloudsync.md`` §1.3).
"""

from __future__ import annotations

from enum import IntEnum

from sim.spec.model import ApiSpec, DocError, MethodSpec, Transition, transitions

DOCUMENT = "ohos-file-cloudsync.md"
CLOUDFILE_SYNC = "ohos.permission.CLOUDFILE_SYNC"


class SyncState(IntEnum):
    UPLOADING = 0
    UPLOAD_FAILED = 1
    DOWNLOADING = 2
    DOWNLOAD_FAILED = 3
    COMPLETED = 4
    STOPPED = 5


class ErrorType(IntEnum):
    NO_ERROR = 0
    NETWORK_UNAVAILABLE = 1
    WIFI_UNAVAILABLE = 2
    BATTERY_LEVEL_LOW = 3
    BATTERY_LEVEL_WARNING = 4
    CLOUD_STORAGE_FULL = 5
    LOCAL_STORAGE_FULL = 6
    DEVICE_TEMPERATURE_TOO_HIGH = 7


class State(IntEnum):
    """Download states (research §1.1; the page's Download section uses them unnamed)."""

    RUNNING = 0
    COMPLETED = 1
    FAILED = 2
    STOPPED = 3


class DownloadErrorType(IntEnum):
    NO_ERROR = 0
    UNKNOWN_ERROR = 1
    NETWORK_UNAVAILABLE = 2
    LOCAL_STORAGE_FULL = 3
    CONTENT_NOT_FOUND = 4
    FREQUENT_USER_REQUESTS = 5


class FileSyncState(IntEnum):
    UPLOADING = 0
    DOWNLOADING = 1
    COMPLETED = 2
    STOPPED = 3
    TO_BE_UPLOADED = 4
    UPLOAD_SUCCESS = 5
    UPLOAD_FAILURE = 6


class NotifyType(IntEnum):
    NOTIFY_ADDED = 0
    NOTIFY_MODIFIED = 1
    NOTIFY_DELETED = 2
    NOTIFY_RENAMED = 3


PERMISSION_DENIED = 201
NOT_SYSTEM_APP = 202
INVALID_PARAMETER = 401
IPC_ERROR = 13600001
OPERATION_NOT_PERMITTED = 13900001
NO_SUCH_FILE = 13900002
INTERRUPTED = 13900004
TRY_AGAIN = 13900010
PERMISSION_DENIED_FS = 13900012
INVALID_ARGUMENT = 13900020
NO_SPACE = 13900025
NOT_IMPLEMENTED = 13900031
UNKNOWN_ERROR = 13900042
INVALID_URI = 14000002
CLOUD_NOT_READY = 22400001
NETWORK_UNAVAILABLE = 22400002
BATTERY_LOW = 22400003

_PAGE = f"{DOCUMENT} (Error codes tables)"
ERRORS: dict[int, DocError] = {e.code: e for e in (
    DocError(PERMISSION_DENIED, "Permission verification failed.", _PAGE),
    DocError(NOT_SYSTEM_APP, "Permission verification failed, application which is not a "
             "system application uses system API.", _PAGE),
    DocError(INVALID_PARAMETER, "The input parameter is invalid. Possible causes: 1. Mandatory "
             "parameters are left unspecified. 2. Incorrect parameter types.", _PAGE),
    DocError(IPC_ERROR, "IPC error.", _PAGE),
    DocError(OPERATION_NOT_PERMITTED, "Operation not permitted.", _PAGE),
    DocError(NO_SUCH_FILE, "No such file or directory.", _PAGE),
    DocError(INTERRUPTED, "Interrupted system call.", _PAGE),
    DocError(TRY_AGAIN, "Try again.", _PAGE),
    DocError(PERMISSION_DENIED_FS, "Permission denied.", _PAGE),
    DocError(NO_SPACE, "No space left on device.", _PAGE),
    DocError(NOT_IMPLEMENTED, "Function not implemented.", _PAGE),
    DocError(UNKNOWN_ERROR, "Unknown error.", _PAGE),
    DocError(INVALID_URI, "Invalid URI.", _PAGE),
    DocError(CLOUD_NOT_READY, "Cloud status not ready.", _PAGE),
    DocError(NETWORK_UNAVAILABLE, "Network unavailable.", _PAGE),
    DocError(BATTERY_LOW, "Low battery level.", _PAGE),
)}

RUNTIME_MESSAGES: dict[int, str] = {
    PERMISSION_DENIED: "Permission verification failed",
    NOT_SYSTEM_APP: "The caller is not a system application",
    INVALID_PARAMETER: "The input parameter is invalid",
    IPC_ERROR: "IPC error",
    OPERATION_NOT_PERMITTED: "Operation not permitted",
    NO_SUCH_FILE: "No such file or directory",
    INTERRUPTED: "Interrupted system call",
    TRY_AGAIN: "Try again",
    PERMISSION_DENIED_FS: "Permission denied",
    INVALID_ARGUMENT: "Invalid argument",
    NO_SPACE: "No space left on device",
    NOT_IMPLEMENTED: "Function not implemented",
    UNKNOWN_ERROR: "Unknown error",
    INVALID_URI: "Invalid uri",
    CLOUD_NOT_READY: "Cloud status not ready",
    NETWORK_UNAVAILABLE: "Network unavailable",
    BATTERY_LOW: "Battery level warning",
}
"""Release overlay: the runtime's ``err.message`` strings (research §1.3)."""

CURRENT_RUNTIME_MESSAGES: dict[int, str] = {
    **RUNTIME_MESSAGES,
    IPC_ERROR: "IPC error. Possible causes: 1.IPC failed or timed out. 2.Failed to load the "
               "service",
    UNKNOWN_ERROR: "Unknown error. Possible causes:1.Insufficient memory. 2.Memory operation "
                   "error. 3.Null pointer. 4.Failed to obtain expected resources.",
}
"""The current sources' runtime strings: since v6.0 13600001 and 13900042 name their
possible causes (research §1.3)."""

ARITY: dict[str, tuple[int, int]] = {
    # method: (mandatory, most) arguments, as the d.ts overloads take them
    "GallerySync.constructor": (0, 0), "FileSync.constructor": (0, 1),
    "Download.constructor": (0, 0), "CloudFileCache.constructor": (0, 0),
    **{f"{owner}.on": (2, 2) for owner in ("GallerySync", "FileSync", "Download",
                                             "CloudFileCache")},
    **{f"{owner}.off": (1, 2) for owner in ("GallerySync", "FileSync", "Download",
                                              "CloudFileCache")},
    **{f"{owner}.{name}": (0, 1) for owner in ("GallerySync", "FileSync")
       for name in ("start", "stop")},
    "FileSync.getLastSyncTime": (0, 1),
    "Download.start": (1, 2), "Download.stop": (1, 2),
    "CloudFileCache.start": (1, 2), "CloudFileCache.stop": (1, 2),
    "CloudFileCache.cleanCache": (1, 1),
    "cloudSync.getFileSyncState": (1, 2),
    "cloudSync.registerChange": (3, 3), "cloudSync.unregisterChange": (1, 1),
}
"""How many arguments each method takes, the d.ts's overloads together (research §1.2,
§2.1): fewer than the mandatory ones, or more than the most, is 401 — as is ``undefined``
where an argument is mandatory. An optional argument given as ``undefined`` is absent."""


def _m(owner: str, name: str, overload: str, errors: tuple[int, ...], section: str,
       permission: str | None = CLOUDFILE_SYNC) -> MethodSpec:
    return MethodSpec(owner, name, overload, errors, f"{DOCUMENT} {section}", permission,
                      system_api=True)


_SYNC = (201, 202, 401, 13600001)
METHODS: tuple[MethodSpec, ...] = (
    _m("GallerySync", "on", "on('progress', callback)", _SYNC, "## GallerySync ### on"),
    _m("GallerySync", "off", "off('progress', callback?)", _SYNC, "## GallerySync ### off"),
    _m("GallerySync", "start", "start(): Promise<void> / start(callback)",
       (201, 202, 401, 22400001, 22400002, 22400003), "## GallerySync ### start"),
    _m("GallerySync", "stop", "stop(): Promise<void> / stop(callback)", (201, 202, 401),
       "## GallerySync ### stop"),
    _m("Download", "on", "on('progress', callback)", _SYNC, "## Download ### on"),
    _m("Download", "off", "off('progress', callback?)", _SYNC, "## Download ### off"),
    _m("Download", "start", "start(uri): Promise<void> / start(uri, callback)",
       (201, 202, 401, 13900002, 13900025), "## Download ### start"),
    _m("Download", "stop", "stop(uri): Promise<void> / stop(uri, callback)", (201, 202, 401),
       "## Download ### stop"),
    _m("FileSync", "constructor", "constructor() / constructor(bundleName)", (202, 401),
       "## FileSync ### constructor", permission=None),
    _m("FileSync", "on", "on('progress', callback)", _SYNC, "## FileSync ### on"),
    _m("FileSync", "off", "off('progress', callback?)", _SYNC, "## FileSync ### off"),
    _m("FileSync", "start", "start(): Promise<void> / start(callback)",
       (201, 202, 401, 13600001, 22400001, 22400002, 22400003), "## FileSync ### start"),
    _m("FileSync", "stop", "stop(): Promise<void> / stop(callback)", _SYNC,
       "## FileSync ### stop"),
    _m("FileSync", "getLastSyncTime", "getLastSyncTime(): Promise<number> / (callback)", _SYNC,
       "## FileSync ### getLastSyncTime"),
    _m("CloudFileCache", "cleanCache", "cleanCache(uri): void",
       (201, 202, 401, 13600001, 13900002, 14000002), "## CloudFileCache ### cleanCache"),
    _m("cloudSync", "getFileSyncState", "getFileSyncState(uris): Promise / (uris, callback)",
       (201, 202, 401, 13600001, 13900002, 14000002), "## cloudSync.getFileSyncState (11+)"),
    _m("cloudSync", "getFileSyncState(string)", "getFileSyncState(uri): FileSyncState",
       (202, 401, 13900002, 13900004, 13900010, 13900012, 13900031, 13900042, 14000002),
       "## cloudSync.getFileSyncState (12+)", permission=None),
    _m("cloudSync", "registerChange", "registerChange(uri, recursion, callback)",
       (202, 401, 13900001, 13900002, 13900012, 14000002), "## cloudSync.registerChange",
       permission=None),
    _m("cloudSync", "unregisterChange", "unregisterChange(uri)",
       (202, 401, 13900001, 13900002, 13900012, 14000002), "## cloudSync.unregisterChange",
       permission=None),
)

_NEXT_RUN = ("research §3.5, §3.6 start + start: a start() during a run makes the next run "
             "begin with no terminal event")
_FILE = "research §3.3 (stages as §3.2, no upfront DOWNLOADING)"
_GALLERY = "research §3.2"
_STOP = "§3.2 step 7: STOPPED at END when stop was requested"
SYNC_TRANSITIONS: tuple[Transition, ...] = transitions("FileSync", (
    ("start", "DOWNLOADING", f"{_FILE}: after the first fetched batch"),
    ("start", "UPLOADING", f"{_FILE}: nothing fetched, a created batch"),
    ("start", "COMPLETED", f"{_FILE}: a sync with nothing to transfer"),
    ("start", "DOWNLOAD_FAILED", f"{_FILE}; §3.2 step 3 at COMPLETEPULL, §3.5 the no-network "
     "bit of a refused start()"),
    ("start", "UPLOAD_FAILED", f"{_FILE}; §3.2 step 6 at COMPLETEPUSH, no batch created"),
    ("start", "STOPPED", f"{_FILE}; {_STOP}"),
    ("DOWNLOADING", "UPLOADING", f"{_FILE}: a created batch after the pull"),
    ("DOWNLOADING", "COMPLETED", f"{_FILE}: a pull and nothing to upload"),
    ("DOWNLOADING", "DOWNLOAD_FAILED", f"{_FILE}; §3.2 step 3"),
    ("DOWNLOADING", "UPLOAD_FAILED", f"{_FILE}; §3.2 step 6, no batch created"),
    ("DOWNLOADING", "STOPPED", f"{_FILE}; {_STOP}"),
    ("UPLOADING", "COMPLETED", f"{_FILE}; §3.2 step 7"),
    ("UPLOADING", "UPLOAD_FAILED", f"{_FILE}; §3.2 step 6"),
    ("UPLOADING", "STOPPED", f"{_FILE}; {_STOP}; §3.6 stop during upload"),
    ("UPLOADING", "DOWNLOADING", _NEXT_RUN),
)) + transitions("GallerySync", (
    ("start", "DOWNLOADING", f"{_GALLERY} step 1: DOWNLOADALBUM at once"),
    ("DOWNLOADING", "UPLOADING", f"{_GALLERY} step 4"),
    ("DOWNLOADING", "DOWNLOAD_FAILED", f"{_GALLERY} step 3"),
    ("DOWNLOADING", "COMPLETED", f"{_GALLERY} step 4: the cloud lock not taken, Abort"),
    ("DOWNLOADING", "STOPPED", f"{_GALLERY} {_STOP}"),
    ("UPLOADING", "COMPLETED", f"{_GALLERY} step 7; §3.6 happy sync"),
    ("UPLOADING", "UPLOAD_FAILED", f"{_GALLERY} step 6; §3.6 cellular, battery 12 %"),
    ("UPLOADING", "STOPPED", f"{_GALLERY} {_STOP}; §3.6"),
    ("UPLOADING", "DOWNLOADING", _NEXT_RUN),
))
"""A sync's SyncState as its progress events report it, run by run: a run starts from
``"start"`` and ends at its terminal state (COMPLETED, *_FAILED, STOPPED); a repeated state
(one event per batch) is no move."""

_DL = "research §3.7"
DOWNLOAD_TRANSITIONS: tuple[Transition, ...] = transitions("DownloadProgress", (
    ("start", "RUNNING", f"{_DL}: RUNNING while bytes arrive"),
    ("start", "COMPLETED", f"{_DL}: the final event; RUNNING events come only while "
     "bytes arrive, so a download may send none"),
    ("start", "FAILED", f"{_DL}: FAILED with a DownloadErrorType before any byte"),
    ("start", "STOPPED", f"{_DL}: a stop before any byte"),
    ("RUNNING", "COMPLETED", f"{_DL}: the final event"),
    ("RUNNING", "FAILED", f"{_DL}: the final event, or clean/disable (StopAllDownloads)"),
    ("RUNNING", "STOPPED", f"{_DL}: a stop emits STOPPED"),
))
"""A Download's or CloudFileCache's State per file, download by download."""

SPEC = ApiSpec("@ohos.file.cloudSync", DOCUMENT, ERRORS, METHODS,
               (SyncState, ErrorType, State, DownloadErrorType, FileSyncState, NotifyType),
               SYNC_TRANSITIONS + DOWNLOAD_TRANSITIONS)


_NO_FILESYNC = ("an ordinary app cannot hold a FileSync: its constructor throws 202 first "
                "(## FileSync ### constructor), so this method's 202 is never the one seen")
UNREACHABLE: dict[tuple[str, str, str, str], str] = {
    **{("error", "FileSync", name, "202"): _NO_FILESYNC
       for name in ("start", "stop", "on", "off", "getLastSyncTime")},
    ("enum", "FileSyncState", "DOWNLOADING", ""): "getFileSyncState never returns it: stored "
    "states map onto UPLOADING, TO_BE_UPLOADED, UPLOAD_FAILURE, UPLOAD_SUCCESS, and COMPLETED "
    "for anything else (research §2.11)",
    ("enum", "FileSyncState", "STOPPED", ""): "getFileSyncState never returns it (research "
    "§2.11, as DOWNLOADING)",
    ("enum", "DownloadErrorType", "FREQUENT_USER_REQUESTS", ""): "the cloud server's flow "
    "control (research §2.7); the simulated cloud has none",
    ("enum", "DownloadErrorType", "UNKNOWN_ERROR", ""): "any other server error (research "
    "§2.7); the simulated cloud's faults all have their own type",
    ("enum", "DownloadErrorType", "LOCAL_STORAGE_FULL", ""): "the reference reserves a "
    "download's bytes as it starts, right after start()'s 13900025 check: space cannot run "
    "out later",
    ("transition", "DownloadProgress", "start", "COMPLETED"): "the reference reports RUNNING "
    "(0 of the size) as a download begins, before any byte moves: a download completes only "
    "from RUNNING",
    ("transition", "DownloadProgress", "start", "STOPPED"): "the reference reports RUNNING "
    "in the instant start() settles, before a stop() can be called: a download stops only "
    "from RUNNING",
    ("transition", "GallerySync", "DOWNLOADING", "COMPLETED"): "research §3.2 step 4: only "
    "when the cloud lock is refused (Abort); the simulated cloud has no lock to refuse",
}
"""Documented items the reference target cannot reach, and why."""


_AS_401 = ("the releases report every registerChange/unregisterChange problem as 401 and "
           "check for no system app (research §2.12)")
_PUBLIC = ("FileSync is public since API 12 in the current sources: no system-app or "
           "permission check (research §2.2)")
UNREACHABLE_BY_PROFILE: dict[str, dict[tuple[str, str, str, str], str]] = {
    "documented": UNREACHABLE,
    "ohos-4.1": {
        **UNREACHABLE,
        ("enum", "ErrorType", "BATTERY_LEVEL_WARNING", ""): "the release never produces it: "
        "below 15 % a non-forced sync ends with BATTERY_LEVEL_LOW (research §2.4)",
        ("enum", "ErrorType", "DEVICE_TEMPERATURE_TOO_HIGH", ""): "the release has no thermal "
        "check (research §2.6)",
        **{("error", "cloudSync", method, str(NO_SUCH_FILE)): "the current NAPI checks "
           "the URI with realpath first: a file not there is 14000002 (research §2.11)"
           for method in ("getFileSyncState", "getFileSyncState(string)")},
        **{("error", "cloudSync", method, str(code)): _AS_401
           for method in ("registerChange", "unregisterChange")
           for code in (NOT_SYSTEM_APP, OPERATION_NOT_PERMITTED, NO_SUCH_FILE,
                        PERMISSION_DENIED_FS, INVALID_URI)},
    },
    "ohos-head": {
        **UNREACHABLE,
        ("enum", "ErrorType", "BATTERY_LEVEL_WARNING", ""): "an app's start() is a forced "
        "sync in the current sources, so only the battery below 10 % stops uploads, with "
        "BATTERY_LEVEL_LOW; no open code produces WARNING (research §2.4)",
        ("error", "FileSync", "constructor", str(NOT_SYSTEM_APP)): _PUBLIC,
        **{("error", "FileSync", name, str(code)): _PUBLIC
           for name in ("start", "stop", "on", "off", "getLastSyncTime")
           for code in (PERMISSION_DENIED, NOT_SYSTEM_APP)},
        **{("error", "CloudFileCache", "cleanCache", str(code)): "the current service drops "
           "the engine's answer to cleanCache and succeeds (research §2.1)"
           for code in (NO_SUCH_FILE, INVALID_URI)},
        **{("error", "cloudSync", method, str(NO_SUCH_FILE)): "the current NAPI checks "
           "the URI with realpath first: a file not there is 14000002 (research §2.11)"
           for method in ("getFileSyncState", "getFileSyncState(string)")},
        **{("error", "cloudSync", method, str(code)): _AS_401
           for method in ("registerChange", "unregisterChange")
           for code in (NOT_SYSTEM_APP, OPERATION_NOT_PERMITTED, NO_SUCH_FILE,
                        PERMISSION_DENIED_FS, INVALID_URI)},
    },
}
"""Per fidelity profile: the documented items its target cannot reach, and why."""

STOP_CAPACITY_LIMIT = 10.0
"""Battery percent below which (not charging) sync may not start and uploads stop (research
§2.4)."""
PAUSE_CAPACITY_LIMIT = 15.0
"""Battery percent below which (not charging) the documents report BATTERY_LEVEL_WARNING."""
