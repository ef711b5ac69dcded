"""Thermal model against its closed form, and the overheat hysteresis."""

from __future__ import annotations

import math

import pytest

from sim.device import Device
from sim.trace import EventKind
from tests.conftest import make_profile

V, R, TAU = 4.0, 5.0, 100.0  # test profile: volts, °C/W, seconds


def test_steady_state_is_ambient_plus_resistance_times_power() -> None:
    device = Device(make_profile(**{"battery.level_pct": 100}))  # lasts the 3000 s run
    device.controls.set_load(screen_on=True, cpu=1.0)
    watts = (100 + 200 + 500) * V / 1000
    device.env.run(until=30 * TAU)
    assert device.thermal.celsius == pytest.approx(20 + R * watts, abs=1e-6)


def test_temperature_follows_the_first_order_closed_form() -> None:
    device = Device(make_profile())
    device.controls.set_load(cpu=1.0)
    t_ss = 20 + R * (100 + 500) * V / 1000
    device.env.run(until=TAU)
    # the device started at ambient and heads for t_ss with time constant tau
    assert device.thermal.celsius == pytest.approx(t_ss + (20 - t_ss) * math.exp(-1), rel=1e-9)


def test_charger_losses_heat_the_device() -> None:
    device = Device(make_profile(**{"battery.charger_plugged": True}))
    device.env.run(until=30 * TAU)
    loss_w = 2000 * V / 1000 * (1 - 0.8) / 0.8
    assert device.thermal.celsius == pytest.approx(20 + R * (100 * V / 1000 + loss_w), abs=1e-6)


def test_overheat_sets_at_threshold_and_clears_only_below_the_hysteresis_band() -> None:
    device = Device(make_profile())
    device.controls.set_ambient(38)
    t_ss = 38 + R * 100 * V / 1000  # 40 °C would never be reached: 38 + 2 = 40 exactly
    assert t_ss == 40
    device.controls.set_load(cpu=1.0)
    t_ss = 38 + R * 600 * V / 1000  # 50 °C
    start = 20.0
    device.env.run(until=10 * TAU)
    hot = device.trace.of_kind(EventKind.OVERHEAT)
    # T(t) = t_ss + (start - t_ss) e^{-t/τ} reaches 40 at t = -τ ln((40 - t_ss)/(start - t_ss))
    assert len(hot) == 1 and hot[0].data["overheated"] is True
    assert hot[0].t == pytest.approx(-TAU * math.log((40 - t_ss) / (start - t_ss)), abs=1e-6)
    # cooling: back to ambient 20 with baseline only; 39 °C (inside the band) does not clear
    device.controls.set_ambient(20)
    device.controls.set_load(cpu=0.0)
    t_cool = device.env.now
    t0 = device.thermal.celsius
    target = 20 + R * 100 * V / 1000
    t_at_39 = -TAU * math.log((39 - target) / (t0 - target))
    device.env.run(until=t_cool + t_at_39 + 1)
    assert device.thermal.overheated is True
    device.env.run(until=t_cool + 10 * TAU)
    cleared = device.trace.of_kind(EventKind.OVERHEAT)[1]
    assert cleared.data["overheated"] is False
    expected = t_cool - TAU * math.log((37 - target) / (t0 - target))
    assert cleared.t == pytest.approx(expected, abs=1e-6)
    assert device.sensors.temperature().overheated is False


def test_ambient_out_of_range_is_refused() -> None:
    device = Device(make_profile())
    with pytest.raises(ValueError, match="ambient"):
        device.controls.set_ambient(120)
    assert device.thermal.ambient_c == 20
