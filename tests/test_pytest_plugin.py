"""The pytest plugin as a pytest user runs it: ``pytest`` in a subprocess, in a folder of its
own, with the syncrig plugin loaded from its entry point."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest

from conformance.mutants import BY_NAME
from conformance.reporting.allure import spec_source
from conformance.suite import CAMPAIGNS

IDS = [f"syncrig::{name}" for name in CAMPAIGNS]
LEFT_TO_PYTEST = {"--help", "--processes", "--out", "--cluster", "--shard", "--shards"}
"""``syncrig conformance`` options pytest has its own way for: -n (pytest-xdist), the report
folder (``--syncrig-report``), scale-out across machines."""


def pytest_run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", *args],
                          capture_output=True, text=True, timeout=600, cwd=folder)


def test_campaigns_are_collected_counted_and_selected_as_tests(tmp_path: Path) -> None:
    listed = pytest_run(tmp_path, "--syncrig-target=reference", "--collect-only", "-q")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert listed.stdout.splitlines()[:len(IDS)] == IDS
    assert f"{len(IDS)} tests collected" in listed.stdout
    one = pytest_run(tmp_path, "syncrig::request", "--collect-only", "-q")
    assert one.stdout.splitlines()[0] == "syncrig::request" and "1 test collected" in one.stdout
    everything = pytest_run(tmp_path, "syncrig", "--collect-only", "-q")
    assert everything.stdout.splitlines()[:len(IDS)] == IDS
    picked = pytest_run(tmp_path, "--syncrig-target=reference", "-k", "request or SYNO",
                        "--collect-only", "-q")
    assert picked.stdout.splitlines()[:2] == ["syncrig::request", "syncrig::SYNO.CloudSync"]
    assert f"2/{len(IDS)} tests collected ({len(IDS) - 2} deselected)" in picked.stdout
    tree = pytest_run(tmp_path, "syncrig::request", "--collect-only")
    assert "<Suite syncrig>\n  <CampaignItem request>" in tree.stdout
    assert "collected 1 item" in tree.stdout
    # beside a project's own tests: with no paths both, with a path only that path
    (tmp_path / "test_own.py").write_text("def test_own():\n    pass\n")
    both = pytest_run(tmp_path, "--syncrig-target=reference", "--collect-only", "-q")
    assert f"{len(IDS) + 1} tests collected" in both.stdout
    own = pytest_run(tmp_path, "test_own.py", "--syncrig-target=reference", "--collect-only",
                     "-q")
    assert own.stdout.splitlines()[0] == "test_own.py::test_own"
    assert "1 test collected" in own.stdout
    mixed = pytest_run(tmp_path, "test_own.py", "syncrig::request", "--collect-only", "-q")
    assert mixed.stdout.splitlines()[:2] == ["test_own.py::test_own", "syncrig::request"]


def test_a_run_counts_its_campaigns_and_last_failed_reruns_the_failing_one(
        tmp_path: Path) -> None:
    args = ["syncrig::cloudSync", "syncrig::SYNO.CloudSync", "--syncrig-examples=2",
            "--syncrig-mutant=cs-not-system-as-201"]
    done = pytest_run(tmp_path, *args)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "collected 2 items" in done.stdout and "1 failed, 1 passed" in done.stdout
    # the replay command, with no --syncrig-report: the file is in pytest's cache folder
    replay = ".pytest_cache/d/syncrig/replays/cloudsync.json"
    assert f"  replay: syncrig replay {replay}\n" in done.stdout
    assert json.loads((tmp_path / replay).read_text())["campaign"] == "cloudSync"
    again = pytest_run(tmp_path, "--lf", *args)
    assert "collected 2 items / 1 deselected / 1 selected" in again.stdout, again.stdout
    assert "1 failed, 1 deselected" in again.stdout


def test_the_campaign_options_of_the_command_line_are_the_plugins() -> None:
    cli = subprocess.run([sys.executable, "-m", "conformance.cli", "conformance", "--help"],
                         capture_output=True, text=True, timeout=120).stdout
    options = set(re.findall(r"^\s+(?:-\w [A-Z_]+, |-\w, )?--([a-z][a-z-]*)", cli, re.M))
    assert {"target", "nas-user", "seed", "timeout"} <= options
    plugin = subprocess.run([sys.executable, "-m", "pytest", "--help"], capture_output=True,
                            text=True, timeout=120).stdout
    missing = [f"--{name}" for name in sorted(options)
               if f"--{name}" not in LEFT_TO_PYTEST and f"--syncrig-{name}" not in plugin]
    assert missing == []


def test_the_options_reach_the_campaign(tmp_path: Path) -> None:
    report = tmp_path / "report"
    done = pytest_run(tmp_path, "syncrig::cloudSync", "--syncrig-mutant=cs-not-system-as-201",
                      "--syncrig-hypothesis-profile=explore", "--syncrig-seed=12345",
                      "--syncrig-examples=2", "--syncrig-steps=3", "--syncrig-timeout=300",
                      "--syncrig-duration=5m", "--syncrig-device=tablet",
                      f"--syncrig-report={report}", f"--alluredir={tmp_path / 'allure'}")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"  replay: syncrig replay {report / 'replays' / 'cloudsync.json'}\n" in done.stdout
    if not spec_source().is_dir():
        return  # no documents here to link to
    # allure-pytest's result links the document section to the document on this machine
    (result,) = [json.loads(p.read_text()) for p in (tmp_path / "allure").glob("*-result.json")]
    (link,) = result["links"]
    assert link["name"] == "ohos-file-cloudsync.md ## GallerySync ### start"
    document = Path(url2pathname(urlsplit(link["url"]).path))
    assert document.name == "ohos-file-cloudsync.md" and document.is_file()
    options = json.loads((report / "replays" / "cloudsync.json").read_text())["options"]
    assert {k: options[k] for k in ("examples", "steps", "device", "hypothesis_profile",
                                    "seed", "timeout_s", "duration_s")} == {
        "examples": 2, "steps": 3, "device": "tablet", "hypothesis_profile": "explore",
        "seed": 12345, "timeout_s": 300.0, "duration_s": 300.0}


@pytest.mark.parametrize(("args", "message"), [
    (["--syncrig-target=reference", "--syncrig-mutant=nosuch"],
     "--syncrig-mutant=nosuch: not in the catalogue; known: " + ", ".join(BY_NAME)),
    (["syncrig::nosuch"], "syncrig::nosuch: no such campaign for target reference, profile "
     "documented; known: " + ", ".join(IDS)),
    (["--syncrig-target=rpc=127.0.0.1:9", "syncrig::SYNO.CloudSync"],
     "syncrig::SYNO.CloudSync: no such campaign for target rpc=127.0.0.1:9, profile "
     "documented; known: syncrig::cloudSync, syncrig::request"),
    (["syncrig::request::x"], "syncrig::request::x: a campaign is named syncrig::NAME"),
    (["syncrig", "--syncrig-timeout=0"],
     "--syncrig-timeout: must be a positive number of seconds (got 0.0)"),
    (["syncrig", "--syncrig-seed=5"], "--syncrig-seed: applies to "
     "--syncrig-hypothesis-profile explore or nightly; ci is derandomized (got 5)"),
    (["syncrig", "--syncrig-steps=0"], "--syncrig-steps: must be at least 1 (got 0)"),
    (["--syncrig-target=rpc=127.0.0.1:9", "--syncrig-api=SYNO.CloudSync"],
     "--syncrig-api: the target rpc=127.0.0.1:9 runs cloudSync, request (got "
     "'SYNO.CloudSync')"),
    (["--syncrig-target=rpc=127.0.0.1:9", "--syncrig-hil"],
     "--syncrig-hil: runs the reference on this machine; give no --syncrig-target (got "
     "'rpc=127.0.0.1:9')"),
    (["--syncrig-target=nas=http://127.0.0.1:9"], "$SYNCRIG_NAS_PASSWORD is not set: set it to "
     "the password of 'admin' (--syncrig-nas-user) on the NAS"),
])
def test_a_bad_option_is_a_usage_error_naming_the_value(tmp_path: Path, args: list[str],
                                                       message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest", *args], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path,
                          env={k: v for k, v in os.environ.items()
                               if k != "SYNCRIG_NAS_PASSWORD"})
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert done.stderr.strip() == f"ERROR: {message}"
