"""Reference ``@ohos.file.cloudSync`` on a simulated device and a simulated cloud drive.

``cloudSync = CloudSyncModule(device, cloud)`` gives the namespace a (system) app imports:
``GallerySync``, ``FileSync``, ``Download``, ``CloudFileCache``, ``getFileSyncState``,
``registerChange``/``unregisterChange`` and the enums with their documented values.
"""

from sim.ohos.cloudsync.api import (
    CloudFileCache,
    CloudSyncModule,
    Download,
    FileSync,
    GallerySync,
    LocalFiles,
)
from sim.ohos.cloudsync.constants import (
    ChangeData,
    DownloadErrorType,
    DownloadProgress,
    ErrorType,
    FileSyncState,
    NotifyType,
    State,
    SyncProgress,
    SyncState,
)
from sim.ohos.cloudsync.fidelity import (
    DOCUMENTED,
    OHOS_4_1,
    OHOS_HEAD,
    PROFILES,
    CloudSyncFidelity,
)

__all__ = [
    "DOCUMENTED",
    "OHOS_4_1",
    "OHOS_HEAD",
    "PROFILES",
    "ChangeData",
    "CloudFileCache",
    "CloudSyncFidelity",
    "CloudSyncModule",
    "Download",
    "DownloadErrorType",
    "DownloadProgress",
    "ErrorType",
    "FileSync",
    "FileSyncState",
    "GallerySync",
    "LocalFiles",
    "NotifyType",
    "State",
    "SyncProgress",
    "SyncState",
]
