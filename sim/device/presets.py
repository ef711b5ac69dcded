"""Named cellular generations with published bandwidth, latency and loss figures.

Sources (figures copied as published, converted to kbit/s and ms):

- ``gsm``, ``edge``, ``umts``, ``hsdpa``, ``lte``: the Android emulator's ``-netspeed`` and
  ``-netdelay`` presets ("Start the emulator from the command line", Android Studio user guide,
  developer.android.com/studio/run/emulator-commandline; the emulator prints the same table for
  ``emulator -help-netspeed`` / ``-help-netdelay``). Speeds are up/down kbit/s; the emulator gives
  latency as a min..max range, and the preset's latency is the midpoint. For hsdpa and lte the
  emulator adds no delay (min 0, max 0).
- ``5g``: the ``5g_urban`` standard profile of the 3GPP SA4 network-emulator contribution
  S4-260113 ("Generic Network Interface Emulator for Media Delivery Evaluation", TSG SA WG4 #135):
  20 ms delay, 0.1 % loss, 100 Mbit/s (given without an up/down split, so used for both).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CellularPreset:
    """Link figures of one cellular generation."""

    name: str
    down_kbps: float
    up_kbps: float
    latency_ms: float
    loss_pct: float
    latency_range_ms: tuple[float, float]


CELLULAR_PRESETS: dict[str, CellularPreset] = {
    p.name: p
    for p in (
        CellularPreset("gsm", 14.4, 14.4, 350.0, 0.0, (150.0, 550.0)),
        CellularPreset("edge", 473.6, 473.6, 240.0, 0.0, (80.0, 400.0)),
        CellularPreset("umts", 384.0, 384.0, 117.5, 0.0, (35.0, 200.0)),
        CellularPreset("hsdpa", 13980.0, 5760.0, 0.0, 0.0, (0.0, 0.0)),
        CellularPreset("lte", 173000.0, 58000.0, 0.0, 0.0, (0.0, 0.0)),
        CellularPreset("5g", 100000.0, 100000.0, 20.0, 0.1, (20.0, 20.0)),
    )
}
