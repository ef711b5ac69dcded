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
    """3.2: a bad argument to the legacy entry points is a plain ``Error`` with no code
    (``NAPI_ASSERT``); documented: BusinessError 401 [§2.2]."""
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


DOCUMENTED = RequestFidelity()
OHOS_3_2 = RequestFidelity(
    name="ohos-3.2", progress_unit=1, off_calls_callback=True, header_receive_string=True,
    multipart_name_file=True, multipart_filename_from_uri=True, remove_keeps_file=True,
    pause_resolves_true=True, network_loss_waits=False, insufficient_space_code=False,
    plain_param_errors=True, permission_denied_silent=True, paused_reason_sticky=True,
    query_path_is_directory=True)
PAGE_KB = RequestFidelity(name="page-kb", progress_unit=1024)

PROFILES: dict[str, RequestFidelity] = {p.name: p for p in (DOCUMENTED, OHOS_3_2, PAGE_KB)}


def profile(name: str) -> RequestFidelity:
    """A profile by name; ValueError naming the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown request fidelity profile {name!r} "
                         f"(known: {', '.join(PROFILES)})") from None
