"""Benchmark: how fast the simulated device runs a scenario, against bare SimPy.

Figures (medians over ``--repeat`` runs, all measured in this same process):

- simulated seconds per wall second for the scenario (target: a simulated day in < 1 s);
- SimPy events per second of the scenario run, and of a bare SimPy loop that processes the
  same number of timeouts, and their ratio (target: at least 0.5).

Usage: ``python bench/bench_simulate.py [SCENARIO] [--repeat N] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import simpy

from sim.scenario import build_run, load_scenario


def scenario_run(name: str) -> tuple[float, int, float]:
    """Wall seconds, SimPy events and simulated seconds of one run (trace building included)."""
    scenario, path = load_scenario(name)
    run = build_run(scenario, path)
    started = time.perf_counter()
    result = run.run()
    wall = time.perf_counter() - started
    return wall, result.events_processed, result.until


def bare_simpy(n_events: int) -> float:
    """Wall seconds for a bare SimPy process to go through ``n_events`` timeouts."""
    env = simpy.Environment()

    def loop() -> Generator[simpy.Event, Any, None]:
        for _ in range(n_events):
            yield env.timeout(1)

    env.process(loop())
    started = time.perf_counter()
    env.run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="day-in-the-life")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    scenario_run(args.scenario)  # warm-up: imports, file cache
    walls, events, simulated = [], 0, 0.0
    bare = []
    for _ in range(args.repeat):
        wall, events, simulated = scenario_run(args.scenario)
        walls.append(wall)
        bare.append(bare_simpy(events))
    wall = statistics.median(walls)
    bare_wall = statistics.median(bare)
    ours_eps = events / wall
    bare_eps = events / bare_wall
    figures = {
        "scenario": args.scenario,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "simpy": simpy.__version__,
        "simulated_s": simulated,
        "wall_s_median": wall,
        "wall_s_spread": [min(walls), max(walls)],
        "simulated_s_per_wall_s": simulated / wall,
        "simpy_events": events,
        "events_per_s": ours_eps,
        "bare_simpy_events_per_s": bare_eps,
        "ratio_to_bare_simpy": ours_eps / bare_eps,
    }
    print(f"{args.scenario}: {simulated:.0f} simulated s in {wall * 1000:.1f} ms wall "
          f"(median of {args.repeat}; spread {min(walls) * 1000:.1f}-{max(walls) * 1000:.1f} ms)")
    print(f"  {simulated / wall:,.0f} simulated s per wall s")
    print(f"  {events} SimPy events: {ours_eps:,.0f} events/s vs bare SimPy "
          f"{bare_eps:,.0f} events/s -> ratio {ours_eps / bare_eps:.2f}")
    if args.json:
        figures["command"] = shlex.join(["python", *sys.argv])
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
