"""A conformance run: every machine against its reference target, then the coverage matrix.

Used by ``syncrig conformance``. Each machine runs as a Hypothesis campaign; a broken rule ends
the run with the rule, its document section and Hypothesis's shrunk step list.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from conformance.coverage import Coverage, items_matrix, matrix
from conformance.machines.cloudsync import CloudSyncMachine
from conformance.machines.request import RequestMachine
from conformance.machines.synology import SynologyMachine
from conformance.spec import ohos_cloudsync, ohos_request, synology
from conformance.targets.nas import NasTarget
from sim.servers import FixtureHTTPServer
from sim.synology import Nas, NasServer, load_seed


@dataclass
class RunReport:
    started: str
    examples: int
    matrices: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {"started": self.started, "examples": self.examples,
                "ok": self.ok, "failures": self.failures, "matrices": self.matrices}

    def markdown(self) -> str:
        lines = [f"# Conformance run {self.started} ({self.examples} examples per machine)", "",
                 "| API | documented items | reached | % |", "|---|---|---|---|"]
        for m in self.matrices:
            lines.append(f"| {m['api']} | {m['documented']} | {len(m['reached'])} | "
                         f"{m['percent']} |")
        for m in self.matrices:
            lines += ["", f"## {m['api']}: not reached", ""]
            lines += [f"- {' '.join(item)}" for item in m["unreached"]] or ["- (none)"]
        if self.failures:
            lines += ["", "## Failures", ""]
            lines += [f"- **{f['machine']}**: {f['rule']}\n\n```\n{f['steps']}\n```"
                      for f in self.failures]
        return "\n".join(lines) + "\n"


def _campaign(name: str, machine: Any, examples: int, report: RunReport) -> None:
    machine.coverage = Coverage()
    try:
        # derandomized, as CI's profile is: the same code explores the same examples
        run_state_machine_as_test(machine, settings=settings(  # type: ignore[no-untyped-call]
            max_examples=examples, stateful_step_count=25, deadline=None, derandomize=True,
            database=None))
    except AssertionError as exc:
        report.failures.append({"machine": name, "rule": str(exc).splitlines()[0],
                                "steps": "\n".join(getattr(exc, "__notes__", []))})


def run(out: Path, examples: int = 50,
        progress: Callable[[str], None] = lambda _: None) -> RunReport:
    """Run the three machines against the references; write ``matrix.json`` and ``.md``."""
    started = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    report = RunReport(started, examples)
    work = Path(tempfile.mkdtemp(prefix="syncrig-conformance-"))
    try:
        progress("@ohos.file.cloudSync")
        _campaign("cloudSync", CloudSyncMachine, examples, report)
        report.matrices.append(matrix(ohos_cloudsync.SPEC, CloudSyncMachine.coverage))

        progress("@ohos.request")
        www = work / "www"
        www.mkdir()
        (www / "small.bin").write_bytes(random.Random(0).randbytes(300_000))
        with FixtureHTTPServer(www) as server:
            RequestMachine.server = server
            _campaign("request", RequestMachine, examples, report)
        report.matrices.append(items_matrix("@ohos.request", ohos_request.DOCUMENT,
                                            ohos_request.documented_items(),
                                            RequestMachine.coverage))

        progress("SYNO.CloudSync")
        seed_file = Path(__file__).resolve().parents[1] / "fixtures" / "nas" / "default.yaml"
        nas = Nas(work / "nas", load_seed(seed_file))
        with NasServer(nas, test_control=True) as nas_server:
            SynologyMachine.target_factory = staticmethod(
                lambda: NasTarget("127.0.0.1", nas_server.port, "admin", "Admin-Pass-1"))
            _campaign("SYNO.CloudSync", SynologyMachine, max(5, examples // 2), report)
        nas.store.close()
        report.matrices.append(matrix(synology.SPEC, SynologyMachine.coverage))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    target = out / f"conformance-{started}"
    target.mkdir(parents=True, exist_ok=True)
    (target / "matrix.json").write_text(json.dumps(report.to_json(), indent=2))
    (target / "matrix.md").write_text(report.markdown())
    progress(f"report: {target}")
    return report
