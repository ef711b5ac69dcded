"""A run's results as test cases: the one shape JUnit XML, allure results and the HTML report
are rendered from.

Per campaign there is one case for its rules and invariants (passed, or the broken rule
with its shortest trace) and one case per documented item (reached, not reachable on this
target with the reason, or not reached). Case ids are built from the campaign and the item
only, so they are the same in every run of the same suite: allure's history and trends, and
``syncrig report diff``, follow them from run to run.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from conformance.outcome import PRODUCT_KINDS
from sim.spec import ohos_cloudsync, ohos_request, synology

PASSED, FAILED, BROKEN, SKIPPED = "passed", "failed", "broken", "skipped"


@dataclass
class Case:
    """One test case of a run."""

    id: str
    name: str
    campaign: str
    api: str
    owner: str
    method: str
    section: str
    status: str
    message: str = ""
    code: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    failure: dict[str, Any] | None = None


@functools.cache
def _documents() -> dict[tuple[str, ...], tuple[str, str]]:
    """Each documented item (and each method, as (owner, name)) → (API, document section)."""
    out: dict[tuple[str, ...], tuple[str, str]] = {}
    for spec in (ohos_cloudsync.SPEC, synology.SPEC):
        for m in spec.methods:
            where = (spec.name, _in(spec.document, m.section))
            out.setdefault((m.owner, m.name), where)
            for code in m.errors:
                out[("error", m.owner, m.name, str(code))] = where
        for e in spec.enum_members():
            out[("enum", e.enum, e.name, "")] = (spec.name, _in(spec.document, e.section))
    for item in ohos_request.documented_items():
        out[item] = ("@ohos.request", f"{ohos_request.DOCUMENT} ## {item[1]}")
    return out


def _in(document: str, section: str) -> str:
    """``document section``, the document named once whether or not the section has it."""
    return section if section.startswith(document) else f"{document} {section}"


def locate(item: list[str] | tuple[str, ...]) -> tuple[str, str]:
    """The API an item belongs to and its document section."""
    return _documents().get(tuple(item), ("", ""))


def item_name(item: list[str] | tuple[str, ...]) -> str:
    kind, owner, name, value = item[:4]
    if kind == "error":
        return f"{owner}.{name} succeeds" if value == "0" else f"{owner}.{name} → {value}"
    if kind == "transition":
        return f"{owner}: {name} → {value}"
    return f"{owner}.{name}"


def item_id(campaign: str, item: list[str] | tuple[str, ...]) -> str:
    return "syncrig." + ".".join(_slug(part) for part in (campaign, *item[:4]) if part)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "_"


def step_title(entry: dict[str, Any]) -> str:
    """A journal entry's step as a report shows it: API call or device event."""
    step = entry["step"]
    args = ", ".join(f"{k}={v!r}" for k, v in step.get("args", {}).items())
    when = f" at t={step['at']:g}s" if step.get("at") is not None else ""
    kind = "device" if entry.get("device_event") else "API"
    return f"{kind}: {step['rule']}({args}){when}"


def attribute(failure: dict[str, Any], journal: list[dict[str, Any]],
              items: list[list[str]]) -> tuple[str, str]:
    """The (owner, method) a failure belongs to: the documented method its rule names
    (``Owner.name``, or a bare name only one documented method has), else the last one the
    trace called."""
    rule = failure.get("rule", "")
    known = {(i[1], i[2]) for i in items if i[0] == "error"}
    qualified = [m for m in known if f"{m[0]}.{m[1]}" in rule]
    if qualified:
        return max(qualified, key=lambda m: len(m[0]) + len(m[1]))
    bare = [m for m in known if re.search(rf"\b{re.escape(m[1])}\b", rule)]
    if len(bare) == 1:
        return bare[0]
    for entry in reversed(journal):
        for item in reversed(entry.get("reached", [])):
            if item[0] == "error":
                return item[1], item[2]
    return "", ""


def campaign_cases(campaign: dict[str, Any], matrix: dict[str, Any]) -> list[Case]:
    """The cases of one campaign of ``matrix.json``."""
    name = campaign["campaign"]
    failure = campaign.get("failure")
    journal = campaign.get("journal", [])
    all_items = matrix["reached"] + matrix["unreached"] + [i[:4] for i in matrix["excused"]]
    cases = [_rules_case(campaign, matrix, all_items)]
    first_reach: dict[tuple[str, ...], dict[str, Any]] = {}
    for entry in journal:
        for item in entry.get("reached", []):
            first_reach.setdefault(tuple(item), entry)
    stopped = failure is not None
    for item in matrix["reached"]:
        entry = first_reach.get(tuple(item))
        cases.append(_item_case(name, item, PASSED, "" if entry else
                                "reached during the random examples", [entry] if entry else []))
    for item in matrix["excused"]:
        cases.append(_item_case(name, item, SKIPPED, f"not reachable on this target: {item[4]}"))
    for item in matrix["unreached"]:
        if stopped:
            cases.append(_item_case(name, item, SKIPPED,
                                    "not run: the campaign stopped at its failure"))
        else:
            cases.append(_item_case(name, item, BROKEN if campaign.get("coverage_gate", True)
                                    else SKIPPED, "not reached: no step reached and asserted "
                                    "this documented item, and it is not listed as unreachable"))
    return cases


def _item_case(campaign: str, item: list[str], status: str, message: str,
               steps: list[dict[str, Any]] | None = None) -> Case:
    api, section = locate(item)
    kind, owner, name, value = item[:4]
    return Case(item_id(campaign, item), item_name(item), campaign, api or campaign, owner,
                name if kind != "enum" else owner, section, status, message,
                code=value if kind == "error" else None, steps=steps or [])


def _rules_case(campaign: dict[str, Any], matrix: dict[str, Any],
                items: list[list[str]]) -> Case:
    name = campaign["campaign"]
    failure = campaign.get("failure")
    journal = campaign.get("journal", [])
    case = Case(f"syncrig.{_slug(name)}.rules", f"{name}: every rule and invariant holds", name,
                matrix["api"], "", "", matrix.get("document", ""), PASSED, steps=journal)
    if failure is None:
        return case
    owner, method = attribute(failure, journal, items)
    evidence = campaign.get("evidence", {})
    case.owner, case.method = owner, method
    case.failure = failure | {"replay": campaign.get("replay"),
                              "timeline": evidence.get("timeline"),
                              "exchanges": evidence.get("exchanges")}
    api, section = locate((owner, method))
    case.api = api or case.api
    case.section = failure.get("section") or section or case.section
    kind = failure.get("kind", "")
    case.status = FAILED if kind in PRODUCT_KINDS else BROKEN
    case.message = f"{kind}: {failure.get('message', '')}"
    return case


def run_cases(matrix_json: dict[str, Any]) -> list[Case]:
    """Every case of a run, campaign by campaign."""
    out: list[Case] = []
    for campaign, matrix in zip(matrix_json["campaigns"], matrix_json["matrices"], strict=True):
        out += campaign_cases(campaign, matrix)
    return out
