"""The SYNO.CloudSync machine against the emulated NAS over HTTP, read-write and read-only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from conformance.campaign import run_campaign
from conformance.coverage import Coverage
from conformance.machines.synology import SynologyMachine
from conformance.mutants import BY_NAME, Mutant
from conformance.options import Options
from conformance.play import play
from conformance.replay import replay
from conformance.suite import CAMPAIGNS
from conformance.targets.nas import NasTarget, ReadOnlyRefused
from sim.synology import Nas, NasServer, load_seed

SEED = Path(__file__).parents[1] / "fixtures" / "nas" / "default.yaml"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NasServer]:
    nas = Nas(tmp_path / "nas", load_seed(SEED))
    srv = NasServer(nas, test_control=True).start()
    yield srv
    srv.stop()
    nas.store.close()


def test_the_emulator_conforms(server: NasServer) -> None:
    SynologyMachine.coverage = Coverage()
    SynologyMachine.nas_factory = staticmethod(
        lambda: NasTarget("127.0.0.1", server.port, "admin", "Admin-Pass-1", test_clock=True))
    run_state_machine_as_test(SynologyMachine, settings=settings(
        max_examples=25, stateful_step_count=15, deadline=None,
        derandomize=True))
    # then the tour, as every campaign ends: what the random walk skipped is reached too
    assert play(SynologyMachine, SynologyMachine.tour(), skip_inapplicable=True) is None
    reached = SynologyMachine.coverage.reached
    for method in ("set_global_config", "set_session_setting", "set_schedule_setting"):
        assert ("error", "CloudSync", method, "0") in reached
        assert ("error", "CloudSync", method, "120") in reached
    assert ("error", "CloudSync", "get_connection_setting", "114") in reached
    assert ("error", "CloudSync", "no_such_method", "103") in reached
    for method in ("set_personal_config", "pause", "resume", "get_log", "get_property",
                   "list_conn", "set_selective_sync_config", "get_selective_sync_config",
                   "get_selective_folder_list", "get_conn_auth_info", "get_recently_change"):
        assert ("error", "CloudSync", method, "0") in reached


def test_a_read_only_target_makes_no_change(server: NasServer) -> None:
    target = NasTarget("127.0.0.1", server.port, "admin", "Admin-Pass-1", read_only=True)
    try:
        with pytest.raises(ReadOnlyRefused):
            target.call("set_global_config", repo_vol_path="/volume1", log_count=1,
                        worker_count=1, admin_mode="enable")
        assert target.call("get_config")["data"]["worker_count"] == 3
    finally:
        target.close()


def test_a_log_paging_deviation_is_found_and_replays_on_a_fresh_emulator(
        tmp_path: Path) -> None:
    """Each example starts from the seed, so the shortest trace carries what it needs (time
    passing for the engine to log its transfers) and replays on a new emulator."""
    with BY_NAME["syno-log-offset-ignored"].applied():
        outcome = run_campaign(CAMPAIGNS["SYNO.CloudSync"], Options(examples=10),
                               tmp_path / "w", replays=tmp_path / "replays")
        assert outcome.failure is not None, outcome.describe()
        assert outcome.failure["rule"] == "get_log offset=1, limit=1"
        assert [s.rule for s in outcome.steps] == ["nas_time_passes", "log_pages_and_filters"]
        assert outcome.replay is not None
        assert replay(outcome.replay).reproduced
    assert not replay(outcome.replay).reproduced  # the emulator as it is pages correctly


@pytest.mark.parametrize(("mutant", "rule", "observed"), [
    ("syno-flag-unchecked", "SYNO.CloudSync set_personal_config", "expected 120, observed 0"),
    ("syno-missing-flag-false", "SYNO.CloudSync set_personal_config",
     "expected 114, observed 0"),
    ("syno-log-keyword-ignored", "get_log keyword='notes.md'", "/docs/readme.txt"),
])
def test_each_parameter_and_log_rule_catches_its_deviation(mutant: str, rule: str,
                                                           observed: str,
                                                           tmp_path: Path) -> None:
    with BY_NAME[mutant].applied():
        outcome = run_campaign(CAMPAIGNS["SYNO.CloudSync"], Options(examples=10), tmp_path)
    assert outcome.failure is not None and outcome.failure["rule"] == rule, outcome.describe()
    assert observed in outcome.failure["message"]


def test_a_reply_without_a_numeric_code_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    """An endpoint answering ``{"code": null}`` breaks the rule of the call it answered."""
    null_code = Mutant("null-code", "SYNO.CloudSync", "sim.synology.methods", "int_param",
                       'raise SynoError(INVALID_PARAMETER, f"{name} must be an integer',
                       'raise SynoError(None, f"{name} must be an integer', "120")
    with null_code.applied():
        outcome = run_campaign(CAMPAIGNS["SYNO.CloudSync"], Options(examples=10), tmp_path)
    assert outcome.failure is not None and outcome.failure["kind"] == "violation"
    assert outcome.failure["rule"] == "SYNO.CloudSync set_global_config"
    assert "expected 120, observed 'error without a numeric code: {\"code\": null}'" in \
        outcome.failure["message"]
