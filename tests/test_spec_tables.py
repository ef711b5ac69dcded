"""The spec tables agree with the documents in ../shared/spec (skipped when they are absent)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from sim.spec import ohos_cloudsync

SPEC_DIR = Path(__file__).parents[2] / "shared" / "spec"
needs_docs = pytest.mark.skipif(not SPEC_DIR.is_dir(),
                                reason=f"the API documents are not here ({SPEC_DIR})")


def _clean(heading: str) -> str:
    return re.sub(r"<sup>.*?</sup>", "", heading).strip("# \n")


def cloudsync_page() -> tuple[dict[str, dict[str, int]], dict[tuple[str, str], set[int]],
                              dict[int, Counter[str]]]:
    """Enum tables, error codes per (class, method) and messages per code, read off the page."""
    enums: dict[str, dict[str, int]] = defaultdict(dict)
    errors: dict[tuple[str, str], set[int]] = defaultdict(set)
    messages: dict[int, Counter[str]] = defaultdict(Counter)
    owner = method = ""
    for line in (SPEC_DIR / ohos_cloudsync.DOCUMENT).read_text().splitlines():
        if line.startswith("## "):
            owner, method = _clean(line), ""
            if owner.startswith("cloudSync."):
                owner, method = "cloudSync", owner.removeprefix("cloudSync.")
        elif line.startswith("### "):
            method = _clean(line)
        enum_row = re.match(r"^\|\s*([A-Z_]+)(?:<sup>.*?</sup>)?\s*\|\s*(\d+)\s*\|", line)
        if enum_row and not method:
            enums[owner][enum_row.group(1)] = int(enum_row.group(2))
        code_row = re.match(r"^\|\s*(\d{3,8})\s*\|\s*(.+?)\s*\|\s*$", line)
        if code_row:
            code = int(code_row.group(1))
            errors[(owner, method)].add(code)
            messages[code][code_row.group(2)] += 1
    return enums, errors, messages


@needs_docs
def test_enum_values_match_the_page() -> None:
    enums, _, _ = cloudsync_page()
    for enum in (ohos_cloudsync.SyncState, ohos_cloudsync.ErrorType,
                 ohos_cloudsync.FileSyncState, ohos_cloudsync.NotifyType):
        assert {m.name: m.value for m in enum} == enums[enum.__name__], enum.__name__


@needs_docs
def test_each_method_lists_the_pages_error_codes() -> None:
    _, errors, _ = cloudsync_page()
    for spec in ohos_cloudsync.METHODS:
        name = spec.name.removesuffix("(string)")
        key = (spec.owner, name)
        if spec.name.endswith("(string)"):
            continue  # the page repeats the heading for the overloads; checked below
        assert key in errors, key
        assert set(spec.errors) <= errors[key], (key, set(spec.errors) - errors[key])
    every_page_code = set().union(*errors.values())
    assert every_page_code == set(ohos_cloudsync.ERRORS)


@needs_docs
def test_messages_are_the_pages_usual_wording() -> None:
    _, _, messages = cloudsync_page()
    for code, error in ohos_cloudsync.ERRORS.items():
        usual = messages[code].most_common(1)[0][0]
        assert error.message == usual, code


@needs_docs
def test_request_constants_and_methods_are_the_pages() -> None:
    from sim.spec import ohos_request

    page = (SPEC_DIR / ohos_request.DOCUMENT).read_text()
    section = page.split("## Constants", 1)[1].split("\n## ", 1)[0]
    names = set(re.findall(r"^\|\s*([A-Z_]+)(?:<sup>\d+\+</sup>)?\s*\|", section, re.M))
    assert names == set(ohos_request.DOCUMENTED_CONSTANTS)
    assert all(isinstance(getattr(ohos_request, n), int) for n in names)
    headings = {_clean(line) for line in page.splitlines() if line.startswith("#")}
    for method in ohos_request.METHODS:
        assert _clean(method.section.split(" ", 1)[1].split(" ### ")[-1]) in headings, method


@needs_docs
def test_synology_methods_are_the_pages() -> None:
    from sim.spec import synology

    page = (SPEC_DIR / synology.DOCUMENT).read_text()
    documented = set(re.findall(r"^([a-z][a-z0-9_]+)$", page, re.M)) - {"warning"}
    assert documented == set(synology.WIRE_METHODS) - {"set_relink_behavior"}
    assert "Set the relinking behavior" in page  # documented without a heading of its own


def test_the_nas_serves_every_documented_method() -> None:
    from sim.spec import synology
    from sim.synology.methods import METHODS

    assert set(synology.WIRE_METHODS.values()) <= set(METHODS)


def test_the_references_read_the_tables() -> None:
    from sim.ohos.cloudsync import constants as cloudsync_constants
    from sim.ohos.request import constants as request_constants
    from sim.spec import ohos_cloudsync, ohos_request, synology
    from sim.synology import errors as synology_errors

    assert cloudsync_constants.SyncState is ohos_cloudsync.SyncState
    documented = {code: e.message for code, e in ohos_cloudsync.ERRORS.items()}
    assert documented == cloudsync_constants.DOCUMENTED_MESSAGES
    assert request_constants.MESSAGES is ohos_request.MESSAGES
    assert synology_errors.INVALID_PARAMETER == synology.INVALID_PARAMETER
