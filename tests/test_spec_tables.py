"""The spec tables agree with the documents in ../shared/spec (skipped when they are absent)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from conformance.spec import ohos_cloudsync

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
