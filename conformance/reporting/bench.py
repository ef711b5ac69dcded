"""Speed figures a run records about itself, as ratios to a baseline measured in the same run.

The baseline is a bare Hypothesis state machine (one rule appending to a list, one
invariant): what a step costs there is Hypothesis's own cost. A campaign's figure is its
steps per second over the baseline's, so runs on machines of different speed compare. Each
example's steps and seconds are kept: two runs of a derandomized profile ran the same
examples, and :func:`change` pairs them one by one — the median of the per-example ratios,
with their interquartile spread as the noise.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

MIN_NOISE = 0.10
"""Changes smaller than this are never reported, whatever the measured spread."""

SIGNIFICANT = 6
"""Digits a recorded figure keeps: significant digits, not decimal places, so a small ratio
(0.03014) keeps its precision as well as a large rate does."""


def significant(value: float, digits: int = SIGNIFICANT) -> float:
    """``value`` rounded to ``digits`` significant digits."""
    return float(f"{value:.{digits}g}")


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


def spread(samples: list[float]) -> float:
    """Interquartile range over the median (range over median for fewer than 4 samples)."""
    if len(samples) < 2:
        return 0.0
    median = statistics.median(samples)
    if not median:
        return 0.0
    if len(samples) >= 4:
        q1, _, q3 = statistics.quantiles(samples, n=4)
        return (q3 - q1) / median
    return (max(samples) - min(samples)) / median


def baseline(repeats: int = 5) -> dict[str, Any]:
    """The bare machine's steps per second, ``repeats`` times (10 examples of 25 steps)."""
    rates = [bare(10, 25)["steps_per_s"] for _ in range(repeats)]
    return {"what": "bare Hypothesis state machine, steps/s",
            "median": significant(statistics.median(rates)),
            "spread": significant(spread(rates)),
            "samples": len(rates)}


def figures(base: dict[str, Any], campaigns: list[dict[str, Any]]) -> dict[str, Any]:
    """``bench.json``: the baseline, and each campaign's steps/s, ratio to the baseline and
    per-example timing."""
    out: dict[str, Any] = {"baseline": base, "campaigns": {}}
    for campaign in campaigns:
        timing = [(int(n), float(t)) for n, t in
                  campaign.get("statistics", {}).get("timing", []) if t > 0]
        steps, seconds = sum(n for n, _ in timing), sum(t for _, t in timing)
        rate = steps / seconds if seconds else None
        ratio = rate / base["median"] if rate and base.get("median") else None
        out["campaigns"][campaign["campaign"]] = {
            "steps": steps, "seconds": significant(seconds),
            "steps_per_s": significant(rate) if rate else None,
            "ratio": significant(ratio) if ratio else None,
            "spread": significant(spread([n / t for n, t in timing if n])),
            "timing": [[n, round(t, 6)] for n, t in timing]}
    return out


def change(base_run: dict[str, Any], new_run: dict[str, Any]) -> dict[str, Any] | None:
    """How much faster (> 1) or slower (< 1) a campaign ran, relative to each run's own
    baseline: paired example by example when both ran the same examples (same steps in
    each), else the ratio of the two runs' figures with their spreads as the noise."""
    a, b = base_run["campaign"], new_run["campaign"]
    if not a.get("ratio") or not b.get("ratio"):
        return None
    base_a, base_b = base_run["baseline"]["median"], new_run["baseline"]["median"]
    steps_a = [n for n, _ in a.get("timing", [])]
    steps_b = [n for n, _ in b.get("timing", [])]
    if steps_a and steps_a == steps_b:
        ratios = [(nb / tb / base_b) / (na / ta / base_a)
                  for (na, ta), (nb, tb) in zip(a["timing"], b["timing"], strict=True)
                  if na and ta > 0 and tb > 0]
        factor = statistics.median(ratios)
        noise = max(MIN_NOISE, spread(ratios) / 2)
        paired = True
    else:
        factor = b["ratio"] / a["ratio"]
        noise = max(MIN_NOISE, ((a.get("spread") or 0) + (b.get("spread") or 0)) / 2)
        paired = False
    verdict = "slower" if factor < 1 - noise else "faster" if factor > 1 + noise \
        else "within noise"
    return {"base": a["ratio"], "new": b["ratio"], "change": significant(factor),
            "noise": significant(noise), "paired": paired, "verdict": verdict}
