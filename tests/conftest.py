"""Shared fixtures: device profiles with round figures so expected values are easy to derive."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

from sim.device import Device, DeviceProfile
from sim.servers import FixtureHTTPServer

settings.register_profile("dev", max_examples=50)
settings.register_profile("nightly", max_examples=2000)

BASE: dict[str, Any] = {
    "name": "test-phone",
    "kind": "phone",
    "battery": {"capacity_mah": 1000, "level_pct": 50, "charge_ma": 2000,
                "taper_start_pct": 80, "charge_efficiency": 0.8, "boot_level_pct": 3},
    "power": {"voltage_v": 4.0, "baseline_ma": 100, "screen_on_ma": 200, "cpu_busy_ma": 500},
    "thermal": {"ambient_c": 20, "resistance_c_per_w": 5, "time_constant_s": 100,
                "overheat_c": 40, "hysteresis_c": 3},
    "radios": {
        "wifi": {"down_kbps": 8000, "up_kbps": 4000, "latency_ms": 50, "idle_ma": 0,
                 "active_ma": 300},
        "cellular": {"preset": "umts", "idle_ma": 0, "active_ma": 500},
    },
    "storage": {"capacity": "10GB", "used": "4GB"},
}


def make_profile(**overrides: Any) -> DeviceProfile:
    """BASE with dotted-path overrides, e.g. ``make_profile(**{"battery.level_pct": 20})``."""
    data = copy.deepcopy(BASE)
    for dotted, value in overrides.items():
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return DeviceProfile.model_validate(data)


@pytest.fixture
def device() -> Device:
    return Device(make_profile())


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FixtureHTTPServer]:
    """One fixture HTTP server for the whole run, serving files with known bytes."""
    root = tmp_path_factory.mktemp("www")
    rng = random.Random(7)
    (root / "small.bin").write_bytes(rng.randbytes(300_000))
    (root / "big.bin").write_bytes(rng.randbytes(8_000_000))
    (root / "page.html").write_text("<!doctype html><p>hello</p>\n")
    with FixtureHTTPServer(root) as server:
        yield server
