"""Battery: level, charger, drain under load, charge taper, threshold events, shutdown at 0 %.

Physics (``k = 100 / (3600 · capacity_mAh)`` percent per mA·s, ``d`` the device's drain):

- unplugged: ``dL/dt = −k·d`` (a straight line);
- plugged, below the taper: ``dL/dt = k·(charge − d)`` (may be negative under heavy load);
- plugged, from the taper up: the charge current falls linearly to 0 at 100 %, so
  ``dL/dt = a·(L* − L)`` with ``a = k·charge / (100 − taper)`` and ``L* = 100 − d·(100 − taper)
  / charge``: an exponential approach to ``L*``, continuous with the straight part at the taper.

Crossings of 15 %, 10 %, 0 % and of any level a listener watches are events at the exact
simulated instant (see :mod:`sim.device.quantity`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy

from sim.device.profile import BatteryProfile
from sim.device.quantity import Quantity, Segment
from sim.spec.ohos_cloudsync import PAUSE_CAPACITY_LIMIT, STOP_CAPACITY_LIMIT
from sim.trace import EventKind, Trace

REPORTED_LEVELS = (PAUSE_CAPACITY_LIMIT, STOP_CAPACITY_LIMIT, 0.0)
"""Levels every battery reports: the platforms' warning (15 %) and low (10 %) marks, as the
documented contract defines them, and empty."""


class Battery:
    """The battery of one device; ``drain_ma()`` is read from the device on every replan."""

    def __init__(self, env: simpy.Environment, profile: BatteryProfile, trace: Trace,
                 drain_ma: Callable[[], float], on_empty: Callable[[], None],
                 on_boot_level: Callable[[], None], *, measured: bool = False) -> None:
        self.profile = profile
        self.measured = measured
        """The level is read from a host's fuel gauge (:meth:`set_level`), not integrated."""
        self._trace = trace
        self._drain_ma = drain_ma
        self._on_empty = on_empty
        self._on_boot_level = on_boot_level
        self._k = 100.0 / (3600.0 * profile.capacity_mah)
        self._taper = profile.taper_start_pct
        self.plugged = profile.charger_plugged
        self._reported: set[float] = set(REPORTED_LEVELS)
        self._inputs: tuple[bool, float] | None = None
        self._level = Quantity(env, profile.level_pct, self._plan, self._crossed)
        for level in (*REPORTED_LEVELS, self._taper, profile.boot_level_pct):
            self._level.add_threshold(level)
        self._level.replan()

    @property
    def level(self) -> float:
        """State of charge in percent, as a real number (0–100)."""
        return min(100.0, max(0.0, self._level.value))

    @property
    def percent(self) -> int:
        """The integer percent a platform reports (the fuel gauge floors the level)."""
        return math.floor(self.level + 1e-9)

    @property
    def charging(self) -> bool:
        return self.plugged

    @property
    def segment(self) -> Segment:
        return self._level.segment

    def charge_ma_at(self, level: float) -> float:
        """Charger current into the battery at ``level`` (before the device's own drain)."""
        if not self.plugged:
            return 0.0
        if level <= self._taper:
            return self.profile.charge_ma
        return self.profile.charge_ma * (100.0 - level) / (100.0 - self._taper)

    def watch(self, level: float) -> None:
        """Report crossings of ``level`` as events too (a listener asked for it)."""
        if not 0 <= level <= 100:
            raise ValueError(f"battery level to watch must be within 0..100, got {level!r}")
        self._reported.add(float(level))
        self._level.add_threshold(float(level))

    def set_plugged(self, plugged: bool) -> None:
        if plugged == self.plugged:
            return
        self.plugged = plugged
        self._trace.emit(EventKind.CHARGER, plugged=plugged, level=self.level)
        self._level.replan()

    def set_level(self, level: float) -> None:
        """Jump the level (a control); thresholds passed by the jump are reported in order."""
        if not 0 <= level <= 100:
            raise ValueError(f"battery level must be within 0..100, got {level!r}")
        old = self.level
        crossed = self._level.jump(float(level))
        self._trace.emit(EventKind.BATTERY_SET, level=float(level), previous=old)
        for threshold, rising in crossed:
            self._crossed(threshold, rising)

    def replan(self) -> None:
        """The drain or the charger may have changed: start a new segment if either did."""
        if self._inputs != (self.plugged, self._drain_ma()):
            self._level.replan()

    def _plan(self, t: float, x: float) -> Segment:
        d = self._drain_ma()
        self._inputs = (self.plugged, d)
        if self.measured:
            return Segment(t, x, 0.0)
        k = self._k
        if not self.plugged:
            rate = -k * d if x > 0 else 0.0
            return Segment(t, x, rate)
        charge = self.profile.charge_ma
        below_rate = k * (charge - d)
        if x > self._taper or (x == self._taper and below_rate > 0):
            a = k * charge / (100.0 - self._taper)
            target = 100.0 - d * (100.0 - self._taper) / charge
            return Segment(t, x, target=target, tau=1.0 / a)
        if x <= 0 and below_rate < 0:
            below_rate = 0.0
        return Segment(t, x, below_rate)

    def _crossed(self, level: float, rising: bool) -> None:
        if level in self._reported:
            self._trace.emit(EventKind.BATTERY_THRESHOLD, level=level,
                             direction="rising" if rising else "falling", charging=self.plugged)
        if level == 0.0 and not rising:
            self._on_empty()
        if level == self.profile.boot_level_pct and rising:
            self._on_boot_level()
