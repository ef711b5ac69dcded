"""Run-to-run comparison: what a release changed in conformance, coverage and speed.

Cases are compared by their stable ids (:mod:`conformance.reporting.cases`), coverage by the
documented items reached (a campaign the new run lacks loses all it reached), speed by each
campaign's steps/s as a ratio to the baseline measured in the same run — so runs from
different machines compare. A speed change counts only when a bootstrap over both runs'
examples and baselines puts it beyond 20 % with 95 % confidence
(:func:`conformance.reporting.bench.change`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.reporting import bench
from conformance.reporting.cases import BROKEN, FAILED, run_cases
from conformance.reporting.rundir import RunDir

COMPARED = ("target", "profile", "device")
"""Runs that differ in any of these test different things: they are not compared."""


class Incomparable(Exception):
    """Two runs that test different things; the message says which and how."""


@dataclass
class Diff:
    base: str
    new: str
    newly_failing: list[dict[str, str]] = field(default_factory=list)
    newly_passing: list[dict[str, str]] = field(default_factory=list)
    still_failing: list[dict[str, str]] = field(default_factory=list)
    coverage_lost: list[dict[str, str]] = field(default_factory=list)
    coverage_gained: list[dict[str, str]] = field(default_factory=list)
    speed: list[dict[str, Any]] = field(default_factory=list)
    only_in_base: list[str] = field(default_factory=list)
    only_in_new: list[str] = field(default_factory=list)

    @property
    def slower(self) -> list[dict[str, Any]]:
        return [s for s in self.speed if s["verdict"] == "slower"]

    def regression(self, gate_speed: bool = False) -> bool:
        """A case that passed now fails, or a documented item is no longer reached — a
        campaign the new run lacks included (and, with ``gate_speed``, a campaign slower
        beyond the noise)."""
        return bool(self.newly_failing or self.coverage_lost
                    or (gate_speed and self.slower))

    def to_json(self) -> dict[str, Any]:
        return {"base": self.base, "new": self.new, "regression": self.regression(),
                "newly_failing": self.newly_failing, "newly_passing": self.newly_passing,
                "still_failing": self.still_failing, "coverage_lost": self.coverage_lost,
                "coverage_gained": self.coverage_gained, "speed": self.speed,
                "only_in_base": self.only_in_base, "only_in_new": self.only_in_new}

    def markdown(self) -> str:
        lines = [f"# Conformance: {self.base} → {self.new}", ""]

        def section(title: str, rows: list[dict[str, str]], key: str = "name") -> None:
            lines.append(f"## {title} ({len(rows)})")
            lines.append("")
            lines.extend(f"- {r['campaign']}: {r[key]}" + (f" — {r['why']}" if r.get("why")
                                                           else "") for r in rows)
            if not rows:
                lines.append("- (none)")
            lines.append("")

        section("Newly failing", self.newly_failing)
        section("Newly passing", self.newly_passing)
        section("Still failing", self.still_failing)
        section("Coverage lost", self.coverage_lost)
        section("Coverage gained", self.coverage_gained)
        lines += ["## Speed (steps/s as a ratio to the bare-Hypothesis baseline of each run)",
                  ""]
        lines += [f"- {s['campaign']}: {s['base']} → {s['new']} (×{s['change']}"
                  f"{' per example' if s['paired'] else ''}{_interval(s)}): {s['verdict']}"
                  for s in self.speed] or ["- (no figures)"]
        for title, names in (("Campaigns only in the base run", self.only_in_base),
                             ("Campaigns only in the new run", self.only_in_new)):
            if names:
                lines += ["", f"## {title}", "", *(f"- {n}" for n in names)]
        return "\n".join(lines) + "\n"


def _interval(speed: dict[str, Any]) -> str:
    if speed["low"] is None:
        return ""
    return f", {bench.CONFIDENCE:.0%} CI ×{speed['low']:.3g}–×{speed['high']:.3g}, " \
        f"{speed['examples']} examples"


def check_comparable(base: RunDir, new: RunDir) -> None:
    differences = [f"{key}: {base.manifest.get(key)!r} vs {new.manifest.get(key)!r}"
                   for key in COMPARED if base.manifest.get(key) != new.manifest.get(key)]
    if differences:
        raise Incomparable(f"{base.path.name} and {new.path.name} test different things "
                           f"({'; '.join(differences)}): not compared")


def compare(base: RunDir, new: RunDir) -> Diff:
    """The differences from ``base`` to ``new``; :class:`Incomparable` when they test
    different targets, profiles or devices."""
    check_comparable(base, new)
    diff = Diff(base.path.name, new.path.name)
    base_campaigns, new_campaigns = base.campaigns, new.campaigns
    shared = [name for name in new_campaigns if name in base_campaigns]
    diff.only_in_base = [n for n in base_campaigns if n not in new_campaigns]
    diff.only_in_new = [n for n in new_campaigns if n not in base_campaigns]
    for name in diff.only_in_base:
        reached = len(base_campaigns[name][1]["reached"])
        diff.coverage_lost.append({"campaign": name, "name": f"all {reached} documented items "
                                   "it reached, and its rules", "why": "the campaign is missing "
                                   "from the new run"})
    old_cases = {c.id: c for c in run_cases(base.results) if c.campaign in shared}
    for case in run_cases(new.results):
        if case.campaign not in shared or case.id not in old_cases:
            continue
        before, after = old_cases[case.id], case
        was, now = before.status in (FAILED, BROKEN), after.status in (FAILED, BROKEN)
        row = {"campaign": case.campaign, "id": case.id, "name": case.name,
               "why": after.message if now else before.message}
        if now and not was:
            diff.newly_failing.append(row)
        elif was and not now:
            diff.newly_passing.append(row)
        elif was and now:
            diff.still_failing.append(row)
    for name in shared:
        (_, old_matrix), (new_result, new_matrix) = base_campaigns[name], new_campaigns[name]
        old_reached = {tuple(i) for i in old_matrix["reached"]}
        new_reached = {tuple(i) for i in new_matrix["reached"]}
        why = "the campaign stopped at its failure" if new_result.get("failure") else ""
        diff.coverage_lost += [{"campaign": name, "name": " ".join(i).strip(), "why": why}
                               for i in sorted(old_reached - new_reached)]
        diff.coverage_gained += [{"campaign": name, "name": " ".join(i).strip()}
                                 for i in sorted(new_reached - old_reached)]
    diff.speed = _speed(base, new, shared)
    return diff


def _speed(base: RunDir, new: RunDir, shared: list[str]) -> list[dict[str, Any]]:
    if not base.bench or not new.bench:
        return []
    out = []
    for name in shared:
        a = base.bench.get("campaigns", {}).get(name)
        b = new.bench.get("campaigns", {}).get(name)
        if not a or not b:
            continue
        found = bench.change({"campaign": a, "baseline": base.bench["baseline"]},
                             {"campaign": b, "baseline": new.bench["baseline"]})
        if found is not None:
            out.append({"campaign": name} | found)
    return out
