"""Run directories joined into one: the N jobs of a CI matrix (``--shard I/N``) as the run
they split, so a matrix of jobs yields one report and one ``report diff``.

Each campaign's parts merge as in one run (:mod:`conformance.shards`): matrices united,
statistics summed, timing in shard order, the first failure by shard order reported, its
replay files carried over (each shard's under ``replays/shard-I/``). Speed figures stay
ratios to a baseline: each shard's example timings are rescaled from its own machine's
baseline to the merged one, so examples run on faster or slower machines compare. JUnit,
allure results and the HTML report are then rendered from the merged files.
"""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path
from typing import Any

from conformance.coverage import union
from conformance.reporting import bench
from conformance.reporting.render import render
from conformance.reporting.rundir import RunDir, RunDirError, load
from conformance.shards import first_failing, merged_statistics

SAME = ("target", "profile", "device", "hypothesis_profile", "examples", "steps",
        "derandomized", "seed", "shards")
"""What runs must share to be parts of one run."""


class MergeError(RunDirError):
    """Run directories that are not parts of one run; the message says which differ."""


def _ordered(runs: list[RunDir]) -> list[tuple[str, RunDir]]:
    """The runs in shard order, each with the folder its replays go to; refused when they
    are not the shards of one run."""
    first = runs[0].manifest
    for run in runs[1:]:
        for key in SAME:
            if run.manifest.get(key) != first.get(key):
                raise MergeError(f"{run.path}: {key} is {run.manifest.get(key)!r}, but "
                                 f"{first.get(key)!r} in {runs[0].path}: not parts of one run")
    shards = [run.manifest.get("shard") for run in runs]
    if all(s is None for s in shards):
        return [(f"run-{i}", run) for i, run in enumerate(runs)]
    if any(s is None for s in shards):
        whole = runs[shards.index(None)].path
        raise MergeError(f"{whole}: a whole run, merged with shards of one")
    count = first.get("shards", 1)
    seen: dict[Any, Path] = {}
    for shard, run in zip(shards, runs, strict=True):
        if shard in seen:
            raise MergeError(f"{run.path}: shard {shard}/{count} again (also {seen[shard]})")
        seen[shard] = run.path
    missing = sorted(set(range(count)) - set(seen))
    if missing:
        raise MergeError(f"shard {', '.join(f'{i}/{count}' for i in missing)} missing: the "
                         "merged run would claim examples it never ran")
    return sorted(((f"shard-{s}", r) for s, r in zip(shards, runs, strict=True)),
                  key=lambda p: p[1].manifest["shard"])


def _moved(value: Any, folder: str) -> Any:
    """A path recorded relative to a run directory, once its replays are under ``folder``."""
    if isinstance(value, str) and value.startswith("replays/"):
        return f"replays/{folder}/{value[len('replays/'):]}"
    return value


def _campaign(parts: list[tuple[str, dict[str, Any], dict[str, Any]]]) \
        -> tuple[dict[str, Any], dict[str, Any]]:
    """One campaign's results and matrices from the runs (in shard order) as one."""
    results = [c | {"replay": _moved(c.get("replay"), folder),
                    "evidence": {k: _moved(v, folder) for k, v in c.get("evidence", {}).items()}}
               for folder, c, _ in parts]
    matrix = union(*(m for _, _, m in parts))
    chosen = first_failing([c["failure"] for c in results])
    lead = results[chosen] if chosen is not None else \
        next((c for c in results if c.get("journal")), results[0])
    ok = lead["failure"] is None and not (lead.get("coverage_gate", True) and matrix["unreached"])
    return lead | {"ok": ok, "seconds": round(sum(c["seconds"] for c in results), 3),
                   "statistics": merged_statistics([c.get("statistics", {}) for c in results])
                   }, matrix


def _bench(runs: list[RunDir], campaigns: list[dict[str, Any]]) -> dict[str, Any] | None:
    """``bench.json`` of the merged run: every shard's example timings rescaled to the
    median of the shards' baselines."""
    if any(run.bench is None for run in runs):
        return None
    bases = [run.bench["baseline"] for run in runs if run.bench]
    median = statistics.median(b["median"] for b in bases)
    baseline = bases[0] | {"median": bench.significant(median),
                           "samples": sum(b.get("samples", 0) for b in bases)}
    timed = []
    for campaign in campaigns:
        timing = []
        for run in runs:
            figures = (run.bench or {}).get("campaigns", {}).get(campaign["campaign"], {})
            scale = (run.bench or {})["baseline"]["median"] / median
            timing += [[n, t * scale] for n, t in figures.get("timing", [])]
        timed.append({"campaign": campaign["campaign"], "statistics": {"timing": timing}})
    return bench.figures(baseline, timed)


def merge(paths: list[Path], out: Path) -> RunDir:
    """Merge the run directories at ``paths`` into a new run directory ``out`` and render its
    reports."""
    if not paths:
        raise MergeError("report merge: give the run directories to merge")
    if out.exists() and any(out.iterdir()):
        raise MergeError(f"{out}: exists and is not empty")
    ordered = _ordered([load(p) for p in paths])
    runs = [run for _, run in ordered]
    by_name: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {}
    for folder, run in ordered:
        for name, (result, matrix) in run.campaigns.items():
            by_name.setdefault(name, []).append((folder, result, matrix))
    merged = [_campaign(parts) for parts in by_name.values()]
    campaigns, matrices = [c for c, _ in merged], [m for _, m in merged]
    out.mkdir(parents=True, exist_ok=True)
    for folder, run in ordered:
        if (run.path / "replays").is_dir():
            shutil.copytree(run.path / "replays", out / "replays" / folder)
    first = runs[0]
    results = {"started": min(r.results.get("started", "") for r in runs),
               "options": first.results.get("options", {}),
               "ok": all(c["ok"] for c in campaigns), "campaigns": campaigns,
               "matrices": matrices}
    manifest = first.manifest | {
        "run": out.name, "campaigns": list(by_name), "shard": None,
        "merged": [r.manifest["run"] for r in runs],
        "host": ", ".join(dict.fromkeys(r.manifest.get("host", "") for r in runs)),
        "started": min(r.manifest["started"] for r in runs),
        "ended": max(r.manifest.get("ended", "") for r in runs),
        "counts": {"failed": sum(not c["ok"] for c in campaigns),
                   "documented": sum(m["documented"] for m in matrices),
                   "reached": sum(len(m["reached"]) for m in matrices),
                   "excused": sum(len(m["excused"]) for m in matrices),
                   "unreached": sum(len(m["unreached"]) for m in matrices)}}
    (out / "run.json").write_text(json.dumps(manifest, indent=2))
    (out / "matrix.json").write_text(json.dumps(results, indent=2))
    (out / "stats.json").write_text(json.dumps(
        {c["campaign"]: c["statistics"] for c in campaigns}, indent=2))
    figures = _bench(runs, campaigns)
    if figures is not None:
        (out / "bench.json").write_text(json.dumps(figures, indent=2))
    run = load(out)
    render(run)
    return run
