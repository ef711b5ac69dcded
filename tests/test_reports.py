"""Run directories and their reports, built from real runs of the suite with deviations of the
catalogue planted: the matrix, JUnit XML, allure results, the HTML page (in headless
Chromium), the allure report with history, and the run-to-run diff."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.campaign import run_campaign
from conformance.mutants import BY_NAME
from conformance.options import Options
from conformance.reporting import allure, bench
from conformance.reporting.cases import item_id, step_title
from conformance.runner import run
from conformance.suite import CAMPAIGNS

APIS = ["cloudSync", "SYNO.CloudSync"]
CLEAN_SYNO_RULES = "syncrig.SYNO-CloudSync.rules"


def syncrig(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A clean run, then the same run with SYNO.CloudSync accepting a schedule of the wrong
    length — in one folder, oldest first, as CI keeps them."""
    out = tmp_path_factory.mktemp("reports")
    base = run(out, Options(examples=6), APIS).folder
    with BY_NAME["syno-schedule-length-unchecked"].applied():
        new = run(out, Options(examples=6), APIS).folder
    assert base is not None and new is not None
    yield {"base": base, "new": new, "out": out}


def results(folder: Path) -> dict[str, dict[str, Any]]:
    """allure results by fullName."""
    out = {}
    for path in (folder / "allure-results").glob("*-result.json"):
        data = json.loads(path.read_text())
        out[data["fullName"]] = data
    return out


def labels(result: dict[str, Any], name: str) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == name]


def test_a_run_directory_holds_the_run_and_its_reports(runs: dict[str, Path]) -> None:
    folder = runs["new"]
    assert re.fullmatch(r"\d{8}T\d{6}Z(-[A-Za-z0-9._-]+)?(\.\d+)?", folder.name)
    for name in ("run.json", "matrix.json", "matrix.md", "stats.json", "bench.json",
                 "junit.xml", "report.html", "allure-results/categories.json",
                 "replays/syno-cloudsync.json"):
        assert (folder / name).is_file(), name
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["run"] == folder.name
    assert (manifest["target"], manifest["profile"], manifest["device"]) == \
        ("reference", "documented", "phone")
    assert manifest["seed"] is None and manifest["derandomized"] is True
    assert manifest["counts"]["failed"] == 1
    stats = json.loads((folder / "stats.json").read_text())
    assert stats["cloudSync"]["examples"] == 6
    assert stats["cloudSync"]["steps"] == sum(n for n, _ in stats["cloudSync"]["timing"])
    assert sum(stats["cloudSync"]["rules"].values()) == stats["cloudSync"]["steps"]
    bench = json.loads((folder / "bench.json").read_text())
    baseline = bench["baseline"]
    assert baseline["median"] > 0 and baseline["samples"] == len(baseline["rates"]) == 14
    assert baseline["measured"] == "before and after the campaigns"
    figure = bench["campaigns"]["cloudSync"]
    # six significant digits each, whatever the machine's speed
    assert figure["ratio"] == pytest.approx(figure["steps_per_s"] / bench["baseline"]["median"],
                                            rel=1e-5)


def test_allure_results_name_the_broken_rule_with_its_trace_and_evidence(
        runs: dict[str, Path]) -> None:
    folder = runs["new"]
    matrix = json.loads((folder / "matrix.json").read_text())
    syno = next(c for c in matrix["campaigns"] if c["campaign"] == "SYNO.CloudSync")
    failing = results(folder)[CLEAN_SYNO_RULES]
    assert failing["status"] == "failed"
    assert failing["statusDetails"]["message"].startswith("violation: SYNO.CloudSync "
                                                          "set_schedule_setting")
    assert labels(failing, "epic") == ["SYNO.CloudSync"]
    assert labels(failing, "feature") == ["CloudSync"]
    assert labels(failing, "story") == ["set_schedule_setting"]
    assert "violation" in labels(failing, "tag")
    assert {p["name"]: p["value"] for p in failing["parameters"]} == {
        "target": "reference", "profile": "documented", "device": "phone"}
    assert failing["links"][0]["name"] == "synology-cloudsync.txt set_schedule_setting"
    # the shortest trace, step by step, the last step the failing one
    assert [s["name"] for s in failing["steps"]] == [step_title(e) for e in syno["journal"]]
    assert failing["steps"][-1]["status"] == "failed"
    assert any("set_schedule_setting" in s["name"] for s in failing["steps"])
    attached = {a["name"]: a for a in failing["attachments"]}
    assert set(attached) == {"shortest failing trace", "replay file",
                             "HTTP requests and responses"}
    replay = json.loads((folder / "allure-results" / attached["replay file"]["source"])
                        .read_text())
    assert replay["format"] == "syncrig-replay/1" and replay["campaign"] == "SYNO.CloudSync"
    exchanges = json.loads((folder / "allure-results" /
                            attached["HTTP requests and responses"]["source"]).read_text())
    last = exchanges[-1]
    assert last["params"]["method"] == "set_schedule_setting" and last["status"] == 200
    assert json.loads(last["response"]) == {"success": True}  # 120 was documented
    assert all("_sid" not in e["params"] for e in exchanges)
    # categories: the failing result is a product failure, not a harness error
    categories = json.loads((folder / "allure-results" / "categories.json").read_text())
    first = next(c for c in categories if "failed" in c["matchedStatuses"]
                 and re.fullmatch(c["messageRegex"], failing["statusDetails"]["message"]))
    assert first["name"].startswith("Conformance violations")


def test_a_document_section_link_opens_the_document_in_the_run_directory(
        runs: dict[str, Path], tmp_path: Path) -> None:
    if not allure.spec_source().is_dir():
        pytest.skip(f"the API documents are not here ({allure.spec_source()})")

    def linked(folder: Path) -> dict[str, Path]:
        """Each link's file, as allure's report (allure-report/index.html) opens it."""
        page = folder / "allure-report" / "index.html"
        return {link["name"]: Path(os.path.normpath(page.parent /
                                                    link["url"].partition("#")[0]))
                for result in results(folder).values() for link in result.get("links", [])}

    files = linked(runs["new"])
    assert files["synology-cloudsync.txt set_schedule_setting"] == \
        runs["new"] / "spec" / "synology-cloudsync.txt"
    assert {path.parent for path in files.values()} == {runs["new"] / "spec"}
    assert all(path.is_file() for path in files.values())
    assert sorted(p.name for p in (runs["new"] / "spec").iterdir()) == [
        "ohos-file-cloudsync.md", "synology-cloudsync.txt"]
    # re-rendered where the documents are not, the run keeps the copies it came with
    moved = tmp_path / runs["new"].name
    shutil.copytree(runs["new"], moved)
    done = subprocess.run([sys.executable, "-m", "conformance.cli", "report", moved,
                           "--no-allure"], capture_output=True, text=True, timeout=600,
                          env=os.environ | {"SYNCRIG_SPEC_DIR": str(tmp_path / "nowhere")})
    assert done.returncode == 0, done.stderr
    assert linked(moved).keys() == files.keys()
    assert all(path.is_file() for path in linked(moved).values())


def test_each_documented_item_is_a_case_with_the_step_that_reached_it(
        runs: dict[str, Path]) -> None:
    by_name = results(runs["base"])
    case = by_name[item_id("cloudSync", ("error", "GallerySync", "start", "22400002"))]
    assert case["status"] == "passed"
    assert case["name"] == "GallerySync.start → 22400002"
    assert labels(case, "epic") == ["@ohos.file.cloudSync"]
    assert labels(case, "feature") == ["GallerySync"] and labels(case, "story") == ["start"]
    assert labels(case, "tag") == ["22400002"]
    (step,) = case["steps"]
    assert step["name"].startswith("API: ")
    assert "result: GallerySync.start → 22400002" in [s["name"] for s in step["steps"]]
    excused = by_name[item_id("cloudSync", ("enum", "FileSyncState", "STOPPED", ""))]
    assert excused["status"] == "skipped"
    assert "research §2.11" in excused["statusDetails"]["message"]
    # the same ids and history ids in both runs: allure's history follows them
    new = results(runs["new"])
    assert set(by_name) == set(new)
    assert all(by_name[k]["historyId"] == new[k]["historyId"] for k in by_name)


def test_junit_xml_has_a_suite_per_campaign_and_the_violation(runs: dict[str, Path]) -> None:
    root = ET.parse(runs["new"] / "junit.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == set(APIS)
    syno = suites["SYNO.CloudSync"]
    assert syno.get("failures") == "1"
    failures = [c for c in syno.iter("testcase") if c.find("failure") is not None]
    assert len(failures) == 1
    node = failures[0].find("failure")
    assert node is not None and node.get("type") == "violation"
    assert "replay: syncrig replay replays/syno-cloudsync.json" in (node.text or "")
    # the rules case keeps its classname and name whether it passes or fails (CI history)
    base = ET.parse(runs["base"] / "junit.xml").getroot()
    passing = {(c.get("classname"), c.get("name")) for c in base.iter("testcase")}
    assert (failures[0].get("classname"), failures[0].get("name")) in passing
    section = failures[0].find("properties/property[@name='section']")
    assert section is not None and section.get("value") == \
        "synology-cloudsync.txt set_schedule_setting"
    # as pytest writes them: an ISO 8601 timestamp, the rules case timed with its campaign,
    # no property for the seed a derandomized run did not have
    manifest = json.loads((runs["new"] / "run.json").read_text())
    started = manifest["started"]
    assert syno.get("timestamp") == (f"{started[:4]}-{started[4:6]}-{started[6:8]}T"
                                     f"{started[9:11]}:{started[11:13]}:{started[13:15]}+00:00")
    assert failures[0].get("time") == syno.get("time") and float(syno.get("time", "0")) > 0
    names = [p.get("name") for p in syno.findall("properties/property")]
    assert "seed" not in names and "target" in names
    cloudsync = suites["cloudSync"]
    sections = {p.get("value") for p in cloudsync.iter("property") if p.get("name") == "section"}
    assert "ohos-file-cloudsync.md ## CloudFileCache ### cleanCache" in sections
    assert not any(v.count(".md") > 1 for v in sections if v)
    assert cloudsync.get("failures") == "0" and cloudsync.get("errors") == "0"
    # the items not reachable on the reference are skipped, each documented item is a case,
    # and the rules one more
    matrix = next(m for m in json.loads((runs["new"] / "matrix.json").read_text())["matrices"]
                  if m["api"] == "@ohos.file.cloudSync")
    assert int(cloudsync.get("skipped", "0")) == len(matrix["excused"]) > 0
    assert int(cloudsync.get("tests", "0")) == matrix["documented"] + 1


def test_report_diff_lists_the_regression_and_gates_on_it(runs: dict[str, Path],
                                                          tmp_path: Path) -> None:
    done = syncrig("report", "diff", runs["base"], runs["new"], "--json", tmp_path / "d.json")
    assert done.returncode == 1, done.stdout + done.stderr
    diff = json.loads((tmp_path / "d.json").read_text())
    assert diff["regression"] is True
    assert [r["id"] for r in diff["newly_failing"]] == [CLEAN_SYNO_RULES]
    assert diff["newly_passing"] == [] and diff["still_failing"] == []
    assert diff["coverage_lost"] and all(r["campaign"] == "SYNO.CloudSync" and
                                         r["why"] == "the campaign stopped at its failure"
                                         for r in diff["coverage_lost"])
    assert {s["campaign"] for s in diff["speed"]} == set(APIS)
    cloudsync = next(s for s in diff["speed"] if s["campaign"] == "cloudSync")
    assert cloudsync["paired"] is True  # derandomized: the same examples, paired one by one
    assert "regression" in done.stdout and "Newly failing (1)" in done.stdout
    back = syncrig("report", "diff", runs["new"], runs["base"], "--json", tmp_path / "b.json")
    assert back.returncode == 0, back.stdout + back.stderr
    diff = json.loads((tmp_path / "b.json").read_text())
    assert [r["id"] for r in diff["newly_passing"]] == [CLEAN_SYNO_RULES]
    assert diff["coverage_gained"] and not diff["coverage_lost"]


def speed_diff(base: Path, new: Path, out: Path) -> tuple[int, dict[str, Any]]:
    done = syncrig("report", "diff", base, new, "--gate-speed", "--json", out)
    return done.returncode, json.loads(out.read_text())


def test_report_diff_does_not_gate_on_the_speed_of_the_same_code(tmp_path: Path) -> None:
    """A cold process against a warm one, and two warm runs: the same code, no gate."""
    cold = tmp_path / "cold"
    done = syncrig("conformance", "--api", "cloudSync", "--examples", "15", "--out", cold)
    assert done.returncode == 0, done.stdout + done.stderr
    (cold_run,) = cold.iterdir()
    warm = [run(tmp_path / "warm", Options(examples=15), ["cloudSync"]).folder
            for _ in range(2)]
    for base, new in ((cold_run, warm[0]), (warm[0], warm[1]), (warm[1], cold_run)):
        assert base is not None and new is not None
        code, diff = speed_diff(base, new, tmp_path / "d.json")
        (speed,) = diff["speed"]
        assert speed["paired"] and speed["examples"] == 15 - bench.WARMUP
        assert speed["verdict"] in ("within noise", "faster"), speed
        assert speed["low"] <= speed["change"] <= speed["high"]
        assert code == (1 if speed["verdict"] == "slower" else 0), diff


def test_report_diff_gates_on_a_planted_slow_down_beyond_the_noise(tmp_path: Path) -> None:
    base = run(tmp_path, Options(examples=15), ["cloudSync"]).folder
    assert base is not None
    slow = tmp_path / f"{base.name}-slow"
    shutil.copytree(base, slow)
    figures = json.loads((slow / "bench.json").read_text())
    timing = figures["campaigns"]["cloudSync"]["timing"]
    figures["campaigns"]["cloudSync"]["timing"] = [[n, t * 3] for n, t in timing]
    figures["campaigns"]["cloudSync"]["ratio"] /= 3
    (slow / "bench.json").write_text(json.dumps(figures))
    code, diff = speed_diff(base, slow, tmp_path / "d.json")
    (speed,) = diff["speed"]
    assert speed["verdict"] == "slower" and speed["high"] < 1 - bench.MIN_EFFECT, speed
    assert code == 1 and diff["newly_failing"] == [] and diff["coverage_lost"] == []
    assert syncrig("report", "diff", base, slow).returncode == 0  # speed gates on request
    assert syncrig("report", "diff", slow, base, "--gate-speed").returncode == 0  # faster


def test_report_diff_counts_a_missing_campaign_as_coverage_lost(runs: dict[str, Path],
                                                                tmp_path: Path) -> None:
    fewer = run(tmp_path, Options(examples=6), ["cloudSync"]).folder
    assert fewer is not None
    done = syncrig("report", "diff", runs["base"], fewer, "--json", tmp_path / "d.json")
    assert done.returncode == 1, done.stdout + done.stderr
    diff = json.loads((tmp_path / "d.json").read_text())
    reached = len(json.loads((runs["base"] / "matrix.json").read_text())["matrices"][1]
                  ["reached"])
    assert diff["coverage_lost"] == [{
        "campaign": "SYNO.CloudSync", "name": f"all {reached} documented items it reached, "
        "and its rules", "why": "the campaign is missing from the new run"}]
    assert diff["only_in_base"] == ["SYNO.CloudSync"] and diff["regression"] is True
    assert "Coverage lost (1)" in done.stdout and done.stdout.rstrip().endswith("regression")


def test_report_diff_refuses_runs_of_different_profiles(runs: dict[str, Path],
                                                        tmp_path: Path) -> None:
    other = tmp_path / runs["base"].name
    shutil.copytree(runs["base"], other)
    manifest = json.loads((other / "run.json").read_text())
    manifest["profile"] = "ohos-4.1"
    (other / "run.json").write_text(json.dumps(manifest))
    done = syncrig("report", "diff", other, runs["new"])
    assert done.returncode == 2
    assert "test different things (profile: 'ohos-4.1' vs 'documented')" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("damage", "message"), [
    ("missing", "no such run directory"),
    ("empty", "run.json and matrix.json missing"),
    ("truncated", "matrix.json: corrupted, not JSON"),
    ("no-field", "matrix.json: campaigns[0].ok is missing"),
    ("manifest", "run.json: field 'target' is missing"),
])
def test_a_bad_run_directory_is_named_not_a_traceback(runs: dict[str, Path], tmp_path: Path,
                                                      damage: str, message: str) -> None:
    folder = tmp_path / "run"
    if damage != "missing":
        shutil.copytree(runs["base"], folder)
    if damage == "empty":
        for name in ("run.json", "matrix.json"):
            (folder / name).unlink()
    elif damage == "truncated":
        text = (folder / "matrix.json").read_text()
        (folder / "matrix.json").write_text(text[: len(text) // 2])
    elif damage == "no-field":
        data = json.loads((folder / "matrix.json").read_text())
        del data["campaigns"][0]["ok"]
        (folder / "matrix.json").write_text(json.dumps(data))
    elif damage == "manifest":
        data = json.loads((folder / "run.json").read_text())
        del data["target"]
        (folder / "run.json").write_text(json.dumps(data))
    for args in (("report", folder, "--no-allure"), ("report", "diff", runs["base"], folder)):
        done = syncrig(*args)
        assert done.returncode == 2, done.stdout + done.stderr
        assert message in done.stderr and "Traceback" not in done.stderr


def test_report_rebuilds_the_same_cases_from_a_moved_run(runs: dict[str, Path],
                                                         tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / runs["new"].name
    shutil.copytree(runs["new"], moved)
    shutil.rmtree(moved / "allure-results")
    (moved / "junit.xml").unlink()
    done = syncrig("report", moved, "--no-allure")
    assert done.returncode == 0, done.stderr
    assert set(results(moved)) == set(results(runs["new"]))
    assert (moved / "junit.xml").read_text() == (runs["new"] / "junit.xml").read_text()
    # paths in the run are relative to it: the replay file travels with the run
    failing = results(moved)[CLEAN_SYNO_RULES]
    assert "replay file" in {a["name"] for a in failing["attachments"]}


def test_harness_errors_are_told_from_product_failures(tmp_path: Path) -> None:
    """A NAS that does not answer is the harness's problem, not a violation of the
    implementation: broken, in the harness category."""
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    report = run(tmp_path, Options(examples=2, nas=f"http://127.0.0.1:{port}"),
                 ["SYNO.CloudSync"])
    (outcome,) = report.outcomes
    assert outcome.failure is not None and outcome.failure["kind"] == "harness"
    assert report.folder is not None
    failing = results(report.folder)[CLEAN_SYNO_RULES]
    assert failing["status"] == "broken"
    categories = json.loads((report.folder / "allure-results" / "categories.json").read_text())
    matched = next(c for c in categories if failing["status"] in c["matchedStatuses"]
                   and re.fullmatch(c.get("messageRegex", "[\\s\\S]*"),
                                    failing["statusDetails"]["message"]))
    assert matched["name"].startswith("Harness and infrastructure errors")


def test_the_html_report_loads_in_headless_chromium_and_shows_the_matrix(
        runs: dict[str, Path], tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    page = (runs["new"] / "report.html").resolve()
    text = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # nothing to fetch
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert 'data-ready="matrix"' in dom.stdout  # the page's script ran to its end
    assert dom.stdout.count('<table class="matrix"') == len(APIS)
    assert "GallerySync.start → 22400002" in dom.stdout
    assert "SYNO.CloudSync set_schedule_setting" in dom.stdout  # the failure, on the page
    shot = tmp_path / "report.png"
    subprocess.run([chromium, *flags, "--window-size=1280,2000", f"--screenshot={shot}",
                    page.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_the_allure_report_carries_the_previous_runs_history(runs: dict[str, Path]) -> None:
    if allure.allure_command() is None:
        pytest.skip("the allure command is not installed (npm install -g allure)")
    for key in ("base", "new"):
        done = syncrig("report", runs[key])
        assert done.returncode == 0, done.stdout + done.stderr
        assert (runs[key] / "allure-report" / "index.html").is_file()
    base = (runs["base"] / allure.HISTORY).read_text().splitlines()
    new = (runs["new"] / allure.HISTORY).read_text().splitlines()
    assert len(base) == 1 and len(new) == 2 and new[0] == base[0]


def test_allure_report_of_a_relative_run_directory_and_its_failure_in_full(
        runs: dict[str, Path], tmp_path: Path) -> None:
    if allure.allure_command() is None:
        pytest.skip("the allure command is not installed (npm install -g allure)")
    relative = Path("reports") / runs["base"].name
    shutil.copytree(runs["base"], tmp_path / relative)

    def report() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "conformance.cli", "report", relative],
                              capture_output=True, text=True, timeout=600, cwd=tmp_path)

    done = report()
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"allure report: {relative / 'allure-report'}" in done.stdout
    assert (tmp_path / relative / "allure-report" / "index.html").is_file()
    shutil.rmtree(tmp_path / relative / "allure-report")
    (tmp_path / relative / "allure-report").write_text("a file where the report goes")
    failed = report()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    # the cause, from the top of allure's output, without its JavaScript stack frames
    assert failed.stderr.startswith("syncrig: allure generate failed (exit 1):\n")
    assert "ENOTDIR: not a directory, mkdir" in failed.stderr
    assert "Failed to generate report due to unexpected error" in failed.stderr
    assert not re.search(r"^\s+at ", failed.stderr, re.MULTILINE)
    assert "\x1b[" not in failed.stderr


def test_an_unreachable_target_is_a_run_not_done(tmp_path: Path) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    done = syncrig("conformance", "--target", f"rpc=127.0.0.1:{port}", "--api", "cloudSync",
                   "--out", tmp_path)
    assert done.returncode == 4, done.stdout + done.stderr
    assert (f"FAILED cloudSync: unreachable target rpc=127.0.0.1:{port}: "
            "ConnectionRefusedError: [Errno 111] Connection refused\n") in done.stdout
    assert "syncrig replay" not in done.stdout
    (folder,) = tmp_path.iterdir()
    assert not (folder / "replays").exists() or not any((folder / "replays").iterdir())


def test_a_campaign_past_its_time_limit_is_a_harness_error(tmp_path: Path) -> None:
    done = syncrig("conformance", "--api", "request", "--timeout", "1", "--out", tmp_path)
    assert done.returncode == 4, done.stdout + done.stderr
    (folder,) = tmp_path.iterdir()
    (campaign,) = json.loads((folder / "matrix.json").read_text())["campaigns"]
    assert campaign["failure"]["kind"] == "harness"
    assert campaign["failure"]["message"] == "timeout: the campaign ran past 1 s"
    # cut off, not shrunk: no trace to read and nothing to replay
    assert campaign["steps"] == [] and campaign["replay"] is None
    assert not (folder / "replays").exists() or not any((folder / "replays").iterdir())
    assert "FAILED request: timeout: the campaign ran past 1 s\n" in done.stdout
    assert "syncrig replay" not in done.stdout
    assert 1 <= campaign["seconds"] < 30  # it stopped, it did not run to its end
    rules = results(folder)["syncrig.request.rules"]
    assert rules["status"] == "broken"
    assert rules["statusDetails"]["message"].startswith("harness: timeout")
    bad = syncrig("conformance", "--timeout", "0", "--out", tmp_path)
    assert bad.returncode == 2 and "--timeout" in bad.stderr


def test_a_random_profile_records_its_seed_and_a_derandomized_one_refuses_one(
        tmp_path: Path) -> None:
    done = syncrig("conformance", "--api", "SYNO.CloudSync", "--hypothesis-profile", "explore",
                   "--examples", "2", "--seed", "12345", "--out", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (folder,) = tmp_path.iterdir()
    assert json.loads((folder / "run.json").read_text())["seed"] == 12345
    assert json.loads((folder / "stats.json").read_text())["SYNO.CloudSync"]["seed"] == 12345
    bad = syncrig("conformance", "--seed", "1", "--out", tmp_path)
    assert bad.returncode == 2 and "ci is derandomized" in bad.stderr


def test_a_failure_is_filed_under_the_method_it_names_or_else_the_last_one_called() -> None:
    from conformance.reporting.cases import attribute

    items = [["error", "GallerySync", "off", "0"], ["error", "FileSync", "off", "0"],
             ["error", "CloudSync", "set_schedule_setting", "0"],
             ["error", "GallerySync", "start", "202"]]
    assert attribute({"rule": "GallerySync.start message"}, [], items) == ("GallerySync", "start")
    assert attribute({"rule": "SYNO.CloudSync set_schedule_setting"}, [], items) == \
        ("CloudSync", "set_schedule_setting")
    # "off" is a method of two classes: the trace decides
    journal = [{"reached": [["error", "FileSync", "off", "0"]]}]
    assert attribute({"rule": "off('progress') stops the events"}, journal, items) == \
        ("FileSync", "off")
    assert attribute({"rule": "an invariant"}, [], items) == ("", "")


def test_the_recorded_seed_reproduces_the_random_examples(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def rules(seed: int, where: str) -> dict[str, int]:
        (tmp_path / where).mkdir()
        monkeypatch.chdir(tmp_path / where)  # a fresh example database each time
        options = Options(examples=3, hypothesis_profile="explore", seed=seed)
        outcome = run_campaign(CAMPAIGNS["cloudSync"], options, tmp_path / f"w-{where}")
        assert outcome.statistics["seed"] == seed
        counts: dict[str, int] = outcome.statistics["rules"]
        return counts

    assert rules(7, "a") == rules(7, "b")
    assert rules(7, "c") != rules(8, "d")


def test_items_a_stopped_campaign_did_not_run_are_not_run_in_the_html(tmp_path: Path) -> None:
    done = syncrig("conformance", "--api", "cloudSync", "--mutant", "cs-battery-low-at-10",
                   "--out", tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    (folder,) = tmp_path.iterdir()
    page = (folder / "report.html").read_text()
    rows = re.findall(r'<tr class="(\w+)">.*?<td class="status">([^<]*)</td></tr>', page, re.S)
    statuses = {status for _, status in rows}
    assert "not run: the campaign stopped at its failure" in statuses
    assert not any(status.startswith("NOT REACHED") for status in statuses)
    assert "unreached" not in {cls for cls, _ in rows}
    # the same items as JUnit's
    junit = ET.parse(folder / "junit.xml").getroot()
    skipped = [s.get("message") for s in junit.iter("skipped")]
    assert skipped.count("not run: the campaign stopped at its failure") == \
        sum(cls == "notrun" for cls, _ in rows) > 0


def test_the_failing_trace_timeline_spans_its_own_steps(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.plot

    drawn: list[tuple[list[Any], list[tuple[float, str]]]] = []
    plot_trace = sim.plot.plot_trace

    def spy(events: Any, path: Path, title: str = "",
            marks: list[tuple[float, str]] | None = None) -> Path:
        drawn.append((list(events), list(marks or [])))
        return plot_trace(events, path, title, marks or [])

    monkeypatch.setattr(sim.plot, "plot_trace", spy)
    with BY_NAME["cs-battery-low-at-10"].applied():
        outcome = run_campaign(CAMPAIGNS["cloudSync"], Options(examples=5), tmp_path / "w",
                               replays=tmp_path / "replays")
    assert [str(s) for s in outcome.steps] == ["t=0s start_conditions()"]
    assert outcome.evidence["timeline"] == tmp_path / "replays" / "cloudsync-timeline.png"
    ((events, marks),) = drawn
    assert marks == [(0.0, "1. start_conditions")]
    # a trace of one instant: seconds around it, not a span of hours around zero
    assert sim.plot.time_axis(events, marks) == sim.plot.TimeAxis(-5.0, 5.0, "seconds", 1.0)
    late = sim.plot.time_axis(events, [(1045.5, "1. start_conditions")])
    assert (late.unit, late.low <= 0, late.high >= 1045.5 / 3600) == ("hours", True, True)
