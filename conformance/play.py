"""A trace played on a fresh machine as Hypothesis would, and shrunk to the shortest that
still breaks the same rule.

The ground of campaigns, replays and worlds alike: a campaign shrinks its failure with it, a
replay file is played with it, and a world on hardware plays a tour with it to learn what
only the device's Controls reach.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis.stateful import RULE_MARKER

from conformance.machines.base import RecordedMachine, Step
from conformance.outcome import failure_of


class Inapplicable(Exception):
    """A step whose rule's precondition does not hold where a shorter trace puts it."""


def play(machine_class: type[RecordedMachine], steps: list[Step],
         after: Callable[[RecordedMachine], None] | None = None,
         skip_inapplicable: bool = False, timed: list[Step] | None = None
         ) -> dict[str, Any] | None:
    """Run ``steps`` on a fresh machine as Hypothesis would (invariants after each step,
    teardown at the end); the failure they produce, or ``None``. ``after`` sees the machine
    once it is torn down (to plot its device, say); ``timed`` receives each step run, with the
    simulated time it started at in this run."""
    machine = machine_class()
    observed: dict[str, Any] | None = None
    try:
        _check_invariants(machine)
        for step in steps:
            bound = getattr(machine, step.rule)
            marker = getattr(bound, RULE_MARKER)
            if not all(pre(machine) for pre in marker.preconditions):
                if skip_inapplicable:
                    continue
                raise Inapplicable(step.rule)
            machine.coverage.begin(step)
            if timed is not None:
                timed.append(Step(step.rule, step.args, machine.now()))
            bound(**step.args)
            _check_invariants(machine)
    except Inapplicable:
        raise
    except Exception as exc:
        observed = failure_of(exc)
    finally:
        try:
            machine.teardown()  # type: ignore[no-untyped-call]
        except Exception as exc:
            observed = observed or failure_of(exc)
    if after is not None:
        after(machine)
    return observed


def step_marks(steps: list[Step]) -> list[tuple[float, str]]:
    """Where a trace's steps go on its device timeline: the simulated second each began at,
    numbered as the trace lists them."""
    return [(step.at, f"{i}. {step.rule}") for i, step in enumerate(steps, 1)
            if step.at is not None]


def _same(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    return a is not None and b is not None and (a["kind"], a["rule"]) == (b["kind"], b["rule"])


def minimize(machine_class: type[RecordedMachine], steps: list[Step],
             failure: dict[str, Any], budget: int = 400,
             skip_inapplicable: bool = False) -> list[Step]:
    """The shortest sub-trace of ``steps`` found that breaks the same rule: chunks, then
    single steps, are dropped while the failure stays (delta debugging), then the arguments
    of the steps left are made simpler (:func:`_simpler`); at most ``budget`` replays in all.
    Hypothesis's own shrinker is off: on a state machine it spends minutes where this spends
    a second, and this result is checked to replay."""
    try:
        if not _same(play(machine_class, steps, skip_inapplicable=skip_inapplicable), failure):
            return steps  # not deterministic enough to shrink: keep what failed
    except Inapplicable:
        return steps
    runs = 0
    size = max(1, len(steps) // 2)
    while runs < budget:
        changed = False
        i = len(steps) - size
        while i >= 0 and runs < budget:
            candidate = steps[:i] + steps[i + size:]
            runs += 1
            if _still_fails(machine_class, candidate, failure, skip_inapplicable):
                steps, changed = candidate, True
            i = min(i, len(steps)) - size
        if size > 1:
            size = max(1, size // 2)
        elif not changed:
            break
    steps = _simplify_arguments(machine_class, steps, failure, budget - runs,
                                skip_inapplicable)
    # the steps as they run on a fresh world: the times they start at there, not in the
    # example they were cut from
    timed: list[Step] = []
    try:
        again = play(machine_class, steps, skip_inapplicable=skip_inapplicable, timed=timed)
    except Inapplicable:
        return steps
    return timed if _same(again, failure) and len(timed) == len(steps) else steps


def _still_fails(machine_class: type[RecordedMachine], steps: list[Step],
                 failure: dict[str, Any], skip_inapplicable: bool) -> bool:
    """Whether ``steps``, played on a fresh world, break the same rule as ``failure`` (steps
    that no longer apply do not)."""
    try:
        return _same(play(machine_class, steps, skip_inapplicable=skip_inapplicable), failure)
    except Inapplicable:
        return False


def _simpler(value: Any, strategy: Any) -> list[Any]:
    """Simpler values of a rule's argument, simplest first, as Hypothesis would shrink it:
    ``False`` for ``True``, the earlier choices of a ``sampled_from``, a list with half or
    one of its items gone. Only values the rule already takes: nothing made up."""
    if isinstance(value, bool):
        return [False] if value else []
    elements = getattr(getattr(strategy, "wrapped_strategy", strategy), "elements", None)
    if isinstance(elements, tuple | list) and value in elements:
        return list(elements[:list(elements).index(value)])
    if isinstance(value, list) and len(value) > 1:
        half = len(value) // 2
        return [value[:half], value[half:]] + [value[:i] + value[i + 1:]
                                               for i in range(len(value))]
    return []


def _simplify_arguments(machine_class: type[RecordedMachine], steps: list[Step],
                        failure: dict[str, Any], budget: int,
                        skip_inapplicable: bool) -> list[Step]:
    """``steps`` with each argument replaced by the simplest value found that still breaks
    the same rule (at most ``budget`` replays): a step reads as what matters to the
    failure, not as what a random draw happened to add."""
    runs = 0
    for index in range(len(steps)):
        marker = getattr(getattr(machine_class, steps[index].rule), RULE_MARKER)
        for name in list(steps[index].args):
            changed = True
            while changed and runs < budget:
                changed = False
                step = steps[index]
                for value in _simpler(step.args[name], marker.arguments.get(name)):
                    if runs >= budget:
                        break
                    simpler = Step(step.rule, {**step.args, name: value}, step.at)
                    candidate = [*steps[:index], simpler, *steps[index + 1:]]
                    runs += 1
                    if _still_fails(machine_class, candidate, failure, skip_inapplicable):
                        steps, changed = candidate, True
                        break
    return steps


def _check_invariants(machine: RecordedMachine) -> None:
    for inv in machine.setup_state().invariants:  # type: ignore[no-untyped-call]
        if all(pre(machine) for pre in inv.preconditions):
            inv.function(machine)
