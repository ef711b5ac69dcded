"""Radios: presets, network selection, metering, power gating, bad settings."""

from __future__ import annotations

import pytest

from sim.device import CELLULAR_PRESETS, Device, NetworkType
from sim.device.presets import CellularPreset
from tests.conftest import make_profile


@pytest.mark.parametrize(("name", "down", "up", "latency"), [
    ("gsm", 14.4, 14.4, 350.0),
    ("edge", 473.6, 473.6, 240.0),
    ("umts", 384.0, 384.0, 117.5),
    ("hsdpa", 13980.0, 5760.0, 0.0),
    ("lte", 173000.0, 58000.0, 0.0),
    ("5g", 100000.0, 100000.0, 20.0),
])
def test_presets_carry_the_published_figures(name: str, down: float, up: float,
                                             latency: float) -> None:
    preset: CellularPreset = CELLULAR_PRESETS[name]
    assert (preset.down_kbps, preset.up_kbps, preset.latency_ms) == (down, up, latency)
    device = Device(make_profile(**{"radios.cellular.preset": name}))
    cell = device.sensors.network().radios["cellular"]
    assert (cell.down_kbps, cell.up_kbps, cell.latency_ms) == (down, up, latency)


def test_wifi_is_preferred_and_cellular_is_metered() -> None:
    device = Device(make_profile())
    net = device.sensors.network()
    assert net.internet and net.active is NetworkType.WIFI
    assert net.radios["cellular"].metered is True
    assert net.radios["wifi"].metered is False
    device.controls.set_radio("wifi", False)
    net = device.sensors.network()
    assert net.active is NetworkType.CELLULAR and net.active_radio is not None
    assert net.active_radio.metered
    device.controls.set_radio("cellular", False)
    net = device.sensors.network()
    assert not net.internet and net.active is NetworkType.NONE and net.active_radio is None


def test_ethernet_comes_first() -> None:
    device = Device(make_profile(**{"radios.ethernet": {"down_kbps": 1000, "up_kbps": 1000}}))
    assert device.active_network is NetworkType.ETHERNET


def test_roaming_and_metered_are_controls() -> None:
    device = Device(make_profile())
    device.controls.configure_radio("cellular", roaming=True, preset="lte")
    cell = device.sensors.network().radios["cellular"]
    assert cell.roaming is True and cell.down_kbps == 173000.0
    device.controls.configure_radio("wifi", metered=True)
    assert device.sensors.network().radios["wifi"].metered is True


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"down_kbps": 0}, "wifi.down_kbps must be > 0"),
    ({"loss_pct": 100}, "wifi.loss_pct"),
    ({"latency_ms": -1}, "wifi.latency_ms"),
    ({"preset": "lte"}, "presets are cellular"),
])
def test_bad_radio_settings_name_the_field_and_change_nothing(kwargs: dict[str, float],
                                                              message: str) -> None:
    device = Device(make_profile())
    before = device.sensors.network().radios["wifi"]
    with pytest.raises(ValueError, match=message):
        device.controls.configure_radio("wifi", **kwargs)  # type: ignore[arg-type]
    assert device.sensors.network().radios["wifi"] == before


def test_unknown_radio_is_refused() -> None:
    device = Device(make_profile())
    with pytest.raises(ValueError, match="unknown radio 'lora'"):
        device.controls.set_radio("lora", True)


def test_idle_radios_draw_their_idle_current() -> None:
    device = Device(make_profile(**{"radios.wifi.idle_ma": 7, "radios.cellular.idle_ma": 11}))
    assert device.drain_ma() == 100 + 7 + 11
    device.controls.set_radio("cellular", False)
    assert device.drain_ma() == 100 + 7
