"""The coverage matrix: which documented items a run reached and asserted.

Items are (kind, owner, name, value) tuples — an error code of a method, an enum value, a
transition between states — so a matrix is a set difference against the spec tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.spec.model import ApiSpec

Item = tuple[str, str, str, str]


@dataclass
class Coverage:
    """Items reached and asserted during a run, per API.

    While :attr:`journal` is a list (the tour, a failing trace's last replay), each step the
    machine takes opens an entry and the items it reaches are appended to it, once each — so a
    report shows which step reached which documented item, in order."""

    reached: set[Item] = field(default_factory=set)
    journal: list[tuple[Any, list[Item]]] | None = None

    def begin(self, step: Any) -> None:
        if self.journal is not None:
            self.journal.append((step, []))

    def _add(self, item: Item) -> None:
        self.reached.add(item)
        if self.journal and item not in self.journal[-1][1]:
            self.journal[-1][1].append(item)

    def error(self, method: str, code: int) -> None:
        owner, _, name = method.partition(".")
        self._add(("error", owner, name, str(code)))

    def value(self, enum: str, name: str) -> None:
        self._add(("enum", enum, name, ""))

    def transition(self, machine: str, source: str, target: str) -> None:
        self._add(("transition", machine, source, target))

    def merge(self, other: Coverage) -> None:
        self.reached |= other.reached


def documented(spec: ApiSpec) -> set[Item]:
    """Every documented (method, code) pair, enum value and state transition of an API."""
    items: set[Item] = {("error", m.owner, m.name, str(code))
                        for m in spec.methods for code in m.errors}
    items |= {("enum", e.enum, e.name, "") for e in spec.enum_members()}
    items |= {t.item for t in spec.transitions}
    return items


def matrix(spec: ApiSpec, coverage: Coverage,
           unreachable: Mapping[Item, str] | None = None) -> dict[str, Any]:
    """Reached, unreached and excused items of one API, as JSON-ready data."""
    return items_matrix(spec.name, spec.document, documented(spec), coverage, unreachable)


def items_matrix(api: str, document: str, wanted: set[Item], coverage: Coverage,
                 unreachable: Mapping[Item, str] | None = None) -> dict[str, Any]:
    """The matrix for an explicit set of documented items. ``unreachable`` maps the items
    this target cannot reach to the reason; they are listed, with it, as excused (an item
    that was reached after all counts as reached)."""
    reached = wanted & coverage.reached
    excused = {item: reason for item, reason in (unreachable or {}).items()
               if item in wanted and item not in reached}
    missing = wanted - reached - set(excused)
    return {"api": api, "document": document, "documented": len(wanted),
            "reached": sorted(map(list, reached)), "unreached": sorted(map(list, missing)),
            "excused": sorted([*item, reason] for item, reason in excused.items()),
            "percent": round(100 * len(reached) / len(wanted), 1) if wanted else 100.0,
            "accounted_percent": round(100 * (len(reached) + len(excused)) / len(wanted), 1)
            if wanted else 100.0}


def save(path: Path, matrices: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(matrices, indent=2))


def combined(api: str, *matrices: dict[str, Any]) -> dict[str, Any]:
    """One matrix of several APIs' (for a machine that drives them together)."""
    documented = sum(m["documented"] for m in matrices)
    reached = sorted(item for m in matrices for item in m["reached"])
    excused = sorted(item for m in matrices for item in m["excused"])
    return {"api": api, "document": ", ".join(m["document"] for m in matrices),
            "documented": documented, "reached": reached,
            "unreached": sorted(item for m in matrices for item in m["unreached"]),
            "excused": excused,
            "percent": round(100 * len(reached) / documented, 1) if documented else 100.0,
            "accounted_percent": round(100 * (len(reached) + len(excused)) / documented, 1)
            if documented else 100.0}


def union(*matrices: dict[str, Any]) -> dict[str, Any]:
    """One matrix of several runs of the same documented items (the parts of a split
    campaign, the shards of a run): an item any run reached is reached, one any run excused
    and none reached is excused, the rest is unreached."""
    first = matrices[0]
    reached = {tuple(item) for m in matrices for item in m["reached"]}
    excused = {tuple(item[:4]): item[4] for m in matrices for item in m["excused"]
               if tuple(item[:4]) not in reached}
    unreached = {tuple(item) for m in matrices for item in m["unreached"]} \
        - reached - set(excused)
    documented = first["documented"]
    return first | {
        "reached": sorted(map(list, reached)), "unreached": sorted(map(list, unreached)),
        "excused": sorted([*item, reason] for item, reason in excused.items()),
        "percent": round(100 * len(reached) / documented, 1) if documented else 100.0,
        "accounted_percent": round(100 * (len(reached) + len(excused)) / documented, 1)
        if documented else 100.0}
