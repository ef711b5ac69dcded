"""Battery physics against the profile's figures and the closed forms."""

from __future__ import annotations

import math

import pytest

from sim.device import Device
from sim.trace import EventKind
from tests.conftest import make_profile

CAP = 1000.0  # mAh in the test profile
K = 100.0 / (3600.0 * CAP)  # percent per mA·s


def thresholds(device: Device) -> list[tuple[float, float, str]]:
    return [(e.t, e.data["level"], e.data["direction"])
            for e in device.trace.of_kind(EventKind.BATTERY_THRESHOLD)]


def test_discharge_rate_matches_profile_currents() -> None:
    device = Device(make_profile(**{"battery.level_pct": 90}))
    device.controls.set_load(screen_on=True, cpu=0.5)
    drain = 100 + 200 + 0.5 * 500  # baseline + screen + half CPU; radios idle at 0 mA
    device.env.run(until=1800)
    expected_drop = drain / CAP * 100 * 0.5  # percent in half an hour
    assert 90 - device.battery.level == pytest.approx(expected_drop, rel=0.01)


def test_charge_rate_below_taper_is_charger_minus_drain() -> None:
    device = Device(make_profile(**{"battery.level_pct": 20, "battery.charger_plugged": True}))
    device.env.run(until=900)
    expected_gain = (2000 - 100) / CAP * 100 * 0.25
    assert device.battery.level - 20 == pytest.approx(expected_gain, rel=0.01)


def test_charge_tapers_exponentially_above_taper_start() -> None:
    device = Device(make_profile(**{"battery.level_pct": 80, "battery.charger_plugged": True}))
    a = K * 2000 / 20  # per second
    target = 100 - 100 * 20 / 2000  # drain 100 mA holds the level below 100
    t = 1200.0
    device.env.run(until=t)
    expected = target + (80 - target) * math.exp(-a * t)
    assert device.battery.level == pytest.approx(expected, rel=0.01)
    assert device.battery.level < 100
    assert device.battery.charge_ma_at(90) == pytest.approx(1000)


def test_threshold_events_fire_at_the_analytic_instant() -> None:
    device = Device(make_profile(**{"battery.level_pct": 20}))
    rate = 100 * K  # percent per second at the 100 mA baseline
    device.env.run(until=20 / rate + 10)
    events = thresholds(device)
    assert [(lvl, d) for _, lvl, d in events] == [(15.0, "falling"), (10.0, "falling"),
                                                  (0.0, "falling")]
    for (t, level, _), expected_level in zip(events, (15, 10, 0), strict=True):
        assert level == expected_level
        assert t == pytest.approx((20 - expected_level) / rate, abs=1e-6)


def test_a_listener_level_is_reported_in_both_directions() -> None:
    device = Device(make_profile(**{"battery.level_pct": 50, "battery.charger_plugged": True}))
    device.sensors.watch_battery(42.5)
    device.controls.unplug_charger()
    drop_rate = 100 * K
    device.env.run(until=10 / drop_rate)  # down to 40 %
    device.controls.plug_charger()
    t_plug = device.env.now
    device.env.run(until=t_plug + 3600)
    watched = [e for e in thresholds(device) if e[1] == 42.5]
    assert [d for _, _, d in watched] == ["falling", "rising"]
    assert watched[0][0] == pytest.approx(7.5 / drop_rate, abs=1e-6)
    rise_rate = (2000 - 100) * K
    assert watched[1][0] == pytest.approx(t_plug + 2.5 / rise_rate, abs=1e-6)


def test_empty_battery_powers_off_and_takes_radios_down() -> None:
    device = Device(make_profile(**{"battery.level_pct": 1}))
    rate = 100 * K
    device.env.run(until=1 / rate + 600)
    power = device.trace.of_kind(EventKind.POWER)
    assert [(e.data["on"], e.data["reason"]) for e in power] == [(False, "battery empty")]
    assert power[0].t == pytest.approx(1 / rate, abs=1e-6)
    assert not device.powered
    assert device.battery.level == 0.0
    assert not device.internet
    assert device.sensors.network().active.value == "none"
    assert device.drain_ma() == 0.0


def test_charger_boots_an_empty_device_at_boot_level() -> None:
    device = Device(make_profile(**{"battery.level_pct": 1}))
    device.env.run(until=1 / (100 * K) + 1)
    device.controls.plug_charger()
    t_plug = device.env.now
    device.env.run(until=t_plug + 3600)
    power = device.trace.of_kind(EventKind.POWER)
    assert [e.data["on"] for e in power] == [False, True]
    # while off the device draws nothing: the whole charger current goes into the battery
    assert power[1].t == pytest.approx(t_plug + 3 / (2000 * K), abs=1e-6)
    assert device.powered and device.internet


def test_level_jump_reports_crossed_thresholds_in_order() -> None:
    device = Device(make_profile(**{"battery.level_pct": 50}))
    device.controls.set_battery_level(5)
    assert [(lvl, d) for _, lvl, d in thresholds(device)] == [(15.0, "falling"),
                                                              (10.0, "falling")]
    device.controls.set_battery_level(12)
    assert thresholds(device)[-1][1:] == (10.0, "rising")


def test_heavy_load_drains_even_on_the_charger() -> None:
    device = Device(make_profile(**{"battery.level_pct": 50, "battery.charger_plugged": True,
                                    "power.cpu_busy_ma": 2500}))
    device.controls.set_load(screen_on=True, cpu=1.0)
    device.env.run(until=600)
    expected = 50 + (2000 - (100 + 200 + 2500)) * K * 600
    assert device.battery.level == pytest.approx(expected, rel=0.01)
    assert device.battery.level < 50


def test_reported_percent_is_the_floor_of_the_level() -> None:
    device = Device(make_profile(**{"battery.level_pct": 10.6}))
    assert device.battery.percent == 10
    device.controls.set_battery_level(10)
    assert device.battery.percent == 10


@pytest.mark.parametrize("level", [-1, 100.5, 150])
def test_impossible_levels_are_refused(level: float) -> None:
    device = Device(make_profile())
    with pytest.raises(ValueError, match=r"0\.\.100"):
        device.controls.set_battery_level(level)
    assert device.battery.level == 50
