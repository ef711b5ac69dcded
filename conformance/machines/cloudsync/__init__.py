"""A state machine for ``@ohos.file.cloudSync``: API calls from three callers, interleaved with
device and cloud events; a model predicts every outcome from the spec tables and the device's
state, and the target must match it exactly (code and message).

Every asserted outcome is recorded in :attr:`CloudSyncMachine.coverage`, so a run ends with a
coverage matrix of the documented (method, code) pairs and enum values it reached.

The machine is composed of its rule groups, one module each: :mod:`.calls` (who may call what,
with which arguments), :mod:`.sync`, :mod:`.fetch` (Download, CloudFileCache), :mod:`.changes`
(registerChange) and :mod:`.conditions` (device and cloud events), on the model of
:mod:`.model` and the tables of :mod:`.outcomes`. Hypothesis collects rules by name, so the
composition does not change which rule a draw picks.
"""

from __future__ import annotations

from typing import Any, ClassVar

from conformance.coverage import Coverage
from conformance.machines.base import Step, combos
from conformance.machines.cloudsync.calls import CallRules
from conformance.machines.cloudsync.changes import ChangeRules
from conformance.machines.cloudsync.conditions import ConditionRules
from conformance.machines.cloudsync.fetch import FetchRules
from conformance.machines.cloudsync.outcomes import (
    DOWNLOAD_OUTCOMES,
    GALLERY,
    SEQUENCES,
    START_CONDITIONS,
    SYNC_CONDITIONS,
    Condition,
)
from conformance.machines.cloudsync.sync import SyncRules
from conformance.targets.reference import ReferenceCloudSync
from sim.ohos.cloudsync.fidelity import DOCUMENTED, CloudSyncFidelity

__all__ = ["GALLERY", "START_CONDITIONS", "CloudSyncMachine", "Condition"]


class CloudSyncMachine(CallRules, SyncRules, FetchRules, ChangeRules, ConditionRules):
    """Runs against a fresh target each example; subclass to bind another target."""

    target_factory: ClassVar[Any] = ReferenceCloudSync
    """Makes the target (a :class:`~conformance.targets.CloudSyncTarget`)."""
    fidelity: ClassVar[CloudSyncFidelity] = DOCUMENTED
    """The profile whose behaviour the machine predicts (the target must run the same)."""
    coverage = Coverage()
    hardware_excused: ClassVar[dict[Any, str]] = {}
    """With ``--hil``: the documented items only rules needing Controls reach, and why."""

    @classmethod
    def tour(cls) -> list[Step]:
        return [
            *combos("write_file", data=[b"tour"]), *combos("callers_are_checked"),
            *combos("bad_arguments"), *combos("javascript_arguments"), *combos("ipc_failures"),
            *combos("service_not_running"), *combos("start_conditions"),
            *combos("callback_forms"),
            *combos("sync_outcomes", order=[SYNC_CONDITIONS]),
            *combos("download_outcomes", order=[sorted(DOWNLOAD_OUTCOMES)]),
            *combos("file_system_faults"),
            *combos("file_sync_state", kind=["file", "missing", "invalid"],
                    array=[False, True]),
            *combos("download", kind=["in-cloud", "not-in-cloud", "too-big", "exact-fit",
                                      "foreign"], stop=[False, True]),
            *combos("clean_cache", kind=["synced", "local-only", "invalid"]),
            *combos("file_cache", kind=["in-cloud", "not-in-cloud", "foreign"],
                    registered=[False, True]),
            *combos("change_subscription", kind=["folder", "missing", "invalid"],
                    unregister=[False, True]),
            *combos("watched_file", op=["add", "modify", "rename", "delete"], data=[b"w"]),
            *combos("listeners", owner=["GallerySync", "Download"], method=["on", "off"]),
            *combos("on_event_name", evt=["progress", "done"], gallery=[False, True]),
            *combos("file_sync_start"), *combos("gallery_start"),
            *combos("stop", gallery=[False, True]), *combos("last_sync_time"),
            *combos("time_passes", seconds=[60.0]),
            # last: its syncs upload every pending file, which the steps above look at
            *combos("sync_sequence", case=sorted(SEQUENCES), gallery=[False, True]),
        ]
