"""``syncrig report``: a run directory's reports rendered, or two runs compared."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from conformance.cli.common import EXIT_BAD_INPUT
from conformance.reporting import allure, bench
from conformance.reporting.diff import Incomparable, compare
from conformance.reporting.merge import merge
from conformance.reporting.render import render
from conformance.reporting.rundir import RunDirError, load
from sim.errors import ConfigError


def add_parsers(sub: Any) -> None:
    report = sub.add_parser(
        "report", help="render a run directory's reports, or compare two runs",
        usage="syncrig report RUN_DIR [--no-allure]\n       syncrig report diff BASE_RUN "
        "NEW_RUN [--gate-speed] [--json FILE]\n       syncrig report merge RUN_DIR... --out DIR",
        description="syncrig report RUN_DIR: (re)write junit.xml, allure-results/ and the "
        "self-contained report.html of a run, and the allure report (allure-report/, with "
        "the previous run's history) when the allure command is installed. syncrig report "
        "diff BASE_RUN NEW_RUN: newly failing, newly passing and still failing cases, "
        "coverage gained and lost, speed changes beyond noise; exit 1 on a regression. "
        "syncrig report merge RUN_DIR... --out DIR: the shards of one run (--shard I/N) as "
        "one run directory with its reports; exit 1 when the merged run failed.")
    report.add_argument("runs", nargs="+", metavar="RUN_DIR", type=Path)
    report.add_argument("--no-allure", action="store_true", help="do not run allure generate")
    report.add_argument("--gate-speed", action="store_true", help="diff: a campaign slower "
                        "beyond the noise is a regression too: the whole "
                        f"{bench.CONFIDENCE:.0%}% bootstrap interval of its speed change "
                        "(examples and baseline samples resampled, the first "
                        f"{bench.WARMUP} examples of each campaign left out as warm-up) below "
                        f"×{1 - bench.MIN_EFFECT:.2f}")
    report.add_argument("--json", type=Path, help="diff: also write the comparison as JSON")
    report.add_argument("--out", type=Path, help="merge: the run directory to write")
    report.set_defaults(run=_report)


def _report(args: argparse.Namespace, console: Console) -> int:

    runs: list[Path] = args.runs
    if runs[0] == Path("merge"):
        return _merge(args, console)
    try:
        if runs[0] == Path("diff"):

            if len(runs) != 3:
                raise ConfigError("report diff", "", " ".join(map(str, runs[1:])),
                                  "needs two run directories: BASE_RUN NEW_RUN")
            try:
                diff = compare(load(runs[1]), load(runs[2]))
            except Incomparable as exc:
                print(f"syncrig: {exc}", file=sys.stderr)
                return EXIT_BAD_INPUT
            console.print(diff.markdown(), markup=False, highlight=False)
            if args.json is not None:
                args.json.write_text(json.dumps(diff.to_json(), indent=2))
            regression = diff.regression(gate_speed=args.gate_speed)
            console.print("[red]regression[/red]" if regression else "no regression")
            return 1 if regression else 0
        if len(runs) != 1:
            raise ConfigError("report", "", " ".join(map(str, runs)), "takes one run directory "
                              "(or: report diff BASE_RUN NEW_RUN)")
        run = load(runs[0])
    except RunDirError as exc:
        print(f"syncrig: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    written = render(run)
    for what, path in written.items():
        console.print(f"{what}: {path}")
    if not args.no_allure:

        command = allure.allure_command()
        if command is None:
            console.print("allure report: skipped, the allure command is not installed "
                          "(npm install -g allure)")
        else:
            try:
                console.print(f"allure report: {allure.generate(run.path, command)}")
            except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
                print(f"syncrig: {exc}", file=sys.stderr)
                return 1
    return 0


def _merge(args: argparse.Namespace, console: Console) -> int:
    """``report merge``: shard run directories joined into one."""
    if args.out is None:
        raise ConfigError("report merge", "", "", "needs --out DIR, the run directory to write")
    try:
        run = merge(args.runs[1:], args.out)
    except RunDirError as exc:
        print(f"syncrig: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    counts = run.manifest["counts"]
    console.print(f"{len(run.manifest['merged'])} runs merged: {counts['reached']} of "
                  f"{counts['documented']} documented items reached, {counts['failed']} "
                  f"campaigns failed; report: {run.path / 'report.html'}")
    return 0 if run.results["ok"] else 1
