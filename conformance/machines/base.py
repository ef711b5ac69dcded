"""What every conformance machine shares: failures that name the broken rule, and a record of
the steps a run took, so the shortest failing run can be saved and replayed.

Hypothesis ends a failing campaign by running the shrunk example once more; the steps of that
last run (:attr:`RecordedMachine.last_steps`) are the trace a replay file carries.
"""

from __future__ import annotations

import functools
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

from hypothesis.stateful import RULE_MARKER, RuleBasedStateMachine

from conformance.coverage import Coverage


@dataclass(frozen=True)
class Result:
    """A call's documented result as a person reads it: ``success`` for code 0, else the code
    with its message where one is known (``22400003 "Low battery level."``)."""

    code: int
    message: str | None = None

    def __str__(self) -> str:
        if self.code == 0:
            return "success"
        return f"{self.code} \"{self.message}\"" if self.message else str(self.code)


def _shown(value: object) -> str:
    """A value as the documents name it: a result as :class:`Result` says, an enum member
    (or a tuple of them) by its name, anything else as Python writes it."""
    if isinstance(value, Result):
        return str(value)
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, tuple) and value and all(isinstance(v, Enum) for v in value):
        return f"({', '.join(v.name for v in value)})"
    return repr(value)


class ConformanceFailure(AssertionError):
    """A documented rule the target broke: the rule, its section, expected and observed, and
    the device's and the cloud's ``conditions`` where they decided the expectation."""

    def __init__(self, rule: str, section: str, expected: object, observed: object,
                 conditions: str | None = None) -> None:
        at = f" at {conditions}" if conditions else ""
        super().__init__(f"{rule}{at} ({section}): expected {_shown(expected)}, "
                         f"observed {_shown(observed)}")
        self.rule = rule
        self.section = section
        self.expected = expected
        self.observed = observed
        self.conditions = conditions

    def to_json(self) -> dict[str, str]:
        out = {"rule": self.rule, "section": self.section, "expected": _shown(self.expected),
               "observed": _shown(self.observed)}
        if self.conditions:
            out["conditions"] = self.conditions
        return out


def follow_event_order(coverage: Coverage, owner: str, allowed: set[tuple[str, str]],
                       kinds: list[str], section: str) -> None:
    """Hold an object's events, in the order its listeners heard them, to the documented
    order: each consecutive pair from ``start`` (progress collapsed, as a run of progress is
    one state) is a transition ``owner`` has, recorded as reached; another is a finding that
    names both events."""
    previous = "start"
    for kind in kinds:
        if kind == previous == "progress":
            continue
        if (previous, kind) not in allowed:
            raise ConformanceFailure(f"{owner}: {kind} after {previous}", section,
                                     sorted(allowed), (previous, kind))
        coverage.transition(owner, previous, kind)
        previous = kind


@dataclass(frozen=True)
class Step:
    """One rule call: its name, arguments and the simulated time it started at."""

    rule: str
    args: dict[str, Any]
    at: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "args": {k: encode(v)
                                                           for k, v in self.args.items()}}
        if self.at is not None:
            out["at"] = round(self.at, 6)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        return cls(str(data["rule"]), {k: decode(v) for k, v in data.get("args", {}).items()},
                   data.get("at"))

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        when = f"t={self.at:g}s " if self.at is not None else ""
        return f"{when}{self.rule}({args})"


def combos(rule: str, **choices: list[Any]) -> list[Step]:
    """One step of ``rule`` per combination of the argument values given."""
    steps = [Step(rule, {})]
    for name, values in choices.items():
        steps = [Step(rule, {**step.args, name: value}) for step in steps for value in values]
    return steps


def encode(value: Any) -> Any:
    """Rule arguments as JSON: bytes become ``{"hex": ...}``; the rest are JSON already."""
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"hex"}:
        return bytes.fromhex(value["hex"])
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


DEVICE_EVENTS = frozenset({"battery", "charger", "radio", "time_passes", "cloud_account",
                           "nas_time_passes"})
"""Rules that change the device's conditions (or let time pass) rather than call an API:
reports show them as device events."""


@dataclass
class Statistics:
    """What the random examples of a campaign did: how many examples and steps, how often
    each rule ran, and each example's steps and seconds — the samples speed comparisons pair
    example by example (a derandomized profile runs the same examples every time)."""

    examples: int = 0
    steps: int = 0
    rules: Counter[str] = field(default_factory=Counter)
    timing: list[tuple[int, float]] = field(default_factory=list)
    _open: tuple[float, int] | None = None

    def example(self) -> None:
        self.close()
        self.examples += 1
        self._open = (time.perf_counter(), self.steps)

    def step(self, rule: str) -> None:
        self.steps += 1
        self.rules[rule] += 1

    def close(self) -> None:
        """End the example in progress (the next one's start, or the campaign's end)."""
        if self._open is not None:
            started, steps = self._open
            seconds = time.perf_counter() - started
            self.timing.append((self.steps - steps, seconds))
            self._open = None

    def to_json(self) -> dict[str, Any]:
        return {"examples": self.examples, "steps": self.steps,
                "rules": dict(sorted(self.rules.items())),
                "timing": [[n, round(t, 6)] for n, t in self.timing]}


class BudgetSpent(KeyboardInterrupt):
    """A campaign's time is up: raised as the next example begins, so no example is cut
    short. Hypothesis stops on an interrupt without recording or replaying the example it
    cut (any other exception there would be a failure, or a flaky one)."""


def wait(machine: Any, seconds: float) -> None:
    """Let ``seconds`` of device time pass, capped by :attr:`RecordedMachine.longest_wait_s`."""
    cap = machine.longest_wait_s
    device = machine.device
    device.run(until=device.env.now + (seconds if cap is None else min(seconds, cap)))


class RecordedMachine(RuleBasedStateMachine):
    """A state machine whose rule calls are recorded as :class:`Step` s.

    Subclasses get every ``@rule`` wrapped once, at class creation; the record is per instance
    (:attr:`steps`) and the class keeps the latest (:attr:`last_steps`).
    """

    coverage: ClassVar[Coverage] = Coverage()
    statistics: ClassVar[Statistics | None] = None
    """Set while a campaign's random examples run (not during tours and replays)."""
    last_steps: ClassVar[list[Step]] = []
    recent: ClassVar[deque[list[Step]]] = deque(maxlen=4)
    """The steps of the last few examples: when Hypothesis cannot reproduce a failure (a
    target whose state outlives an example), the run looks for it among them."""
    until: ClassVar[float | None] = None
    """``time.monotonic()`` past which no new example starts (a bring-up's duration): the
    campaign ends there, between examples, with what it found."""
    failing: ClassVar[bool] = False
    """A step or invariant of this campaign has failed: Hypothesis is shrinking, and the
    examples it tries are not new ones for :attr:`until` to stop."""
    longest_wait_s: ClassVar[float | None] = None
    """On hardware simulated seconds are real ones: a rule that lets time pass waits at most
    this long (None: as long as it asks)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, attr in list(vars(cls).items()):
            marker = getattr(attr, RULE_MARKER, None)
            if marker is not None and not getattr(marker.function, "_recorded", False):
                marker.function = _recording(name, marker.function)

    def __init__(self) -> None:
        if self.until is not None and not RecordedMachine.failing \
                and time.monotonic() >= self.until:
            raise BudgetSpent
        super().__init__()
        self.steps: list[Step] = []
        type(self).last_steps = self.steps
        RecordedMachine.recent.append(self.steps)
        if self.statistics is not None:
            self.statistics.example()

    @classmethod
    def tour(cls) -> list[Step]:
        """Steps every campaign runs once after its random examples, so each documented item
        the machine can reach is reached whatever Hypothesis happened to explore (its rule
        choice is deliberately uneven). A step whose precondition does not hold on the
        target is skipped."""
        return []

    def check_invariants(self, settings: Any, output: Any, runtimes: Any) -> None:
        try:
            super().check_invariants(settings, output, runtimes)  # type: ignore[no-untyped-call]
        except Exception:
            RecordedMachine.failing = True
            raise

    def now(self) -> float | None:
        """The simulated time a step starts at, where the machine has a device."""
        device = getattr(self, "device", None)
        return float(device.env.now) if device is not None else None


def _recording(name: str, function: Any) -> Any:
    @functools.wraps(function)
    def recorded(machine: RecordedMachine, **kwargs: Any) -> Any:
        step = Step(name, dict(kwargs), machine.now())
        machine.steps.append(step)
        machine.coverage.begin(step)
        if machine.statistics is not None:
            machine.statistics.step(name)
        try:
            return function(machine, **kwargs)
        except Exception:
            RecordedMachine.failing = True
            raise

    recorded._recorded = True  # type: ignore[attr-defined]
    return recorded
