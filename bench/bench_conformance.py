"""Benchmark: state-machine steps per second of each campaign, against a bare Hypothesis state
machine measured in the same run, and the wall time of the ``ci`` suite and where it goes.

The baseline machine has one rule that appends to a list and one invariant: what remains of
a step there is Hypothesis's own cost (drawing the rule and its arguments, running the
invariant). A campaign's ratio is its steps/s over the baseline's (1.0 = no cost beyond
Hypothesis's). Steps are counted from the recorded trace of every example. The suite's wall
time is that of ``syncrig conformance`` (all campaigns, ``ci`` profile, one process), split by
campaign; a second, profiled run of each campaign splits its time by area of the code.

With ``--rpc``, the cloudSync and request campaigns run once more against ``syncrig serve rpc``
in another process (syncrig-rpc/1 over loopback TCP), and each is given as a ratio to the same
campaign in-process: the cost of the wire, since every attribute and call is a round trip.

Usage: ``python bench/bench_conformance.py [--examples 50] [--rpc] [--json [PATH]]``
"""

from __future__ import annotations

import argparse
import cProfile
import json
import platform
import pstats
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from conformance.campaign import run_campaign
from conformance.machines.base import RecordedMachine
from conformance.options import Options
from conformance.reporting.bench import bare
from conformance.suite import CAMPAIGNS

AREAS = (("sim/device", "device model"), ("sim/ohos", "reference APIs"),
         ("sim/synology", "NAS emulator"), ("sim/cloud", "simulated cloud"),
         ("sim/", "other sim"), ("conformance/", "machines and suite"),
         ("hypothesis", "Hypothesis"), ("simpy", "SimPy"), ("aiohttp", "HTTP servers"),
         ("requests", "HTTP clients"), ("urllib3", "HTTP clients"),
         ("synology_api", "HTTP clients"), ("cryptography", "crypto (DSM login)"))


LOW_LEVEL = (("acquire", "waiting on other threads"), ("threading", "waiting on other threads"),
             ("sleep", "waiting on other threads"), ("sqlite", "SQLite"),
             ("socket", "sockets"), ("select", "sockets"), ("poll", "sockets"),
             ("http/client", "sockets"), ("posix", "file system"), ("io.", "file system"),
             ("_io", "file system"), ("shutil", "file system"), ("tempfile", "file system"),
             ("pathlib", "file system"), ("os.py", "file system"))


def areas(stats: pstats.Stats) -> dict[str, float]:
    """Own time per area of the code, from a profile."""
    out: dict[str, float] = {}
    for (filename, _, function), (_, _, tottime, _, _) in \
            stats.stats.items():  # type: ignore[attr-defined]
        where = f"{filename} {function}"
        area = next((label for key, label in AREAS if key in filename), None) or \
            next((label for key, label in LOW_LEVEL if key in where), "other stdlib")
        out[area] = out.get(area, 0.0) + tottime
    return out


def campaign(name: str, options: Options, work: Path) -> dict[str, Any]:
    counted: list[list[Any]] = []
    machine = CAMPAIGNS[name].machine
    original = RecordedMachine.__init__

    def counting(self: RecordedMachine) -> None:
        original(self)
        counted.append(self.steps)

    RecordedMachine.__init__ = counting  # type: ignore[method-assign]
    try:
        outcome = run_campaign(CAMPAIGNS[name], options, work / name)
        steps = sum(len(s) for s in counted)
        profiler = cProfile.Profile()
        profiler.enable()
        run_campaign(CAMPAIGNS[name], options, work / f"{name}-profiled")
        profiler.disable()
    finally:
        RecordedMachine.__init__ = original  # type: ignore[method-assign]
    where = areas(pstats.Stats(profiler))
    total = sum(where.values()) or 1.0
    m = outcome.matrix
    return {"campaign": name, "machine": machine.__name__, "examples": len(counted),
            "steps": steps, "seconds": outcome.seconds, "steps_per_s": steps / outcome.seconds,
            "ok": outcome.ok, "reached": len(m["reached"]), "documented": m["documented"],
            "where": {k: round(v / total, 3) for k, v in sorted(where.items(),
                                                              key=lambda kv: -kv[1])}}


def over_rpc(rows: list[dict[str, Any]], options: Options, work: Path) -> list[dict[str, Any]]:
    """The campaigns the rpc target serves, against a server in another process."""
    from conformance.targets.rpc import APIS

    server = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "rpc",
                               "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = re.search(r"127\.0\.0\.1:(\d+)", server.stdout.readline())
        assert port is not None, "syncrig serve rpc printed no port"
        out = []
        for name in APIS:
            local = next(row for row in rows if row["campaign"] == name)
            outcome = run_campaign(CAMPAIGNS[name], replace(options, rpc=f"127.0.0.1:{port[1]}"),
                                   work / f"{name}-rpc")
            out.append({"campaign": name, "seconds": outcome.seconds, "ok": outcome.ok,
                        "reached_as_in_process": len(outcome.matrix["reached"])
                        == local["reached"],
                        "slowdown": outcome.seconds / local["seconds"]})
        return out
    finally:
        server.terminate()
        server.communicate(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50)
    parser.add_argument("--rpc", action="store_true",
                        help="also run cloudSync and request over syncrig-rpc/1")
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH",
                        help="print the figures as JSON, or with PATH write them there")
    args = parser.parse_args()
    options = Options(examples=args.examples)
    base = bare(args.examples, options.steps)
    work = Path(tempfile.mkdtemp(prefix="syncrig-bench-"))
    try:
        rows = [campaign(name, options, work) for name in CAMPAIGNS]
        total = sum(row["seconds"] for row in rows)
        remote = over_rpc(rows, options, work) if args.rpc else []
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for row in rows:
        row["ratio_to_bare_hypothesis"] = row["steps_per_s"] / base["steps_per_s"]
        row["share_of_suite"] = row["seconds"] / total
    result = {"host": platform.node(), "python": platform.python_version(),
              "examples": args.examples, "bare_hypothesis": base, "campaigns": rows,
              "suite_seconds": total, "rpc": remote}
    if args.json == "-":
        print(json.dumps(result, indent=2))
        return
    if args.json:
        result["command"] = shlex.join(["python", *sys.argv])
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(f"bare Hypothesis machine: {base['steps_per_s']:,.0f} steps/s "
          f"({base['steps']} steps in {base['seconds']:.2f} s)")
    for row in rows:
        print(f"{row['campaign']:16} {row['steps']:6} steps in {row['seconds']:6.2f} s = "
              f"{row['steps_per_s']:8,.0f} steps/s, ratio {row['ratio_to_bare_hypothesis']:.3f}"
              f", {100 * row['share_of_suite']:4.1f} % of the suite; "
              f"{row['reached']}/{row['documented']} items, "
              f"{'conforms' if row['ok'] else 'FAILED'}")
        top = ", ".join(f"{k} {100 * v:.0f} %" for k, v in list(row["where"].items())[:5])
        print(f"{'':16} where the time goes (profiled run, own time): {top}")
    print(f"ci suite ({args.examples} examples per campaign): {total:.1f} s wall")
    for row in remote:
        print(f"{row['campaign']:16} over syncrig-rpc/1: {row['seconds']:6.2f} s = "
              f"{row['slowdown']:.1f}x the in-process run; "
              f"{'same items reached' if row['reached_as_in_process'] else 'OTHER ITEMS'}, "
              f"{'conforms' if row['ok'] else 'FAILED'}")


if __name__ == "__main__":
    main()
