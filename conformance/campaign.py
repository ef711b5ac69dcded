"""A campaign run: Hypothesis's random examples, then the tour; a failure shrunk to its
shortest trace, replayed once more for its evidence and saved as a replay file; a time limit.

Every entry point (the command line, the pytest plugin, the mutant catalogue) runs campaigns
through :func:`run_campaign`, so a failure found anywhere carries the same record and replay
file.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import signal
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from conformance.coverage import Coverage
from conformance.machines.base import BudgetSpent, RecordedMachine, Statistics, Step
from conformance.options import HYPOTHESIS_PROFILES, Options
from conformance.outcome import Outcome, failure_of
from conformance.play import Inapplicable, minimize, play, step_marks
from conformance.replay import save_replay
from conformance.suite import Campaign
from conformance.targets.nas import NasTarget

Part = tuple[int, int]
"""(index, count): one of ``count`` parts of a campaign's examples."""


def examples_of(options: Options, campaign: Campaign, part: Part = (0, 1)) -> int:
    """How many random examples part ``index`` of ``count`` runs: the campaign's examples
    shared out, the first parts taking one more where they do not divide evenly."""
    examples = max(1, round(options.examples * campaign.examples_factor))
    index, count = part
    return examples // count + (index < examples % count)


def part_seed(options: Options, campaign: Campaign, index: int) -> int:
    """Hypothesis's seed of one part of a split campaign: a function of the options, the
    campaign and the part alone, so a part runs the same examples wherever it runs."""
    base = "derandomized" if options.derandomized or options.seed is None else options.seed
    digest = hashlib.sha256(f"{base}:{campaign.name}:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def tour_part(campaign: Campaign, count: int) -> int:
    """The part of a split campaign that runs the tour (each campaign's in another part, so
    the parts of a run weigh alike)."""
    return zlib.crc32(campaign.name.encode()) % count


def _settings(options: Options, campaign: Campaign, part: Part = (0, 1)) -> settings:
    examples = examples_of(options, campaign, part)
    _, derandomize, database = HYPOTHESIS_PROFILES.get(options.hypothesis_profile,
                                                       HYPOTHESIS_PROFILES["ci"])
    extra: dict[str, Any] = {} if database else {"database": None}
    return settings(max_examples=examples, stateful_step_count=options.steps, deadline=None,
                    derandomize=derandomize, report_multiple_bugs=False, print_blob=True,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # see minimize()
                    suppress_health_check=[HealthCheck.too_slow],
                    **extra)


def run_campaign(campaign: Campaign, options: Options, work: Path,
                 replays: Path | None = None, part: Part = (0, 1)) -> Outcome:
    """Run one campaign; on failure keep the shortest steps that still break the same rule
    and, given ``replays``, save them there as a replay file with the evidence of one more
    replay of them (the device timeline as PNG, an HTTP target's exchanges).

    ``part`` (index, count) runs one of ``count`` parts of the campaign instead: its share
    of the examples under its own seed (:func:`part_seed`), and the tour only in
    :func:`tour_part` — so parts run anywhere, merged, make one campaign."""
    index, count = part
    examples = examples_of(options, campaign, part)
    touring = count == 1 or index == tour_part(campaign, count)
    machine = campaign.machine
    machine.coverage = Coverage()
    machine.last_steps = []
    RecordedMachine.recent.clear()
    RecordedMachine.failing = False
    statistics = Statistics()
    started = time.perf_counter()
    failure: dict[str, Any] | None = None
    steps: list[Step] = []
    journal: list[tuple[Step, list[Any]]] = []
    evidence: dict[str, Any] = {}
    table: dict[str, Any] | None = None
    try:
        seed = None if count == 1 else part_seed(options, campaign, index)
        with _time_limit(options.timeout_s), campaign.environment(work, options), \
                _seeded(machine, options, seed):
            machine.statistics = statistics
            if options.duration_s is not None:
                RecordedMachine.until = time.monotonic() + options.duration_s
            try:
                if examples:
                    run_state_machine_as_test(  # type: ignore[no-untyped-call]
                        machine, settings=_settings(options, campaign, part))
            except BudgetSpent:
                pass  # the duration is over: the examples so far are the campaign's
            except Flaky as exc:
                failure = {"kind": "flaky", "message": f"not reproducible: {exc}", "rule": "",
                           "section": "", "expected": "", "observed": ""}
            except Exception as exc:
                failure = failure_of(exc)
                blob = _reproduce_failure(exc)
                if blob:
                    failure["reproduce"] = blob
            finally:
                statistics.close()
                machine.statistics = None
                RecordedMachine.until = None
            candidates = [list(machine.last_steps)]
            if failure is not None and failure["kind"] == "flaky":
                # Hypothesis's own re-run did not fail alike (the target keeps state between
                # examples): a recent example that fails when replayed on its own still is a
                # finding, with a trace that reproduces
                for recent in list(reversed(RecordedMachine.recent)):
                    try:
                        again = play(machine, list(recent))
                    except Inapplicable:  # the example's steps need the state it began in
                        continue
                    if again is not None:
                        failure, candidates = again, [list(recent)]
                        break
            tour = machine.tour() if touring else []
            inapplicable_skipped = failure is None
            if failure is None:
                machine.coverage.journal = journal
                try:
                    failure = play(machine, tour, skip_inapplicable=True) if tour else None
                finally:
                    machine.coverage.journal = None
                if failure is not None:
                    steps = minimize(machine, tour, failure, skip_inapplicable=True)
            elif failure["kind"] != "flaky":
                steps = minimize(machine, candidates[0], failure)
            if failure is not None and failure["kind"] != "flaky":
                journal, evidence = _evidence(campaign, steps, replays, inapplicable_skipped)
            table = campaign.matrix(machine.coverage)  # in the world: excuses depend on it
    except CampaignTimeout as exc:
        # cut off, not shrunk: its steps show no rule breaking, and a replay would only run
        # out of time again
        failure = {"kind": "harness", "message": str(exc), "rule": "the campaign ends within "
                   "its time limit", "section": "", "expected": f"< {options.timeout_s} s",
                   "observed": "still running"}
        steps, journal, evidence = [], [], {}
    except Exception as exc:  # the world itself failed: a server that did not start, say
        failure = failure_of(exc)
        failure["kind"] = "harness"
        if isinstance(exc, OSError):
            failure["message"] = f"unreachable target {options.target}: {failure['message']}"
        steps, journal, evidence = [], [], {}
    if table is None:
        table = campaign.matrix(machine.coverage)
    outcome = Outcome(campaign.name, table, time.perf_counter() - started, failure, steps,
                      gate=campaign.gate, journal=journal, evidence=evidence,
                      statistics=statistics.to_json()
                      | {"seed": None if options.derandomized else options.seed})
    if failure is not None and steps and replays is not None:
        outcome.replay = save_replay(replays / f"{_slug(campaign.name)}.json", outcome, options)
    return outcome


def _reproduce_failure(exc: BaseException) -> str | None:
    """Hypothesis's own aid to reproduce the example it found, from the notes it adds to the
    failure: ``@reproduce_failure(version, blob)`` for a test of the machine."""
    for note in getattr(exc, "__notes__", []):
        found = re.search(r"@reproduce_failure\([^)]*\)", note)
        if found:
            return found.group(0)
    return None


class CampaignTimeout(BaseException):
    """A campaign past its time limit. Not an ``Exception``: Hypothesis must not take it for
    a failing example and replay it."""


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`CampaignTimeout` in this thread after ``seconds`` (main thread only:
    it is a SIGALRM timer), and again every half second until the block is left: a raise
    that lands where Python only prints it (a garbage collector's callback, say) does not
    let the campaign run on."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise CampaignTimeout(f"timeout: the campaign ran past {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _seeded(machine: type[RecordedMachine], options: Options,
            seed: int | None = None) -> Iterator[None]:
    """Hypothesis's ``@seed`` for the campaign's random examples (it reads the attribute
    from the machine class); derandomized profiles need none, but a part of a split
    campaign has its own (``seed``: an explicit seed wins over derandomizing)."""
    if seed is None and (options.derandomized or options.seed is None):
        yield
        return
    machine._hypothesis_internal_use_seed = options.seed if seed is None else seed
    try:
        yield
    finally:
        del machine._hypothesis_internal_use_seed  # type: ignore[attr-defined]


def _evidence(campaign: Campaign, steps: list[Step], folder: Path | None,
              skip_inapplicable: bool) -> tuple[list[tuple[Step, list[Any]]], dict[str, Any]]:
    """Replay the shrunk steps once more, recording which documented items each reached,
    the HTTP exchanges of an HTTP target and — given a folder — the device timeline PNG."""
    machine = campaign.machine
    journal: list[tuple[Step, list[Any]]] = []
    evidence: dict[str, Any] = {}
    timed: list[Step] = []  # the steps at the times they run in this world, to mark them

    def collect(m: RecordedMachine) -> None:
        exchanges = getattr(getattr(m, "nas", None), "exchanges", None)
        if exchanges:
            evidence["exchanges"] = exchanges[-40:]  # the last ones lead to the failure
        device = getattr(m, "device", None)
        if folder is not None and device is not None:
            from sim.plot import plot_trace  # matplotlib loads only when a failure is plotted

            png = folder / f"{_slug(campaign.name)}-timeline.png"
            folder.mkdir(parents=True, exist_ok=True)
            evidence["timeline"] = plot_trace(device.trace.timeline(), png,
                                              title=f"{campaign.name}: shortest failing trace",
                                              marks=step_marks(timed))

    saved = machine.coverage
    machine.coverage = Coverage(journal=journal)
    NasTarget.exchanges_kept = True
    try:
        play(machine, steps, after=collect, skip_inapplicable=skip_inapplicable, timed=timed)
    except Inapplicable:
        pass
    finally:
        NasTarget.exchanges_kept = False
        machine.coverage = saved
    return journal, evidence


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-").lower()
