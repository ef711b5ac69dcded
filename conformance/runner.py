"""A conformance run: the chosen campaigns, then the coverage matrix and the replay files.

Used by ``syncrig conformance``. Each campaign runs as a Hypothesis campaign; a broken rule ends
that campaign with the rule, its document section, the shrunk steps and a replay file.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import shutil
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.suite import CAMPAIGNS, Options, Outcome, run_campaign


@dataclass
class RunReport:
    started: str
    options: Options
    outcomes: list[Outcome] = field(default_factory=list)
    folder: Path | None = None

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
                "campaigns": [o.to_json() for o in self.outcomes], "matrices": self.matrices}

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


def _one(name: str, options: Options, work: Path, replays: Path) -> Outcome:
    return run_campaign(CAMPAIGNS[name], options, work / name, replays=replays)


def run(out: Path, options: Options | None = None, campaigns: Iterable[str] | None = None,
        progress: Callable[[str], None] = lambda _: None, processes: int = 1) -> RunReport:
    """Run the campaigns — side by side in ``processes`` forked processes when more than one
    (a planted mutant is inherited) — and write ``matrix.json``, ``matrix.md`` and any replay
    files to a new folder ``out/conformance-<time>``."""
    options = options or Options()
    started = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = out / f"conformance-{started}"
    report = RunReport(started, options, folder=folder)
    names = list(campaigns) if campaigns is not None else list(CAMPAIGNS)
    work = Path(tempfile.mkdtemp(prefix="syncrig-conformance-"))
    try:
        if processes > 1 and len(names) > 1:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(min(processes, len(names)), mp_context=context) as pool:
                futures = [pool.submit(_one, name, options, work, folder / "replays")
                           for name in names]
                for name, future in zip(names, futures, strict=True):
                    report.outcomes.append(future.result())
                    progress(f"{name}: done")
        else:
            for name in names:
                progress(name)
                report.outcomes.append(_one(name, options, work, folder / "replays"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "matrix.json").write_text(json.dumps(report.to_json(), indent=2))
    (folder / "matrix.md").write_text(report.markdown())
    progress(f"report: {folder}")
    return report
