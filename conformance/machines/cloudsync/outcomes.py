"""What the documents say each condition leads to: ``start()``'s conditions, the sync and
download outcomes, a file's state after a sync, the codes file-system errors surface as. Data
only, so a reader can hold the tables against the pages and the research."""

from __future__ import annotations

import errno
from dataclasses import dataclass

from sim.spec import ohos_cloudsync as spec

GALLERY = "com.ohos.photos"


@dataclass(frozen=True)
class Condition:
    """One or two of ``start()``'s conditions at once (research §2.3). Printed as the research
    names them (``offline+logged-out``, ``charging-5``), ``none`` when nothing holds."""

    online: bool = True
    logged_in: bool = True
    switch_on: bool = True
    """The app's cloud switch (the gallery's for GallerySync)."""
    battery: float | None = None
    """The battery level, or None to leave it as it is."""
    charging: bool = False

    def __str__(self) -> str:
        parts = [name for name, holds in (("offline", not self.online),
                                          ("logged-out", not self.logged_in),
                                          ("switch-off", not self.switch_on)) if holds]
        if self.battery is not None:
            parts.append(f"{'charging' if self.charging else 'battery'}-{self.battery:g}")
        return "+".join(parts) or "none"


START_CONDITIONS = (
    Condition(), Condition(online=False), Condition(logged_in=False),
    Condition(switch_on=False), Condition(battery=9.0), Condition(battery=10.0),
    Condition(battery=5.0, charging=True), Condition(online=False, logged_in=False),
    Condition(logged_in=False, battery=5.0), Condition(switch_on=False, battery=9.0))
"""start()'s conditions (research §2.3), and pairs of them to show their order."""

TERMINAL = {spec.SyncState.COMPLETED, spec.SyncState.UPLOAD_FAILED,
            spec.SyncState.DOWNLOAD_FAILED, spec.SyncState.STOPPED}
SYNC_SECTION = f"{spec.DOCUMENT} ## SyncState, ## ErrorType; research §2.4"
_S, _E = spec.SyncState, spec.ErrorType
OUTCOMES = {
    # condition: the sync's last progress event (documented profile; research §2.4-§2.6)
    "clean": (_S.COMPLETED, _E.NO_ERROR),
    "battery-15": (_S.COMPLETED, _E.NO_ERROR),
    "battery-12": (_S.UPLOAD_FAILED, _E.BATTERY_LEVEL_WARNING),
    "charging-5-then-unplugged": (_S.UPLOAD_FAILED, _E.BATTERY_LEVEL_LOW),
    "cloud-full": (_S.UPLOAD_FAILED, _E.CLOUD_STORAGE_FULL),
    "local-full": (_S.DOWNLOAD_FAILED, _E.LOCAL_STORAGE_FULL),
    "overheated": (_S.UPLOAD_FAILED, _E.DEVICE_TEMPERATURE_TOO_HIGH),
    "radio-lost-mid-upload": (_S.UPLOAD_FAILED, _E.NETWORK_UNAVAILABLE),
    "gallery-on-cellular": (_S.UPLOAD_FAILED, _E.WIFI_UNAVAILABLE),
    "stopped": (_S.STOPPED, _E.NO_ERROR),
}
SYNC_CONDITIONS = sorted(OUTCOMES)
"""The sync conditions by name: a rule draws their order, and a trace shows the names."""
SYNC_BATTERY = {"battery-15": 15.0, "battery-12": 12.0}
"""The battery level each battery condition of a sync sets (the 15 % and 12 % of §2.4)."""
FILE_STATES = {
    "clean": spec.FileSyncState.UPLOAD_SUCCESS, "battery-15": spec.FileSyncState.UPLOAD_SUCCESS,
    "battery-12": spec.FileSyncState.TO_BE_UPLOADED,
    "cloud-full": spec.FileSyncState.UPLOAD_FAILURE,
    "radio-lost-mid-upload": spec.FileSyncState.UPLOAD_FAILURE,
}
"""A file's state after each sync (the page's FileSyncState descriptions)."""
DOWNLOAD_OUTCOMES = {
    "complete": (spec.State.COMPLETED, spec.DownloadErrorType.NO_ERROR),
    "stopped": (spec.State.STOPPED, spec.DownloadErrorType.NO_ERROR),
    "vanished": (spec.State.FAILED, spec.DownloadErrorType.CONTENT_NOT_FOUND),
    "radio-lost": (spec.State.FAILED, spec.DownloadErrorType.NETWORK_UNAVAILABLE),
    "offline": (spec.State.FAILED, spec.DownloadErrorType.NETWORK_UNAVAILABLE),
}
SEQUENCES = {
    "pull-only": spec.SyncState.COMPLETED,
    "stop-in-pull": spec.SyncState.STOPPED,
    "radio-lost-in-pull": spec.SyncState.DOWNLOAD_FAILED,
    "cloud-full-after-pull": spec.SyncState.UPLOAD_FAILED,
    "stop-in-upload": spec.SyncState.STOPPED,
    "start-again-in-upload": spec.SyncState.COMPLETED,
}
"""Where a sync is interrupted (or not) between its stages, and the state its run ends in:
together they walk the transitions of research §3.2–3.6."""
FS_FAULTS = {errno.EPERM: spec.OPERATION_NOT_PERMITTED, errno.EINTR: spec.INTERRUPTED,
             errno.EAGAIN: spec.TRY_AGAIN, errno.EACCES: spec.PERMISSION_DENIED_FS,
             errno.ENOSYS: spec.NOT_IMPLEMENTED, errno.EIO: spec.UNKNOWN_ERROR}
"""An errno where the platform reads a file's state, and the code it surfaces as (§2.11)."""
