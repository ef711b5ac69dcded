"""The upload rules of the @ohos.request machine against the reference, with real HTTP."""

from __future__ import annotations

import pytest

from conformance.machines.base import Step
from conformance.machines.request import RequestMachine
from conformance.machines.upload import UploadRules
from conformance.play import play
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
