"""Fidelity profiles of ``@ohos.file.cloudSync``.

``documented`` (default) follows the API page. ``ohos-4.1`` reproduces the last release whose
sync engine is open source (research §0): each switch below is one observed difference, cited to
``../shared/research/ohos-cloudsync.md`` (section in brackets).
"""

from __future__ import annotations

from dataclasses import dataclass


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


DOCUMENTED = CloudSyncFidelity()
OHOS_4_1 = CloudSyncFidelity(
    name="ohos-4.1", runtime_messages=True, battery_warning=False, temperature_reported=False,
    uploads_need_wifi_for_all=True, callback_forms_ignored=True, push_state_on_register=True,
    off_without_on_fails=False, change_errors_as_401=True)

PROFILES = {p.name: p for p in (DOCUMENTED, OHOS_4_1)}
