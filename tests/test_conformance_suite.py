"""The suite around the machines: failures with shortest traces, replay files, the mutant
catalogue and the pytest plugin — each exercised with a planted deviation of the reference."""

from __future__ import annotations

import importlib
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.campaign import run_campaign
from conformance.coverage import Coverage, matrix
from conformance.mutants import BY_NAME, CATALOGUE, MutantError, run_mutants, summary
from conformance.options import Options
from conformance.play import play
from conformance.replay import load_replay, replay
from conformance.suite import CAMPAIGNS
from conformance.worlds import device_world, request_world
from sim.errors import ConfigError
from sim.spec import ohos_cloudsync, ohos_request, synology

ROOT = Path(__file__).resolve().parents[1]


def syncrig(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600, cwd=cwd or ROOT)


def test_every_mutant_applies_changes_its_function_and_is_undone() -> None:
    assert len(CATALOGUE) >= 40 and len(BY_NAME) == len(CATALOGUE)  # names are unique
    for mutant in CATALOGUE:
        assert mutant.campaign in CAMPAIGNS, mutant.name
        owner, attr, original = mutant._target()
        mutated, _, _ = mutant.source()
        assert mutated != "".join(inspect.getsourcelines(original)[0])
        with mutant.applied():
            assert vars(owner)[attr] is not original, mutant.name
        assert vars(owner)[attr] is original, mutant.name


def test_a_module_function_is_replaced_where_it_was_imported_and_in_tables() -> None:
    api = importlib.import_module("sim.ohos.request.api")
    download = importlib.import_module("sim.ohos.request.download")
    methods = importlib.import_module("sim.synology.methods")
    before = download.parse_config
    with BY_NAME["rq-any-scheme-accepted"].applied():
        assert api.parse_config is download.parse_config is not before
    assert api.parse_config is download.parse_config is before
    handler = methods.METHODS["set_global_config"]
    with BY_NAME["syno-workers-limit-21"].applied():
        assert methods.METHODS["set_global_config"] is not handler
    assert methods.METHODS["set_global_config"] is handler


def test_a_mutant_whose_snippet_is_gone_says_so() -> None:
    from dataclasses import replace

    stale = replace(BY_NAME["cs-battery-low-at-10"], old="battery.level < 11")
    with pytest.raises(MutantError, match="occurs 0 times"), stale.applied():
        pass


def test_a_planted_deviation_fails_with_its_rule_a_minimal_trace_and_a_replay(
        tmp_path: Path) -> None:
    mutant = BY_NAME["cs-battery-warning-at-15"]
    with mutant.applied():
        outcome = run_campaign(CAMPAIGNS["cloudSync"], Options(examples=20), tmp_path / "w",
                               replays=tmp_path / "replays")
        assert outcome.failure is not None and outcome.failure["kind"] == "violation"
        assert outcome.failure["rule"] == "sync outcome (battery-15)"
        assert outcome.failure["expected"] == "(COMPLETED, NO_ERROR)"
        assert outcome.failure["observed"] == "(UPLOAD_FAILED, BATTERY_LEVEL_WARNING)"
        assert 1 <= len(outcome.steps) <= 6
        # 1-minimal: without any one of its steps the rule no longer breaks
        machine = CAMPAIGNS["cloudSync"].machine
        for i in range(len(outcome.steps)):
            shorter = outcome.steps[:i] + outcome.steps[i + 1:]
            observed = play(machine, shorter)
            assert observed is None or observed["rule"] != outcome.failure["rule"]
        assert outcome.replay is not None and outcome.replay.exists()
        again = replay(outcome.replay, plot=tmp_path / "timeline.png")
        assert again.reproduced and again.observed is not None
        assert again.plot is not None and again.plot.stat().st_size > 10_000
    fixed = replay(outcome.replay)  # the reference as it is: the rule holds
    assert not fixed.reproduced and fixed.observed is None
    saved = json.loads(outcome.replay.read_text())
    assert saved["format"] == "syncrig-replay/1" and saved["campaign"] == "cloudSync"
    assert "nas_password" not in saved["options"]


def test_the_arguments_of_the_steps_left_are_shrunk_and_hypothesis_aid_printed(
        tmp_path: Path) -> None:
    with BY_NAME["cs-battery-warning-at-15"].applied():
        outcome = run_campaign(CAMPAIGNS["cloudSync"], Options(examples=20), tmp_path)
    assert [str(s) for s in outcome.steps] == ["t=0s sync_outcomes(order=['battery-15'])"]
    assert outcome.failure is not None
    blob = outcome.failure["reproduce"]
    assert re.fullmatch(r"@reproduce_failure\('[\d.]+', b'[A-Za-z0-9+/=]+'\)", blob)
    assert outcome.describe().splitlines()[-1] == (
        f"  Hypothesis: {blob} on a test of the machine replays the example before shrinking")


def test_simpler_arguments_are_values_the_rule_takes() -> None:
    from hypothesis import strategies as st

    from conformance.play import _simpler

    assert _simpler(True, st.booleans()) == [False] and _simpler(False, st.booleans()) == []
    assert _simpler(12.0, st.sampled_from([5.0, 10.0, 12.0, 60.0])) == [5.0, 10.0]
    assert _simpler(["a", "b", "c"], st.permutations(["a", "b", "c"])) == [
        ["a"], ["b", "c"], ["b", "c"], ["a", "c"], ["a", "b"]]
    assert _simpler(167, st.integers()) == []


def test_a_failure_names_the_conditions_that_decided_its_expectation(tmp_path: Path) -> None:
    with BY_NAME["cs-battery-low-at-10"].applied():
        outcome = run_campaign(CAMPAIGNS["cloudSync"], Options(examples=5), tmp_path)
    assert outcome.failure is not None
    assert outcome.failure["message"] == (
        "FileSync.start at battery 10 %, not charging, Wi-Fi up, 25 °C "
        "(ohos-file-cloudsync.md ## FileSync ### start: network, cloud ready, not below 10 % "
        'on battery): expected success, observed 22400003 "Low battery level."')
    assert outcome.failure["conditions"] == "battery 10 %, not charging, Wi-Fi up, 25 °C"


def test_replay_command_reproduces_and_names_what_changed(tmp_path: Path) -> None:
    done = syncrig("conformance", "--api", "request", "--examples", "20",
                   "--mutant", "rq-metered-ignored", "--out", tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "download outcome" in done.stdout and "syncrig replay" in done.stdout
    (replay_file,) = tmp_path.glob("*/replays/request.json")
    again = syncrig("replay", replay_file, "--mutant", "rq-metered-ignored")
    assert again.returncode == 1 and "reproduced" in again.stdout, again.stdout
    # the deviation gone: the same steps on a reference that now conforms
    data = json.loads(replay_file.read_text())
    data["options"]["mutants"] = []
    fixed_file = tmp_path / "fixed.json"
    fixed_file.write_text(json.dumps(data))
    fixed = syncrig("replay", fixed_file)
    assert fixed.returncode == 3 and "not reproduced" in fixed.stdout


def test_the_printed_replay_command_plants_the_mutants_again(tmp_path: Path) -> None:
    done = syncrig("conformance", "--api", "cloudSync", "--mutant", "cs-battery-low-at-10",
                   "--out", tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    (replay_file,) = tmp_path.glob("*/replays/cloudsync.json")
    assert json.loads(replay_file.read_text())["options"]["mutants"] == ["cs-battery-low-at-10"]
    command = re.search(r"replay: (syncrig replay \S+)", done.stdout)
    assert command is not None and command.group(1) == f"syncrig replay {replay_file}"
    again = syncrig(*command.group(1).split()[1:])
    assert again.returncode == 1, again.stdout + again.stderr
    assert "1 steps of cloudSync replayed with cs-battery-low-at-10 planted" in again.stdout
    assert again.stdout.rstrip().endswith("reproduced")
    assert "not reproduced" not in again.stdout


@pytest.mark.parametrize(("content", "field"), [
    ("{", "is not JSON"), ('{"format": "other"}', "format"),
    ('{"format": "syncrig-replay/1", "campaign": "x", "steps": []}', "campaign"),
    ('{"format": "syncrig-replay/1", "campaign": "cloudSync", "steps": [{"rule": "rm"}]}',
     "steps[0].rule"),
    ('{"format": "syncrig-replay/1", "campaign": "cloudSync", "options": {"x": 1}, '
     '"steps": []}', "options"),
    ('{"format": "syncrig-replay/1", "campaign": "cloudSync", "options": {"profile": "x"}, '
     '"steps": []}', "options.profile"),
    ('{"format": "syncrig-replay/1", "campaign": "request", "options": {"profile": '
     '"ohos-4.1"}, "steps": []}', "options.profile"),
    ('{"format": "syncrig-replay/1", "campaign": "cloudSync", "options": {"device": "toaster"}, '
     '"steps": []}', "unknown device"),
    ('{"format": "syncrig-replay/1", "campaign": "cloudSync", "options": {"steps": "3"}, '
     '"steps": []}', "options.steps"),
])
def test_a_bad_replay_file_is_one_clear_line(tmp_path: Path, content: str, field: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        load_replay(path)
    done = syncrig("replay", path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_mutants_are_killed_and_reported(tmp_path: Path) -> None:
    chosen = [BY_NAME[n] for n in ("cs-not-system-as-201", "syno-workers-limit-21")]
    verdicts = run_mutants(chosen, Options(examples=20), replays=tmp_path)
    assert [v.killed for v in verdicts] == [True, True]
    assert verdicts[0].outcome.failure is not None
    assert "expected 202, observed 201" in verdicts[0].outcome.failure["message"]
    assert verdicts[1].outcome.failure is not None
    assert "set_global_config" in verdicts[1].outcome.failure["message"]
    assert "expected 120, observed 0" in verdicts[1].outcome.failure["message"]
    result = summary(verdicts)
    assert result["score"] == 1.0 and result["survivors"] == []
    assert result["median_steps"] is not None and result["median_steps"] <= 6
    # each replay file plants its mutant again (no --mutant to add by hand)
    for verdict in verdicts:
        saved = json.loads(verdict.outcome.replay.read_text()) if verdict.outcome.replay \
            else {}
        assert saved["options"]["mutants"] == [verdict.mutant.name]


def test_mutants_command(tmp_path: Path) -> None:
    listed = syncrig("mutants", "--list")
    assert listed.returncode == 0 and len(listed.stdout.strip().splitlines()) == len(CATALOGUE)
    done = syncrig("mutants", "rq-complete-twice", "--examples", "10", "--out", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (report,) = tmp_path.glob("mutants-*/mutants.json")
    data = json.loads(report.read_text())
    assert data["summary"]["killed"] == 1
    by = data["mutants"][0]["by"]  # whichever rule sees the second complete first
    assert "'complete', 'complete'" in by or by.startswith("one complete, fail or pause")
    unknown = syncrig("mutants", "no-such-mutant")
    assert unknown.returncode == 2 and "no-such-mutant" in unknown.stderr


def test_pytest_plugin_runs_the_suite_and_reports_a_violation(tmp_path: Path) -> None:
    report = tmp_path / "report"
    junit = tmp_path / "junit.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--syncrig-target=reference",
         "--syncrig-api=cloudSync", "--syncrig-examples=20",
         "--syncrig-mutant=cs-not-system-as-201", f"--syncrig-report={report}",
         f"--junitxml={junit}", f"--alluredir={tmp_path / 'allure'}"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED syncrig::cloudSync" in done.stdout
    assert "expected 202, observed 201" in done.stdout and "syncrig replay" in done.stdout
    assert (report / "replays" / "cloudsync.json").exists()
    matrix = json.loads((report / "matrix-cloudSync.json").read_text())
    assert matrix["failure"]["kind"] == "violation"
    xml = junit.read_text()
    assert 'classname="syncrig" name="cloudSync"' in xml and "<failure" in xml
    # allure-pytest's result of the item carries the suite's labels, steps and attachments
    (result,) = [json.loads(p.read_text()) for p in (tmp_path / "allure").glob("*-result.json")]
    labels = {(label["name"], label["value"]) for label in result["labels"]}
    assert {("epic", "@ohos.file.cloudSync"), ("feature", "GallerySync"), ("story", "start"),
            ("tag", "violation")} <= labels
    # (allure-pytest shows parameter values as Python literals)
    assert {p["name"]: p["value"] for p in result["parameters"]} == {
        "target": "'reference'", "profile": "'documented'", "device": "'phone'"}
    assert [s["name"] for s in result["steps"]] == ["API: callers_are_checked() at t=0s"]
    assert {a["name"] for a in result["attachments"]} >= {"shortest failing trace",
                                                          "replay file", "device timeline"}


def test_pytest_plugin_shards_campaigns_across_processes(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2",
         "--syncrig-target=reference", "--syncrig-api=request", "--syncrig-api=SYNO.CloudSync",
         "--syncrig-examples=6", "-m", "syncrig_conformance"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_pytest_plugin_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    for option, message in (("--syncrig-target=reference --syncrig-profile=ohos-9",
                             "predict documented, ohos-4.1, ohos-head, ohos-3.2, page-kb only"),
                            ("--syncrig-target=ftp://x", "must be reference, nas="),
                            ("--syncrig-target=rpc=nowhere", "must be rpc=HOST:PORT")):
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                               *option.split()], capture_output=True, text=True, timeout=120,
                              cwd=tmp_path)
        assert done.returncode == 4 and message in done.stderr, done.stderr


def test_a_documented_item_neither_reached_nor_excused_fails_the_campaign(
        tmp_path: Path) -> None:
    from dataclasses import replace

    from conformance.machines.cloudsync import CloudSyncMachine

    class NoTour(CloudSyncMachine):
        @classmethod
        def tour(cls) -> list:  # type: ignore[type-arg]
            return []

    campaign = replace(CAMPAIGNS["cloudSync"], machine=NoTour)
    outcome = run_campaign(campaign, Options(examples=1, steps=1), tmp_path)
    assert outcome.failure is None and outcome.matrix["unreached"]
    assert not outcome.ok
    assert outcome.describe().startswith("cloudSync: documented items not reached: ")
    full = run_campaign(CAMPAIGNS["cloudSync"], Options(examples=1, steps=1), tmp_path / "t")
    assert full.ok and full.matrix["unreached"] == []  # the tour reaches the rest


@pytest.mark.parametrize(("args", "message"), [
    (("--target", "rpc=nowhere"), "rpc=HOST:PORT"), (("--target", "ftp://x"), "must be reference"),
    (("--target", "nas=http://x"), "nas=http://HOST:PORT"), (("--examples", "0"), "at least 1"),
    (("--device", "toaster"), "unknown device"), (("--mutant", "nope"), "not in the catalogue"),
    (("--target", "rpc=127.0.0.1:9", "--api", "SYNO.CloudSync"), "serves cloudSync and request"),
])
def test_conformance_bad_options_are_one_clear_line(args: tuple[str, ...], message: str,
                                                    tmp_path: Path) -> None:
    done = syncrig("conformance", *args, "--out", tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and list(tmp_path.iterdir()) == []


def test_campaigns_side_by_side_in_processes(tmp_path: Path) -> None:
    done = syncrig("conformance", "--api", "SYNO.CloudSync", "--api", "request", "-n", "2",
                   "--examples", "5", "--out", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (report,) = tmp_path.glob("*/matrix.json")
    data = json.loads(report.read_text())
    assert [c["campaign"] for c in data["campaigns"]] == ["SYNO.CloudSync", "request"]
    assert all(c["failure"] is None for c in data["campaigns"])


@pytest.mark.parametrize("read_only", [False, True])
def test_a_nas_in_use_is_spared_what_would_destroy_it(tmp_path: Path, read_only: bool) -> None:
    from sim.synology import Nas, NasServer, load_seed

    nas = Nas(tmp_path / "nas", load_seed(ROOT / "fixtures" / "nas" / "default.yaml"))
    with NasServer(nas) as server:
        outcome = run_campaign(CAMPAIGNS["SYNO.CloudSync"], Options(
            examples=4, nas=f"http://127.0.0.1:{server.port}", nas_password="Admin-Pass-1",
            read_only=read_only), tmp_path / "w")
        connections = {c["id"] for c in nas.store.query("SELECT id FROM connections")}
    nas.store.close()
    assert outcome.ok, outcome.describe()
    assert connections == {3, 5}  # unlink_connection was not run
    excused = {tuple(item[:4]) for item in outcome.matrix["excused"]}
    assert ("error", "CloudSync", "unlink_connection", "0") in excused
    assert (("error", "CloudSync", "set_global_config", "0") in excused) is read_only
    assert ("error", "CloudSync", "test_task_setting", "0") in \
        {tuple(item) for item in outcome.matrix["reached"]}


def test_the_release_profile_conforms_to_its_own_predictions(tmp_path: Path) -> None:
    outcome = run_campaign(CAMPAIGNS["cloudSync"], Options(examples=5, profile="ohos-4.1"),
                           tmp_path)
    assert outcome.ok, outcome.describe()
    excused = {tuple(item[:4]): item[4] for item in outcome.matrix["excused"]}
    assert "§2.4" in excused[("enum", "ErrorType", "BATTERY_LEVEL_WARNING", "")]
    assert "§2.12" in excused[("error", "cloudSync", "registerChange", "13900002")]


def test_documented_predictions_catch_every_release_difference(tmp_path: Path) -> None:
    """The documented machine against the release profile: it must fail, naming a rule the
    release breaks (the messages are the first the tour meets)."""
    from conformance.machines.cloudsync import CloudSyncMachine
    from conformance.targets.reference import ReferenceCloudSync
    from sim.ohos.cloudsync.fidelity import OHOS_4_1

    saved = CloudSyncMachine.target_factory
    CloudSyncMachine.target_factory = staticmethod(  # type: ignore[assignment]
        lambda: ReferenceCloudSync("phone", OHOS_4_1))
    try:
        machine = CloudSyncMachine
        failure = play(machine, machine.tour(), skip_inapplicable=True)
    finally:
        CloudSyncMachine.target_factory = saved
    assert failure is not None and failure["kind"] == "violation"
    assert "message" in failure["rule"] and "Permission verification failed" in \
        failure["observed"]


def test_conformance_profile_option(tmp_path: Path) -> None:
    done = syncrig("conformance", "--profile", "ohos-9", "--out", tmp_path)
    assert done.returncode == 2
    assert "documented, ohos-4.1, ohos-head, ohos-3.2, page-kb" in done.stderr
    done = syncrig("conformance", "--profile", "ohos-4.1", "--api", "request", "--out", tmp_path)
    assert done.returncode == 2 and "applies to cloudSync only" in done.stderr


def test_one_device_runs_all_three_apis_and_their_rules_still_hold(tmp_path: Path) -> None:
    outcome = run_campaign(CAMPAIGNS["device"], Options(examples=10), tmp_path / "ok")
    assert outcome.ok, outcome.describe()
    m = outcome.matrix
    parts = [matrix(ohos_cloudsync.SPEC, Coverage())["documented"],
             len(ohos_request.documented_items()),
             matrix(synology.SPEC, Coverage())["documented"]]
    assert m["documented"] == sum(parts) and m["accounted_percent"] == 100.0
    assert ["error", "CloudSync", "unlink_connection", "0"] in m["reached"]
    with BY_NAME["rq-metered-ignored"].applied():
        broken = run_campaign(CAMPAIGNS["device"], Options(examples=10), tmp_path / "bad")
    assert broken.failure is not None and "download outcome" in broken.failure["rule"]
    with BY_NAME["syno-schedule-length-unchecked"].applied():
        broken = run_campaign(CAMPAIGNS["device"], Options(examples=10), tmp_path / "nas")
    assert broken.failure is not None and "set_schedule_setting" in broken.failure["rule"]


def test_the_nas_of_the_device_campaign_syncs_over_the_shared_link(tmp_path: Path) -> None:
    """The emulated NAS runs on the example's device: with its radios down the engine's
    download of the seeded cloud files waits; with Wi-Fi back it lands in the share."""
    from conformance.machines.device import DeviceMachine

    with device_world(tmp_path, Options()):
        machine = DeviceMachine()
        try:
            assert machine.emulator.device is machine.device
            readme = machine.emulator.shares / "docs" / "readme.txt"
            controls = machine.device.controls
            controls.set_radio("wifi", False)
            controls.set_radio("cellular", False)
            machine.time_passes(60.0)
            assert not readme.exists()
            controls.set_radio("wifi", True)
            machine.time_passes(60.0)
            assert readme.read_bytes() == b"hello from the cloud"
        finally:
            machine.teardown()


def test_the_request_release_profile_is_predicted_and_differs(tmp_path: Path) -> None:
    outcome = run_campaign(CAMPAIGNS["request"], Options(examples=3, profile="ohos-3.2"),
                           tmp_path / "a")
    assert outcome.ok, outcome.describe()
    excused = {tuple(item[:4]) for item in outcome.matrix["excused"]}
    assert ("enum", "ERROR", "ERROR_INSUFFICIENT_SPACE", "") in excused
    assert ["enum", "ERROR", "ERROR_HTTP_DATA_ERROR", ""] in outcome.matrix["reached"]
    # the documented predictions against the release: the first difference breaks a rule
    from conformance.machines.request import RequestMachine
    from conformance.targets.reference import ReferenceRequest
    from sim.ohos.request.fidelity import OHOS_3_2

    with request_world(tmp_path / "b", Options()):  # predicts the documents
        RequestMachine.request_target_factory = staticmethod(
            lambda: ReferenceRequest(fidelity=OHOS_3_2))
        machine = RequestMachine()
        with pytest.raises(AssertionError, match="expected 401, observed 'a plain Error'"):
            machine.bad_config(kind="ftp")
        machine.teardown()
