"""The upload rules of the @ohos.request machine against the reference, with real HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.campaign import run_campaign
from conformance.machines.base import Step
from conformance.machines.request import RequestMachine
from conformance.machines.upload import UploadRules
from conformance.mutants import BY_NAME
from conformance.options import Options
from conformance.play import play
from conformance.suite import CAMPAIGNS
from sim.ohos.request.fidelity import PROFILES
from sim.servers import FixtureHTTPServer


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_reference_keeps_its_upload_promises(profile: str,
                                                 http_server: FixtureHTTPServer) -> None:
    RequestMachine.server = http_server
    RequestMachine.request_fidelity = PROFILES[profile]
    try:
        assert play(RequestMachine, UploadRules.upload_tour(), skip_inapplicable=True) is None
    finally:
        RequestMachine.request_fidelity = PROFILES["documented"]


def test_a_dropped_upload_is_recorded_incomplete(http_server: FixtureHTTPServer) -> None:
    RequestMachine.server = http_server
    before = len(http_server.received)
    step = Step("upload_files", {"method": "PUT", "count": 1, "answer": "drop", "api9": False})
    assert play(RequestMachine, [step]) is None
    assert [r.incomplete for r in http_server.received[before:]] == ["dropped after 2000 bytes"]


@pytest.mark.parametrize(("mutant", "rules", "observed"), [
    ("rq-upload-2xx-as-lib-error", ("upload answered", "a late 'fail' listener"),
     "libcurl return error"),
    ("rq-upload-complete-twice", ("one complete or fail per upload", "remove() after",
                                  "upload answered", "radio lost mid-upload"),
     # two ends heard: as the count after remove(), the kinds, or the events themselves
     r"\(True, 2, |'(complete|fail)', '(complete|fail)'\]|\), \('(complete|fail)', \["),
    ("rq-upload-part-misnamed", ("the server receives each file as sent",), "'given-u"),
    ("rq-upload-progress-past-total", ("upload progress grows up to the total",
                                       "a late 'progress' listener"),
     # a bound and what broke it, or the whole file's count against one past it
     r"expected 'growing, at most [0-9]+', observed|expected \[\(([0-9]+), \1\)\], "
     r"observed \[\([0-9]+, [0-9]+\)\]"),
])
def test_each_upload_rule_catches_its_deviation(mutant: str, rules: tuple[str, ...],
                                                observed: str, tmp_path: Path) -> None:
    with BY_NAME[mutant].applied():
        outcome = run_campaign(CAMPAIGNS["request"], Options(examples=5), tmp_path)
    assert outcome.failure is not None, outcome.describe()
    assert outcome.failure["rule"].startswith(rules), outcome.describe()
    assert re.search(observed, outcome.failure["message"]), outcome.describe()
    assert 1 <= len(outcome.steps) <= 2
