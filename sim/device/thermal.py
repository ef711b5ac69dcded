"""Thermal: a first-order model of the device's temperature, with an overheat flag.

``dT/dt = (T_amb + R·P − T) / τ``: the device relaxes exponentially towards ``T_amb + R·P``,
where ``P`` is the power it dissipates (its electrical draw plus the charger's losses) and ``R``
the thermal resistance to ambient. The overheat flag sets when ``T`` reaches ``overheat_c`` and
clears only when ``T`` falls back to ``overheat_c − hysteresis_c``, as platform thermal managers
do to avoid flapping.
"""

from __future__ import annotations

from collections.abc import Callable

import simpy

from sim.device.profile import ThermalProfile
from sim.device.quantity import Quantity, Segment
from sim.trace import EventKind, Trace


class Thermal:
    """Temperature of one device; ``heat_w()`` is read from the device on every replan."""

    def __init__(self, env: simpy.Environment, profile: ThermalProfile, trace: Trace,
                 heat_w: Callable[[], float], *, measured: bool = False) -> None:
        self.profile = profile
        self.measured = measured
        """The temperature is read from a host sensor (:meth:`set_measured`), not modelled."""
        self._trace = trace
        self._heat_w = heat_w
        self.ambient_c = profile.ambient_c
        initial = profile.initial_c if profile.initial_c is not None else profile.ambient_c
        self.overheated = initial >= profile.overheat_c
        self._clear_c = profile.overheat_c - profile.hysteresis_c
        self._target: float | None = None
        self._temp = Quantity(env, initial, self._plan, self._crossed)
        self._temp.add_threshold(profile.overheat_c)
        self._temp.add_threshold(self._clear_c)
        self._temp.replan()

    @property
    def celsius(self) -> float:
        return self._temp.value

    @property
    def segment(self) -> Segment:
        return self._temp.segment

    def steady_state_c(self) -> float:
        """Where the temperature is heading with the present ambient and load."""
        return self.ambient_c + self.profile.resistance_c_per_w * self._heat_w()

    def set_ambient(self, celsius: float) -> None:
        if not -40 <= celsius <= 70:
            raise ValueError(f"ambient temperature must be within -40..70 °C, got {celsius!r}")
        self.ambient_c = float(celsius)
        self._trace.emit(EventKind.AMBIENT, ambient_c=self.ambient_c, celsius=self.celsius)
        self.replan()

    def replan(self) -> None:
        """Ambient or heat may have changed: start a new segment if the target moved."""
        if self._target != self.steady_state_c():
            self._temp.replan()

    def set_measured(self, celsius: float) -> None:
        """Take a host sensor's reading; crossing the overheat marks sets or clears the flag
        exactly as a modelled temperature would."""
        for level, rising in self._temp.jump(float(celsius)):
            self._crossed(level, rising)

    def _plan(self, t: float, x: float) -> Segment:
        self._target = self.steady_state_c()
        if self.measured:
            return Segment(t, x, 0.0)
        return Segment(t, x, target=self._target, tau=self.profile.time_constant_s)

    def _crossed(self, level: float, rising: bool) -> None:
        if rising and level == self.profile.overheat_c and not self.overheated:
            self.overheated = True
            self._trace.emit(EventKind.OVERHEAT, overheated=True, celsius=level)
        elif not rising and level == self._clear_c and self.overheated:
            self.overheated = False
            self._trace.emit(EventKind.OVERHEAT, overheated=False, celsius=level)
