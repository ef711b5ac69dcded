"""Device events the machines on a simulated device share: switching its radios and letting its
time pass. Each machine keeps its own rules for them (what it draws, and when an event may
happen, is part of what it predicts); these are the moves the rules make."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import rule

from conformance.machines.base import RecordedMachine, wait

RADIOS = ("wifi", "cellular")
"""The device's radios: both down is the device offline."""


class DeviceEvents(RecordedMachine):
    """A machine that drives a device's Controls between its API calls."""

    device: Any

    def set_radios(self, up: bool, names: tuple[str, ...] = RADIOS) -> None:
        """Switch the named radios (all of them by default: the device on- or offline)."""
        for name in names:
            self.device.controls.set_radio(name, up)


def passing_time(*seconds: float) -> Callable[..., None]:
    """The ``time_passes`` rule, drawing one of ``seconds``: each machine's own scale (a sync
    batch's pause, a download's body) decides which waits are worth drawing."""

    @rule(seconds=st.sampled_from(list(seconds)))
    def time_passes(self: DeviceEvents, seconds: float) -> None:
        wait(self, seconds)

    return time_passes
