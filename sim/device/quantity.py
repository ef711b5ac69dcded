"""A continuously varying quantity with exact threshold crossings.

Battery level and temperature change continuously between control actions, and along each
stretch they follow a closed form: a straight line (constant net current) or an exponential
approach to a target (charge taper, first-order heating). Representing them as analytic segments
instead of stepping a clock means a threshold crossing is scheduled at the exact simulated
instant, and a quiet simulated hour costs no events at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import simpy


@dataclass(frozen=True, slots=True)
class Segment:
    """``x(t)`` from ``t0``: linear with ``rate`` per second, or exponential towards ``target``
    with time constant ``tau`` when ``tau`` is set."""

    t0: float
    x0: float
    rate: float = 0.0
    target: float = 0.0
    tau: float | None = None

    def value(self, t: float) -> float:
        dt = t - self.t0
        if self.tau is None:
            return self.x0 + self.rate * dt
        return self.target + (self.x0 - self.target) * math.exp(-dt / self.tau)

    def direction(self) -> int:
        """+1 rising, −1 falling, 0 constant."""
        delta = self.rate if self.tau is None else self.target - self.x0
        return (delta > 0) - (delta < 0)

    def time_to(self, x: float) -> float | None:
        """Absolute time at which the segment reaches ``x``, or None if it never does."""
        if self.tau is None:
            if self.rate == 0:
                return None
            dt = (x - self.x0) / self.rate
        else:
            span = self.x0 - self.target
            if span == 0:
                return None
            frac = (x - self.target) / span
            if not 0 < frac <= 1:
                return None
            dt = -self.tau * math.log(frac)
        return self.t0 + dt if dt >= 0 else None


Planner = Callable[[float, float], Segment]
CrossHandler = Callable[[float, bool], None]


class Quantity:
    """Holds the current segment and fires ``on_cross(threshold, rising)`` at each crossing.

    ``planner(t, x)`` returns the segment that starts at value ``x`` at time ``t``; the owner
    calls :meth:`replan` whenever an input of the physics changes. At a crossing the segment is
    re-anchored exactly on the threshold, so float error never accumulates across crossings.
    A threshold is "below" while the value is under it; a falling crossing happens when the
    value reaches it from above, a rising one when it reaches it from below.
    """

    __slots__ = ("_below", "_gen", "_on_cross", "_planner", "_seg", "env")

    def __init__(self, env: simpy.Environment, value: float, planner: Planner,
                 on_cross: CrossHandler) -> None:
        self.env = env
        self._planner = planner
        self._on_cross = on_cross
        self._below: dict[float, bool] = {}
        self._gen = 0
        self._seg = Segment(env.now, value)

    @property
    def value(self) -> float:
        return self._seg.value(self.env.now)

    @property
    def segment(self) -> Segment:
        return self._seg

    @property
    def thresholds(self) -> tuple[float, ...]:
        return tuple(sorted(self._below))

    def add_threshold(self, level: float) -> None:
        if level not in self._below:
            self._below[level] = self.value < level
            self._schedule()

    def discard_threshold(self, level: float) -> None:
        if self._below.pop(level, None) is not None:
            self._schedule()

    def replan(self) -> None:
        """Start a new segment from the current value (an input of the physics changed)."""
        self._seg = self._planner(self.env.now, self.value)
        self._schedule()

    def jump(self, value: float) -> list[tuple[float, bool]]:
        """Set the value outright; returns the crossings the jump made, in the order passed."""
        old = self.value
        crossed = []
        for level, below in self._below.items():
            now_below = value < level
            if now_below != below:
                self._below[level] = now_below
                crossed.append((level, not now_below))
        crossed.sort(key=lambda c: abs(c[0] - old))
        self._seg = self._planner(self.env.now, value)
        self._schedule()
        return crossed

    def _schedule(self) -> None:
        self._gen += 1
        seg = self._seg
        direction = seg.direction()
        if direction == 0:
            return
        best_t = math.inf
        best_level = 0.0
        for level, below in self._below.items():
            if below != (direction > 0):
                continue
            t = seg.time_to(level)
            if t is not None and t < best_t:
                best_t, best_level = t, level
        if best_t == math.inf:
            return
        timer = self.env.timeout(max(0.0, best_t - self.env.now))
        gen = self._gen
        callbacks = timer.callbacks
        assert callbacks is not None
        callbacks.append(lambda _event: self._fire(gen, best_level))

    def _fire(self, gen: int, level: float) -> None:
        if gen != self._gen:
            return
        rising = self._below[level]
        self._below[level] = not rising
        self._seg = self._planner(self.env.now, level)
        self._schedule()
        self._on_cross(level, rising)
