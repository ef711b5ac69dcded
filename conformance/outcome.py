"""What a campaign found: its matrix, and its failure told apart as the implementation's or
the harness's.

Kept apart from running campaigns so the reports, the mutant catalogue and the pytest plugin
read an outcome's kinds without running anything.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.machines.base import DEVICE_EVENTS, ConformanceFailure, Step
from conformance.rpc import RemoteError


@dataclass
class Outcome:
    """What one campaign found: its matrix, and its failure if it had one."""

    campaign: str
    matrix: dict[str, Any]
    seconds: float
    failure: dict[str, Any] | None = None
    steps: list[Step] = field(default_factory=list)
    replay: Path | None = None
    gate: bool = True
    statistics: dict[str, Any] = field(default_factory=dict)
    journal: list[tuple[Step, list[Any]]] = field(default_factory=list)
    """The tour's steps with the documented items each reached (or, after a failure, the
    shrunk trace's)."""
    evidence: dict[str, Any] = field(default_factory=dict)
    """A failure's replayed evidence: ``timeline`` (PNG path), ``exchanges`` (HTTP requests
    and responses of an HTTP target)."""

    @property
    def ok(self) -> bool:
        """No broken rule, and (where the campaign gates on it) no documented item left
        unreached without a reason."""
        return self.failure is None and not (self.gate and self.matrix["unreached"])

    def to_json(self, base: Path | None = None) -> dict[str, Any]:
        """As JSON; paths relative to ``base`` (the run directory), so a run directory can be
        moved and read on another machine."""

        def where(path: Any) -> Any:
            if not isinstance(path, Path):
                return path
            if base is not None and path.is_relative_to(base):
                return path.relative_to(base).as_posix()
            return str(path)

        return {"campaign": self.campaign, "ok": self.ok, "coverage_gate": self.gate,
                "seconds": round(self.seconds, 3),
                "failure": self.failure, "steps": [s.to_json() for s in self.steps],
                "replay": where(self.replay), "statistics": self.statistics,
                "journal": [{"step": step.to_json(), "device_event": step.rule in DEVICE_EVENTS,
                             "reached": [list(i) for i in items]}
                            for step, items in self.journal],
                "evidence": {k: where(v) for k, v in self.evidence.items()}}

    def describe(self) -> str:
        """The failure as a person reads it: the rule, then the shrunk steps."""
        if self.failure is None:
            if self.ok:
                return f"{self.campaign}: conforms"
            items = "; ".join(" ".join(i).strip() for i in self.matrix["unreached"])
            return f"{self.campaign}: documented items not reached: {items}"
        lines = [f"{self.campaign}: {self.failure['message']}"]
        lines += [f"  {i}. {step}" for i, step in enumerate(self.steps, 1)]
        if self.replay is not None:
            lines.append(f"  replay: syncrig replay {self.replay}")
        if self.steps and self.statistics.get("seed") is not None:
            lines.append(f"  seed: {self.statistics['seed']} (--seed draws the same examples)")
        if self.steps and self.failure.get("reproduce"):
            lines.append(f"  Hypothesis: {self.failure['reproduce']} on a test of the machine "
                         "replays the example before shrinking")
        return "\n".join(lines)


PRODUCT_KINDS = ("violation", "crash")
"""Failure kinds that mean the implementation failed; the others (harness, flaky) mean the
run could not judge it."""
_ROOT = Path(__file__).resolve().parents[1]
IMPLEMENTATIONS = ("sim/ohos/", "sim/synology/")
"""Where the reference implementations live: an exception raised there is a crash of the
implementation under test; one raised in the simulator, the machines or a client library is
the harness's own error."""


def failure_of(exc: BaseException) -> dict[str, Any]:
    """The failure record of an exception: a broken rule (violation), the implementation's
    crash, or the harness's own error."""
    if isinstance(exc, ConformanceFailure):
        return {"kind": "violation", "message": str(exc), **exc.to_json()}
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    if _implementation_raised(exc, frames):
        # the documents promise an error code, never a traceback
        return {"kind": "crash", "message": f"{type(exc).__name__}: {exc}", "rule":
                "no call ends in an exception the documents do not list", "section": "",
                "expected": "a documented result",
                "observed": f"{type(exc).__name__} at {where}"}
    return {"kind": "harness", "message": f"{type(exc).__name__}: {exc}", "rule":
            "the harness runs (device simulator, servers, clients, machines)", "section": "",
            "expected": "no harness error", "observed": f"{type(exc).__name__} at {where}"}


def _implementation_raised(exc: BaseException, frames: traceback.StackSummary) -> bool:
    if isinstance(exc, RemoteError):
        return True  # raised by the implementation behind an rpc target
    for frame in reversed(frames):  # the innermost frame of this project decides
        try:
            rel = Path(frame.filename).resolve().relative_to(_ROOT).as_posix()
        except ValueError:
            continue
        return rel.startswith(IMPLEMENTATIONS)
    return False
