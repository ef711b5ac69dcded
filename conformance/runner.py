"""A conformance run: the chosen campaigns, then the run directory and its reports.

Used by ``syncrig conformance``. Each campaign runs as a Hypothesis campaign; a broken rule ends
that campaign with the rule, its document section, the shrunk steps and a replay file. The run
directory ``<out>/<run-id>/`` (run id: UTC time + ``git describe`` of the implementation where
known) gets ``run.json``, ``matrix.json``/``matrix.md``, ``stats.json``, ``bench.json``,
``replays/`` and, rendered from those, ``junit.xml``, ``allure-results/`` and ``report.html``.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import platform
import random
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from conformance.options import Options
from conformance.outcome import Outcome
from conformance.reporting import bench
from conformance.reporting.render import render
from conformance.reporting.rundir import load
from conformance.shards import Task, merge, run_task, tasks
from conformance.suite import CAMPAIGNS


@dataclass
class RunReport:
    started: str
    options: Options
    outcomes: list[Outcome] = field(default_factory=list)
    folder: Path | None = None
    implementation: str | None = None
    """``git describe`` of the implementation, where known."""
    shards: int = 1
    """Parts each campaign's examples were split into (:mod:`conformance.shards`)."""
    shard: int | None = None
    """The one part of each campaign this run ran (``--shard I/N``), else all of them."""

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)

    @property
    def matrices(self) -> list[dict[str, Any]]:
        return [o.matrix for o in self.outcomes]

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def to_json(self) -> dict[str, Any]:
        return {"started": self.started, "options": self.options.to_json(), "ok": self.ok,
                "campaigns": [o.to_json(self.folder) for o in self.outcomes],
                "matrices": self.matrices}

    def markdown(self) -> str:
        o = self.options
        lines = [f"# Conformance run {self.started}", "",
                 f"{o.examples} examples per campaign ({o.hypothesis_profile} profile), "
                 f"device `{o.device}`, NAS {o.nas or 'emulator'}.", "",
                 "| API | documented items | reached | % | seconds | result |",
                 "|---|---|---|---|---|---|"]
        for out in self.outcomes:
            m = out.matrix
            lines.append(f"| {m['api']} | {m['documented']} | {len(m['reached'])} | "
                         f"{m['percent']} | {out.seconds:.1f} | "
                         f"{'conforms' if out.ok else 'FAILED'} |")
        for out in self.outcomes:
            m = out.matrix
            gate = "" if out.gate else " (coverage gate off: the machine does not yet drive " \
                "every documented item)"
            lines += ["", f"## {m['api']}: not reached{gate}", ""]
            lines += [f"- {' '.join(item).strip()}" for item in m["unreached"]] or ["- (none)"]
            if m["excused"]:
                lines += ["", f"## {m['api']}: not reachable on this target", ""]
                lines += [f"- {' '.join(item[:4]).strip()}: {item[4]}" for item in m["excused"]]
        if self.failures:
            lines += ["", "## Failures", ""]
            for out in self.failures:
                lines += [f"```\n{out.describe()}\n```", ""]
        return "\n".join(lines) + "\n"


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("syncrig", "hypothesis", "simpy", "pycurl", "aiohttp", "synology-api"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    try:
        import pycurl

        out["libcurl"] = pycurl.version_info()[1]
    except ImportError:
        pass
    return out


def _describe() -> str | None:
    """``git describe`` of the checkout the reference runs from, where it is one."""
    root = Path(__file__).resolve().parents[1]
    try:
        done = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def manifest(report: RunReport, started: str) -> dict[str, Any]:
    """``run.json``: what was run, where, with what, and the counts — enough to compare two
    runs or to know which two runs cannot be compared."""
    o = report.options
    matrices = report.matrices
    return {
        "run": report.folder.name if report.folder else started,
        "implementation": report.implementation,
        "target": o.target, "profile": o.profile, "device": o.device,
        "hypothesis_profile": o.hypothesis_profile, "examples": o.examples, "steps": o.steps,
        "derandomized": o.derandomized, "seed": None if o.derandomized else o.seed,
        "campaigns": [out.campaign for out in report.outcomes],
        "host": platform.node(), "platform": platform.platform(), "versions": _versions(),
        "shards": report.shards, "shard": report.shard,
        "started": started, "ended": dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ"),
        "counts": {"failed": len(report.failures),
                   "documented": sum(m["documented"] for m in matrices),
                   "reached": sum(len(m["reached"]) for m in matrices),
                   "excused": sum(len(m["excused"]) for m in matrices),
                   "unreached": sum(len(m["unreached"]) for m in matrices)}}


Execute = Callable[[list[Task], Options, Path, Callable[[str], None]], list[Outcome]]
"""Runs a run's tasks elsewhere (a cluster): the tasks, the options, the run's replay folder
(where each failure's files are to land) and the progress line; the outcomes in task order."""


def _local(tasks: list[Task], options: Options, replays: Path,
           progress: Callable[[str], None], processes: int) -> list[Outcome]:
    """The tasks on this machine: one after the other, or side by side in ``processes``
    forked processes (a planted mutant is inherited)."""
    work = Path(tempfile.mkdtemp(prefix="syncrig-conformance-"))
    try:
        if processes > 1 and len(tasks) > 1:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(min(processes, len(tasks)), mp_context=context) as pool:
                futures = [pool.submit(run_task, task, options, work, replays)
                           for task in tasks]
                outcomes = []
                for task, future in zip(tasks, futures, strict=True):
                    outcomes.append(future.result())
                    progress(f"{task.key}: done")
                return outcomes
        outcomes = []
        for task in tasks:
            progress(task.key)
            outcomes.append(run_task(task, options, work, replays))
        return outcomes
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_id(started: str, describe: str | None) -> str:
    """``<UTC time>-<git describe>`` (or the time alone): sorts by time, names the code."""
    if not describe:
        return started
    return f"{started}-{re.sub(r'[^A-Za-z0-9._-]+', '-', describe)}"


def run(out: Path, options: Options | None = None, campaigns: Iterable[str] | None = None,
        progress: Callable[[str], None] = lambda _: None, processes: int = 1,
        shards: int = 1, shard: int | None = None,
        execute: Execute | None = None) -> RunReport:
    """Run the campaigns — side by side in ``processes`` forked processes when more than one
    (a planted mutant is inherited), or by ``execute`` (a cluster) — and write the run
    directory ``out/<run-id>/``.

    ``shards`` splits each campaign into that many parts (:mod:`conformance.shards`), merged
    back into one campaign each; ``shard`` runs only that part of each (one job of a CI
    matrix, merged later by ``syncrig report merge``)."""

    options = options or Options()
    if not options.derandomized and options.seed is None:
        options = replace(options, seed=random.SystemRandom().getrandbits(32))
    started = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    implementation = _describe()
    folder = out / run_id(started, implementation)
    suffix = 1
    while folder.exists():  # two runs in one second
        suffix += 1
        folder = folder.with_name(f"{run_id(started, implementation)}.{suffix}")
    report = RunReport(started, options, folder=folder, implementation=implementation,
                       shards=shards, shard=shard)
    names = list(campaigns) if campaigns is not None else list(CAMPAIGNS)
    todo = tasks(names, shards, shard)
    progress("baseline: bare Hypothesis state machine")
    baseline = bench.baseline()
    outcomes = _local(todo, options, folder / "replays", progress, processes) \
        if execute is None else execute(todo, options, folder / "replays", progress)
    report.outcomes = merge(todo, outcomes)
    folder.mkdir(parents=True, exist_ok=True)
    results = report.to_json()
    (folder / "run.json").write_text(json.dumps(manifest(report, started), indent=2))
    (folder / "matrix.json").write_text(json.dumps(results, indent=2))
    (folder / "matrix.md").write_text(report.markdown())
    (folder / "stats.json").write_text(json.dumps(
        {c["campaign"]: c["statistics"] for c in results["campaigns"]}, indent=2))
    (folder / "bench.json").write_text(json.dumps(
        bench.figures(baseline, results["campaigns"]), indent=2))
    render(load(folder))
    progress(f"report: {folder / 'report.html'}")
    return report
