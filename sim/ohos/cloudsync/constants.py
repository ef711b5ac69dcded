"""``@ohos.file.cloudSync`` values the reference uses.

Enums, error codes and messages come from the spec table
(:mod:`sim.spec.ohos_cloudsync`), the one place they are written; this module adds the
reference's own value types and limits.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from sim.spec.ohos_cloudsync import (
    BATTERY_LOW,
    CLOUD_NOT_READY,
    ERRORS,
    INTERRUPTED,
    INVALID_ARGUMENT,
    INVALID_PARAMETER,
    INVALID_URI,
    IPC_ERROR,
    NETWORK_UNAVAILABLE,
    NO_SPACE,
    NO_SUCH_FILE,
    NOT_IMPLEMENTED,
    NOT_SYSTEM_APP,
    OPERATION_NOT_PERMITTED,
    PAUSE_CAPACITY_LIMIT,
    PERMISSION_DENIED,
    PERMISSION_DENIED_FS,
    RUNTIME_MESSAGES,
    STOP_CAPACITY_LIMIT,
    TRY_AGAIN,
    UNKNOWN_ERROR,
    DownloadErrorType,
    ErrorType,
    FileSyncState,
    NotifyType,
    State,
    SyncState,
)


@dataclass(frozen=True)
class SyncProgress:
    state: SyncState
    error: ErrorType


@dataclass(frozen=True)
class DownloadProgress:
    state: State
    processed: int
    size: int
    uri: str
    error: DownloadErrorType


@dataclass(frozen=True)
class ChangeData:
    type: NotifyType
    isDirectory: list[bool]
    uris: list[str]


DOCUMENTED_MESSAGES: dict[int, str] = {code: e.message for code, e in ERRORS.items()}

ERRNO_CODES: dict[int, int] = {
    errno.EPERM: OPERATION_NOT_PERMITTED,
    errno.ENOENT: NO_SUCH_FILE,
    errno.EINTR: INTERRUPTED,
    errno.EAGAIN: TRY_AGAIN,
    errno.EACCES: PERMISSION_DENIED_FS,
    errno.ENOSPC: NO_SPACE,
    errno.ENOSYS: NOT_IMPLEMENTED,
}
"""File-system errors as the file-management error codes name them; any other errno is
13900042 "Unknown error"."""


GALLERY_BUNDLE = "com.ohos.photos"


__all__ = [
    "BATTERY_LOW", "CLOUD_NOT_READY", "DOCUMENTED_MESSAGES", "ERRNO_CODES", "ERRORS",
    "GALLERY_BUNDLE", "INTERRUPTED", "INVALID_ARGUMENT", "INVALID_PARAMETER", "INVALID_URI",
    "IPC_ERROR", "NETWORK_UNAVAILABLE", "NOT_IMPLEMENTED", "NOT_SYSTEM_APP", "NO_SPACE",
    "NO_SUCH_FILE",
    "OPERATION_NOT_PERMITTED", "PAUSE_CAPACITY_LIMIT", "PERMISSION_DENIED",
    "PERMISSION_DENIED_FS", "RUNTIME_MESSAGES", "STOP_CAPACITY_LIMIT", "TRY_AGAIN",
    "UNKNOWN_ERROR", "ChangeData", "DownloadErrorType", "DownloadProgress", "ErrorType",
    "FileSyncState", "NotifyType", "State", "SyncProgress", "SyncState",
]
