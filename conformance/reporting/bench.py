"""Speed figures a run records about itself, as ratios to a baseline measured in the same run.

The baseline is a bare Hypothesis state machine (one rule appending to a list, one
invariant): what a step costs there is Hypothesis's own cost. A campaign's figure is the
median of its examples' steps per second over the baseline's median, so runs on machines of
different speed compare; the interquartile range over the median is the figure's spread.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test


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
    """One run of the bare machine: steps, seconds and steps per second."""
    Bare.steps = 0
    started = time.perf_counter()
    run_state_machine_as_test(Bare, settings=settings(  # type: ignore[no-untyped-call]
        max_examples=examples, stateful_step_count=step_count, deadline=None,
        derandomize=True, database=None))
    seconds = time.perf_counter() - started
    return {"steps": Bare.steps, "seconds": seconds, "steps_per_s": Bare.steps / seconds}


def summary(samples: list[float]) -> dict[str, Any]:
    """Median and interquartile spread (relative to the median) of rate samples."""
    if not samples:
        return {"median": None, "spread": None, "samples": 0}
    median = statistics.median(samples)
    if len(samples) >= 4:
        q1, _, q3 = statistics.quantiles(samples, n=4)
        spread = (q3 - q1) / median if median else 0.0
    else:
        spread = (max(samples) - min(samples)) / median if median else 0.0
    return {"median": round(median, 2), "spread": round(spread, 3), "samples": len(samples)}


def baseline(repeats: int = 5) -> dict[str, Any]:
    """The bare machine's steps per second, ``repeats`` times (10 examples of 25 steps)."""
    rates = [bare(10, 25)["steps_per_s"] for _ in range(repeats)]
    return {"what": "bare Hypothesis state machine, steps/s"} | summary(rates)


def figures(base: dict[str, Any], campaigns: list[dict[str, Any]]) -> dict[str, Any]:
    """``bench.json``: the baseline and each campaign's steps/s with its ratio to it."""
    out: dict[str, Any] = {"baseline": base, "campaigns": {}}
    for campaign in campaigns:
        rates = campaign.get("statistics", {}).get("steps_per_s", [])
        figure = summary(rates)
        ratio = (figure["median"] / base["median"]
                 if figure["median"] is not None and base.get("median") else None)
        out["campaigns"][campaign["campaign"]] = figure | {
            "ratio": round(ratio, 4) if ratio is not None else None}
    return out
