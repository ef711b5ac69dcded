"""The cloudSync conformance machine against the reference: no violation, and the documented
start codes and states it can reach are reached."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from conformance.coverage import Coverage, matrix, save
from conformance.machines.cloudsync import CloudSyncMachine
from conformance.spec import ohos_cloudsync as spec
from conformance.suite import play


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
