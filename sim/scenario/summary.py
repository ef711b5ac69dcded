"""The summary of a run, computed from its trace alone.

Working from the trace (not the live models) means a saved trace file gives the same summary
later, and the summary can never disagree with the recorded timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sim.trace import DeviceEvent, EventKind


@dataclass
class Summary:
    """Final levels and time spent in each condition that matters to sync and transfer APIs."""

    duration_s: float
    final: dict[str, Any]
    below_15_s: float = 0.0
    below_10_s: float = 0.0
    overheated_s: float = 0.0
    powered_off_s: float = 0.0
    offline_s: float = 0.0
    min_battery_pct: float | None = None
    max_celsius: float | None = None
    bytes_up: int = 0
    bytes_down: int = 0
    transfers_done: int = 0
    transfers_interrupted: int = 0
    radio_outages: dict[str, int] = field(default_factory=dict)
    events: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Interval:
    """Accumulates the time a boolean condition holds."""

    def __init__(self, holds: bool, t: float) -> None:
        self.holds = holds
        self.since = t
        self.total = 0.0

    def set(self, holds: bool, t: float) -> None:
        if holds and not self.holds:
            self.since = t
        elif self.holds and not holds:
            self.total += t - self.since
        self.holds = holds

    def close(self, t: float) -> float:
        return self.total + (t - self.since if self.holds else 0.0)


def summarize(events: Sequence[DeviceEvent]) -> Summary:
    """Summarize a trace that begins with ``device.start`` and ends with ``device.end``."""
    if not events or events[0].kind is not EventKind.START:
        raise ValueError("trace does not begin with a device.start event")
    start = events[0]
    end = events[-1] if events[-1].kind is EventKind.END else None
    t0 = start.t
    t_end = end.t if end is not None else events[-1].t
    s = start.data
    level = s.get("battery_pct")
    below15 = _Interval(level is not None and level < 15, t0)
    below10 = _Interval(level is not None and level < 10, t0)
    hot = _Interval(bool(s.get("overheated")), t0)
    off = _Interval(not s.get("powered", True), t0)
    radios: dict[str, bool] = dict(s.get("radios", {}))
    offline = _Interval(not any(radios.values()), t0)
    summary = Summary(duration_s=t_end - t0, final=dict(end.data if end else s))
    summary.radio_outages = {name: 0 for name in radios}
    batteries = [v for v in (level,) if v is not None]
    temps = [v for v in (s["celsius"],) if v is not None]  # None: a host without a sensor
    for e in events:
        d = e.data
        kind = e.kind
        if kind is EventKind.BATTERY_THRESHOLD:
            below = d["direction"] == "falling"
            if d["level"] == 15:
                below15.set(below, e.t)
            elif d["level"] == 10:
                below10.set(below, e.t)
            batteries.append(d["level"])
        elif kind is EventKind.OVERHEAT:
            hot.set(d["overheated"], e.t)
        elif kind is EventKind.POWER:
            off.set(not d["on"], e.t)
        elif kind is EventKind.RADIO:
            if radios.get(d["radio"]) and not d["up"]:
                summary.radio_outages[d["radio"]] += 1
            radios[d["radio"]] = d["up"]
            offline.set(not any(radios.values()), e.t)
        elif kind is EventKind.TRANSFER_DONE:
            summary.transfers_done += 1
            _add_bytes(summary, d["direction"], d["nbytes"])
        elif kind is EventKind.TRANSFER_INTERRUPTED:
            summary.transfers_interrupted += 1
            _add_bytes(summary, d["direction"], d["bytes_done"])
        elif kind in (EventKind.SAMPLE, EventKind.END):
            if d.get("battery_pct") is not None:
                batteries.append(d["battery_pct"])
            if d.get("celsius") is not None:
                temps.append(d["celsius"])
    summary.below_15_s = below15.close(t_end)
    summary.below_10_s = below10.close(t_end)
    summary.overheated_s = hot.close(t_end)
    summary.powered_off_s = off.close(t_end)
    summary.offline_s = offline.close(t_end)
    summary.min_battery_pct = min(batteries) if batteries else None
    summary.max_celsius = max(temps) if temps else None
    summary.events = sum(1 for e in events if e.kind is not EventKind.SAMPLE)
    return summary


def _add_bytes(summary: Summary, direction: str, nbytes: int) -> None:
    if direction == "up":
        summary.bytes_up += nbytes
    else:
        summary.bytes_down += nbytes
