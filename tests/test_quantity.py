"""Threshold crossings under arbitrary control sequences (property-based)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sim.device import Device
from sim.trace import DeviceEvent, EventKind
from tests.conftest import make_profile

actions = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=4000),
        st.one_of(
            st.just(("plug",)), st.just(("unplug",)),
            st.tuples(st.just("level"), st.floats(min_value=0, max_value=100)),
            st.tuples(st.just("cpu"), st.floats(min_value=0, max_value=1)),
            st.tuples(st.just("wifi"), st.booleans()),
        ),
    ),
    max_size=25,
)


@given(start=st.floats(min_value=0.5, max_value=100), steps=actions,
       watched=st.floats(min_value=1, max_value=99))
def test_crossings_alternate_and_land_exactly_on_their_level(
        start: float, steps: list[tuple[float, tuple[object, ...]]], watched: float) -> None:
    device = Device(make_profile(**{"battery.level_pct": start}))
    device.sensors.watch_battery(watched)
    crossings: list[tuple[float, float, str]] = []
    jumps: set[float] = set()

    def on_event(e: DeviceEvent) -> None:
        if e.kind is EventKind.BATTERY_SET:
            jumps.add(e.t)
        if e.kind is EventKind.BATTERY_THRESHOLD:
            level = e.data["level"]
            if e.t not in jumps:  # a jump passes levels; a continuous change lands on them
                assert abs(device.battery.level - level) < 1e-6
            crossings.append((e.t, level, e.data["direction"]))

    device.sensors.subscribe(on_event)
    for dt, action in steps:
        if device.env.now + dt > device.env.now:
            device.env.run(until=device.env.now + dt)
        match action:
            case ("plug",):
                device.controls.plug_charger()
            case ("unplug",):
                device.controls.unplug_charger()
            case ("level", value):
                device.controls.set_battery_level(value)  # type: ignore[arg-type]
            case ("cpu", value):
                device.controls.set_load(cpu=value)  # type: ignore[arg-type]
            case ("wifi", up):
                device.controls.set_radio("wifi", up)  # type: ignore[arg-type]
        assert 0 <= device.battery.level <= 100
    device.env.run(until=device.env.now + 20000)
    for level in (15.0, 10.0, 0.0, watched):
        directions = [d for _, lvl, d in crossings if lvl == level]
        expected_first = "falling" if start >= level else "rising"
        expected = [expected_first if i % 2 == 0 else
                    ("rising" if expected_first == "falling" else "falling")
                    for i in range(len(directions))]
        assert directions == expected, (level, directions)
    times = [t for t, _, _ in crossings]
    assert times == sorted(times)
    if not device.powered:  # off: emptied, and not charged back up to the boot level
        assert device.battery.level < 3 or not device.battery.plugged
        assert any(lvl == 0.0 and d == "falling" for _, lvl, d in crossings)
