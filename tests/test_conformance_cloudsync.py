"""The cloudSync conformance machine against the reference: no violation, and the documented
start codes and states it can reach are reached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from conformance.campaign import run_campaign
from conformance.coverage import Coverage, matrix, save
from conformance.machines.base import ConformanceFailure, Step
from conformance.machines.cloudsync import CloudSyncMachine
from conformance.machines.cloudsync_paths import CloudSyncPathMachine
from conformance.mutants import BY_NAME
from conformance.options import Options
from conformance.play import play
from conformance.suite import CAMPAIGNS
from sim.spec import ohos_cloudsync as spec


def test_the_reference_conforms_and_reaches_the_start_codes(tmp_path: Path) -> None:
    CloudSyncMachine.coverage = Coverage()
    run_state_machine_as_test(CloudSyncMachine, settings=settings(
        max_examples=50, stateful_step_count=25, deadline=None,
        derandomize=True))
    # then the tour, as every campaign ends: what the random walk skipped is reached too
    assert play(CloudSyncMachine, CloudSyncMachine.tour(), skip_inapplicable=True) is None
    reached = CloudSyncMachine.coverage.reached
    for code in (0, 201, 22400001, 22400002, 22400003):
        assert ("error", "FileSync", "start", str(code)) in reached, code
    assert ("error", "FileSync", "constructor", "202") in reached
    assert ("error", "FileSync", "start", "13600001") in reached
    for code in (202, 13900002, 14000002):
        assert ("error", "cloudSync", "getFileSyncState(string)", str(code)) in reached
    table = matrix(spec.SPEC, CloudSyncMachine.coverage)
    save(tmp_path / "matrix.json", [table])
    saved = json.loads((tmp_path / "matrix.json").read_text())
    assert saved[0]["api"] == "@ohos.file.cloudSync" and saved[0]["percent"] > 0


def test_a_file_an_earlier_sync_uploaded_is_not_taken_for_local_only() -> None:
    # the shrunk steps of a false failure a 200-example run once reported: the model thought
    # the first local-only file was still local after a sync had uploaded it
    machine = CloudSyncMachine()
    try:
        machine.clean_cache(kind="local-only")
        machine.file_sync_start()
        machine.time_passes(seconds=0.5)
        machine.clean_cache(kind="local-only")
        machine.progress_is_well_formed()
    finally:
        machine.teardown()
    assert ("error", "CloudFileCache", "cleanCache", str(spec.NO_SUCH_FILE)) in \
        CloudSyncMachine.coverage.reached


# -- path attacks ---------------------------------------------------------------------------------

PATH_SECTION = ("ohos-file-cloudsync.md ## cloudSync (the app's cloud folder, "
                "/data/storage/el2/cloud); research §2.11")


def test_the_path_campaign_conforms_and_reaches_its_items(tmp_path: Path) -> None:
    outcome = run_campaign(CAMPAIGNS["cloudSync-paths"], Options(examples=3), tmp_path)
    assert outcome.failure is None and outcome.ok
    assert outcome.matrix["unreached"] == [] and outcome.matrix["documented"] == 8
    assert ["error", "Download", "start", "13900002"] in outcome.matrix["reached"]


@pytest.mark.parametrize(("mutant", "step", "rule", "section", "expected", "observed"), [
    ("cs-snapshot-follows-links", Step("swap_file", {"stage": "during-upload", "cloud": "none"}),
     "no byte is read from outside the app's cloud folder", PATH_SECTION,
     "no sentinel's content in the cloud", "1 sentinel(s) uploaded"),
    ("cs-temp-by-name", Step("plant_temp", {"kind": "sync"}),
     "no byte is written outside the app's cloud folder", PATH_SECTION,
     "the sentinels as they were", ["victim.txt"]),
    ("cs-cloud-path-unchecked", Step("hostile_cloud_path", {"kind": "parent"}),
     "no sync ends in an exception", "ohos-file-cloudsync.md ## FileSync ### start, "
     "## SyncState", "the service carries on", "UnsafePath: unsafe path '..': parent folder "
     "(..)"),
    ("cs-uri-resolved-by-realpath", Step("bad_name", {"call": "getFileSyncState(string)",
                                                      "kind": "long"}),
     "cloudSync.getFileSyncState(string) (long name)", "ohos-file-cloudsync.md ## cloudSync "
     "### getFileSyncState(string); research §2.11", 14000002, 13900002),
    ("cs-callback-exception-escapes", Step("raising_callback", {"kind": "progress"}),
     "a progress callback that raises does not stop the sync service",
     "ohos-file-cloudsync.md ## FileSync ### on; research §0 (the service is its own process)",
     "the service carries on", "AppCallbackFailed: app callback failed on SyncProgress"),
])
def test_each_path_rule_catches_its_mutant(mutant: str, step: Step, rule: str, section: str,
                                           expected: object, observed: object) -> None:
    assert play(CloudSyncPathMachine, [step]) is None
    with BY_NAME[mutant].applied():
        failure = play(CloudSyncPathMachine, [step])
    message = str(ConformanceFailure(rule, section, expected, observed))
    assert failure == {"kind": "violation", "message": message, "rule": rule,
                       "section": section, "expected": repr(expected),
                       "observed": repr(observed)}
