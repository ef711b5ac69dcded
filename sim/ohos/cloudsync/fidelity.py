"""Fidelity profiles of ``@ohos.file.cloudSync``.

``documented`` (default) follows the API page. ``ohos-4.1`` reproduces the last release whose
sync engine is open source; ``ohos-head`` the current sources (research §0: their NAPI,
client and service; where they are silent, the closed engine, it keeps the documents). Each
switch below is one difference, cited to ``../shared/research/ohos-cloudsync.md`` (section in
brackets).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.spec.ohos_cloudsync import CURRENT_RUNTIME_MESSAGES, ERRORS, RUNTIME_MESSAGES


@dataclass(frozen=True)
class CloudSyncFidelity:
    name: str = "documented"
    runtime_messages: bool = False
    """Release: ``err.message`` is the runtime string (e.g. 22400003 "Battery level warning",
    14000002 "Invalid uri"), not the page's [§1.3]."""
    battery_warning: bool = True
    """Documented: uploads below 15 % (not charging) end with BATTERY_LEVEL_WARNING. The
    release never produces WARNING: a non-forced sync below 15 % ends with BATTERY_LEVEL_LOW
    [§2.4]."""
    temperature_reported: bool = True
    """Documented: overheating ends the transfer phase with DEVICE_TEMPERATURE_TOO_HIGH. The
    release has no thermal check at all [§2.6]."""
    uploads_need_wifi_for_all: bool = False
    """Documented/current helpers: only Gallery needs Wi-Fi to upload (unless its mobile-data
    setting allows cellular); other apps upload on cellular. 4.1: every upload needs Wi-Fi
    [§2.5]."""
    callback_forms_ignored: bool = False
    """Release quirk: ``start(cb)``/``stop(cb)`` of GallerySync/FileSync return a Promise and
    never call ``cb`` [§2.1]."""
    push_state_on_register: bool = False
    """4.1: ``on('progress')`` immediately pushes the last known state, (COMPLETED, NO_ERROR)
    by default [§2.8]."""
    change_errors_as_401: bool = False
    """Release: ``registerChange``/``unregisterChange`` check no system app and report every
    bad or missing URI as 401; the page lists 202, 13900002 and 14000002 [§2.12]."""
    off_without_on_fails: bool = True
    """Current: ``off('progress')`` with no prior ``on`` throws 401; 4.1 succeeds [§2.8]."""
    one_listener: bool = False
    """Documented: each ``on('progress')`` adds a listener, ``off('progress', cb)`` removes
    that one and ``off('progress')`` all. Release: an instance holds one callback, a second
    ``on`` is ignored (the first stays) and ``off`` drops it whichever callback it is given
    [§2.1, §2.8]."""
    current_messages: bool = False
    """Current runtime strings (with ``runtime_messages``): 13600001 and 13900042 name their
    possible causes, as the file-management library says them since v6.0 [§1.3]."""
    file_sync_public: bool = False
    """Current: FileSync is public since API 12, so its constructor checks no system app and
    its methods no permission: no 201 or 202 from ``on``, ``off``, ``start``, ``stop``,
    ``getLastSyncTime`` [§2.2]."""
    wrong_type_einval: bool = False
    """Current NAPI: ``getLastSyncTime(number)`` and ``cleanCache(non-string)`` throw EINVAL,
    13900020 "Invalid argument", not the page's 401 [§2.1]."""
    stop_without_service: bool = False
    """Current client: ``stop()`` of GallerySync and FileSync looks the service up without
    loading it, so when the service is not running it resolves at once, with no IPC and no
    permission check; the page lists 13600001 [§2.2]."""
    cache_start_as_ipc: bool = False
    """Current NAPI: ``CloudFileCache.start`` rewrites every service failure but a bad
    argument to 13600001, so the d.ts's 13900002, 13900025 and 14000002 arrive as IPC errors
    [§2.1]."""
    cache_stop_needs_callback: bool = False
    """Current NAPI: ``CloudFileCache.stop`` on an instance that never called
    ``on('progress')`` or ``start()`` has no callback object and rejects with 401; the d.ts
    lists no such error [§2.1]."""
    app_starts_forced: bool = False
    """Current client: an app's ``start()`` asks for a forced sync, so only the battery below
    10 % stops uploads; the documents end uploads below 15 % with BATTERY_LEVEL_WARNING
    [§2.4]."""
    clean_cache_ignores_engine: bool = False
    """Current service: ``cleanCache`` checks the caller, then drops the engine's answer and
    succeeds: a file the cloud does not have, or a URI that names none, is not an error
    (nothing is cleaned); the page lists 13900002 and 14000002 [§2.1]."""
    state_string_needs_permission: bool = False
    """Current NAPI: ``getFileSyncState(uri: string)`` checks CLOUDFILE_SYNC (201) before the
    system app, as the array form does; the page lists only 202 for it [§2.2]."""
    missing_file_invalid_uri: bool = False
    """Current NAPI: ``getFileSyncState`` of a file that is not there fails the URI check
    (``realpath``) first: 14000002; the page lists 13900002 for it [§2.11]."""

    def message(self, code: int) -> str:
        """``err.message`` of ``code`` under this profile: the page's, or the runtime's."""
        if not self.runtime_messages:
            return ERRORS[code].message
        table = CURRENT_RUNTIME_MESSAGES if self.current_messages else RUNTIME_MESSAGES
        return table[code]


DOCUMENTED = CloudSyncFidelity()
OHOS_4_1 = CloudSyncFidelity(
    name="ohos-4.1", runtime_messages=True, battery_warning=False, temperature_reported=False,
    uploads_need_wifi_for_all=True, callback_forms_ignored=True, push_state_on_register=True,
    off_without_on_fails=False, change_errors_as_401=True, one_listener=True)
OHOS_HEAD = CloudSyncFidelity(
    name="ohos-head", runtime_messages=True, current_messages=True,
    callback_forms_ignored=True, change_errors_as_401=True, one_listener=True,
    file_sync_public=True, wrong_type_einval=True, stop_without_service=True,
    cache_start_as_ipc=True, cache_stop_needs_callback=True, app_starts_forced=True,
    clean_cache_ignores_engine=True, state_string_needs_permission=True,
    missing_file_invalid_uri=True)

PROFILES = {p.name: p for p in (DOCUMENTED, OHOS_4_1, OHOS_HEAD)}
