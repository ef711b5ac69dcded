"""``syncrig simulate`` and ``syncrig plot``: a scenario on a simulated device, a saved trace
plotted."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import simpy
import simpy.rt
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from sim.arguments import image_path, positive, positive_duration
from sim.errors import ConfigError
from sim.plot import plot_trace
from sim.scenario import build_run, load_scenario, summarize
from sim.scenario.summary import Summary
from sim.trace import read_trace
from sim.units import format_duration, format_size


def add_parsers(sub: Any) -> None:
    sim = sub.add_parser("simulate", help="run a scenario on a simulated device")
    sim.add_argument("scenario", help="scenario name (fixtures/scenarios) or YAML path")
    sim.add_argument("--device", help="device profile name (fixtures/devices) or YAML path; "
                     "default: the scenario's")
    sim.add_argument("--seed", type=int, help="seed for the perturbations; default: the "
                     "scenario's")
    sim.add_argument("--until", type=positive_duration, help="simulated time to run, e.g. 24h; "
                     "default: the scenario's duration")
    sim.add_argument("--trace", type=Path, help="write the trace as JSON lines to this file")
    sim.add_argument("--plot", type=image_path, help="write a PNG of the timeline to this file")
    sim.add_argument("--sample", type=positive_duration,
                     help="sampling interval for plots, e.g. 1m")
    sim.add_argument("--realtime", type=positive, metavar="FACTOR",
                     help="run in real time, FACTOR simulated seconds per wall second")
    sim.add_argument("--json", action="store_true", help="print the summary as JSON")
    sim.set_defaults(run=_simulate)

    plot = sub.add_parser("plot", help="plot a saved trace")
    plot.add_argument("trace", type=Path)
    plot.add_argument("--out", type=image_path, required=True, help="PNG file to write")
    plot.add_argument("--title", default="")
    plot.set_defaults(run=_plot)


def _summary_table(summary: Summary, title: str) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    final = summary.final
    if final.get("battery_pct") is not None:
        charging = "charging" if final.get("charging") else "not charging"
        table.add_row("battery", f"{final['battery_pct']:.1f} % ({charging}), "
                      f"min {summary.min_battery_pct:.1f} %")
    else:
        table.add_row("battery", "none (mains powered)")
    table.add_row("temperature", f"{final['celsius']:.1f} °C (ambient "
                  f"{final['ambient_c']:.1f} °C), peak {summary.max_celsius:.1f} °C")
    radios = ", ".join(f"{n} {'up' if up else 'down'}" for n, up in final["radios"].items())
    table.add_row("radios", f"{radios}; active: {final['active']}")
    table.add_row("free storage", format_size(final["free_bytes"]))
    table.add_row("time below 15 %", format_duration(summary.below_15_s))
    table.add_row("time below 10 %", format_duration(summary.below_10_s))
    table.add_row("time overheated", format_duration(summary.overheated_s))
    table.add_row("time powered off", format_duration(summary.powered_off_s))
    table.add_row("time offline", format_duration(summary.offline_s))
    outages = ", ".join(f"{n} {c}" for n, c in summary.radio_outages.items()) or "none"
    table.add_row("radio outages", outages)
    table.add_row("bytes moved", f"up {format_size(summary.bytes_up)}, "
                  f"down {format_size(summary.bytes_down)} "
                  f"({summary.transfers_done} transfers done, "
                  f"{summary.transfers_interrupted} interrupted)")
    return table


def _simulate(args: argparse.Namespace, console: Console) -> int:
    scenario, path = load_scenario(args.scenario)
    env: simpy.Environment | None = None
    if args.realtime:
        env = simpy.rt.RealtimeEnvironment(factor=1.0 / args.realtime, strict=False)
    run = build_run(scenario, path, device=args.device, seed=args.seed, env=env,
                    sample_interval=args.sample)
    until = args.until if args.until is not None else scenario.duration
    err = Console(stderr=True)
    progress: Progress | None = None
    task = None
    started = time.perf_counter()

    def on_progress(now: float, end: float) -> None:
        nonlocal progress, task
        if progress is None and time.perf_counter() - started > 1.0:
            progress = Progress(TextColumn(f"simulating {scenario.name}"), BarColumn(),
                                TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                                console=err, transient=True)
            progress.start()
            task = progress.add_task("run", total=end)
        if progress is not None and task is not None:
            progress.update(task, completed=now)

    try:
        result = run.run(until, on_progress=on_progress)
    finally:
        if progress is not None:
            progress.stop()
    events = result.device.trace.timeline()
    summary = summarize(events)
    title = (f"{scenario.name} on {result.device.profile.name}, seed {result.seed}, "
             f"{format_duration(until)} simulated in {result.wall_seconds:.3f} s")
    if args.trace:
        with _writing(args.trace):
            result.device.trace.save(args.trace)
    if args.plot:

        with _writing(args.plot):
            plot_trace(events, args.plot, title)
    if args.json:
        payload = {"scenario": scenario.name, "device": result.device.profile.name,
                   "seed": result.seed, "until_s": until, "wall_s": result.wall_seconds,
                   "trace_sha256": result.device.trace.digest(), **summary.to_dict()}
        console.print_json(json.dumps(payload))
    else:
        console.print(_summary_table(summary, title))
        for label, file in (("trace", args.trace), ("plot", args.plot)):
            if file:
                console.print(f"{label}: {file}")
    return 0


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Turn a failure to write an output file into one clear error naming the file."""
    try:
        yield
    except OSError as exc:
        raise ConfigError(path, "", str(path), f"cannot write file: {exc.strerror}") from None


def _plot(args: argparse.Namespace, console: Console) -> int:

    try:
        events = read_trace(args.trace)
    except OSError as exc:
        raise ConfigError(args.trace, "", str(args.trace), f"cannot read trace: {exc.strerror}") \
            from None
    except (ValueError, KeyError) as exc:
        raise ConfigError(args.trace, "", str(args.trace), f"not a syncrig trace: {exc}") \
            from None
    try:
        with _writing(args.out):
            plot_trace(events, args.out, args.title)
    except ValueError as exc:
        raise ConfigError(args.trace, "", str(args.trace), str(exc)) from None
    except (KeyError, TypeError) as exc:
        raise ConfigError(args.trace, "", str(args.trace),
                          f"not a syncrig trace: an event lacks field {exc}") from None
    console.print(f"plot: {args.out}")
    return 0
