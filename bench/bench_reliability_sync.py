"""Reliability bench: the cloudSync reference never reaches outside its folder and never loses
a version.

Path attacks: every attack of the path machine (a file or a folder of the cloud folder
swapped for a symlink before a sync or during one, links planted where temporary files go,
hostile cloud paths, bad names given to each API method, app callbacks that raise) runs once on
a fresh device with sentinel files outside the folder, then random sequences of them (the
links of one attack still there for the next); an *escape* is any change outside the folder or
any sentinel's content reaching the cloud (the machine's invariants), and any other broken rule
is counted apart.

Two phones: random sequences of the two-device machine's steps — edits, deletes, renames and
file/folder clashes on both phones, syncs, the radios lost mid-sync, stops and starts — each
on a fresh world and each ending with clean syncs of both phones; a *lost version* is a version
written and never overwritten or deleted by the app where it was seen, missing at the end. The
sequences are drawn from ``--seed``: the same seed plays the same sequences.

Usage: ``python bench/bench_reliability_sync.py [--attack-sequences 500] [--sequences 1000]
[--steps 25] [--seed 0] [--budget 170] [--json FILE] [--mutant NAME]`` (``--mutant``
re-plants a catalogue mutant, which the bench must then see). Exit status 1 if any attack
escaped, any version was lost or any other rule broke; the sequences stop early (and say so)
when ``--budget`` seconds are spent.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import random
import shlex
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from conformance.machines.base import RecordedMachine, Step
from conformance.machines.cloudsync_paths import CloudSyncPathMachine
from conformance.machines.twodevice import NAMES, PHONES, TwoDeviceMachine
from conformance.mutants import BY_NAME
from conformance.play import play

ESCAPES = ("no byte is written outside the app's cloud folder",
           "no byte is read from outside the app's cloud folder")
LOST = "every version last written survives (as itself or a conflict copy)"
WEIGHTS = {"edit": 30, "delete": 10, "rename": 10, "sync": 14, "sync_both": 12, "start": 6,
           "radio_lost": 6, "stop_start": 6, "time_passes": 5, "converge": 1}
"""How often each two-device step is drawn."""


def attacks() -> list[Step]:
    """Every attack of the path machine's tour, one step each."""
    return [step for step in CloudSyncPathMachine.tour() if step.rule != "time_passes"]


def draw(rng: random.Random, steps: int) -> list[Step]:
    """A random sequence of the two-device machine's steps."""
    rules, weights = zip(*WEIGHTS.items(), strict=True)
    out = []
    for _ in range(steps):
        rule = rng.choices(rules, weights)[0]
        phone = rng.choice(PHONES)
        args: dict[str, Any] = {
            "edit": {"phone": phone, "name": rng.choice(NAMES), "big": rng.random() < 0.25},
            "delete": {"phone": phone, "name": rng.choice(NAMES)},
            "rename": {"phone": phone, "old": rng.choice(NAMES), "new": rng.choice(NAMES)},
            "sync": {"phone": phone}, "start": {"phone": phone},
            "sync_both": {"first": phone, "delay": rng.choice([0.0, 0.5, 1.2])},
            "radio_lost": {"phone": phone, "after": rng.choice([0.05, 0.5, 1.5])},
            "stop_start": {"phone": phone, "after": rng.choice([0.05, 0.5, 1.5])},
            "time_passes": {"seconds": rng.choice([0.5, 5.0, 60.0])}, "converge": {},
        }[rule]
        out.append(Step(rule, args))
    return out


def run_attacks(sequences: int, steps: int, seed: int) -> dict[str, Any]:
    """Each attack alone, then ``sequences`` random sequences of ``steps`` attacks."""
    started = time.perf_counter()
    rng = random.Random(seed)
    each = attacks()
    plays = [[step] for step in each] + [rng.choices(each, k=steps) for _ in range(sequences)]
    escapes, other = [], []
    for played in plays:
        failure = play(CloudSyncPathMachine, played)
        if failure is None:
            continue
        record = {"attacks": [str(step) for step in played], "rule": failure["rule"],
                  "message": failure["message"]}
        (escapes if failure["rule"] in ESCAPES else other).append(record)
    return {"attacks": len(each), "sequences": sequences,
            "attacks_run": sum(len(p) for p in plays), "escapes": len(escapes),
            "other_failures": len(other), "failures": (escapes + other)[:10],
            "seconds": round(time.perf_counter() - started, 3)}


def run_sequences(count: int, steps: int, seed: int, budget_s: float) -> dict[str, Any]:
    started = time.perf_counter()
    rng = random.Random(seed)
    tally: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    played = 0

    def count_versions(machine: RecordedMachine) -> None:
        assert isinstance(machine, TwoDeviceMachine)
        tally["versions_written"] += machine.writes
        tally["versions_checked"] += len(machine.live)

    for n in range(count):
        if time.perf_counter() - started > budget_s:
            break
        sequence = draw(rng, steps)
        failure = play(TwoDeviceMachine, sequence, after=count_versions)
        played += 1
        tally["steps"] += len(sequence)
        if failure is not None:
            tally["lost" if failure["rule"] == LOST else "other"] += 1
            failures.append({"sequence": n, "rule": failure["rule"],
                             "message": failure["message"],
                             "steps": [s.to_json() for s in sequence]})
    return {"sequences": played, "asked": count, "steps": tally["steps"],
            "versions_written": tally["versions_written"],
            "versions_checked": tally["versions_checked"],
            "sequences_losing_versions": tally["lost"], "other_failures": tally["other"],
            "failures": failures[:10], "stopped_by_budget": played < count,
            "seconds": round(time.perf_counter() - started, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attack-sequences", type=int, default=500)
    parser.add_argument("--sequences", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=170.0,
                        help="seconds for the two-phone sequences")
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--mutant", choices=sorted(BY_NAME), help="re-plant a mutant")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    planted = BY_NAME[args.mutant].applied() if args.mutant else contextlib.nullcontext()
    with planted:
        paths = run_attacks(args.attack_sequences, 10, args.seed)
        phones = run_sequences(args.sequences, args.steps, args.seed, args.budget)
    result = {"bench": "reliability_sync", "python": platform.python_version(),
              "seed": args.seed, "mutant": args.mutant, "path_attacks": paths,
              "two_phones": phones, "seconds": round(time.perf_counter() - started, 3)}
    print(f"path attacks: {paths['attacks']} alone and {paths['sequences']} sequences of 10 "
          f"({paths['attacks_run']} in all), {paths['escapes']} escaped, "
          f"{paths['other_failures']} other failures ({paths['seconds']:.1f} s)")
    print(f"two phones: {phones['sequences']} sequences of {args.steps} steps, "
          f"{phones['versions_written']} versions written, {phones['versions_checked']} "
          f"checked at the end, {phones['sequences_losing_versions']} sequences lost a "
          f"version, {phones['other_failures']} other failures ({phones['seconds']:.1f} s"
          f"{', stopped by the budget' if phones['stopped_by_budget'] else ''})")
    for failure in (paths["failures"] + phones["failures"])[:5]:
        print(f"  {failure['message']}")
    if args.json is not None:
        result["command"] = shlex.join(["python", *sys.argv])
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    bad = paths["escapes"] or paths["other_failures"] or phones["sequences_losing_versions"] \
        or phones["other_failures"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
