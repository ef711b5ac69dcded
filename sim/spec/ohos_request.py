"""``@ohos.request`` as documented in ``../shared/spec/ohos-request.md``, with the values the
platform exports.

The API page lists the names without values; the values come from the platform's
``constant.h`` / ``request_module.cpp`` and are asserted by the platform's own conformance tests
(``../shared/research/ohos-request.md`` §1.1). Messages are the runtime's ``*_INFO`` strings
(§1.2), kept byte for byte (note the leading space of 13400001's).
"""

from __future__ import annotations

from sim.spec.model import MethodSpec, Transition, transitions

NETWORK_MOBILE = 0x00000001
NETWORK_WIFI = 0x00010000

ERROR_CANNOT_RESUME = 0
ERROR_DEVICE_NOT_FOUND = 1
ERROR_FILE_ALREADY_EXISTS = 2
ERROR_FILE_ERROR = 3
ERROR_HTTP_DATA_ERROR = 4
ERROR_INSUFFICIENT_SPACE = 5
ERROR_TOO_MANY_REDIRECTS = 6
ERROR_UNHANDLED_HTTP_CODE = 7
ERROR_UNKNOWN = 8
ERROR_OFFLINE = 9
ERROR_UNSUPPORTED_NETWORK_TYPE = 10

PAUSED_QUEUED_FOR_WIFI = 0
PAUSED_WAITING_FOR_NETWORK = 1
PAUSED_WAITING_TO_RETRY = 2
PAUSED_BY_USER = 3
PAUSED_UNKNOWN = 4

SESSION_SUCCESSFUL = 0
SESSION_RUNNING = 1
SESSION_PENDING = 2
SESSION_PAUSED = 3
SESSION_FAILED = 4

EXCEPTION_PERMISSION = 201
EXCEPTION_PARAMCHECK = 401
EXCEPTION_UNSUPPORTED = 801
EXCEPTION_FILEIO = 13400001
EXCEPTION_FILEPATH = 13400002
EXCEPTION_SERVICE = 13400003
EXCEPTION_OTHERS = 13499999

MESSAGES: dict[int, str] = {
    EXCEPTION_PERMISSION: "the permissions check fails",
    EXCEPTION_PARAMCHECK: "the parameters check fails",
    EXCEPTION_UNSUPPORTED: "call unsupported api",
    EXCEPTION_FILEIO: " file operation error",
    EXCEPTION_FILEPATH: "bad file path",
    EXCEPTION_SERVICE: "task service ability error",
    EXCEPTION_OTHERS: "other error",
}
"""The runtime's message for each exception code; a detail follows after three spaces."""

# Upload per-file result codes (TaskState.responseCode) and their messages (§1.3).
UPLOAD_OK = 0
UPLOAD_UNSUPPORTED_URI = 1
UPLOAD_GET_FILE_ERROR = 2
UPLOAD_CONFIG_ERROR = 3
UPLOAD_LIB_ERROR = 4
UPLOAD_FAIL = 5
UPLOAD_TIMEOUT = 6
UPLOAD_REMOVED = 7

UPLOAD_MESSAGES: dict[int, str] = {
    UPLOAD_OK: "file uploaded successfully",
    UPLOAD_UNSUPPORTED_URI: "file path error",
    UPLOAD_GET_FILE_ERROR: "failed to get file",
    UPLOAD_CONFIG_ERROR: "upload configuration error",
    UPLOAD_LIB_ERROR: "libcurl return error",
    UPLOAD_FAIL: "upload failed",
    UPLOAD_TIMEOUT: "upload timeout",
    UPLOAD_REMOVED: "upload task removed",
}

DOCUMENT = "ohos-request.md"

DOCUMENTED_CONSTANTS = (
    "NETWORK_MOBILE", "NETWORK_WIFI", "ERROR_CANNOT_RESUME", "ERROR_DEVICE_NOT_FOUND",
    "ERROR_FILE_ALREADY_EXISTS", "ERROR_FILE_ERROR", "ERROR_HTTP_DATA_ERROR",
    "ERROR_INSUFFICIENT_SPACE", "ERROR_TOO_MANY_REDIRECTS", "ERROR_UNHANDLED_HTTP_CODE",
    "ERROR_UNKNOWN", "PAUSED_QUEUED_FOR_WIFI", "PAUSED_UNKNOWN", "PAUSED_WAITING_FOR_NETWORK",
    "PAUSED_WAITING_TO_RETRY", "SESSION_FAILED", "SESSION_PAUSED", "SESSION_PENDING",
    "SESSION_RUNNING", "SESSION_SUCCESSFUL",
)
"""The names the page's Constants table lists (it gives no values)."""

METHODS: tuple[MethodSpec, ...] = tuple(
    MethodSpec(owner, name, overload, (), f"{DOCUMENT} {section}", "ohos.permission.INTERNET")
    for owner, name, overload, section in (
        ("request", "upload", "upload(config): Promise / (config, callback)", "## request.upload"),
        ("UploadTask", "on", "on('progress' | 'headerReceive', callback)", "## UploadTask"),
        ("UploadTask", "off", "off('progress' | 'headerReceive', callback?)", "## UploadTask"),
        ("UploadTask", "remove", "remove(): Promise<boolean> / (callback)", "## UploadTask"),
        ("request", "download", "download(config): Promise / (config, callback)",
         "## request.download"),
        ("DownloadTask", "on", "on('progress' | 'complete' | 'pause' | 'remove' | 'fail', cb)",
         "## DownloadTask"),
        ("DownloadTask", "off", "off(type, callback?)", "## DownloadTask"),
        ("DownloadTask", "remove", "remove(): Promise<boolean> / (callback)", "## DownloadTask"),
        ("DownloadTask", "query", "query(): Promise<DownloadInfo> / (callback)",
         "## DownloadTask ### query"),
        ("DownloadTask", "queryMimeType", "queryMimeType(): Promise<string> / (callback)",
         "## DownloadTask ### queryMimeType"),
        ("DownloadTask", "pause", "pause(): Promise<void> / (callback)",
         "## DownloadTask ### pause"),
        ("DownloadTask", "resume", "resume(): Promise<void> / (callback)",
         "## DownloadTask ### resume"),
    ))


API9_METHODS: tuple[MethodSpec, ...] = tuple(
    MethodSpec(owner, name, overload, errors, f"research §{section}", "ohos.permission.INTERNET")
    for owner, name, overload, errors, section in (
        ("request", "downloadFile", "downloadFile(context, config): Promise / (…, callback)",
         (201, 401, 13400001, 13400002, 13400003), "2.1, §3.1"),
        ("request", "uploadFile", "uploadFile(context, config): Promise / (…, callback)",
         (401, 13400002), "2.1, §4.1"),
        ("DownloadTask", "delete", "delete(): Promise<boolean> / (callback)", (201, 401),
         "2.1, §2.2"),
        ("DownloadTask", "suspend", "suspend(): Promise<boolean> / (callback)", (201, 401),
         "2.1, §2.2"),
        ("DownloadTask", "restore", "restore(): Promise<boolean> / (callback)", (201, 401),
         "2.1, §2.2"),
        ("DownloadTask", "getTaskInfo", "getTaskInfo(): Promise<DownloadInfo> / (callback)",
         (201, 401), "2.1, §3.10"),
        ("DownloadTask", "getTaskMimeType", "getTaskMimeType(): Promise<string> / (callback)",
         (201, 401, 13400003), "2.1, §3.10"),
        ("UploadTask", "delete", "delete(): Promise<boolean> / (callback)", (201, 401),
         "2.1, §4.7"),
    ))
"""The API 9 forms (SDK-3.2's d.ts, research §2.1): not on the API page, declared with the
codes each throws."""


_RUN = "research §3.3 reachable transitions"
TRANSITIONS: tuple[Transition, ...] = transitions("DownloadTask", tuple(
    (f"SESSION_{source}", f"SESSION_{target}", section) for source, target, section in (
        ("PENDING", "RUNNING", f"{_RUN}: a queued task (shown PENDING, §3.2) taken by a "
         "worker"),
        ("RUNNING", "SUCCESSFUL", f"{_RUN}: 200/206 done"),
        ("RUNNING", "FAILED", f"{_RUN}: an HTTP/curl error; §3.8 an unsupported network"),
        ("RUNNING", "PAUSED", f"{_RUN}: pause(), or WAITING_TO_RETRY after three attempts"),
        ("RUNNING", "PENDING", f"{_RUN}: a connect/DNS/timeout error, retried"),
        ("PENDING", "PAUSED", f"{_RUN}: pause() of a queued or retrying task; §3.7"),
        ("PENDING", "FAILED", "research §3.3 Run(): no network before RUNNING, ERROR_OFFLINE"),
        ("PENDING", "SUCCESSFUL", "research §3.3 Run(): a retry that succeeds ends from "
         "PENDING; §3.5 a file already whole succeeds with no request"),
        ("PAUSED", "PENDING", f"{_RUN}: resume() queues the task again; §3.7"),
    )))
"""The moves of a download's status the research derives: the only ones a task may make."""


DOWNLOAD_EVENTS = "DownloadTask events"
UPLOAD_EVENTS = "UploadTask events"
_REMOVE = "research §3.7: remove() emits 'remove' synchronously, whatever the task's state"
EVENT_ORDER: tuple[Transition, ...] = transitions(DOWNLOAD_EVENTS, (
    ("start", "progress", "research §3.9: progress from the transfer's progress callback "
     "once the size probe has succeeded (§3.4)"),
    ("start", "complete", "research §3.5: a file already whole succeeds with no request; "
     "§3.9: no progress event is guaranteed"),
    ("start", "fail", "research §3.3: offline or an unsupported network when Run() starts "
     "(§3.8); §3.4: after a failed probe no progress is sent"),
    ("start", "pause", "research §3.7: pause() emits 'pause' at once, before any byte; §3.3: "
     "PAUSED_WAITING_TO_RETRY after three failed connects"),
    ("start", "remove", _REMOVE),
    ("progress", "complete", "research §3.5: a 200/206 answer received whole"),
    ("progress", "fail", "research §3.5: an HTTP or curl error, a write error mid-body"),
    ("progress", "pause", "research §3.7: pause() while RUNNING; §3.13 a lost network makes "
     "the current platform's task WAIT"),
    ("progress", "remove", _REMOVE),
    ("pause", "progress", "research §3.7: resume() goes on with a Range request, "
     "receivedSize counting the file's bytes; §3.8 a waiting task resumes by itself"),
    ("pause", "complete", "research §3.7, §3.5: the resume of a file already whole succeeds "
     "with no request"),
    ("pause", "fail", "research §3.7, §3.5: the resume's Range answered with other bytes "
     "fails (ERROR_UNHANDLED_HTTP_CODE); §3.8 the network check of the resumed Run()"),
    ("pause", "pause", "research §3.7: pause() of a resumed task before its next byte"),
    ("pause", "remove", _REMOVE),
    ("complete", "remove", _REMOVE),
    ("fail", "remove", _REMOVE),
))
"""The order of a download's events (progress collapsed: progress→progress is not a move),
from ``start``, its creation. complete and fail end a task's events but for 'remove': a
failed task resumes only from ERROR_CANNOT_RESUME, which nothing sets (§3.6), and 'remove'
is the last event of all (§3.7: the task is erased)."""

_NEXT_FILE = "research §4.3: one request per file, in turn; §4.4: progress is cumulative"
UPLOAD_EVENT_ORDER: tuple[Transition, ...] = transitions(UPLOAD_EVENTS, (
    ("start", "progress", "research §4.4: progress as the first file's bytes are sent"),
    ("start", "fail", "research §4.5: a file that cannot be obtained: nothing is sent, every "
     "file is reported"),
    ("start", "headerReceive", "research §4.6: a non-200 answer before a byte counts "
     "(§4.4: progress only when the count changes)"),
    ("progress", "headerReceive", "research §4.6: the last file's 200, or any file's "
     "non-200 answer (current platform: every file's)"),
    ("progress", "fail", "research §4.3: a curl error, or a read stalled, mid-file; §4.5"),
    ("headerReceive", "progress", _NEXT_FILE),
    ("headerReceive", "headerReceive", "research §4.6: headers of files in turn with no byte "
     "counted between"),
    ("headerReceive", "complete", "research §4.5, §4.6: after the last file's 200"),
    ("headerReceive", "fail", "research §4.5, §4.6: after the last file's answer, one file's "
     "was not 200"),
))
"""The order of an upload's events (progress collapsed), from ``start``, its creation:
complete and fail are the last (§4.5), and an upload has no 'remove' event (§4.7)."""


def documented_items() -> set[tuple[str, str, str, str]]:
    """The page's constants as coverage items: ("enum", group, name, "") — group is the
    prefix (NETWORK, ERROR, PAUSED, SESSION) —, each API 9 method's codes: ("error",
    owner, method, code), the status transitions: ("transition", "DownloadTask", source,
    target), and the order of events: ("transition", "DownloadTask events" or "UploadTask
    events", event, next event)."""
    return {("enum", name.split("_", 1)[0], name, "") for name in DOCUMENTED_CONSTANTS} | {
        ("error", m.owner, m.name, str(code)) for m in API9_METHODS for code in m.errors} | {
        t.item for t in (*TRANSITIONS, *EVENT_ORDER, *UPLOAD_EVENT_ORDER)}


_UNREACHABLE_3_6 = "research §3.6: "
UNREACHABLE: dict[tuple[str, str, str, str], str] = {
    ("enum", "ERROR", "ERROR_CANNOT_RESUME", ""): _UNREACHABLE_3_6 + "only from resume() while "
    "the task is marked offline, a mark nothing sets; not produced on later releases",
    ("enum", "ERROR", "ERROR_DEVICE_NOT_FOUND", ""): _UNREACHABLE_3_6 + "a service-side ENODEV "
    "opening the file, which the client has already created (or refused with 13400002)",
    ("enum", "ERROR", "ERROR_FILE_ALREADY_EXISTS", ""): _UNREACHABLE_3_6 + "the client throws "
    "13400002 for an existing file first",
    ("enum", "ERROR", "ERROR_FILE_ERROR", ""): _UNREACHABLE_3_6 + "another error opening a "
    "file the client has already created",
    ("enum", "PAUSED", "PAUSED_QUEUED_FOR_WIFI", ""): _UNREACHABLE_3_6 + "never set, on any "
    "release (no size limit for mobile data exists to trigger it)",
    ("enum", "ERROR", "ERROR_HTTP_DATA_ERROR", ""): "research §3.6: a write error of the "
    "downloaded file with a 200/206 answer; the simulated device reports a full disk as "
    "ERROR_INSUFFICIENT_SPACE (documented profile) and its real files do not fail otherwise",
}
"""Documented constants the reference cannot produce, and why."""


UNREACHABLE[("transition", "DownloadTask", "SESSION_PENDING", "SESSION_SUCCESSFUL")] = (
    "research §3.3: the reference marks a retried download RUNNING again before its next "
    "attempt, and a whole file's empty request runs as RUNNING: a download succeeds only from "
    "RUNNING")
_QUEUED_PAUSE = ("research §3.3: only pause() of a task still queued; the reference starts a "
                 "task in the instant after its creation returns (§3.2), and its pauses come "
                 "while it runs, so a pause leaves RUNNING")
UNREACHABLE[("transition", "DownloadTask", "SESSION_PENDING", "SESSION_PAUSED")] = _QUEUED_PAUSE

_EVENTS = "research §3.5, §3.7: "
UNREACHABLE[("transition", DOWNLOAD_EVENTS, "pause", "complete")] = _EVENTS + (
    "only the resume of a task whose file is already whole; the reference's pauses come "
    "mid-body and a whole file completes in the instant of its last write")
UNREACHABLE[("transition", DOWNLOAD_EVENTS, "pause", "fail")] = _EVENTS + (
    "a resumed task's first progress reports the bytes its file holds (downloadSize_ = pos) "
    "before its answer is judged, and the machine resumes only on the network the task "
    "started on, which the §3.8 check passes")
UNREACHABLE[("transition", DOWNLOAD_EVENTS, "pause", "pause")] = _EVENTS + (
    "a resumed task's first progress reports the bytes its file holds before a pause() can "
    "come, and the machine pauses a task only mid-body")
_ANSWERED_AFTER_BODY = ("research §4.4, §4.6: a headerReceive with no byte counted before "
                        "it; the fixture server answers an upload once it has read the "
                        "file's body, so each file's bytes are progress before its answer")
UNREACHABLE[("transition", UPLOAD_EVENTS, "start", "headerReceive")] = _ANSWERED_AFTER_BODY
UNREACHABLE[("transition", UPLOAD_EVENTS, "headerReceive", "headerReceive")] = \
    _ANSWERED_AFTER_BODY

_GRANTED = ("research §2.2: a task exists only for an app that holds INTERNET, and the "
            "simulated device never revokes a granted permission")
_IPC = ("research §3.1 step 9, §2.2: only when the call to the download service fails, and the "
        "simulated service is in the app's process")
for _m in API9_METHODS:
    if _m.owner != "request":
        UNREACHABLE[("error", _m.owner, _m.name, "201")] = _GRANTED
UNREACHABLE[("error", "request", "downloadFile", "13400003")] = _IPC
_HEAD_MIME = ("research §2.2: the current platform resolves getTaskMimeType() with \"\" "
              "instead of rejecting")
_HEAD_WAITS = ("research §3.6, §3.13: on the current platform such a task WAITs (shown as "
               "PAUSED_WAITING_FOR_NETWORK) instead of failing")
_HEAD_HTTP = ("research §3.6: the current platform's HTTP errors are ERROR_UNKNOWN; "
              "ERROR_UNHANDLED_HTTP_CODE is not produced")

UNREACHABLE_BY_PROFILE: dict[str, dict[tuple[str, str, str, str], str]] = {
    "documented": UNREACHABLE,
    "page-kb": UNREACHABLE,
    "ohos-head": {
        **UNREACHABLE,
        ("error", "DownloadTask", "getTaskMimeType", "13400003"): _HEAD_MIME,
        ("enum", "ERROR", "ERROR_OFFLINE", ""): _HEAD_WAITS,
        ("enum", "ERROR", "ERROR_UNSUPPORTED_NETWORK_TYPE", ""): _HEAD_WAITS,
        ("enum", "ERROR", "ERROR_UNHANDLED_HTTP_CODE", ""): _HEAD_HTTP,
        ("enum", "PAUSED", "PAUSED_WAITING_TO_RETRY", ""): "research §3.6: the current "
        "platform reports PAUSED_WAITING_FOR_NETWORK where 3.2 and 4.0 used it",
        ("transition", "DownloadTask", "SESSION_PENDING", "SESSION_FAILED"): _HEAD_WAITS,
    },
    "ohos-3.2": {
        **{k: v for k, v in UNREACHABLE.items() if k[2] != "ERROR_HTTP_DATA_ERROR"},
        ("enum", "ERROR", "ERROR_INSUFFICIENT_SPACE", ""): _UNREACHABLE_3_6 + "never set on "
        "3.2: a full disk is a write error, ERROR_HTTP_DATA_ERROR",
        ("enum", "PAUSED", "PAUSED_WAITING_FOR_NETWORK", ""): _UNREACHABLE_3_6 + "on 3.2 only "
        "through a rewrite nothing triggers; a lost network is retried, then "
        "PAUSED_WAITING_TO_RETRY",
    },
}
"""Per fidelity profile: the constants its target cannot produce, and why."""
