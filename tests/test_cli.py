"""The ``syncrig`` command as a user runs it: a real subprocess, real files."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def syncrig(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_simulate_prints_a_summary_and_writes_trace_and_plot(tmp_path: Path) -> None:
    trace, plot = tmp_path / "out" / "t.jsonl", tmp_path / "out" / "t.png"
    done = syncrig("simulate", "low-battery-upload", "--trace", trace, "--plot", plot)
    assert done.returncode == 0, done.stderr
    for label in ("time below 15 %", "time below 10 %", "time overheated", "bytes moved",
                  "battery", "temperature"):
        assert label in done.stdout
    assert "low-battery-upload on phone, seed 2" in done.stdout
    lines = trace.read_text().splitlines()
    first, last = json.loads(lines[0]), json.loads(lines[-1])
    assert (first["kind"], last["kind"], last["t"]) == ("device.start", "device.end", 14400.0)
    assert plot.read_bytes()[:8] == PNG_MAGIC


def test_json_summary_carries_the_trace_digest(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    done = syncrig("simulate", "wifi-flap", "--seed", "9", "--until", "30m", "--trace", trace,
                   "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert (payload["seed"], payload["until_s"]) == (9, 1800.0)
    assert payload["trace_sha256"] == hashlib.sha256(trace.read_bytes()).hexdigest()
    assert payload["final"]["radios"].keys() == {"wifi", "cellular"}


def test_device_option_swaps_the_profile() -> None:
    done = syncrig("simulate", "storage-pressure", "--device", "tablet", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["device"] == "tablet"


def test_plot_command_replots_a_saved_trace(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    assert syncrig("simulate", "heatwave", "--trace", trace).returncode == 0
    done = syncrig("plot", trace, "--out", tmp_path / "again.png")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "again.png").read_bytes()[:8] == PNG_MAGIC


def test_realtime_runs_at_the_requested_pace() -> None:
    started = time.perf_counter()
    done = syncrig("simulate", "storage-pressure", "--realtime", "100", "--until", "60s")
    assert done.returncode == 0, done.stderr
    assert time.perf_counter() - started >= 0.6  # 60 simulated seconds at 100x


def assert_clean_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    for fragment in fragments:
        assert fragment in done.stderr


def test_unknown_scenario_is_one_clear_line() -> None:
    assert_clean_error(syncrig("simulate", "nope"), "unknown scenario", "day-in-the-life")


def test_invalid_scenario_file_names_file_key_and_value(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\nduration: 1h\ntimeline:\n  - at: 1h\n    battery: 150\n")
    assert_clean_error(syncrig("simulate", bad), str(bad), "timeline[0].battery", "150")


def test_invalid_device_profile_names_file_key_and_value(tmp_path: Path) -> None:
    bad = tmp_path / "dev.yaml"
    phone = Path(__file__).parents[1] / "fixtures" / "devices" / "phone.yaml"
    bad.write_text(phone.read_text().replace("capacity_mah: 4500", "capacity_mah: -4500"))
    assert_clean_error(syncrig("simulate", "heatwave", "--device", bad), str(bad),
                       "battery.capacity_mah", "-4500")


def test_malformed_options_are_one_clear_line() -> None:
    assert_clean_error(syncrig("simulate", "heatwave", "--until", "soon"), "malformed duration")
    assert_clean_error(syncrig("simulate", "heatwave", "--realtime", "0"), "must be > 0")
    assert_clean_error(syncrig("simulate", "heatwave", "--until", "0"), "must be a duration > 0")
    assert_clean_error(syncrig("simulate", "heatwave", "--sample", "0s"), "must be a duration > 0")


def test_an_unwritable_output_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    target = blocker / "trace.jsonl"  # a path below a regular file cannot be created
    assert_clean_error(syncrig("simulate", "heatwave", "--trace", target), str(target),
                       "cannot write file")


def test_a_scenario_on_a_device_that_lacks_its_parts_is_one_clear_line() -> None:
    assert_clean_error(syncrig("simulate", "day-in-the-life", "--device", "nas"),
                       "timeline[0].charger", "device 'nas' has no battery")


def test_plot_of_a_non_trace_is_one_clear_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.jsonl"
    junk.write_text("this is not json\n")
    assert_clean_error(syncrig("plot", junk, "--out", tmp_path / "x.png"), "not a syncrig trace")
    assert_clean_error(syncrig("plot", tmp_path / "missing.jsonl", "--out", tmp_path / "x.png"),
                       "cannot read trace")
    partial = tmp_path / "partial.jsonl"
    partial.write_text('{"t": 0, "kind": "device.start"}\n')
    assert_clean_error(syncrig("plot", partial, "--out", tmp_path / "x.png"),
                       "not a syncrig trace")


def test_serve_http_serves_files_until_interrupted(tmp_path: Path) -> None:
    import signal
    import urllib.request

    (tmp_path / "hello.txt").write_text("hello")
    proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "http",
                             "--port", "0", "--root", str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(" on ")[1].split()[0]
        with urllib.request.urlopen(f"{url}/files/hello.txt", timeout=10) as response:
            assert response.read() == b"hello"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130 and "Traceback" not in err


def test_serve_http_on_a_missing_folder_is_one_clear_line(tmp_path: Path) -> None:
    assert_clean_error(syncrig("serve", "http", "--root", tmp_path / "nope"), "not a folder")


def test_serve_nas_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    assert_clean_error(syncrig("serve", "nas", "--data", not_a_dir), "unusable data directory")
    bad_seed = tmp_path / "seed.yaml"
    bad_seed.write_text("users:\n  - {name: a, password: b, totp_secret: short}\n")
    assert_clean_error(syncrig("serve", "nas", "--data", tmp_path / "d", "--seed-file",
                               bad_seed), "users[0].totp_secret", "not a usable TOTP secret")
    bad_seed.write_text("users:\n  - {name: a, password: b}\nconnections:\n"
                        "  - {id: 1, user: bob, type: db, account: x, task_name: t}\n")
    assert_clean_error(syncrig("serve", "nas", "--data", tmp_path / "d", "--seed-file",
                               bad_seed), "connections", "connection 1 belongs to 'bob'")


def test_conformance_main_job_accounts_for_every_cloudsync_item(tmp_path: Path) -> None:
    done = syncrig("conformance", "--out", tmp_path)  # the README's main job
    assert done.returncode == 0, done.stdout + done.stderr
    (run_dir,) = tmp_path.iterdir()
    report = json.loads((run_dir / "matrix.json").read_text())
    assert report["ok"] is True
    assert [c["failure"] for c in report["campaigns"]] == [None] * 6
    assert [m["api"] for m in report["matrices"]] == [
        "@ohos.file.cloudSync", "@ohos.request", "SYNO.CloudSync",
        "device (cloudSync + request + SYNO.CloudSync)", "@ohos.file.cloudSync (path attacks)",
        "@ohos.file.cloudSync (two phones, one account)"]
    assert all(m["unreached"] == [] for m in report["matrices"])
    for m in report["matrices"]:
        assert m["documented"] == len(m["reached"]) + len(m["unreached"]) + len(m["excused"])
    cloudsync = report["matrices"][0]
    assert cloudsync["unreached"] == [] and cloudsync["accounted_percent"] == 100.0
    assert all(len(item) == 5 and item[4] for item in cloudsync["excused"])  # with reasons
    text = (run_dir / "matrix.md").read_text()
    assert "| @ohos.file.cloudSync |" in text and "not reachable on this target" in text
    run = json.loads((run_dir / "run.json").read_text())
    assert (run["target"], run["profile"], run["device"]) == ("reference", "documented", "phone")
    assert run["campaigns"] == ["cloudSync", "request", "SYNO.CloudSync", "device",
                                "cloudSync-paths", "cloudSync-twodevice"]
    assert run["counts"]["failed"] == 0 and run["counts"]["unreached"] == 0
    assert run["counts"]["documented"] == sum(m["documented"] for m in report["matrices"])
    assert run["versions"]["hypothesis"] and run["started"] <= run["ended"]
    assert "conformance run" in done.stdout


def test_a_reader_that_goes_away_ends_the_output_quietly() -> None:
    # the read end is closed before the command writes: every write meets a broken pipe
    child = subprocess.Popen([sys.executable, "-m", "conformance.cli", "sensors", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()
    with child.stderr:
        err = child.stderr.read()
    assert child.wait(60) == 0 and err == b""


def test_sensors_json_gives_numbers_with_their_units(tmp_path: Path) -> None:
    shown = subprocess.run([sys.executable, "-m", "conformance.cli", "sensors", "--json", "--path",
                            str(tmp_path)], capture_output=True, text=True, check=True)
    listed = {s["name"]: s for s in json.loads(shown.stdout)["sensors"]}
    storage = listed["storage"]["values"]
    usage = shutil.disk_usage(tmp_path)
    assert storage["capacity_bytes"] == usage.total
    assert isinstance(storage["free_bytes"], int) and 0 < storage["free_bytes"] <= usage.total
    for sensor in listed.values():  # a missing sensor has no values, only its reason
        assert sensor["found"] or sensor["values"] == {}


def test_a_plot_in_a_format_that_cannot_be_written_is_refused_before_the_run(
        tmp_path: Path) -> None:
    done = syncrig("simulate", "day-in-the-life", "--plot", tmp_path / "timeline.txt")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[-1].startswith(
        f"syncrig simulate: error: argument --plot: '{tmp_path / 'timeline.txt'}': cannot plot "
        "to .txt (formats: ")
    assert "Traceback" not in done.stderr and not (tmp_path / "timeline.txt").exists()


def test_a_report_folder_that_is_a_file_is_refused_before_the_run(tmp_path: Path) -> None:
    taken = tmp_path / "reports"
    taken.write_text("mine")
    started = time.perf_counter()
    done = syncrig("conformance", "--out", taken)
    assert done.returncode == 2 and time.perf_counter() - started < 30
    assert done.stderr.splitlines()[-1] == (
        f"syncrig conformance: error: argument --out: '{taken}' exists and is not a folder")
    assert taken.read_text() == "mine"
