"""The @ohos.request machine against the reference, with real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from conformance.campaign import run_campaign
from conformance.coverage import Coverage
from conformance.machines.request import RequestMachine
from conformance.mutants import BY_NAME
from conformance.options import Options
from conformance.play import play
from conformance.suite import CAMPAIGNS
from sim.servers import FixtureHTTPServer
from sim.spec import ohos_request as spec


def test_the_reference_keeps_its_download_promises(http_server: FixtureHTTPServer) -> None:
    RequestMachine.server = http_server
    RequestMachine.coverage = Coverage()
    run_state_machine_as_test(RequestMachine, settings=settings(
        max_examples=40, stateful_step_count=15, deadline=None,
        derandomize=True))
    # then the tour, as every campaign ends: what the random walk skipped is reached too
    assert play(RequestMachine, RequestMachine.tour(), skip_inapplicable=True) is None
    reached = RequestMachine.coverage.reached
    for code in (0, spec.EXCEPTION_PARAMCHECK, spec.EXCEPTION_PERMISSION):
        assert ("error", "request", "download", str(code)) in reached
    assert ("enum", "SESSION", "SESSION_SUCCESSFUL", "") in reached
    assert ("transition", "DownloadTask", "SESSION_RUNNING", "SESSION_SUCCESSFUL") in reached
    assert ("enum", "SESSION", "SESSION_RUNNING", "") in reached
    assert ("enum", "NETWORK", "NETWORK_WIFI", "") in reached
    assert ("enum", "PAUSED", "PAUSED_WAITING_TO_RETRY", "") in reached
    assert ("enum", "SESSION", "SESSION_PAUSED", "") in reached
    for name in ("ERROR_UNHANDLED_HTTP_CODE", "ERROR_TOO_MANY_REDIRECTS", "ERROR_UNKNOWN"):
        assert ("enum", "ERROR", name, "") in reached


@pytest.mark.parametrize(("mutant", "rule", "observed"), [
    ("rq-pause-keeps-downloading", "pause() stops a download", "'SESSION_PAUSED', 3, ['pause']"),
    ("rq-user-pause-reason-unknown", "suspend, restore, getTaskInfo and delete",
     "('SESSION_PAUSED', 'PAUSED_UNKNOWN')"),
    ("rq-chunked-total-zero", "complete after progress reports every byte", "(300000, 0)"),
    ("rq-fail-unannounced", "an ended task tells its listeners", "'none'"),
])
def test_each_download_rule_catches_its_deviation(mutant: str, rule: str, observed: str,
                                                  tmp_path: Path) -> None:
    with BY_NAME[mutant].applied():
        outcome = run_campaign(CAMPAIGNS["request"], Options(examples=5), tmp_path)
    assert outcome.failure is not None and outcome.failure["rule"] == rule, outcome.describe()
    assert observed in outcome.failure["message"]
    assert 1 <= len(outcome.steps) <= 2
