"""Fidelity profiles of ``@ohos.request``: the documents by default, a release on request.

Each switch is one observed difference between the platform's release and its documents, cited
to ``../shared/research/ohos-request.md`` (section in brackets). A conformance run names the
profile it checks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestFidelity:
    """Behaviour switches; the defaults are the documented behaviour."""

    name: str = "documented"
    progress_unit: int = 1
    """Divisor applied to byte counts in progress events. The d.ts and the platform use bytes
    (1); the API page says KB — profile ``page-kb`` reports KiB (1024) [§3.9, §4.4, §6]."""
    off_calls_callback: bool = False
    """3.2: ``off(type, cb)`` calls ``cb`` once with the current data [§3.9, §4.7]."""
    header_receive_string: bool = False
    """3.2: ``headerReceive`` delivers the raw header block as one string; documented: an
    object of header names to values [§4.6]."""
    multipart_name_file: bool = False
    """3.2: the file part is always named ``"file"``; documented: ``File.name`` (default
    ``"file"``) [§4.3]."""
    multipart_filename_from_uri: bool = False
    """3.2: the file part's ``filename`` is the last segment of ``uri``, not ``File.filename``
    as the page documents [§4.3]."""
    remove_keeps_file: bool = False
    """3.2: ``remove()`` keeps the downloaded file; the d.ts says it deletes it [§3.7]."""
    pause_resolves_true: bool = False
    """3.2: ``pause()``/``resume()`` resolve ``true``; documented ``Promise<void>`` [§2.2]."""
    network_loss_waits: bool = True
    """Documented (and the current platform): a network loss pauses a download with
    PAUSED_WAITING_FOR_NETWORK and it resumes by itself. 3.2: the transfer fails like a
    connect error — retried, then PAUSED_WAITING_TO_RETRY [§3.6, §3.8]."""
    plain_param_errors: bool = False
    """3.2: a bad argument to the legacy (API 8) calls is a plain ``Error`` with no code
    (``NAPI_ASSERT``); documented and current: BusinessError 401 (the current platform's own
    tests expect 401 for a bad URL given to ``download``, §3.1 step 6). The API 9 calls answer
    401 on every profile [§2.2]."""
    permission_denied_silent: bool = False
    """3.2: ``download()`` without INTERNET returns undefined; the current platform rejects
    with 201, as the page's "Required permissions" implies [§2.2]."""
    paused_reason_sticky: bool = False
    """3.2: once PAUSED_BY_USER, ``pausedReason`` never changes again, even after resume
    [§3.3]; documented: the reason describes the current pause."""
    query_path_is_directory: bool = False
    """3.2: ``DownloadInfo.filePath`` is the directory, not the file's URI [§3.10]."""
    insufficient_space_code: bool = True
    """Documented: a file that cannot fit fails with ERROR_INSUFFICIENT_SPACE. 3.2 never sets
    it: the write error gives ERROR_HTTP_DATA_ERROR [§3.6]."""
    unavailable_network_waits: bool = False
    """Documented (and 3.2): a download that starts offline fails with ERROR_OFFLINE, one on
    a network its config does not allow with ERROR_UNSUPPORTED_NETWORK_TYPE. Current
    platform: the task WAITs instead — shown as SESSION_PAUSED with
    PAUSED_WAITING_FOR_NETWORK — and goes on by itself on a suitable network [§3.6, §3.8,
    §3.13]."""
    retry_pause_reason: int = 2
    """The reason of a task paused after its last connect/DNS/timeout retry:
    PAUSED_WAITING_TO_RETRY (2) documented, on 3.2 and 4.0; the current platform reports
    PAUSED_WAITING_FOR_NETWORK (1) where 4.0 used it, and goes on when a network comes
    [§3.6]."""
    http_error_unknown: bool = False
    """Current platform: an HTTP error answer fails with ERROR_UNKNOWN (its PROTOCOL_ERROR is
    not in the legacy code map); documented and 3.2: ERROR_UNHANDLED_HTTP_CODE [§3.6]."""
    listeners_many: bool = False
    """Current platform: several listeners per event type, ``off(type, cb)`` removing that
    one and ``off(type)`` all; documented and 3.2: one listener per type, a new ``on``
    replacing the old [§3.9, §3.13]."""
    default_title: str = ""
    """``DownloadInfo.downloadTitle`` without a title: ``""`` documented and on 3.2,
    ``"download"`` on the current platform [§3.1 step 7]."""
    empty_mime_rejects: bool = True
    """``getTaskMimeType()`` before the size probe saw a ``Content-Type`` (or without one):
    documented (d.ts: 13400003) and 3.2 reject with 13400003; the current platform resolves
    ``""`` [§2.2, §3.10]."""
    legacy_empty_mime_rejects: bool = False
    """``queryMimeType()`` likewise: the page lists no error and resolves the type; 3.2
    rejects with 13400003 [§2.2]."""
    absolute_paths_only: bool = False
    """``downloadFile``'s ``filePath``: documented and current, an absolute path inside the
    app's cache or files folder, a relative one taken under ``context.cacheDir`` and none
    at all meaning ``cacheDir/<last URL segment>``; 3.2 takes only an absolute path whose
    folder exists (anything else: 13400002) [§3.1 step 8]."""
    missing_folder_code: int = 13400002
    """``downloadFile`` into a folder that does not exist, or outside the app's folders:
    13400002 "Download File Path Valid" documented (DOC-ERR: "the file path is incorrect")
    and on 3.2 (``realpath`` fails); the current platform's open fails, 13400001
    [§3.1 step 8]."""
    upload_checks_files: bool = True
    """``uploadFile`` with a file that does not exist: documented (DOC-ERR) and current,
    13400002 at the call; 3.2 checks only the URI's form and reports the file later, as
    TaskState code 2 [§4.1]."""
    queued_status_unknown: bool = False
    """3.2: a queued (or just resumed) task's ``status`` is the unexported 5
    (SESSION_UNKNOWN); documented and current: SESSION_PENDING [§3.2, §3.10]."""
    query_uint32: bool = False
    """3.2: ``query()``/``getTaskInfo()`` write numbers as uint32 — an unknown size -1 is
    4294967295 — and ``downloadId`` is read from the wrong field (0) [§3.10]."""


DOCUMENTED = RequestFidelity()
OHOS_3_2 = RequestFidelity(
    name="ohos-3.2", progress_unit=1, off_calls_callback=True, header_receive_string=True,
    multipart_name_file=True, multipart_filename_from_uri=True, remove_keeps_file=True,
    pause_resolves_true=True, network_loss_waits=False, insufficient_space_code=False,
    plain_param_errors=True, permission_denied_silent=True, paused_reason_sticky=True,
    query_path_is_directory=True, legacy_empty_mime_rejects=True, absolute_paths_only=True,
    upload_checks_files=False, queued_status_unknown=True, query_uint32=True)
OHOS_HEAD = RequestFidelity(
    name="ohos-head", remove_keeps_file=True, retry_pause_reason=1,
    unavailable_network_waits=True, http_error_unknown=True, listeners_many=True,
    default_title="download", empty_mime_rejects=False, missing_folder_code=13400001)
"""The current sources (RR-HEAD): the legacy API on the API 10 task service [§3.13]."""
PAGE_KB = RequestFidelity(name="page-kb", progress_unit=1024)

PROFILES: dict[str, RequestFidelity] = {
    p.name: p for p in (DOCUMENTED, OHOS_3_2, OHOS_HEAD, PAGE_KB)}


def profile(name: str) -> RequestFidelity:
    """A profile by name; ValueError naming the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown request fidelity profile {name!r} "
                         f"(known: {', '.join(PROFILES)})") from None
