"""Hardware in the loop on this machine: the umockdev suite (fake /sys) and real interfaces
in network namespaces (a veth end named wlan0, brought down)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
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
    run = subprocess.run(["umockdev-wrapper", sys.executable, "-m", "pytest", "tests/umockdev",
                          "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
    assert counts["tests"] >= 8 and counts["failures"] == counts["errors"] == 0
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


@pytest.fixture
def wlan_namespace() -> Iterator[str]:
    """A namespace whose only interface (but lo) is a veth end named wlan0, its peer in a
    second namespace: addresses that never leave the two."""
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
        _ip("-n", dev, "addr", "add", "169.254.78.2/30", "dev", "wlan0")
        _ip("-n", peer, "addr", "add", "169.254.78.1/30", "dev", f"sp{tag}")
        _ip("-n", dev, "link", "set", "wlan0", "up")
        _ip("-n", peer, "link", "set", f"sp{tag}", "up")
        yield dev
    finally:
        subprocess.run(["ip", "netns", "del", dev], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", peer], capture_output=True, timeout=30)


def _sensors_in(namespace: str) -> dict[str, object]:
    out = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-m", "sim.cli",
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
