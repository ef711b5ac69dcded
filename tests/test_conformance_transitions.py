"""Documented state transitions as items of the coverage matrix: the spec tables list them,
each campaign's matrix reaches or excuses every one, and an undocumented move fails a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.campaign import run_campaign
from conformance.coverage import documented
from conformance.machines import request as request_machine
from conformance.machines import upload as upload_machine
from conformance.mutants import BY_NAME, run_mutants
from conformance.options import Options
from conformance.suite import CAMPAIGNS
from sim.spec import ohos_cloudsync, ohos_request, synology
from sim.spec.model import Transition

TABLES: dict[str, tuple[Transition, ...]] = {
    "request": ohos_request.TRANSITIONS,
    "cloudSync": ohos_cloudsync.SPEC.transitions,
    "SYNO.CloudSync": synology.SPEC.transitions,
}


@pytest.mark.parametrize("api", sorted(TABLES))
def test_each_transition_is_cited_to_the_research(api: str) -> None:
    table = TABLES[api]
    assert table and all(t.section.startswith("research") for t in table)
    assert len({t.item for t in table}) == len(table)


def test_transitions_are_documented_items() -> None:
    assert {t.item for t in ohos_request.TRANSITIONS} <= ohos_request.documented_items()
    assert {t.item for t in ohos_cloudsync.SPEC.transitions} <= documented(ohos_cloudsync.SPEC)
    assert {t.item for t in synology.SPEC.transitions} <= documented(synology.SPEC)


def test_the_request_machine_checks_against_the_spec_table() -> None:
    assert {(t.source, t.target) for t in ohos_request.TRANSITIONS} == request_machine.ALLOWED


@pytest.mark.parametrize("api", sorted(TABLES))
def test_a_short_campaign_reaches_or_excuses_every_transition(api: str, tmp_path: Path) -> None:
    outcome = run_campaign(CAMPAIGNS[api], Options(examples=1, steps=1), tmp_path)
    assert outcome.ok, outcome.describe()
    matrix = outcome.matrix
    reached = {tuple(item) for item in matrix["reached"]}
    excused = {tuple(item[:4]): item[4] for item in matrix["excused"]}
    wanted = {t.item for t in TABLES[api]}
    assert wanted <= reached | set(excused)
    assert {item for item in reached if item[0] == "transition"} and matrix["unreached"] == []
    assert all(excused[item] for item in wanted & set(excused))


def test_an_undocumented_sync_transition_is_a_finding_naming_both_states(
        tmp_path: Path) -> None:
    (verdict,) = run_mutants([BY_NAME["cs-uploading-before-pull-failed"]], Options(examples=20),
                             replays=tmp_path)
    assert verdict.killed and verdict.outcome.failure is not None
    assert "('UPLOADING', 'DOWNLOAD_FAILED')" in verdict.outcome.failure["message"]


EVENT_TABLES = {"DownloadTask": ohos_request.EVENT_ORDER,
                "UploadTask": ohos_request.UPLOAD_EVENT_ORDER}


@pytest.mark.parametrize("owner", sorted(EVENT_TABLES))
def test_each_order_of_events_is_cited_and_documented(owner: str) -> None:
    table = EVENT_TABLES[owner]
    assert table and all(t.section.startswith("research §") for t in table)
    assert len({t.item for t in table}) == len(table)
    assert {t.owner for t in table} == {f"{owner} events"}
    assert {t.item for t in table} <= ohos_request.documented_items()
    assert ("progress", "progress") not in {(t.source, t.target) for t in table}


def test_the_machines_check_events_against_the_spec_tables() -> None:
    assert {(t.source, t.target) for t in ohos_request.EVENT_ORDER} == \
        request_machine.EVENT_ORDER
    assert {(t.source, t.target) for t in ohos_request.UPLOAD_EVENT_ORDER} == \
        upload_machine.EVENT_ORDER
    assert ("complete", "progress") not in request_machine.EVENT_ORDER
    assert ("fail", "complete") not in request_machine.EVENT_ORDER


def test_a_request_campaign_reaches_or_excuses_every_order_of_events(tmp_path: Path) -> None:
    outcome = run_campaign(CAMPAIGNS["request"], Options(examples=1, steps=1), tmp_path)
    assert outcome.ok, outcome.describe()
    matrix = outcome.matrix
    reached = {tuple(item) for item in matrix["reached"]}
    excused = {tuple(item[:4]): item[4] for item in matrix["excused"]}
    for table in EVENT_TABLES.values():
        wanted = {t.item for t in table}
        assert wanted <= reached | set(excused)
        assert wanted & reached
        assert all(excused[item].startswith("research §") for item in wanted & set(excused))
    assert matrix["unreached"] == []


def test_progress_after_complete_is_a_finding_naming_both_events(tmp_path: Path) -> None:
    (verdict,) = run_mutants([BY_NAME["rq-progress-after-complete"]], Options(examples=20),
                             replays=tmp_path)
    assert verdict.killed and verdict.outcome.failure is not None
    message = verdict.outcome.failure["message"]
    assert "progress after complete" in message and "('complete', 'progress')" in message
