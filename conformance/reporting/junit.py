"""JUnit XML of a run: one ``testsuite`` per campaign, one ``testcase`` per case.

CI systems read this format for their test tabs: a product failure is a ``failure`` (with the
broken rule and the shortest trace), a harness error or an unreached item an ``error``, an
item not reachable on this target ``skipped`` with the reason.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

from conformance.reporting.cases import BROKEN, FAILED, SKIPPED, Case, step_title


def write(path: Path, cases: list[Case], manifest: dict[str, Any],
          seconds: dict[str, float]) -> Path:
    by_campaign: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_campaign[case.campaign].append(case)
    root = ET.Element("testsuites", name=f"syncrig conformance {manifest.get('run', '')}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for campaign, group in by_campaign.items():
        counts = {"tests": len(group),
                  "failures": sum(c.status == FAILED for c in group),
                  "errors": sum(c.status == BROKEN for c in group),
                  "skipped": sum(c.status == SKIPPED for c in group)}
        for key, value in counts.items():
            totals[key] += value
        suite = ET.SubElement(root, "testsuite", {
            "name": campaign, "timestamp": iso_timestamp(manifest.get("started", "")),
            "hostname": manifest.get("host", ""), "time": f"{seconds.get(campaign, 0.0):.3f}",
            **{k: str(v) for k, v in counts.items()}})
        props = ET.SubElement(suite, "properties")
        for key in ("target", "profile", "device", "hypothesis_profile", "seed",
                    "implementation"):
            if manifest.get(key) is not None:  # a value the run did not have is absent
                ET.SubElement(props, "property", name=key, value=str(manifest[key]))
        for case in group:
            # the rules case is the campaign's run; an item's case is a row of its matrix
            _testcase(suite, case, seconds.get(campaign, 0.0) if case.id.endswith(".rules")
                      else 0.0)
    for key, value in totals.items():
        root.set(key, str(value))
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def iso_timestamp(started: str) -> str:
    """A run id's UTC start (``20261130T152806Z``) in ISO 8601, as pytest's JUnit writes it
    (``2026-11-30T15:28:06+00:00``); anything else unchanged."""
    try:
        moment = dt.datetime.strptime(started, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return started
    return moment.isoformat()


def _testcase(suite: ET.Element, case: Case, seconds: float) -> None:
    # classname and name come from the case id only: CI keeps a test's history by them, so
    # they must not change when the case starts or stops failing
    element = ET.SubElement(suite, "testcase", name=case.name,
                            classname=case.id.rsplit(".", 1)[0], time=f"{seconds:.3f}")
    if case.section:
        props = ET.SubElement(element, "properties")
        ET.SubElement(props, "property", name="section", value=case.section)
    if case.status == FAILED:
        node = ET.SubElement(element, "failure", message=case.message,
                             type=(case.failure or {}).get("kind", "violation"))
        node.text = _details(case)
    elif case.status == BROKEN:
        node = ET.SubElement(element, "error", message=case.message,
                             type=(case.failure or {}).get("kind", "coverage"))
        node.text = _details(case)
    elif case.status == SKIPPED:
        ET.SubElement(element, "skipped", message=case.message)


def _details(case: Case) -> str:
    failure = case.failure or {}
    lines = [case.message]
    if failure:
        lines += [f"rule: {failure.get('rule', '')} ({failure.get('section', '')})",
                  f"expected: {failure.get('expected', '')}",
                  f"observed: {failure.get('observed', '')}", "shortest trace:"]
        lines += [f"  {i}. {step_title(e)}" for i, e in enumerate(case.steps, 1)]
        if failure.get("replay"):
            lines.append(f"replay: syncrig replay {failure['replay']}")
    return "\n".join(lines)
