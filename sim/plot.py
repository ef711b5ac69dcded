"""Timeline plots of a run: battery, temperature, radios and free storage against time.

Drawn from the trace alone, so any saved trace can be plotted again. Exact state changes
(charger, radio, overheat, power) come from their events; the continuous curves from the samples
plus every event that carries a reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from sim.trace import DeviceEvent, EventKind

_MARKED = {
    EventKind.BATTERY_THRESHOLD: ("v", "tab:red", "battery threshold"),
    EventKind.POWER: ("X", "black", "power off/on"),
    EventKind.OVERHEAT: ("^", "tab:orange", "overheat on/off"),
    EventKind.TRANSFER_INTERRUPTED: ("x", "tab:purple", "transfer interrupted"),
    EventKind.TRANSFER_DONE: ("o", "tab:green", "transfer done"),
    EventKind.STORAGE_FULL: ("s", "tab:brown", "storage full"),
}


def _intervals(events: Sequence[DeviceEvent], kind: EventKind, initial: bool, key: str,
               match: dict[str, object] | None = None, per: float = 3600.0
               ) -> list[tuple[float, float]]:
    """Spans (start, width) in units of ``per`` seconds while a boolean field of ``kind``
    events holds."""
    spans = []
    holds, since = initial, events[0].t
    for e in events:
        if e.kind is not kind or (match and any(e.data.get(k) != v for k, v in match.items())):
            continue
        value = bool(e.data[key])
        if value and not holds:
            since = e.t
        elif holds and not value:
            spans.append((since / per, (e.t - since) / per))
        holds = value
    if holds:
        spans.append((since / per, (events[-1].t - since) / per))
    return spans


@dataclass(frozen=True)
class TimeAxis:
    """The time axis of a plot: its limits in ``unit`` (``per`` seconds each)."""

    low: float
    high: float
    unit: str
    per: float


def time_axis(events: Sequence[DeviceEvent], marks: Sequence[tuple[float, str]] = ()
              ) -> TimeAxis:
    """The span of the trace and of the ``marks`` (seconds), in seconds when it is short and
    in hours otherwise; padded so that a trace of one instant (a failing trace whose steps
    take no simulated time) still shows where it happened, not a span around zero."""
    times = [e.t for e in events] + [t for t, _ in marks]
    first, last = min(times), max(times)
    unit, per = ("seconds", 1.0) if last - first < 600 else ("hours", 3600.0)
    pad = max((last - first) * 0.03, 5.0)
    return TimeAxis((first - pad) / per, (last + pad) / per, unit, per)


def plot_trace(events: Sequence[DeviceEvent], path: Path, title: str = "",
               marks: Sequence[tuple[float, str]] = ()) -> Path:
    """Write a PNG of the run's timeline to ``path``; ``marks`` (simulated second, label) are
    drawn across every panel — the steps of a failing trace, so each reading lines up with
    the step that caused it."""
    if not events or events[0].kind is not EventKind.START:
        raise ValueError("trace does not begin with a device.start event")
    start = events[0].data
    axis = time_axis(events, marks)
    per = axis.per
    readings = [e for e in events if e.kind in (EventKind.START, EventKind.SAMPLE, EventKind.END)]
    hours = [e.t / per for e in readings]
    dot = "o" if len({e.t for e in readings}) < 3 else None  # too few readings for a line
    has_battery = start.get("battery_pct") is not None
    radios = list(start.get("radios", {}))
    fig, axes = plt.subplots(4, 1, sharex=True, figsize=(12, 9),
                             gridspec_kw={"height_ratios": [3, 3, 1.2, 2]})
    ax_bat, ax_temp, ax_radio, ax_store = axes

    if has_battery:
        ax_bat.plot(hours, [e.data["battery_pct"] for e in readings], color="tab:green",
                    label="battery %", marker=dot)
        for level, style in ((15, ":"), (10, "--")):
            ax_bat.axhline(level, color="tab:red", linestyle=style, linewidth=0.8)
        for x, w in _intervals(events, EventKind.CHARGER, bool(start.get("charging")), "plugged",
                               per=per):
            ax_bat.axvspan(x, x + w, color="gold", alpha=0.2, linewidth=0)
        ax_bat.set_ylim(-2, 102)
    else:
        reason = start.get("unavailable", {}).get("battery", "no battery (mains powered)")
        ax_bat.text(0.5, 0.5, reason, ha="center", va="center", transform=ax_bat.transAxes)
    ax_bat.set_ylabel("battery %\n(charging shaded)")

    if start.get("celsius") is None:  # a host without a temperature sensor
        ax_temp.text(0.5, 0.5, start.get("unavailable", {}).get("temperature",
                                                                 "no temperature sensor"),
                     ha="center", va="center", transform=ax_temp.transAxes)
    else:
        ax_temp.plot(hours, [e.data["celsius"] for e in readings], color="tab:red",
                     label="device", marker=dot)
        ax_temp.plot(hours, [e.data["ambient_c"] for e in readings], color="tab:blue",
                     linestyle="--", linewidth=0.8, label="ambient")
    if "overheat_c" in start and start.get("celsius") is not None:
        ax_temp.axhline(start["overheat_c"], color="tab:orange", linestyle=":", linewidth=0.8,
                        label="overheat")
    for x, w in _intervals(events, EventKind.OVERHEAT, bool(start.get("overheated")),
                           "overheated", per=per):
        ax_temp.axvspan(x, x + w, color="tab:orange", alpha=0.15, linewidth=0)
    ax_temp.set_ylabel("°C")
    if start.get("celsius") is not None:
        ax_temp.legend(loc="upper right", fontsize="small")

    for row, name in enumerate(radios):
        spans = _intervals(events, EventKind.RADIO, bool(start["radios"][name]), "up",
                           {"radio": name}, per)
        ax_radio.broken_barh(spans, (row - 0.35, 0.7), color="tab:blue")
        drops = [e.t / per for e in events if e.kind is EventKind.RADIO
                 and e.data["radio"] == name and not e.data["up"]]
        ax_radio.plot(drops, [row + 0.45] * len(drops), marker="|", color="tab:red",
                      linestyle="none", markersize=6)
    ax_radio.set_yticks(range(len(radios)), radios)
    ax_radio.set_ylim(-0.6, max(len(radios), 1) - 0.4)
    ax_radio.set_ylabel("up\n(| = drop)")

    ax_store.plot(hours, [e.data["free_bytes"] / 1e9 for e in readings], color="tab:gray",
                  drawstyle="steps-post", marker=dot)
    ax_store.set_ylabel("free GB")
    ax_store.set_xlabel(f"simulated {axis.unit}")
    ax_store.set_xlim(axis.low, axis.high)
    for at, label in marks:
        for ax in axes:
            ax.axvline(at / per, color="tab:gray", linestyle="-.", linewidth=0.8)
        ax_bat.annotate(label, (at / per, 1.0), xycoords=("data", "axes fraction"),
                        rotation=90, va="top", ha="right", fontsize="x-small")

    shown: set[EventKind] = set()
    for e in events:
        marker = _MARKED.get(e.kind)
        if marker is None:
            continue
        symbol, color, label = marker
        if e.kind is EventKind.BATTERY_THRESHOLD and e.data.get("direction") == "rising":
            symbol = "^"
        target = ax_radio if e.kind in (EventKind.TRANSFER_INTERRUPTED, EventKind.TRANSFER_DONE,
                                        EventKind.STORAGE_FULL) else ax_bat
        if e.kind is EventKind.OVERHEAT:
            target = ax_temp
        y = {ax_bat: e.data.get("level", 50 if not has_battery else 0),
             ax_temp: e.data.get("celsius", 0),
             ax_radio: -0.45}[target]
        if e.kind is EventKind.POWER:
            y = 0
        target.plot([e.t / per], [y], marker=symbol, color=color, linestyle="none",
                    label=None if e.kind in shown else label)
        shown.add(e.kind)
    handles, labels = [], []
    for ax in (ax_bat, ax_radio):
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    if handles:
        ax_bat.legend(handles, labels, loc="best", fontsize="small", ncol=3)
    fig.suptitle(title or f"{start.get('device', 'device')} timeline")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
