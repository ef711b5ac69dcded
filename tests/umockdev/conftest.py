"""Fixtures for tests that need a umockdev testbed: a fake /sys that psutil and pyudev read.

These tests run in a process started under ``umockdev-wrapper`` (``tests/test_hil.py`` starts
it); collected any other way they skip, saying so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

PRELOADED = "libumockdev-preload" in os.environ.get("LD_PRELOAD", "")


@pytest.fixture
def testbed() -> Iterator[Any]:
    if not PRELOADED:
        pytest.skip("needs the umockdev preload: run under umockdev-wrapper "
                    "(tests/test_hil.py::test_umockdev_suite does)")
    import gi

    gi.require_version("UMockdev", "1.0")
    from gi.repository import UMockdev

    bed = UMockdev.Testbed.new()
    # psutil lists this folder; a machine with no power supplies still has it
    os.makedirs(bed.get_sys_dir() + "/class/power_supply", exist_ok=True)
    yield bed
    del bed


def add_battery(bed: Any, capacity: int = 80, status: str = "Discharging",
                name: str = "BAT0") -> str:
    return str(bed.add_device("power_supply", name, None,
                              ["type", "Battery", "present", "1", "status", status,
                               "capacity", str(capacity)],
                              ["POWER_SUPPLY_CAPACITY", str(capacity)]))


def add_adapter(bed: Any, online: bool, name: str = "AC") -> str:
    return str(bed.add_device("power_supply", name, None,
                              ["type", "Mains", "online", "1" if online else "0"], []))


def add_hwmon(bed: Any, millidegrees: int = 47000, high: int = 85000) -> str:
    return str(bed.add_device("hwmon", "hwmon0", None,
                              ["name", "coretemp", "temp1_input", str(millidegrees),
                               "temp1_label", "Package id 0", "temp1_max", str(high),
                               "temp1_crit", "100000"], []))


def add_thermal_zone(bed: Any, millidegrees: int, critical: int = 100000) -> str:
    return str(bed.add_device("thermal", "thermal_zone0", None,
                              ["type", "x86_pkg_temp", "temp", str(millidegrees),
                               "trip_point_0_type", "critical",
                               "trip_point_0_temp", str(critical)], []))
