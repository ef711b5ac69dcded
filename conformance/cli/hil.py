"""Hardware-in-the-loop commands: ``syncrig sensors``, ``bringup`` and ``shape``."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from conformance.options import Options
from conformance.reporting.render import render
from conformance.reporting.rundir import load
from conformance.runner import run
from sim.arguments import out_folder, positive_duration
from sim.device import load_profile
from sim.errors import ConfigError, ShapeError
from sim.hil.device import HostWatcher, TimelineRecorder
from sim.hil.sensors import HostSensors, SensorInfo
from sim.hil.shape import Shaper, link_timeline, play
from sim.plot import plot_trace
from sim.units import format_duration

BRINGUP_APIS = {"cloudsync": "cloudSync", "request": "request", "nas": "SYNO.CloudSync"}
"""The campaigns hardware can run (their rules that need Controls are left out; the NAS
emulator runs on this machine's device, in real time)."""


def add_parsers(sub: Any) -> None:
    sensors_parser = sub.add_parser("sensors", help="list this machine's sensors: what was "
                                    "found, its source and its reading")
    sensors_parser.add_argument("--path", type=Path, default=Path("."), help="the filesystem whose "
                         "free space is the device's storage (default: the current folder)")
    sensors_parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    bringup_parser = sub.add_parser("bringup", help="on this machine's sensors, in real time: list "
                             "them, run the conformance subset hardware can run, write the "
                             "reports with the measured timeline")
    bringup_parser.add_argument("--apis", default="cloudsync,request", help="comma-separated: "
                         "cloudsync, request, nas (default: cloudsync,request)")
    bringup_parser.add_argument("--duration", type=positive_duration, default=600.0,
                         help="time for the random examples, shared by the APIs (default 10m)")
    bringup_parser.add_argument("--device", default="phone", help="device profile giving the link "
                         "figures of interfaces that do not report a speed")
    bringup_parser.add_argument("--poll", type=positive_duration, default=1.0, help="how often "
                         "readings without a uevent are read (default 1s)")
    bringup_parser.add_argument("--seed", type=int,
                                help="Hypothesis seed (default: drawn, recorded)")
    bringup_parser.add_argument("--out", type=out_folder, default=Path("reports"),
                         help="report folder")
    bringup_parser.add_argument("--shape", metavar="SCENARIO", help="while the campaigns run, play "
                         "this scenario's radio timeline on --dev (root, Linux)")
    bringup_parser.add_argument("--dev", help="the interface --shape shapes")

    shape_parser = sub.add_parser("shape", help="apply a scenario's radio timeline to a real "
                           "interface (root, Linux): rate with HTB, loss with nftables, link "
                           "down/up; the interface is restored on exit or interrupt")
    shape_parser.add_argument("scenario", help="scenario name (fixtures/scenarios) or YAML path")
    shape_parser.add_argument("--dev", required=True, help="the interface to shape")
    shape_parser.add_argument("--device", help="device profile (default: the scenario's)")
    shape_parser.add_argument("--seed", type=int, help="seed of the scenario's perturbations")
    shape_parser.add_argument("--speed", type=float, default=1.0, help="scenario seconds per real "
                       "second (default 1: real time)")
    shape_parser.add_argument("--duration", type=positive_duration, help="stop after this much "
                       "scenario time (default: the scenario's duration)")
    shape_parser.add_argument("--list", action="store_true", help="print the timeline and exit "
                       "without touching the interface")
    sensors_parser.set_defaults(run=sensors)
    bringup_parser.set_defaults(run=bringup)
    shape_parser.set_defaults(run=shape)


def sensors_table(found: list[SensorInfo], title: str = "sensors") -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("sensor", "found", "source", "reading"):
        table.add_column(column)
    for info in found:
        table.add_row(info.name, "yes" if info.found else "[yellow]no[/yellow]", info.source,
                      info.reading)
    return table


def sensors(args: argparse.Namespace, console: Console) -> int:
    host = HostSensors(args.path)
    found = host.inventory()
    if args.json:
        snap = host.network()
        print(json.dumps({"sensors": [i.to_json() for i in found],
                          "network": {"internet": snap.internet, "active": snap.active.value,
                                      "radios": {n: r.up for n, r in snap.radios.items()}}},
                         indent=2))
    else:
        console.print(sensors_table(found))
    return 0


@contextlib.contextmanager
def _shaping(args: argparse.Namespace, console: Console) -> Iterator[None]:
    """With ``--shape``: the scenario's link played on ``--dev`` in a thread, for as long as
    the bring-up runs (or the scenario lasts), and the interface restored after."""
    if args.shape is None:
        yield
        return

    shapes, until = link_timeline(args.shape)
    stop = threading.Event()
    with Shaper(args.dev) as shaper:
        player = threading.Thread(target=play, args=(shaper, shapes, until), daemon=True,
                                  kwargs={"stop": stop, "on_apply": lambda t, s: console.print(
                                      f"[dim]{args.dev} at {t:.1f}s: {s.describe()}[/dim]")})
        player.start()
        try:
            yield
        finally:
            stop.set()
            player.join(timeout=30)


def bringup(args: argparse.Namespace, console: Console) -> int:

    names = []
    for api in (a.strip() for a in args.apis.split(",") if a.strip()):
        if api not in BRINGUP_APIS:
            raise ConfigError("--apis", "", api, f"must be among {', '.join(BRINGUP_APIS)}")
        names.append(BRINGUP_APIS[api])
    if not names:
        raise ConfigError("--apis", "", args.apis, "names no API")
    if args.seed is not None and not 0 <= args.seed < 2**32:
        raise ConfigError("--seed", "", args.seed, "must be in 0 .. 2**32-1")
    load_profile(args.device)
    if (args.shape is None) != (args.dev is None):
        raise ConfigError("--shape", "", args.shape or args.dev, "--shape SCENARIO and --dev "
                          "IFACE go together")
    host = HostSensors(Path.cwd())
    found = host.inventory()
    console.print(sensors_table(found, "sensors of this machine"))
    options = Options.for_profile("explore", examples=1_000_000, hil=True, device=args.device,
                                  duration_s=args.duration / len(names), poll_s=args.poll,
                                  seed=args.seed)

    try:
        with HostWatcher(host, poll_s=args.poll) as watcher, _shaping(args, console), \
                TimelineRecorder(host, watcher, args.device) as recorder:
            report = run(args.out, options, names,
                         progress=lambda what: console.print(f"[dim]{what}[/dim]"))
    except ShapeError as exc:
        print(f"syncrig: error: {exc}", file=sys.stderr)
        return 1
    folder = report.folder
    assert folder is not None
    events = recorder.device.trace.timeline()
    with (folder / "timeline.jsonl").open("w") as out:
        recorder.device.trace.write(out)
    plot_trace(events, folder / "timeline.png", title="measured on this machine")
    (folder / "hardware.json").write_text(json.dumps({
        "sensors": [i.to_json() for i in found], "timeline": "timeline.png",
        "trace": "timeline.jsonl", "poll_s": args.poll, "duration_s": args.duration,
        "uevents": watcher.uevents}, indent=2))

    render(load(folder))
    table = Table(title=f"bring-up {folder.name}")
    for column in ("API", "documented", "reached", "not reachable here", "examples",
                   "result"):
        table.add_column(column)
    for outcome in report.outcomes:
        m = outcome.matrix
        table.add_row(m["api"], str(m["documented"]), str(len(m["reached"])),
                      str(len(m["excused"])), str(outcome.statistics.get("examples", 0)),
                      "conforms" if outcome.ok else "[red]FAILED[/red]")
    console.print(table)
    for outcome in report.failures:
        console.print("[red]FAILED[/red] ", end="")
        console.print(outcome.describe(), markup=False, highlight=False)
    console.print(f"reports: {folder} (report.html, timeline.png)")
    return 0 if report.ok else 1


def shape(args: argparse.Namespace, console: Console) -> int:

    if not args.speed > 0:
        raise ConfigError("--speed", "", args.speed, "must be > 0")
    shapes, until = link_timeline(args.scenario, device=args.device, seed=args.seed,
                                  until=args.duration)
    if args.list:
        for step in shapes:
            print(f"{format_duration(step.t):>10}  {step.describe()}")
        return 0

    def applied(real_s: float, step: Any) -> None:
        print(f"{real_s:8.2f}s  {step.describe()}", flush=True)

    try:
        with Shaper(args.dev) as shaper:
            print(f"shaping {args.dev}: {len(shapes)} steps over "
                  f"{format_duration(until / args.speed)}", flush=True)
            try:
                play(shaper, shapes, until, speed=args.speed, on_apply=applied)
            finally:
                for note in shaper.notes:
                    print(f"note: {note}", flush=True)
    except ShapeError as exc:
        print(f"syncrig: error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.dev} restored", flush=True)
    return 0
