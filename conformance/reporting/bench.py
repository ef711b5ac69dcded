"""Speed figures a run records about itself, as ratios to a baseline measured in the same run.

The baseline is a bare Hypothesis state machine (one rule appending to a list, one
invariant): what a step costs there is Hypothesis's own cost. A campaign's figure is its
steps per second over the baseline's, so runs on machines of different speed compare. Each
example's steps and seconds are kept, and the baseline's samples: :func:`change` compares two
runs by a bootstrap over both (paired example by example when a derandomized profile ran the
same examples), leaving out each campaign's first examples, which pay for warming up.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

MIN_EFFECT = 0.20
"""A speed change counts only when the whole confidence interval lies beyond this (slower:
the interval's top below ×0.80; faster: its bottom above ×1.20). On two shared cores, runs of
the same code were measured up to ×0.84 and ×1.19 apart, with intervals reaching ×1.05 and
×0.94 at the nearest: a smaller threshold would flag the machine's load, not the code."""

CONFIDENCE = 0.95
"""Of the bootstrap interval of a campaign's speed change."""

RESAMPLES = 1000
"""Bootstrap resamples; drawn from a fixed seed, so the same runs always get the same
verdict."""

WARMUP = 3
"""Examples left out at the start of each campaign: a cold process, file cache or device
world makes them slower than the rest, and says nothing about the code."""

MIN_EXAMPLES = 5
"""Examples a campaign needs after the warm-up for a verdict on its speed."""

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


def baseline(repeats: int = 7) -> dict[str, Any]:
    """The bare machine's steps per second, ``repeats`` times (10 examples of 25 steps) after
    one run to warm up; the samples are kept for :func:`change`'s bootstrap."""
    bare(10, 25)
    rates = [bare(10, 25)["steps_per_s"] for _ in range(repeats)]
    return {"what": "bare Hypothesis state machine, steps/s",
            "median": significant(statistics.median(rates)),
            "spread": significant(spread(rates)),
            "samples": len(rates), "rates": [significant(r) for r in rates],
            "measured": BEFORE}


BEFORE, AROUND = "before the campaigns", "before and after the campaigns"


def figures(base: dict[str, Any], campaigns: list[dict[str, Any]]) -> dict[str, Any]:
    """``bench.json``: the baseline, and each campaign's steps/s, ratio to the baseline and
    per-example timing. A baseline :func:`baseline` measured before the campaigns is measured
    once more here, after them, and the samples of both kept: a machine whose load changed
    during the run shows it in the baseline's spread, which :func:`change` takes into account.
    Any other baseline (a merged run's) is taken as it is."""
    if base.get("measured") == BEFORE:
        rates = [*base["rates"], *baseline()["rates"]]
        base = base | {"median": significant(statistics.median(rates)),
                       "spread": significant(spread(rates)), "samples": len(rates),
                       "rates": rates, "measured": AROUND}
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
    """How much faster (> 1) or slower (< 1) a campaign ran relative to each run's own
    baseline — its steps per second over its examples after the warm-up — with a bootstrap
    confidence interval: the examples are resampled (in pairs when both runs ran the same
    examples, same steps in each) and so are the baselines' samples. ``None`` when a run has
    no figures for the campaign."""
    a, b = base_run["campaign"], new_run["campaign"]
    if not a.get("ratio") or not b.get("ratio"):
        return None
    rates_a = _baseline_rates(base_run["baseline"])
    rates_b = _baseline_rates(new_run["baseline"])
    timing_a = [(n, t) for n, t in a.get("timing", [])]
    timing_b = [(n, t) for n, t in b.get("timing", [])]
    paired = bool(timing_a) and [n for n, _ in timing_a] == [n for n, _ in timing_b]
    examples_a = [(n, t) for n, t in timing_a[WARMUP:] if n and t > 0]
    examples_b = [(n, t) for n, t in timing_b[WARMUP:] if n and t > 0]
    row: dict[str, Any] = {"base": a["ratio"], "new": b["ratio"], "paired": paired,
                           "examples": min(len(examples_a), len(examples_b))}
    if row["examples"] < MIN_EXAMPLES:
        return row | {"change": significant(b["ratio"] / a["ratio"]), "low": None,
                      "high": None, "verdict": "too few examples after the warm-up "
                      f"(fewer than {MIN_EXAMPLES})"}
    pairs = list(zip(examples_a, examples_b, strict=True)) if paired else []
    rng = random.Random(0)

    def factor(draw: bool) -> float:
        def pick(values: list[Any]) -> list[Any]:
            return rng.choices(values, k=len(values)) if draw else values

        machines: float = statistics.median(pick(rates_a)) / statistics.median(pick(rates_b))
        if paired:
            drawn = pick(pairs)
            return machines * _per_step([x for x, _ in drawn]) / _per_step([y for _, y in drawn])
        return machines * _per_step(pick(examples_a)) / _per_step(pick(examples_b))

    draws = sorted(factor(True) for _ in range(RESAMPLES))
    tail = (1 - CONFIDENCE) / 2
    low, high = draws[int(tail * RESAMPLES)], draws[int((1 - tail) * RESAMPLES) - 1]
    verdict = "slower" if high < 1 - MIN_EFFECT else "faster" if low > 1 + MIN_EFFECT \
        else "within noise"
    return row | {"change": significant(factor(False)), "low": significant(low),
                  "high": significant(high), "verdict": verdict}


def _per_step(examples: list[tuple[int, float]]) -> float:
    return sum(t for _, t in examples) / sum(n for n, _ in examples)


def _baseline_rates(baseline: dict[str, Any]) -> list[float]:
    """The baseline's samples, scaled to its recorded median (a merged run's median is not
    its samples'); a run that kept only the median: that one figure."""
    rates = [float(r) for r in baseline.get("rates", []) if r]
    if not rates:
        return [float(baseline["median"])]
    scale = float(baseline["median"]) / statistics.median(rates)
    return [r * scale for r in rates]
