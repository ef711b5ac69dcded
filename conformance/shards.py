"""A campaign split into parts that run anywhere and merge into one campaign.

A campaign of E examples split K ways is K tasks: part i runs its share of the examples
under a seed of its own (:func:`conformance.campaign.part_seed`), and one part runs the tour.
The split is a function of the options and K alone — never of how many processes or
machines run it — so a derandomized profile gives the same examples and the same verdicts
on one machine, on a cluster, or over the jobs of a CI matrix (``--shard I/K``). Parts merge
as one run would have it: coverage united, counts summed, per-example timing concatenated in
part order, and the first failure by part order reported (a broken rule before a harness
error).

With K = 1 (the default) a campaign is one task that runs exactly as it always has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.campaign import run_campaign
from conformance.coverage import union
from conformance.options import Options
from conformance.outcome import PRODUCT_KINDS, Outcome
from conformance.suite import CAMPAIGNS
from sim.errors import ConfigError


@dataclass(frozen=True)
class Task:
    """One part of one campaign: the unit a process, a cluster worker or a CI job runs."""

    campaign: str
    index: int = 0
    count: int = 1

    @property
    def key(self) -> str:
        """A name for the task, unique within a run."""
        return self.campaign if self.count == 1 else \
            f"{self.campaign}[{self.index + 1}/{self.count}]"


def shard(text: str) -> tuple[int, int]:
    """``I/N`` of ``--shard``: part I (0-based) of N."""
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit()) or not 0 <= int(index) < int(count):
        raise ConfigError("--shard", "", text, "must be I/N with 0 <= I < N (say 0/4)")
    return int(index), int(count)


def tasks(names: Iterable[str], count: int = 1, only: int | None = None) -> list[Task]:
    """The tasks of a run of ``names`` split ``count`` ways, or only part ``only`` of each."""
    if count < 1:
        raise ConfigError("--shards", "", count, "must be at least 1")
    parts = range(count) if only is None else [only]
    return [Task(name, i, count) for name in names for i in parts]


def run_task(task: Task, options: Options, work: Path, replays: Path | None) -> Outcome:
    """Run one task on a fresh world; a part's replay files go to a folder of its own."""
    folder = work / task.campaign if task.count == 1 else \
        work / f"{task.campaign}.part{task.index}"
    if replays is not None and task.count > 1:
        replays = replays / f"part-{task.index}"
    return run_campaign(CAMPAIGNS[task.campaign], options, folder, replays,
                        (task.index, task.count))


def merge(tasks_run: Sequence[Task], outcomes: Sequence[Outcome]) -> list[Outcome]:
    """The outcomes of tasks, one per campaign (in the order the campaigns first appear):
    each campaign's parts merged in part order."""
    parts: dict[str, list[tuple[int, Outcome]]] = {}
    for task, outcome in zip(tasks_run, outcomes, strict=True):
        parts.setdefault(task.campaign, []).append((task.index, outcome))
    return [merged([o for _, o in sorted(ps, key=lambda p: p[0])]) for ps in parts.values()]


def first_failing(failures: Sequence[dict[str, Any] | None]) -> int | None:
    """Which of the parts' failures (in part order) the merged campaign reports: the first
    broken rule or crash of the implementation, else the first failure of any kind."""
    found = [(f.get("kind") not in PRODUCT_KINDS, i) for i, f in enumerate(failures)
             if f is not None]
    return min(found)[1] if found else None


def merged(outcomes: Sequence[Outcome]) -> Outcome:
    """The parts of one campaign (in part order) as one outcome."""
    if len(outcomes) == 1:
        return outcomes[0]
    chosen = first_failing([o.failure for o in outcomes])
    toured = next((o for o in outcomes if o.journal), outcomes[0])
    lead = toured if chosen is None else outcomes[chosen]
    return Outcome(lead.campaign, union(*(o.matrix for o in outcomes)),
                   sum(o.seconds for o in outcomes), lead.failure, lead.steps, lead.replay,
                   gate=lead.gate, statistics=merged_statistics([o.statistics for o in outcomes]),
                   journal=lead.journal, evidence=lead.evidence)


def merged_statistics(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Statistics of a campaign's parts (in part order) as one campaign's: counts summed,
    each example's timing kept in order."""
    if not parts:
        return {}
    rules: Counter[str] = Counter()
    for part in parts:
        rules.update(part.get("rules", {}))
    return parts[0] | {"examples": sum(p.get("examples", 0) for p in parts),
                       "steps": sum(p.get("steps", 0) for p in parts),
                       "rules": dict(sorted(rules.items())),
                       "timing": [t for p in parts for t in p.get("timing", [])]}
