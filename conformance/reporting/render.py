"""Rendering a run directory's reports: JUnit XML, allure results and the HTML summary.

Kept apart from reading the directory back (:mod:`conformance.reporting.rundir`) so that the
renderers read the run's model and nothing reads the renderers but this.
"""

from __future__ import annotations

from pathlib import Path

from conformance.reporting import allure, html, junit
from conformance.reporting.cases import run_cases
from conformance.reporting.rundir import RunDir


def render(run: RunDir) -> dict[str, Path]:
    """Write the run's JUnit XML, allure results and HTML report; their paths."""
    cases = run_cases(run.results)
    seconds = {c["campaign"]: float(c.get("seconds", 0.0)) for c in run.results["campaigns"]}
    out = {"junit": junit.write(run.path / "junit.xml", cases, run.manifest, seconds),
           "allure": run.path / "allure-results",
           "html": html.write(run.path / "report.html", run, cases)}
    allure.write(out["allure"], cases, run.manifest, run.path)
    return out
