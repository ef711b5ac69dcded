"""Link transfers: timing, interruption, sharing, and their load on battery and heat."""

from __future__ import annotations

import math
from typing import Any

import pytest

from sim.device import Device, Direction, TransferResult
from sim.errors import TransferInterrupted
from sim.trace import EventKind
from tests.conftest import make_profile

WIFI_DOWN = 8000 * 1000 / 8  # bytes/s of the test profile's Wi-Fi downlink
WIFI_UP = 4000 * 1000 / 8
LATENCY = 0.050


def run_transfer(device: Device, nbytes: int, direction: str) -> dict[str, Any]:
    outcome: dict[str, Any] = {}

    def proc() -> Any:
        try:
            outcome["result"] = yield device.link.transfer(nbytes, direction)
        except TransferInterrupted as exc:
            outcome["error"] = exc
        outcome["t"] = device.env.now

    device.env.process(proc())
    return outcome


@pytest.mark.parametrize(("direction", "rate"), [("down", WIFI_DOWN), ("up", WIFI_UP)])
def test_transfer_takes_size_over_bandwidth_plus_latency(direction: str, rate: float) -> None:
    device = Device(make_profile())
    outcome = run_transfer(device, 5_000_000, direction)
    device.env.run(until=100)
    result: TransferResult = outcome["result"]
    assert outcome["t"] == pytest.approx(5_000_000 / rate + LATENCY, abs=1e-9)
    assert (result.nbytes, result.radio, result.direction) == (5_000_000, "wifi",
                                                               Direction(direction))
    assert device.link.bytes_moved[Direction(direction)] == 5_000_000


def test_loss_reduces_goodput() -> None:
    device = Device(make_profile(**{"radios.wifi.loss_pct": 20}))
    outcome = run_transfer(device, 1_000_000, "down")
    device.env.run(until=100)
    assert outcome["t"] == pytest.approx(1_000_000 / (WIFI_DOWN * 0.8) + LATENCY, abs=1e-9)


def test_radio_drop_interrupts_with_the_bytes_done_so_far() -> None:
    device = Device(make_profile())
    outcome = run_transfer(device, 10_000_000, "down")
    device.env.run(until=2.0)
    transfer = device.link.transfers()[0]
    assert transfer.bytes_done == math.floor((2.0 - LATENCY) * WIFI_DOWN)
    device.controls.set_radio("wifi", False)
    device.env.run(until=3.0)
    error: TransferInterrupted = outcome["error"]
    assert error.bytes_done == math.floor((2.0 - LATENCY) * WIFI_DOWN)
    assert (error.nbytes, error.radio, error.reason) == (10_000_000, "wifi", "radio down")
    assert outcome["t"] == 2.0
    traced = device.trace.of_kind(EventKind.TRANSFER_INTERRUPTED)[0]
    assert traced.data["bytes_done"] == error.bytes_done


def test_drop_during_latency_moves_nothing() -> None:
    device = Device(make_profile())
    outcome = run_transfer(device, 1000, "up")
    device.env.run(until=0.01)
    device.controls.set_radio("wifi", False)
    device.env.run(until=1)
    assert outcome["error"].bytes_done == 0


def test_a_transfer_stays_on_its_radio_when_another_network_takes_over() -> None:
    device = Device(make_profile())
    outcome = run_transfer(device, 10_000_000, "down")
    device.env.run(until=1.0)
    device.controls.set_radio("wifi", False)  # cellular is still up
    device.env.run(until=2.0)
    assert outcome["error"].radio == "wifi"
    assert device.active_network.value == "cellular"


def test_no_network_fails_at_once() -> None:
    device = Device(make_profile())
    device.controls.set_radio("wifi", False)
    device.controls.set_radio("cellular", False)
    outcome = run_transfer(device, 1000, "down")
    device.env.run(until=1)
    assert outcome["t"] == 0
    assert (outcome["error"].bytes_done, outcome["error"].reason) == (0, "no network")


def test_concurrent_transfers_share_the_radio_equally() -> None:
    device = Device(make_profile(**{"radios.wifi.latency_ms": 0}))
    a = run_transfer(device, 1_000_000, "down")
    b = run_transfer(device, 3_000_000, "down")
    device.env.run(until=100)
    # both at half rate until a finishes; then b alone at full rate
    t_a = 2 * 1_000_000 / WIFI_DOWN
    assert a["t"] == pytest.approx(t_a, abs=1e-9)
    assert b["t"] == pytest.approx(t_a + 2_000_000 / WIFI_DOWN, abs=1e-9)


def test_upload_and_download_do_not_share_bandwidth() -> None:
    device = Device(make_profile(**{"radios.wifi.latency_ms": 0}))
    down = run_transfer(device, 1_000_000, "down")
    up = run_transfer(device, 1_000_000, "up")
    device.env.run(until=100)
    assert down["t"] == pytest.approx(1_000_000 / WIFI_DOWN, abs=1e-9)
    assert up["t"] == pytest.approx(1_000_000 / WIFI_UP, abs=1e-9)


def test_bandwidth_change_mid_transfer_takes_effect_at_once() -> None:
    device = Device(make_profile(**{"radios.wifi.latency_ms": 0}))
    outcome = run_transfer(device, 2_000_000, "down")
    device.env.run(until=1.0)
    device.controls.configure_radio("wifi", down_kbps=4000)  # half the rate
    device.env.run(until=100)
    left = 2_000_000 - WIFI_DOWN * 1.0
    assert outcome["t"] == pytest.approx(1.0 + left / (WIFI_DOWN / 2), abs=1e-9)


def test_a_transfer_drains_the_battery_by_the_radio_active_current() -> None:
    device = Device(make_profile(**{"battery.level_pct": 90}))
    outcome = run_transfer(device, 50_000_000, "down")
    device.env.run(until=1000)
    duration = outcome["t"]
    k = 100 / (3600 * 1000)
    expected = 90 - k * (100 * 1000 + 300 * duration)  # baseline all along, radio while busy
    assert device.battery.level == pytest.approx(expected, rel=1e-9)


def test_a_transfer_heats_the_device() -> None:
    device = Device(make_profile())
    idle_target = device.thermal.steady_state_c()
    run_transfer(device, 50_000_000, "down")
    device.env.run(until=1)
    assert device.thermal.steady_state_c() == pytest.approx(idle_target + 5 * 0.300 * 4.0)


def test_cancel_fails_the_transfer_with_the_reason() -> None:
    device = Device(make_profile(**{"radios.wifi.latency_ms": 0}))
    outcome = run_transfer(device, 10_000_000, "down")
    device.env.run(until=1.0)
    device.link.transfers()[0].cancel("paused by user")
    device.env.run(until=2.0)
    assert outcome["error"].reason == "paused by user"
    assert outcome["error"].bytes_done == int(WIFI_DOWN)
    assert not device.radios["wifi"].transferring


def test_an_unwatched_failure_does_not_stop_the_simulation() -> None:
    device = Device(make_profile())
    device.link.transfer(10_000_000, "down")
    device.env.run(until=1.0)
    device.controls.set_radio("wifi", False)
    device.env.run(until=5.0)
    assert device.env.now == 5.0


def test_negative_size_is_refused() -> None:
    device = Device(make_profile())
    with pytest.raises(ValueError, match="nbytes"):
        device.link.transfer(-1, "down")


def test_reached_fires_when_the_link_has_carried_that_many_bytes() -> None:
    device = Device(make_profile())
    transfer = device.link.transfer(10_000_000, "down")
    marks: list[tuple[float, int]] = []

    def watch() -> Any:
        for target in (1_000_000, 5_000_000):
            done = yield transfer.reached(target)
            marks.append((device.env.now, done))

    device.env.process(watch())
    device.env.run(until=1.0)
    device.controls.configure_radio("wifi", down_kbps=4000)  # half the rate from t = 1 s
    device.env.run(until=100)
    at_change = (1.0 - LATENCY) * WIFI_DOWN  # 950 kB moved at full rate before t = 1 s
    for (t, _), target in zip(marks, (1_000_000, 5_000_000), strict=True):
        assert t == pytest.approx(1.0 + (target - at_change) / (WIFI_DOWN / 2), abs=1e-6)
    assert [done >= target for (_, done), target in zip(marks, (1_000_000, 5_000_000),
                                                         strict=True)] == [True, True]


def test_reached_fails_when_the_radio_drops_first() -> None:
    device = Device(make_profile())
    transfer = device.link.transfer(10_000_000, "down")
    outcome: dict[str, Any] = {}

    def watch() -> Any:
        try:
            yield transfer.reached(9_000_000)
        except TransferInterrupted as exc:
            outcome["bytes"] = exc.bytes_done

    device.env.process(watch())
    device.env.run(until=1.0)
    device.controls.set_radio("wifi", False)
    device.env.run(until=2.0)
    assert outcome["bytes"] == math.floor((1.0 - LATENCY) * WIFI_DOWN)


def test_finish_ends_an_open_ended_transfer_with_what_moved() -> None:
    device = Device(make_profile(**{"radios.wifi.latency_ms": 0}))
    transfer = device.link.transfer(2**62, "down")
    device.env.run(until=1.0)
    transfer.finish()
    device.env.run(until=1.5)
    assert transfer.ok and transfer.value.nbytes == int(WIFI_DOWN)
    assert not device.radios["wifi"].transferring
