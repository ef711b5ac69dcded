"""The self-contained HTML summary of a run: verdict, failures with their traces and device
timelines, the coverage matrix, benchmark figures and statistics — styles, script and images
inline, so the file opens anywhere with no network (a CI artifact, an e-mail attachment)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jinja2

from conformance.reporting.cases import Case, item_name, locate, step_title
from conformance.reporting.rundir import RunDir

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("conformance", "reporting"),
                          autoescape=True, undefined=jinja2.StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True)


def write(path: Path, run: RunDir, cases: list[Case]) -> Path:
    path.write_text(render(run, cases))
    return path


def render(run: RunDir, cases: list[Case]) -> str:
    campaigns = []
    for name, (result, matrix) in run.campaigns.items():
        bench = ((run.bench or {}).get("campaigns") or {}).get(name, {})
        campaigns.append({"name": name, "result": result, "matrix": matrix, "bench": bench,
                          "rows": _rows(matrix, result.get("failure") is not None),
                          "failure": _failure(run.path, result)})
    template = _ENV.get_template("report.html.j2")
    return template.render(run=run.manifest, ok=all(c["result"]["ok"] for c in campaigns),
                           campaigns=campaigns, bench=run.bench, stats=run.stats,
                           counts=run.manifest.get("counts", {}),
                           failed=[c for c in campaigns if c["failure"]],
                           cases=len(cases), hardware=_hardware(run))


def _png(path: Path) -> str | None:
    if not path.is_file():
        return None
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _hardware(run: RunDir) -> dict[str, Any] | None:
    if run.hardware is None:
        return None
    timeline = run.hardware.get("timeline")
    return {"sensors": run.hardware.get("sensors", []),
            "image": _png(run.path / timeline) if timeline else None}


def _rows(matrix: dict[str, Any], stopped: bool) -> list[dict[str, str]]:
    """The matrix as rows; a campaign ``stopped`` at its failure never ran to what it left
    unreached, so those items are *not run* (as in JUnit and allure), not a coverage gap."""
    rows = [{"status": "reached", "item": i, "reason": ""} for i in matrix["reached"]]
    rows += [{"status": "excused", "item": i[:4], "reason": i[4]} for i in matrix["excused"]]
    rows += [{"status": "notrun", "item": i, "reason": "the campaign stopped at its failure"}
             if stopped else {"status": "unreached", "item": i, "reason": ""}
             for i in matrix["unreached"]]
    out = []
    for row in sorted(rows, key=lambda r: (locate(r["item"])[0], list(r["item"]))):
        api, section = locate(row["item"])
        out.append({"status": row["status"], "name": item_name(row["item"]),
                    "kind": row["item"][0], "api": api, "section": section,
                    "reason": row["reason"]})
    return out


def _failure(run_dir: Path, result: dict[str, Any]) -> dict[str, Any] | None:
    failure: dict[str, Any] | None = result.get("failure")
    if failure is None:
        return None
    evidence = result.get("evidence", {})
    timeline = evidence.get("timeline")
    image = _png(run_dir / timeline) if timeline else None
    steps = [{"title": step_title(e), "reached": [item_name(i) for i in e.get("reached", [])]}
             for e in result.get("journal", [])]
    if not steps:  # a failure without a replayed journal: the recorded steps
        steps = [{"title": step_title({"step": s}), "reached": []}
                 for s in result.get("steps", [])]
    exchanges = evidence.get("exchanges")
    return failure | {"steps": steps, "image": image, "replay": result.get("replay"),
                      "exchanges": json.dumps(exchanges, indent=2) if exchanges else None}
