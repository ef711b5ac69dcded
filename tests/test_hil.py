"""Hardware in the loop on this machine: the umockdev suite (fake /sys) and real interfaces
in network namespaces (a veth end named wlan0, brought down)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _gi_umockdev() -> bool:
    try:
        import gi

        gi.require_version("UMockdev", "1.0")
        from gi.repository import UMockdev  # noqa: F401
    except (ImportError, ValueError):
        return False
    return True


def test_umockdev_suite(tmp_path: Path) -> None:
    """tests/umockdev/ needs the umockdev preload in the process that makes the testbed;
    it runs here, in its own pytest under umockdev-wrapper, and every test must pass."""
    if shutil.which("umockdev-wrapper") is None:
        pytest.skip("umockdev is not installed (apt-get install umockdev gir1.2-umockdev-1.0)")
    if not _gi_umockdev():
        pytest.skip("the UMockdev GI bindings are missing (gir1.2-umockdev-1.0 and PyGObject)")
    report = tmp_path / "umockdev.xml"
    # a pytest of its own: not one of this run's xdist workers
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "XDIST_"))}
    run = subprocess.run(["umockdev-wrapper", sys.executable, "-m", "pytest", "tests/umockdev",
                          "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
    written = (ROOT / "tests" / "umockdev" / "test_host_sensors.py").read_text().count(
        "\ndef test_")
    assert counts["tests"] == written and counts["failures"] == counts["errors"] == 0
    assert counts["skipped"] == 0, run.stdout[-4000:]  # skipped would mean: no preload


# -- real interfaces in a network namespace ---------------------------------------------------

def _can_make_namespaces() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if shutil.which("ip") is None:
        return "needs iproute2's ip"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@contextlib.contextmanager
def _wlan_pair(subnet: str) -> Iterator[tuple[str, str]]:
    """Two namespaces joined by a veth pair: the device's end named wlan0 (``subnet``.2), the
    other end ``subnet``.1 — addresses that never leave the two. Yields both names."""
    reason = _can_make_namespaces()
    if reason:
        pytest.skip(reason)
    tag = uuid.uuid4().hex[:6]
    dev, peer = f"syncrig_d{tag}", f"syncrig_p{tag}"
    _ip("netns", "add", dev)
    _ip("netns", "add", peer)
    try:
        _ip("link", "add", f"sv{tag}", "type", "veth", "peer", "name", f"sp{tag}")
        _ip("link", "set", f"sv{tag}", "netns", dev)
        _ip("link", "set", f"sp{tag}", "netns", peer)
        _ip("-n", dev, "link", "set", f"sv{tag}", "name", "wlan0")
        _ip("-n", dev, "addr", "add", f"{subnet}.2/30", "dev", "wlan0")
        _ip("-n", peer, "addr", "add", f"{subnet}.1/30", "dev", f"sp{tag}")
        for ns, ifname in ((dev, "wlan0"), (peer, f"sp{tag}")):
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", ifname, "up")
        yield dev, peer
    finally:
        subprocess.run(["ip", "netns", "del", dev], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", peer], capture_output=True, timeout=30)


@pytest.fixture
def wlan_namespace() -> Iterator[str]:
    """A namespace whose only interface (but lo) is a veth end named wlan0."""
    with _wlan_pair("169.254.78") as (dev, _):
        yield dev


def _sensors_in(namespace: str) -> dict[str, object]:
    out = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-m", "conformance.cli",
                          "sensors", "--json"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_a_veth_named_wlan0_is_wifi_and_down_means_no_network(wlan_namespace: str) -> None:
    up = _sensors_in(wlan_namespace)
    assert up["network"] == {"internet": True, "active": "wifi", "radios": {"wifi": True}}
    listed = {s["name"]: s for s in up["sensors"]}  # type: ignore[attr-defined]
    assert listed["wifi"]["source"] == "psutil.net_if_stats() wlan0 (name wlan0)"
    _ip("-n", wlan_namespace, "link", "set", "wlan0", "down")
    down = _sensors_in(wlan_namespace)
    assert down["network"] == {"internet": False, "active": "none", "radios": {"wifi": False}}


# -- shaping a real interface from a scenario -------------------------------------------------

SHAPED = """\
name: shaped-test
device: phone
duration: 10s
timeline:
  - at: 0s
    cellular: down
    wifi: {down_kbps: 4000, up_kbps: 4000}
  - at: 4s
    wifi: {down_kbps: 8000, up_kbps: 8000}
  - at: 8s
    wifi: down
"""


@dataclass
class Link:
    dev: str
    """The namespace of the device side (its interface: wlan0)."""
    server: str
    """The URL of an HTTP server in the other namespace."""


@pytest.fixture
def shaped_link(tmp_path: Path) -> Iterator[Link]:
    reason = _can_make_namespaces()
    if reason:
        pytest.skip(reason)
    for tool in ("tc", "nft", "curl"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} (iproute2, nftables, curl)")
    www = tmp_path / "www"
    www.mkdir()
    (www / "a.bin").write_bytes(os.urandom(750_000))
    (www / "b.bin").write_bytes(os.urandom(1_500_000))
    with _wlan_pair("169.254.79") as (dev, srv):
        server = subprocess.Popen(["ip", "netns", "exec", srv, sys.executable, "-m",
                                   "http.server", "8080", "--bind", "169.254.79.1",
                                   "--directory", str(www)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = "http://169.254.79.1:8080"
            for _ in range(100):
                if _curl(dev, f"{url}/a.bin", max_time=5)[0] == 0:
                    break
                time.sleep(0.1)
            yield Link(dev, url)
        finally:
            server.terminate()
            server.wait(timeout=10)


def _curl(namespace: str, url: str, max_time: float = 20) -> tuple[int, float]:
    """curl's exit code and download speed (bytes/s) from inside ``namespace``."""
    out = subprocess.run(["ip", "netns", "exec", namespace, "curl", "-s", "-o", os.devnull,
                          "--max-time", str(max_time), "-w", "%{speed_download}", url],
                         capture_output=True, text=True, timeout=max_time + 10)
    return out.returncode, float(out.stdout or 0)


def _shape(link: Link, scenario: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(["ip", "netns", "exec", link.dev, sys.executable, "-m",
                             "conformance.cli", "shape", str(scenario), "--dev", "wlan0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _until_line(proc: subprocess.Popen[str], text: str) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if text in line:
            return line
    said = proc.stderr.read() if proc.stderr else ""
    raise AssertionError(f"the shaper ended before {text!r}: {said}")


def _end(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=30)
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def _qdiscs(namespace: str) -> str:
    return subprocess.run(["ip", "netns", "exec", namespace, "tc", "qdisc", "show", "dev",
                           "wlan0"], capture_output=True, text=True, timeout=30).stdout


def test_a_download_follows_the_scenarios_rate(shaped_link: Link, tmp_path: Path) -> None:
    scenario = tmp_path / "shaped.yaml"
    scenario.write_text(SHAPED)
    unshaped = _curl(shaped_link.dev, f"{shaped_link.server}/b.bin")[1]
    proc = _shape(shaped_link, scenario)
    try:
        _until_line(proc, "wifi: down 4000 kbit/s")
        code, first = _curl(shaped_link.dev, f"{shaped_link.server}/a.bin")
        assert code == 0 and "htb" in _qdiscs(shaped_link.dev)
        _until_line(proc, "wifi: down 8000 kbit/s")
        code, second = _curl(shaped_link.dev, f"{shaped_link.server}/b.bin")
        assert code == 0
        _until_line(proc, "no network: link down")
        code, _ = _curl(shaped_link.dev, f"{shaped_link.server}/a.bin", max_time=1)
        assert code != 0  # the link is down: nothing arrives
        sensed = _sensors_in(shaped_link.dev)
        assert sensed["network"]["internet"] is False, sensed  # type: ignore[index]
        assert proc.wait(timeout=30) == 0
        assert proc.stdout is not None and "wlan0 restored" in proc.stdout.read()
    finally:
        _end(proc)
    # within 15 % of the timeline's rate (4 and 8 Mbit/s: 500 and 1000 kB/s)
    assert abs(first - 500_000) / 500_000 < 0.15, first
    assert abs(second - 1_000_000) / 1_000_000 < 0.15, second
    assert unshaped > 5 * 1_000_000  # the rates came from the shaping, not the veth
    assert "htb" not in _qdiscs(shaped_link.dev)
    assert _sensors_in(shaped_link.dev)["network"]["internet"] is True  # type: ignore[index]


def test_an_interrupted_shaper_restores_the_interface(shaped_link: Link,
                                                      tmp_path: Path) -> None:
    scenario = tmp_path / "shaped.yaml"
    scenario.write_text(SHAPED.replace("duration: 10s", "duration: 1h").replace(
        "  - at: 4s", "  - at: 50m").replace("  - at: 8s", "  - at: 55m"))
    proc = _shape(shaped_link, scenario)
    try:
        _until_line(proc, "wifi: down 4000 kbit/s")
        assert "htb" in _qdiscs(shaped_link.dev)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        _end(proc)
    assert "htb" not in _qdiscs(shaped_link.dev)
    nft = subprocess.run(["ip", "netns", "exec", shaped_link.dev, "nft", "list", "tables"],
                         capture_output=True, text=True, timeout=30).stdout
    assert "syncrig_shape" not in nft
    ifb = subprocess.run(["ip", "-n", shaped_link.dev, "link", "show", "ifb-wlan0"],
                         capture_output=True, text=True, timeout=30)
    assert ifb.returncode != 0
    assert _curl(shaped_link.dev, f"{shaped_link.server}/b.bin")[1] > 5 * 1_000_000


# -- bring-up on whatever this machine has ----------------------------------------------------

def _syncrig(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_bringup_lists_the_sensors_runs_the_hardware_subset_and_reports(tmp_path: Path) -> None:
    from sim.hil.sensors import HostSensors

    done = _syncrig("bringup", "--apis", "cloudsync,request,nas", "--duration", "6s", "--out",
                    tmp_path, "--seed", "7")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "sensors of this machine" in done.stdout
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    hardware = json.loads((run / "hardware.json").read_text())
    here = {info.name: info.found for info in HostSensors(ROOT).inventory()}
    listed = {s["name"]: s["found"] for s in hardware["sensors"]}
    assert listed.keys() == here.keys() == {"battery", "temperature", "ethernet", "wifi",
                                            "cellular", "storage"}
    assert listed["battery"] == here["battery"] and listed["temperature"] == here["temperature"]
    for sensor in hardware["sensors"]:  # a missing sensor says why, never a value
        assert sensor["reading"] and (sensor["found"] or sensor["source"] == "")
    assert (run / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    first = json.loads((run / "timeline.jsonl").read_text().splitlines()[0])
    assert first["kind"] == "device.start"
    if not here["battery"]:
        assert first["battery_pct"] is None
    if not here["temperature"]:
        assert first["celsius"] is None and "temperature" in first["unavailable"]
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["target"] == "reference --hil"
    assert manifest["campaigns"] == ["cloudSync", "request", "SYNO.CloudSync"]
    results = json.loads((run / "matrix.json").read_text())
    for matrix in results["matrices"]:
        assert matrix["unreached"] == []  # each item reached, or excused with its reason
    cloudsync = {tuple(e[:4]): e[4] for e in results["matrices"][0]["excused"]}
    because = "not reachable on hardware: only rules that change the device's conditions reach it"
    if not here["battery"]:  # and the sensor's absence is said, with its reason
        because += ("; and this machine has no battery sensor (no battery: "
                    "/sys/class/power_supply has no Battery device (psutil.sensors_battery() "
                    "is None))")
    assert cloudsync[("enum", "ErrorType", "BATTERY_LEVEL_LOW", "")] == because
    assert cloudsync[("error", "GallerySync", "start", "22400003")] == because
    reached = {tuple(i) for i in results["matrices"][0]["reached"]}
    assert ("error", "cloudSync", "getFileSyncState", "13900002") in reached
    assert 'id="hardware"' in (run / "report.html").read_text()


def test_bringup_and_hil_bad_input_is_one_clear_line() -> None:
    for args, words in ((("bringup", "--apis", "gallery"), ("--apis", "gallery")),
                        (("bringup", "--duration", "0s"), ("must be a duration > 0",)),
                        (("conformance", "--hil", "--api", "device"),
                         ("--api", "device", "--hil runs cloudSync, request, SYNO.CloudSync")),
                        (("shape", "wifi-flap", "--dev", "wlan0", "--speed", "0"),
                         ("--speed", "must be > 0")),
                        (("shape", "nope", "--dev", "wlan0"), ("unknown scenario",))):
        done = _syncrig(*args, timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
        for word in words:
            assert word in done.stderr, (word, done.stderr)


def test_shape_list_prints_the_scenarios_link_timeline() -> None:
    done = _syncrig("shape", "wifi-flap", "--dev", "unused", "--list", "--duration", "2m",
                    timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split(None, 1) == [
        "0s", "wifi: down 20000 kbit/s, up 5000 kbit/s, loss 2 %, latency 30 ms"]
    assert lines[1].split(None, 1) == ["18s", "no network: link down"]


def test_bringup_shapes_the_link_while_it_runs_and_restores_it(shaped_link: Link,
                                                               tmp_path: Path) -> None:
    scenario = tmp_path / "shaped.yaml"
    scenario.write_text(SHAPED.replace("duration: 10s", "duration: 1h").replace(
        "  - at: 4s", "  - at: 2s").replace("  - at: 8s", "  - at: 50m"))
    done = subprocess.run(["ip", "netns", "exec", shaped_link.dev, sys.executable, "-m",
                           "conformance.cli", "bringup", "--apis", "cloudsync", "--duration", "3s",
                           "--out", str(tmp_path / "out"), "--shape", str(scenario), "--dev",
                           "wlan0"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    said = " ".join(done.stdout.split())
    # the time printed is when the step took effect (the tc and nft commands take a moment)
    first = re.search(r"wlan0 at (\d+\.\d)s: wifi: down 4000 kbit/s", said)
    assert first is not None and float(first[1]) < 1.0, said
    assert "wifi: down 8000 kbit/s" in said  # the second step, 2 s in, while campaigns ran
    assert "htb" not in _qdiscs(shaped_link.dev)  # restored when the bring-up ended
    (run,) = (tmp_path / "out").iterdir()
    listed = {s["name"]: s for s in json.loads((run / "hardware.json").read_text())["sensors"]}
    assert listed["wifi"]["found"] and listed["wifi"]["reading"].startswith("up")
