"""Render the README's benchmark figures from the JSON the benches wrote.

The figures between ``<!-- bench:start -->`` and ``<!-- bench:end -->`` in README.md come
from ``bench/results/*.json`` (``bench_simulate.py --json``), never typed by hand, so a
figure in the README is one a bench measured and a reader can re-measure.

Usage: ``python bench/render.py`` rewrites the block; ``--check`` exits 1 if it differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
SCENARIOS = ("day-in-the-life", "low-battery-upload")
"""The scenarios the README shows, in its order: ``bench/results/simulate-<name>.json``."""


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h"


def _wall(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _millions(value: float) -> str:
    return f"{value / 1e6:.1f} M"


def _hundreds(value: float) -> str:
    return f"{round(value, -2):,.0f}"


def load(results: Path = RESULTS) -> list[dict[str, Any]]:
    """The simulation bench's figures, one per scenario of :data:`SCENARIOS`."""
    return [json.loads((results / f"simulate-{name}.json").read_text()) for name in SCENARIOS]


def render(figures: list[dict[str, Any]]) -> str:
    """The block's text (markers excluded) from the figures."""
    first = figures[0]
    versions = {(f["python"], f["simpy"], f["repeat"]) for f in figures}
    if len(versions) != 1:
        raise ValueError(f"the figures come from different setups: {sorted(versions)}")
    lines = [f"On the 2-core development machine (Python {first['python']}, SimPy "
             f"{first['simpy']}, median of {first['repeat']} runs):", "",
             "| scenario | simulated | wall | simulated s / wall s | events | events/s "
             "| bare SimPy events/s | ratio |",
             "|---|---|---|---|---|---|---|---|"]
    for f in figures:
        lines.append(f"| {f['scenario']} | {_hours(f['simulated_s'])} | "
                     f"{_wall(f['wall_s_median'])} | {_millions(f['simulated_s_per_wall_s'])} "
                     f"| {f['simpy_events']} | {_hundreds(f['events_per_s'])} | "
                     f"{_hundreds(f['bare_simpy_events_per_s'])} | "
                     f"{f['ratio_to_bare_simpy']:.2f} |")
    day = next(f for f in figures if f["scenario"] == "day-in-the-life")
    ratios = sorted(f["ratio_to_bare_simpy"] for f in figures)
    lines += ["", f"A simulated day takes about 1/{round(1 / day['wall_s_median']):,} of a 1 s "
              f"budget. Events/s reach {ratios[0]:.2f}–{ratios[-1]:.2f} of bare SimPy's."]
    return "\n".join(lines)


def rewrite(text: str, block: str) -> str:
    """``text`` with the marked block replaced by ``block``."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"README.md must hold one {START} ... {END} block")
    head, rest = text.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{block}\n{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if README.md's block is not what the JSON renders")
    args = parser.parse_args()
    text = README.read_text()
    new = rewrite(text, render(load()))
    if args.check:
        if new != text:
            print("README.md: the bench block differs from bench/results/; run "
                  "python bench/render.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
