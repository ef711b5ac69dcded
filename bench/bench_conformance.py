"""Benchmark: state-machine steps per second of each campaign, against a bare Hypothesis state
machine measured in the same run, and the wall time of the ``ci`` suite and where it goes.

The baseline machine has one rule that appends to a list and one invariant: what remains of
a step there is Hypothesis's own cost (drawing the rule and its arguments, running the
invariant). A campaign's ratio is its steps/s over the baseline's (1.0 = no cost beyond
Hypothesis's). Steps are counted from the recorded trace of every example. The suite's wall
time is that of ``syncrig conformance`` (all campaigns, ``ci`` profile, one process), split by
campaign and, within one, into example generation and the shortening of a failing trace.

Usage: ``python bench/bench_conformance.py [--examples 50] [--json]``
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from conformance.machines.base import RecordedMachine
from conformance.suite import CAMPAIGNS, Options, run_campaign


class Bare(RuleBasedStateMachine):
    """Hypothesis's cost per step, and nothing else."""

    steps = 0

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    @rule(x=st.sampled_from([1, 2, 3]))
    def step(self, x: int) -> None:
        self.seen.append(x)
        Bare.steps += 1

    @invariant()
    def fine(self) -> None:
        assert len(self.seen) < 10_000


def bare(examples: int, step_count: int) -> dict[str, float]:
    Bare.steps = 0
    started = time.perf_counter()
    run_state_machine_as_test(Bare, settings=settings(  # type: ignore[no-untyped-call]
        max_examples=examples, stateful_step_count=step_count, deadline=None,
        derandomize=True, database=None))
    seconds = time.perf_counter() - started
    return {"steps": Bare.steps, "seconds": seconds, "steps_per_s": Bare.steps / seconds}


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
    finally:
        RecordedMachine.__init__ = original  # type: ignore[method-assign]
    steps = sum(len(s) for s in counted)
    m = outcome.matrix
    return {"campaign": name, "machine": machine.__name__, "examples": len(counted),
            "steps": steps, "seconds": outcome.seconds, "steps_per_s": steps / outcome.seconds,
            "ok": outcome.ok, "reached": len(m["reached"]), "documented": m["documented"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    options = Options(examples=args.examples)
    base = bare(args.examples, options.steps)
    work = Path(tempfile.mkdtemp(prefix="syncrig-bench-"))
    try:
        started = time.perf_counter()
        rows = [campaign(name, options, work) for name in CAMPAIGNS]
        total = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for row in rows:
        row["ratio_to_bare_hypothesis"] = row["steps_per_s"] / base["steps_per_s"]
        row["share_of_suite"] = row["seconds"] / total
    result = {"host": platform.node(), "python": platform.python_version(),
              "examples": args.examples, "bare_hypothesis": base, "campaigns": rows,
              "suite_seconds": total}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"bare Hypothesis machine: {base['steps_per_s']:,.0f} steps/s "
          f"({base['steps']} steps in {base['seconds']:.2f} s)")
    for row in rows:
        print(f"{row['campaign']:16} {row['steps']:6} steps in {row['seconds']:6.2f} s = "
              f"{row['steps_per_s']:8,.0f} steps/s, ratio {row['ratio_to_bare_hypothesis']:.3f}"
              f", {100 * row['share_of_suite']:4.1f} % of the suite; "
              f"{row['reached']}/{row['documented']} items, "
              f"{'conforms' if row['ok'] else 'FAILED'}")
    print(f"ci suite ({args.examples} examples per campaign): {total:.1f} s wall")


if __name__ == "__main__":
    main()
