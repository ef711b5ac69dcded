"""The two-phone campaign: the reference converges without losing a version, and each
integrity rule catches the deviation it is there for."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from conformance.campaign import run_campaign
from conformance.machines.base import ConformanceFailure, Step
from conformance.machines.twodevice import LOSS_SECTION, SECTION, TwoDeviceMachine
from conformance.mutants import BY_NAME
from conformance.options import Options
from conformance.play import play
from conformance.suite import CAMPAIGNS


def s(rule: str, **args: Any) -> Step:
    return Step(rule, args)


def test_the_two_phone_campaign_conforms_and_reaches_every_sync_state(tmp_path: Path) -> None:
    outcome = run_campaign(CAMPAIGNS["cloudSync-twodevice"], Options(examples=5), tmp_path)
    assert outcome.failure is None and outcome.ok
    assert outcome.matrix["documented"] == 8 and outcome.matrix["unreached"] == []


LOST_UPDATE = [s("edit", phone="A", name="a.txt", big=False), s("sync", phone="A"),
               s("sync", phone="B"), s("delete", phone="A", name="a.txt"),
               s("edit", phone="A", name="e/f.txt", big=True), s("start", phone="A"),
               s("time_passes", seconds=0.5), s("edit", phone="B", name="a.txt", big=False),
               s("sync", phone="B")]
"""A delete pushed after a big upload, while the other phone's newer edit reached the cloud."""
CLASH = [s("edit", phone="A", name="d", big=False), s("edit", phone="B", name="d/x.txt",
                                                         big=False)]


def test_a_delete_racing_a_newer_edit_loses_nothing() -> None:
    assert play(TwoDeviceMachine, LOST_UPDATE) is None
    with BY_NAME["cs-delete-unconditional"].applied():
        failure = play(TwoDeviceMachine, LOST_UPDATE)
    rule = "every version last written survives (as itself or a conflict copy)"
    assert failure is not None
    assert (failure["rule"], failure["message"]) == (rule, str(ConformanceFailure(
        rule, LOSS_SECTION, "no version lost", ["lost: the version B:a.txt wrote"])))


def test_a_file_in_the_way_of_a_folder_must_move_aside() -> None:
    steps = [*CLASH, s("sync", phone="B"), s("sync", phone="A")]
    assert play(TwoDeviceMachine, steps) is None
    with BY_NAME["cs-clash-file-in-the-way"].applied():
        failure = play(TwoDeviceMachine, steps)
    assert failure is not None
    assert failure["rule"] == "after a clean sync on both phones, phones and cloud agree"
    assert failure["expected"] == repr("phone A as the cloud")
    # phone A keeps its file d; the cloud has the folder's d/x.txt: they never agree
    assert [path for path, _ in ast.literal_eval(failure["observed"])] == ["d", "d/x.txt"]


def test_a_folder_at_a_file_s_name_must_move_aside() -> None:
    steps = [*CLASH, s("sync", phone="A"), s("sync", phone="B")]
    assert play(TwoDeviceMachine, steps) is None
    with BY_NAME["cs-clash-folder-at-the-name"].applied():
        failure = play(TwoDeviceMachine, steps)
    assert failure is not None
    assert failure["message"] == str(ConformanceFailure(
        "no sync ends in an exception", SECTION, "a documented state",
        "IsADirectoryError: [Errno 21] Is a directory"))


@pytest.mark.parametrize("mutant", ["cs-delete-unconditional", "cs-clash-file-in-the-way",
                                    "cs-clash-folder-at-the-name"])
def test_the_tour_alone_catches_each_integrity_mutant(mutant: str) -> None:
    with BY_NAME[mutant].applied():
        assert play(TwoDeviceMachine, TwoDeviceMachine.tour()) is not None


def test_a_failing_step_is_not_masked_by_the_final_check() -> None:
    machine = TwoDeviceMachine()
    machine.world.cloud.server_down = True
    with pytest.raises(ConformanceFailure, match="a clean sync completes"):
        machine.converge()  # what the final check would say here
    machine.world.cloud.server_down = False
    machine.edit(phone="A", name="a.txt", big=False)
    machine.broken = True  # as a failing step leaves it
    machine.world.cloud.server_down = True  # a final sync could not complete now
    machine.teardown()  # does not raise: the step's failure is the one reported
    assert not machine.world.root.exists()
