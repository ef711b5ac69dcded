"""Allure results of a run, written with allure-python-commons (allure-pytest's own model and
file writer), so ``allure generate`` reads them as it reads a pytest run's.

Labels: API as epic, class as feature, method as story, the documented code as tag, the
document section as a link (to the run directory's copy of the document, ``spec/``);
target, profile and device as parameters. Each state-machine
step is a step (API call or device event, with its arguments) whose sub-steps are the
documented results it reached. A failing case carries its shortest trace, replay file,
device timeline and HTTP exchanges. ``categories.json`` tells product failures (conformance
violations, implementation crashes) from harness and infrastructure errors.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from allure_commons.logger import AllureFileLogger
from allure_commons.model2 import (
    ATTACHMENT_PATTERN,
    Attachment,
    Label,
    Link,
    Parameter,
    Status,
    StatusDetails,
    TestResult,
    TestStepResult,
)
from allure_commons.types import AttachmentType, LabelType, LinkType
from allure_commons.utils import uuid4

from conformance.reporting.cases import (
    BROKEN,
    FAILED,
    PASSED,
    SKIPPED,
    Case,
    campaign_cases,
    item_name,
    step_title,
)

CATEGORIES = [
    {"name": "Conformance violations (the implementation broke a documented rule)",
     "matchedStatuses": [FAILED], "messageRegex": "violation:[\\s\\S]*"},
    {"name": "Implementation crashes (an exception no document lists)",
     "matchedStatuses": [FAILED], "messageRegex": "crash:[\\s\\S]*"},
    {"name": "Documented items not reached (the suite's coverage gap)",
     "matchedStatuses": [BROKEN], "messageRegex": "not reached:[\\s\\S]*"},
    {"name": "Harness and infrastructure errors (simulator, servers, clients, timeouts)",
     "matchedStatuses": [BROKEN]},
]
_STATUS = {PASSED: Status.PASSED, FAILED: Status.FAILED, BROKEN: Status.BROKEN,
           SKIPPED: Status.SKIPPED}


def write(folder: Path, cases: list[Case], manifest: dict[str, Any], run_dir: Path) -> int:
    """Write ``folder`` (emptied first) with one result per case; the number written."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    logger = AllureFileLogger(str(folder))
    documents = copy_documents(run_dir, {_document(c.section) for c in cases if c.section})
    start = _millis(manifest.get("started"))
    stop = _millis(manifest.get("ended")) or start
    params = [Parameter(name="target", value=manifest.get("target", "")),
              Parameter(name="profile", value=manifest.get("profile", "")),
              Parameter(name="device", value=manifest.get("device", ""))]
    for case in cases:
        result = TestResult(uuid=uuid4(), name=case.name, fullName=case.id,
                            testCaseId=_md5(case.id),
                            historyId=_md5(case.id, *(p.value for p in params)),
                            status=_STATUS[case.status], start=start, stop=stop,
                            parameters=list(params), titlePath=[case.campaign, case.api])
        if case.message:
            result.statusDetails = StatusDetails(message=case.message,
                                                 trace=_trace(case) if case.failure else None)
        result.labels = _labels(case, manifest)
        if _document(case.section) in documents:
            result.links.append(Link(type=LinkType.LINK, url=_anchor(
                f"../{SPEC_FOLDER}/", case.section), name=case.section))
        result.steps = [_step(entry, case, last=i == len(case.steps) - 1)
                        for i, entry in enumerate(case.steps)]
        if case.failure is not None:
            result.attachments = _attachments(logger, case, run_dir)
        logger.report_result(result)
    (folder / "categories.json").write_text(json.dumps(CATEGORIES, indent=2))
    (folder / "environment.properties").write_text("".join(
        f"{key} = {value}\n" for key, value in _environment(manifest).items()))
    return len(cases)


def _labels(case: Case, manifest: dict[str, Any]) -> list[Label]:
    labels = [Label(LabelType.FRAMEWORK, "syncrig"), Label(LabelType.LANGUAGE, "python"),
              Label(LabelType.HOST, manifest.get("host", "")),
              Label(LabelType.PARENT_SUITE, "conformance"), Label(LabelType.SUITE, case.campaign),
              Label(LabelType.EPIC, case.api)]
    if case.owner:
        labels += [Label(LabelType.FEATURE, case.owner), Label(LabelType.SUB_SUITE, case.owner)]
    if case.method:
        labels.append(Label(LabelType.STORY, case.method))
    if case.code is not None:
        labels.append(Label(LabelType.TAG, case.code))
    if case.failure is not None:
        labels.append(Label(LabelType.TAG, case.failure.get("kind", "")))
    return labels


def _step(entry: dict[str, Any], case: Case, last: bool) -> TestStepResult:
    step = TestStepResult(name=step_title(entry), status=Status.PASSED)
    step.parameters = [Parameter(name=k, value=json.dumps(v))
                       for k, v in entry["step"].get("args", {}).items()]
    step.steps = [TestStepResult(name=f"result: {item_name(item)}", status=Status.PASSED)
                  for item in entry.get("reached", [])]
    if last and case.failure is not None:
        step.status = _STATUS[case.status]
        step.statusDetails = StatusDetails(message=case.message)
    return step


def _trace(case: Case) -> str:
    failure = case.failure or {}
    lines = [f"rule: {failure.get('rule', '')}", f"section: {failure.get('section', '')}",
             f"expected: {failure.get('expected', '')}",
             f"observed: {failure.get('observed', '')}", "", "shortest trace:"]
    lines += [f"  {i}. {step_title(entry)}" for i, entry in enumerate(case.steps, 1)]
    return "\n".join(lines)


def _attachments(logger: AllureFileLogger, case: Case, run_dir: Path) -> list[Attachment]:
    failure = case.failure or {}
    out: list[Attachment] = []

    def data(name: str, body: str | bytes, kind: Any) -> None:
        source = ATTACHMENT_PATTERN.format(prefix=uuid4(), ext=kind.extension)
        logger.report_attached_data(body, source)
        out.append(Attachment(name=name, source=source, type=kind.mime_type))

    data("shortest failing trace", _trace(case), AttachmentType.TEXT)
    for key, name, kind in (("replay", "replay file", AttachmentType.JSON),
                            ("timeline", "device timeline", AttachmentType.PNG)):
        path = failure.get(key)
        if path and (run_dir / path).is_file():
            data(name, (run_dir / path).read_bytes(), kind)
    if failure.get("exchanges"):
        data("HTTP requests and responses", json.dumps(failure["exchanges"], indent=2),
             AttachmentType.JSON)
    return out


def _environment(manifest: dict[str, Any]) -> dict[str, str]:
    env = {k: str(manifest[k]) for k in ("target", "profile", "device", "hypothesis_profile",
                                         "seed", "implementation", "host", "platform")
           if manifest.get(k) is not None}  # a value the run did not have is absent
    env |= {f"version.{k}": v for k, v in manifest.get("versions", {}).items()}
    return env


SPEC_FOLDER = "spec"
"""The run directory's copy of the API documents its cases cite, so that their links
resolve wherever the run directory is read."""


def spec_source() -> Path:
    """Where the API documents are: ``$SYNCRIG_SPEC_DIR``, else ``shared/spec`` beside the
    checkout (the documents the spec tables of :mod:`sim.spec` are written from)."""
    configured = os.environ.get("SYNCRIG_SPEC_DIR")
    return Path(configured) if configured else \
        Path(__file__).resolve().parents[3] / "shared" / "spec"


def copy_documents(run_dir: Path, names: set[str]) -> set[str]:
    """Copy the named documents into ``run_dir/spec/``; the names the run directory then has
    (a run copied from another machine keeps the copies it came with)."""
    source, target = spec_source(), run_dir / SPEC_FOLDER
    for name in sorted(names):
        if name and (source / name).is_file():
            target.mkdir(exist_ok=True)
            shutil.copyfile(source / name, target / name)
    return {name for name in names if name and (target / name).is_file()}


def _document(section: str) -> str:
    """The document a section names first (``ohos-request.md ## DownloadTask`` →
    ``ohos-request.md``)."""
    return section.partition(" ")[0]


def _anchor(base: str, section: str) -> str:
    """The link of a document section: ``base`` + the document + the heading's anchor.
    allure's report opens links relative to ``allure-report/index.html``, so a run's results
    link ``../spec/``."""
    document, _, heading = section.partition(" ")
    slug = "-".join(w for w in heading.replace("#", " ").lower().split() if w)
    return f"{base}{document}" + (f"#{slug}" if slug else "")


def _md5(*parts: str) -> str:
    return hashlib.md5("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()


def _millis(stamp: str | None) -> int | None:
    import datetime as dt

    if not stamp:
        return None
    try:
        when = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return int(when.timestamp() * 1000)


HISTORY = "allure-history.jsonl"


def allure_command() -> str | None:
    """The allure command line (npm package ``allure``): ``$SYNCRIG_ALLURE`` or on PATH."""
    return os.environ.get("SYNCRIG_ALLURE") or shutil.which("allure")


def generate(run_dir: Path, command: str) -> Path:
    """``allure generate`` into ``run_dir/allure-report``, with the history of the newest
    earlier run beside it (same parent folder) carried over, so trends span runs.

    allure resolves ``--config`` against ``--cwd``, so both are given as absolute paths: a
    relative ``run_dir`` would otherwise be counted twice."""
    given, run_dir = run_dir, run_dir.resolve()
    history = run_dir / HISTORY
    if not history.exists():
        earlier = sorted(p for p in run_dir.parent.iterdir()
                         if p.is_dir() and p.name < run_dir.name and (p / HISTORY).is_file())
        if earlier:
            shutil.copyfile(earlier[-1] / HISTORY, history)
    config = run_dir / "allurerc.json"
    config.write_text(json.dumps({"name": f"syncrig conformance {run_dir.name}",
                                  "output": "allure-report", "historyPath": HISTORY,
                                  "categories": CATEGORIES}, indent=2))
    done = subprocess.run([command, "generate", "--config", str(config), "--cwd", str(run_dir),
                           "allure-results"], capture_output=True, text=True, timeout=600,
                          cwd=run_dir)
    if done.returncode != 0:
        raise RuntimeError(f"allure generate failed (exit {done.returncode}):\n"
                           f"{_cause(done.stderr or done.stdout)}")
    return given / "allure-report"


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STACK_FRAME = re.compile(r"^\s+at \S")


def _cause(output: str) -> str:
    """allure's error output without colour codes and JavaScript stack frames: the message
    and what it says of the cause are at the top and the end, the frames in between."""
    lines = [_ANSI.sub("", line).rstrip() for line in output.splitlines()]
    kept = [line for line in lines
            if line.strip() not in ("", "{", "}") and not _STACK_FRAME.match(line)]
    return "\n".join(kept) or "(no output)"


def annotate(campaign: dict[str, Any], matrix: dict[str, Any], options: dict[str, Any],
             run_dir: Path | None) -> None:
    """Under allure-pytest (``pytest --syncrig-target=... --alluredir=...``): the running
    campaign item gets the same labels, steps and attachments as the rules case
    :func:`write` makes for a ``syncrig conformance`` run."""
    import allure as api


    case = campaign_cases(campaign, matrix)[0]
    api.dynamic.epic(case.api)
    if case.owner:
        api.dynamic.feature(case.owner)
    if case.method:
        api.dynamic.story(case.method)
    document = spec_source() / _document(case.section)
    if case.section and document.is_file():  # this machine's copy: the results stay here
        api.dynamic.link(_anchor(f"{document.parent.as_uri()}/", case.section),
                         name=case.section)
    api.dynamic.tag(case.failure.get("kind", "") if case.failure else "conforms")
    for key in ("target", "profile", "device"):
        api.dynamic.parameter(key, options.get(key, ""))
    for entry in case.steps:
        with api.step(step_title(entry)):
            for item in entry.get("reached", []):
                with api.step(f"result: {item_name(item)}"):
                    pass
    if case.failure is None:
        return
    api.attach(_trace(case), "shortest failing trace", api.attachment_type.TEXT)
    base = run_dir or Path()
    for key, name, kind in (("replay", "replay file", api.attachment_type.JSON),
                            ("timeline", "device timeline", api.attachment_type.PNG)):
        path = case.failure.get(key)
        if path and (base / path).is_file():
            api.attach.file(str(base / path), name, kind)
    if case.failure.get("exchanges"):
        api.attach(json.dumps(case.failure["exchanges"], indent=2),
                   "HTTP requests and responses", api.attachment_type.JSON)
