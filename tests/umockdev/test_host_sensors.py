"""HostSensors on a umockdev testbed: a fake battery, charger and temperature sensors that
psutil and pyudev read as if they were the machine's, changed live with uevents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from sim.cloud import CloudService
from sim.device import BatteryReading, Device, TemperatureReading
from sim.hil.device import HostDevice, HostWatcher, host_profile
from sim.hil.sensors import HostSensors
from sim.ohos.cloudsync import CloudSyncModule
from sim.ohos.cloudsync.engine import BATCH
from sim.ohos.common import CLOUDFILE_SYNC, AppSandbox, Caller
from sim.trace import EventKind
from tests.umockdev.conftest import add_adapter, add_battery, add_hwmon, add_thermal_zone

APP = "com.example.notes"


def test_readings_come_through_psutil_and_pyudev(testbed: Any, tmp_path: Path) -> None:
    add_battery(testbed, 80)
    add_adapter(testbed, online=False)
    add_hwmon(testbed, 47000, high=85000)
    host = HostSensors(tmp_path)
    assert psutil.sensors_battery().percent == 80  # psutil itself sees the fake battery
    assert host.battery() == BatteryReading(80.0, False)
    assert host.temperature() == TemperatureReading(47.0, False)
    assert host.overheat_limit() == 85.0
    found = {info.name: info for info in host.inventory()}
    assert found["battery"].source == "psutil.sensors_battery()"
    assert found["battery"].reading == "80 %, discharging"
    assert found["temperature"].source == "psutil.sensors_temperatures() coretemp/Package id 0"
    assert found["temperature"].reading == "47.0 °C (limit 85 °C)"
    assert found["storage"].found and found["storage"].source.startswith("psutil.disk_usage(")


def test_an_adapter_psutil_does_not_know_is_read_through_udev(testbed: Any,
                                                              tmp_path: Path) -> None:
    add_battery(testbed, 50, status="Discharging")
    add_adapter(testbed, online=True, name="ADP1")
    status = psutil.sensors_battery()
    assert status is not None and status.power_plugged is False  # psutil reads AC/AC0 only
    host = HostSensors(tmp_path)
    assert host.battery() == BatteryReading(50.0, True)
    found = {info.name: info for info in host.inventory()}
    assert found["battery"].source == "psutil.sensors_battery() + udev power_supply/ADP1"


def test_thermal_zones_are_the_fallback_with_their_trip_point(testbed: Any,
                                                              tmp_path: Path) -> None:
    add_thermal_zone(testbed, 71000, critical=90000)
    host = HostSensors(tmp_path)
    assert host.temperature() == TemperatureReading(71.0, False)
    assert host.overheat_limit() == 90.0


def test_a_machine_without_sensors_reports_them_unavailable(testbed: Any,
                                                            tmp_path: Path) -> None:
    host = HostSensors(tmp_path)
    assert host.battery() == BatteryReading(
        None, None, unavailable="no battery: /sys/class/power_supply has no Battery device "
        "(psutil.sensors_battery() is None)")
    assert host.temperature() == TemperatureReading(
        None, None, unavailable="no temperature sensor: no hwmon temp*_input and no "
        "thermal_zone*/temp")
    with HostWatcher(host, poll_s=0) as watcher:
        device = HostDevice(host, watcher)
        try:
            assert device.battery is None and device.controls is None
            assert device.sensors.battery().unavailable == device.unavailable["battery"]
            assert set(device.unavailable) == {"battery", "temperature"}
        finally:
            device.close()


def test_sensors_command_lists_the_testbed(testbed: Any, tmp_path: Path) -> None:
    add_battery(testbed, 64, status="Charging")
    add_hwmon(testbed, 52000)
    # a child sees the testbed through the preload and the testbed's folder, passed on
    env = dict(os.environ, UMOCKDEV_DIR=testbed.get_root_dir())
    out = subprocess.run([sys.executable, "-m", "conformance.cli", "sensors", "--json", "--path",
                          str(tmp_path)], env=env, capture_output=True, text=True, timeout=60,
                         check=True)
    listed = {s["name"]: s for s in json.loads(out.stdout)["sensors"]}
    assert listed["battery"] == {"name": "battery", "found": True,
                                 "source": "psutil.sensors_battery()",
                                 "reading": "64 %, charging",
                                 "values": {"percent": 64.0, "charging": True}}
    assert listed["temperature"]["reading"] == "52.0 °C (limit 85 °C)"
    assert listed["temperature"]["values"] == {"celsius": 52.0, "limit_celsius": 85.0,
                                               "overheated": False}
    free = listed["storage"]["values"]
    assert isinstance(free["free_bytes"], int) and 0 < free["free_bytes"] <= free[
        "capacity_bytes"]


def _advance(device: Device, seconds: float) -> None:
    device.run(until=device.env.now + seconds)


def test_uevents_reach_the_simpy_process(testbed: Any, tmp_path: Path) -> None:
    battery = add_battery(testbed, 80)
    adapter = add_adapter(testbed, online=False)
    hwmon = add_hwmon(testbed, 40000, high=60000)
    host = HostSensors(tmp_path)
    with HostWatcher(host, poll_s=0) as watcher:  # no polling: only uevents can tell
        device = HostDevice(host, watcher)
        try:
            heard: list[Any] = []
            device.sensors.subscribe(heard.append)
            assert device.battery is not None and device.battery.level == 80.0
            testbed.set_attribute(battery, "capacity", "14")
            testbed.uevent(battery, "change")
            _advance(device, 0.3)
            assert device.battery.level == 14.0
            assert [(e.kind, e.data.get("level")) for e in heard] == [
                (EventKind.BATTERY_SET, 14.0), (EventKind.BATTERY_THRESHOLD, 15.0)]
            testbed.set_attribute(adapter, "online", "1")
            testbed.uevent(adapter, "change")
            testbed.set_attribute(hwmon, "temp1_input", "61000")
            testbed.uevent(hwmon, "change")
            _advance(device, 0.3)
            assert device.battery.plugged and device.thermal.overheated
            kinds = [e.kind for e in heard[2:]]
            assert EventKind.CHARGER in kinds and EventKind.OVERHEAT in kinds
            causes = [cause for _, cause, _ in device.feed.applied]
            assert "change power_supply/BAT0" in causes and "change power_supply/AC" in causes
            assert all(done >= seen for seen, _, done in device.feed.applied if done > 0)
        finally:
            device.close()


def test_polling_sees_a_change_that_sent_no_uevent(testbed: Any, tmp_path: Path) -> None:
    battery = add_battery(testbed, 70)
    host = HostSensors(tmp_path)
    with HostWatcher(host, poll_s=0.05) as watcher:
        device = HostDevice(host, watcher)
        try:
            testbed.set_attribute(battery, "capacity", "69")  # a fuel gauge ticking down
            _advance(device, 0.4)
            assert device.battery is not None and device.battery.level == 69.0
            assert device.feed.applied[-1][1] == "poll"
        finally:
            device.close()


# -- the same behaviour on hardware as in simulation ----------------------------------------

SLOW_LINK = {
    "name": "slow-ethernet", "kind": "other",
    "thermal": {"ambient_c": 25, "resistance_c_per_w": 1, "time_constant_s": 100,
                "overheat_c": 45},
    "radios": {"ethernet": {"down_kbps": 8000, "up_kbps": 8000}},
    "storage": {"capacity": "1GB"},
}
"""Link figures for the host's Ethernet: 1 MB/s, so one batch of uploads takes a while."""


class Uploader:
    """A cloudSync FileSync on ``device`` with BATCH + 2 local files to upload."""

    def __init__(self, device: Device, root: Path) -> None:
        self.device = device
        self.cloud = CloudService(root / "cloud")
        self.drive = self.cloud.drive()
        caller = Caller.with_permissions(CLOUDFILE_SYNC, bundle_name=APP, system_app=True)
        self.module = CloudSyncModule(device, self.cloud, caller=caller,
                                      sandbox=AppSandbox(root / "app", APP))
        for i in range(BATCH + 2):
            self.module.files.write(f"f{i:02}.bin", bytes([i]) * 200_000)
        self.progress: list[tuple[str, str]] = []
        self.sync = self.module.FileSync()
        self.sync.on("progress", lambda p: self.progress.append((p.state.name, p.error.name)))

    def uploaded(self) -> list[str]:
        return sorted(self.drive.container(APP).objects)

    def battery_events(self) -> list[tuple[str, Any, Any]]:
        return [(e.kind.value, e.data.get("level"), e.data.get("direction"))
                for e in self.device.trace.events
                if e.kind in (EventKind.BATTERY_SET, EventKind.BATTERY_THRESHOLD)]


@pytest.fixture
def slow_base(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "slow-ethernet.yaml"
    path.write_text(yaml.safe_dump(SLOW_LINK))
    yield str(path)


def test_battery_falling_during_an_upload_matches_the_simulation(
        testbed: Any, tmp_path: Path, slow_base: str) -> None:
    battery = add_battery(testbed, 80)
    add_adapter(testbed, online=False)
    host = HostSensors(tmp_path)
    drop_at = 0.5  # seconds into the first batch, which takes 1.6 s at 1 MB/s

    # hardware: the fuel gauge reports 9 % half a second in
    with HostWatcher(host, poll_s=0) as watcher:
        device = HostDevice(host, watcher, base=slow_base)
        try:
            assert device.active_network.value == "ethernet"
            hil = Uploader(device, tmp_path / "hil")

            def gauge() -> Any:
                yield device.env.timeout(drop_at)
                testbed.set_attribute(battery, "capacity", "9")
                testbed.uevent(battery, "change")

            device.env.process(gauge())
            assert device.run(hil.sync.start()) is None
            _advance(device, 4.0)
            # real time: the device's clock did not run ahead of the wall clock
            assert time.time() - device.env.real_start >= device.env.now >= 4.0
        finally:
            device.close()
        profile = host_profile(host, slow_base)

    # simulation: the same device and the same timeline, through Controls
    twin = Device(profile.model_copy(update={"battery": profile.battery.model_copy(
        update={"level_pct": 80.0})}))
    sim = Uploader(twin, tmp_path / "sim")

    def control() -> Any:
        yield twin.env.timeout(drop_at)
        twin.controls.set_battery_level(9.0)

    twin.env.process(control())
    assert twin.run(sim.sync.start()) is None
    twin.run(until=4.0)

    assert sim.progress[-1] == ("UPLOAD_FAILED", "BATTERY_LEVEL_LOW")
    assert hil.progress == sim.progress
    assert len(sim.uploaded()) == BATCH  # the batch under way completed, then it stopped
    assert hil.uploaded() == sim.uploaded()
    assert hil.battery_events() == sim.battery_events() == [
        ("battery.set", 9.0, None), ("battery.threshold", 15.0, "falling"),
        ("battery.threshold", 10.0, "falling")]
    seen = next(e.t for e in device.trace.events if e.kind is EventKind.BATTERY_SET)
    assert drop_at <= seen < drop_at + 0.2  # the uevent reached the device within 200 ms


def test_the_timeline_recorder_samples_the_measured_battery(testbed: Any,
                                                            tmp_path: Path) -> None:
    from sim.hil.device import TimelineRecorder

    battery = add_battery(testbed, 80)
    add_hwmon(testbed, 41000)
    host = HostSensors(tmp_path)
    with HostWatcher(host, poll_s=0) as watcher, \
            TimelineRecorder(host, watcher, interval_s=0.1) as recorder:
        time.sleep(0.4)
        testbed.set_attribute(battery, "capacity", "50")
        testbed.uevent(battery, "change")
        time.sleep(0.4)
    samples = [e.data for e in recorder.device.trace.timeline() if e.kind is EventKind.SAMPLE]
    levels = [s["battery_pct"] for s in samples]
    assert levels[0] == 80.0 and levels[-1] == 50.0 and sorted(set(levels)) == [50.0, 80.0]
    assert {s["celsius"] for s in samples} == {41.0}
    assert recorder.device.trace.events[-1].kind is EventKind.END
