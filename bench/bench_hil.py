"""Benchmark: latency from a uevent to the reference's reaction, on a RealtimeEnvironment.

A umockdev testbed's fake battery changes ``--changes`` times (set_attribute + a ``change``
uevent). Measured per change, from just before the uevent is sent:

- baseline: a bare pyudev Monitor receiving the uevent (the transport's own floor, measured in
  the same run);
- ours: a listener on the host device's sensors — what the references subscribe to — hearing
  the battery event, after the monitor thread, the queue, the SimPy feed (``--tick``) and the
  battery model.

Figures are p50/p99/max in milliseconds and the added latency over the baseline.

Usage: ``python bench/bench_hil.py [--changes 1000] [--tick 0.005] [--json FILE]`` (it re-runs
itself under ``umockdev-wrapper``; needs umockdev and its GI bindings).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 3),
            "p99_ms": round(cut[98] * 1000, 3), "max_ms": round(ordered[-1] * 1000, 3)}


def measure(changes: int, tick: float) -> dict[str, Any]:
    import gi

    gi.require_version("UMockdev", "1.0")
    import pyudev
    from gi.repository import UMockdev

    from sim.hil.device import HostDevice, HostWatcher
    from sim.hil.sensors import HostSensors
    from sim.trace import EventKind

    bed = UMockdev.Testbed.new()
    os.makedirs(bed.get_sys_dir() + "/class/power_supply", exist_ok=True)
    battery = bed.add_device("power_supply", "BAT0", None,
                             ["type", "Battery", "present", "1", "status", "Discharging",
                              "capacity", "80"], [])

    flips = [0]

    def flip(_: int) -> float:  # 80 -> 79 -> 80 ...: every uevent is a change
        flips[0] += 1
        bed.set_attribute(battery, "capacity", "79" if flips[0] % 2 else "80")
        sent = time.monotonic()
        bed.uevent(battery, "change")
        return sent

    # baseline: the uevent through a bare monitor
    monitor = pyudev.Monitor.from_netlink(pyudev.Context())
    monitor.filter_by("power_supply")
    monitor.start()
    bare = []
    for i in range(changes):
        sent = flip(i + 1)
        if monitor.poll(timeout=5) is None:
            raise RuntimeError("the bare monitor heard nothing")
        bare.append(time.monotonic() - sent)
    del monitor  # its socket closes: unread, it would fill and make the sender fail
    gc.collect()

    # ours: monitor thread -> queue -> SimPy feed -> battery model -> the sensors' listeners
    with tempfile.TemporaryDirectory() as scratch:
        host = HostSensors(scratch)
        with HostWatcher(host, poll_s=0) as watcher:
            device = HostDevice(host, watcher, tick_s=tick)
            heard: list[float] = []
            device.sensors.subscribe(lambda e: heard.append(time.monotonic())
                                     if e.kind is EventKind.BATTERY_SET else None)
            ours = []
            for i in range(changes):
                before = len(heard)
                sent = flip(i)
                limit = time.monotonic() + 5
                while len(heard) == before and time.monotonic() < limit:
                    device.run(until=device.env.now + tick)
                if len(heard) == before:
                    raise RuntimeError(f"change {i} was not heard")
                ours.append(heard[-1] - sent)
            device.close()
    base, mine = percentiles(bare), percentiles(ours)
    return {"changes": changes, "tick_s": tick, "baseline_bare_monitor": base, "ours": mine,
            "added_p50_ms": round(mine["p50_ms"] - base["p50_ms"], 3),
            "added_p99_ms": round(mine["p99_ms"] - base["p99_ms"], 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--tick", type=float, default=0.005, help="the feed's period (s)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if "libumockdev-preload" not in os.environ.get("LD_PRELOAD", ""):
        wrapper = shutil.which("umockdev-wrapper")
        if wrapper is None:
            print("bench_hil: needs umockdev (apt-get install umockdev gir1.2-umockdev-1.0)",
                  file=sys.stderr)
            return 2
        return subprocess.call([wrapper, sys.executable, *sys.argv])
    figures = measure(args.changes, args.tick)
    figures["command"] = shlex.join(["python", *sys.argv])
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
