"""Timeline plots of a run: battery, temperature, radios and free storage against time.

Drawn from the trace alone, so any saved trace can be plotted again. Exact state changes
(charger, radio, overheat, power) come from their events; the continuous curves from the samples
plus every event that carries a reading.
"""

from __future__ import annotations

from collections.abc import Sequence
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
               match: dict[str, object] | None = None) -> list[tuple[float, float]]:
    """Spans (start, width) in hours while a boolean field of ``kind`` events holds."""
    spans = []
    holds, since = initial, events[0].t
    for e in events:
        if e.kind is not kind or (match and any(e.data.get(k) != v for k, v in match.items())):
            continue
        value = bool(e.data[key])
        if value and not holds:
            since = e.t
        elif holds and not value:
            spans.append((since / 3600, (e.t - since) / 3600))
        holds = value
    if holds:
        spans.append((since / 3600, (events[-1].t - since) / 3600))
    return spans


def plot_trace(events: Sequence[DeviceEvent], path: Path, title: str = "") -> Path:
    """Write a PNG of the run's timeline to ``path``."""
    if not events or events[0].kind is not EventKind.START:
        raise ValueError("trace does not begin with a device.start event")
    start = events[0].data
    readings = [e for e in events if e.kind in (EventKind.START, EventKind.SAMPLE, EventKind.END)]
    hours = [e.t / 3600 for e in readings]
    has_battery = start.get("battery_pct") is not None
    radios = list(start.get("radios", {}))
    fig, axes = plt.subplots(4, 1, sharex=True, figsize=(12, 9),
                             gridspec_kw={"height_ratios": [3, 3, 1.2, 2]})
    ax_bat, ax_temp, ax_radio, ax_store = axes

    if has_battery:
        ax_bat.plot(hours, [e.data["battery_pct"] for e in readings], color="tab:green",
                    label="battery %")
        for level, style in ((15, ":"), (10, "--")):
            ax_bat.axhline(level, color="tab:red", linestyle=style, linewidth=0.8)
        for x, w in _intervals(events, EventKind.CHARGER, bool(start.get("charging")), "plugged"):
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
                     label="device")
        ax_temp.plot(hours, [e.data["ambient_c"] for e in readings], color="tab:blue",
                     linestyle="--", linewidth=0.8, label="ambient")
    if "overheat_c" in start and start.get("celsius") is not None:
        ax_temp.axhline(start["overheat_c"], color="tab:orange", linestyle=":", linewidth=0.8,
                        label="overheat")
    for x, w in _intervals(events, EventKind.OVERHEAT, bool(start.get("overheated")),
                           "overheated"):
        ax_temp.axvspan(x, x + w, color="tab:orange", alpha=0.15, linewidth=0)
    ax_temp.set_ylabel("°C")
    if start.get("celsius") is not None:
        ax_temp.legend(loc="upper right", fontsize="small")

    for row, name in enumerate(radios):
        spans = _intervals(events, EventKind.RADIO, bool(start["radios"][name]), "up",
                           {"radio": name})
        ax_radio.broken_barh(spans, (row - 0.35, 0.7), color="tab:blue")
        drops = [e.t / 3600 for e in events if e.kind is EventKind.RADIO
                 and e.data["radio"] == name and not e.data["up"]]
        ax_radio.plot(drops, [row + 0.45] * len(drops), marker="|", color="tab:red",
                      linestyle="none", markersize=6)
    ax_radio.set_yticks(range(len(radios)), radios)
    ax_radio.set_ylim(-0.6, max(len(radios), 1) - 0.4)
    ax_radio.set_ylabel("up\n(| = drop)")

    ax_store.plot(hours, [e.data["free_bytes"] / 1e9 for e in readings], color="tab:gray",
                  drawstyle="steps-post")
    ax_store.set_ylabel("free GB")
    ax_store.set_xlabel("simulated hours")

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
        target.plot([e.t / 3600], [y], marker=symbol, color=color, linestyle="none",
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
