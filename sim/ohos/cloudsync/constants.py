"""``@ohos.file.cloudSync`` enums and error codes, with the documented messages.

Values are those of the API page (``../shared/spec/ohos-file-cloudsync.md``) and the platform's
NAPI export (research §1.1). ``DOCUMENTED_MESSAGES`` holds the page's "Error Message" column
(its most frequent wording where pages differ); ``RUNTIME_MESSAGES`` the strings the platform's
runtime really puts in ``err.message`` (research §1.3), used by the release profiles.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from enum import IntEnum


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
    """Download states (``Download``/``CloudFileCache`` progress)."""

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


PERMISSION_DENIED = 201
NOT_SYSTEM_APP = 202
INVALID_PARAMETER = 401
IPC_ERROR = 13600001
OPERATION_NOT_PERMITTED = 13900001
NO_SUCH_FILE = 13900002
INTERRUPTED = 13900004
TRY_AGAIN = 13900010
PERMISSION_DENIED_FS = 13900012
NO_SPACE = 13900025
NOT_IMPLEMENTED = 13900031
UNKNOWN_ERROR = 13900042
INVALID_URI = 14000002
CLOUD_NOT_READY = 22400001
NETWORK_UNAVAILABLE = 22400002
BATTERY_LOW = 22400003

DOCUMENTED_MESSAGES: dict[int, str] = {
    PERMISSION_DENIED: "Permission verification failed.",
    NOT_SYSTEM_APP: "The caller is not a system application.",
    INVALID_PARAMETER: "The input parameter is invalid. Possible causes: 1. Mandatory "
                       "parameters are left unspecified. 2. Incorrect parameter types.",
    IPC_ERROR: "IPC error.",
    OPERATION_NOT_PERMITTED: "Operation not permitted.",
    NO_SUCH_FILE: "No such file or directory.",
    INTERRUPTED: "Interrupted system call.",
    TRY_AGAIN: "Try again.",
    PERMISSION_DENIED_FS: "Permission denied.",
    NO_SPACE: "No space left on device.",
    NOT_IMPLEMENTED: "Function not implemented.",
    UNKNOWN_ERROR: "Unknown error.",
    INVALID_URI: "Invalid URI.",
    CLOUD_NOT_READY: "Cloud status not ready.",
    NETWORK_UNAVAILABLE: "Network unavailable.",
    BATTERY_LOW: "Low battery level.",
}

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
    NO_SPACE: "No space left on device",
    NOT_IMPLEMENTED: "Function not implemented",
    UNKNOWN_ERROR: "Unknown error",
    INVALID_URI: "Invalid uri",
    CLOUD_NOT_READY: "Cloud status not ready",
    NETWORK_UNAVAILABLE: "Network unavailable",
    BATTERY_LOW: "Battery level warning",
}

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

STOP_CAPACITY_LIMIT = 10.0
"""Below this (not charging) sync may not start and uploads stop (research §2.4)."""
PAUSE_CAPACITY_LIMIT = 15.0
"""Below this (not charging) the documents report BATTERY_LEVEL_WARNING."""

GALLERY_BUNDLE = "com.ohos.photos"
