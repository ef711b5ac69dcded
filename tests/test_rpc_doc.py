"""docs/rpc.md is the contract an agent implements: its example exchanges are replayed against
a real ``syncrig serve rpc``, answer for answer, and its tables of error codes, records, enums
and offered names are the server's own."""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance import rpc
from conformance.targets.rpc import CAPABILITIES

DOC = Path(__file__).parents[1] / "docs" / "rpc.md"
TOKEN = "doc-example-token-0123456789"


@dataclass(frozen=True)
class Exchange:
    """One fenced ``jsonrpc`` block: a connection's lines, sent (``-->``) and expected
    (``<--``), and whether its server has a token."""

    line: int
    token: bool
    steps: list[tuple[str, str]]


def exchanges(text: str) -> list[Exchange]:
    found = []
    for match in re.finditer(r"^```jsonrpc([^\n]*)\n(.*?)^```$", text, re.M | re.S):
        steps = []
        for raw in match[2].splitlines():
            direction, _, body = raw.partition(" ")
            assert direction in ("-->", "<--"), f"not a --> or <-- line: {raw!r}"
            steps.append((direction, body))
        found.append(Exchange(text[:match.start()].count("\n") + 1,
                              match[1].strip() == "token", steps))
    return found


def served(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """A ``syncrig serve`` in its own process and the first line it prints."""
    child = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", *args],
                             stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    assert child.stdout is not None
    return child, child.stdout.readline()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    www = tmp_path_factory.mktemp("www")
    (www / "a.bin").write_bytes(random.Random(0).randbytes(1000))
    children = []
    try:
        plain, banner = served("rpc", "--port", "0", env={"SYNCRIG_RPC_TOKEN": ""})
        children.append(plain)
        port = re.search(r"127\.0\.0\.1:(\d+)", banner)
        guarded, banner = served("rpc", "--port", "0", env={"SYNCRIG_RPC_TOKEN": TOKEN})
        children.append(guarded)
        token_port = re.search(r"127\.0\.0\.1:(\d+)", banner)
        files, banner = served("http", "--port", "0", "--root", str(www))
        children.append(files)
        url = re.search(r"(http://127\.0\.0\.1:\d+)", banner)
        assert port and token_port and url
        yield {"port": int(port[1]), "token_port": int(token_port[1]),
               "files": f"{url[1]}/files"}
    finally:
        for child in children:
            child.terminate()
            child.communicate(timeout=30)


def matches(expected: Any, got: Any) -> bool:
    """``got`` equals ``expected``, types included (``1`` is not ``1.0``, nor ``true``)."""
    if isinstance(expected, dict):
        return isinstance(got, dict) and expected.keys() == got.keys() and all(
            matches(v, got[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(got, list) and len(expected) == len(got) and all(
            matches(e, g) for e, g in zip(expected, got, strict=True))
    return type(expected) is type(got) and expected == got


EXCHANGES = exchanges(DOC.read_text())


def test_the_document_has_examples_of_every_section() -> None:
    assert len(EXCHANGES) >= 7
    assert any(e.token for e in EXCHANGES)


@pytest.mark.parametrize("exchange", EXCHANGES, ids=lambda e: f"line-{e.line}")
def test_an_example_exchange_is_what_the_server_answers(exchange: Exchange,
                                                         servers: dict[str, Any]) -> None:
    port = servers["token_port" if exchange.token else "port"]
    values = {"${FILES}": servers["files"], "${TOKEN}": TOKEN}

    def filled(text: str) -> str:
        for name, value in values.items():
            text = text.replace(name, value)
        return text

    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        stream = sock.makefile("rwb")
        expected: list[str] = []
        for direction, body in [*exchange.steps, ("-->", "")]:
            if direction == "<--":
                expected.append(filled(body))
                continue
            for want in expected:
                got = stream.readline().decode()
                assert matches(json.loads(want), json.loads(got)), \
                    f"docs/rpc.md line {exchange.line}:\nexpected {want}\nanswered {got}"
            expected = []
            if body:
                stream.write(filled(body).encode() + b"\n")
                stream.flush()


def table(title: str) -> dict[str, list[str]]:
    """The rows of the table under the heading or the header cell ``title``: first cell →
    the other cells."""
    text = DOC.read_text()
    start = text.index(f"| {title} |")
    rows: dict[str, list[str]] = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        first, *rest = [cell.strip() for cell in line.strip("|").split("|")]
        rows[first.strip("`")] = rest
    return rows


def names(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


def test_the_error_table_lists_every_code_the_server_uses() -> None:
    codes = {int(code.strip("`")) for code in table("code")}
    assert codes == {rpc.PARSE_ERROR, rpc.INVALID_REQUEST, rpc.METHOD_NOT_FOUND,
                     rpc.INVALID_PARAMS, rpc.INTERNAL_ERROR, rpc.UNAUTHORIZED, rpc.NOT_OFFERED,
                     rpc.BUSY, rpc.BUSINESS_ERROR, rpc.TARGET_ERROR, rpc.PLAIN_ERROR}


def test_the_records_and_enums_are_the_wire_names() -> None:
    records = table("record")
    assert set(records) == set(rpc.RECORDS)
    for name, cls in rpc.RECORDS.items():
        fields = re.findall(r"`(\w+)` \(([^)]+)\)", records[name][0])
        assert fields == [(field, kind) for field, (_, kind) in rpc._FIELDS[cls].items()]
    enums = table("enum")
    assert {name: names(cells[0]) for name, cells in enums.items()} == {
        name: set(cls.__members__) for name, cls in rpc.ENUMS.items()}


def test_the_offered_names_are_the_servers() -> None:
    offers = table("class")
    assert set(offers) == {cls.__name__ for cls in CAPABILITIES.classes}
    for cls, offer in CAPABILITIES.classes.items():
        read, call, also = offers[cls.__name__]
        assert names(read) == set(offer.get), cls
        assert names(call) == set(offer.call), cls
        assert names(also) == set(offer.set) | set(offer.mappings) | set(offer.opaque), cls


def test_the_limits_are_the_servers() -> None:
    text = DOC.read_text()
    for constant in ("MAX_LINE_BEFORE_OPEN", "MAX_LINE", "MAX_DEPTH", "MAX_ITEMS",
                     "MAX_INT_DIGITS", "READ_TIMEOUT", "MAX_CONNECTIONS"):
        assert f"(`{constant}`" in text, constant
    assert "1 MiB (`MAX_LINE_BEFORE_OPEN`)" in text and rpc.MAX_LINE_BEFORE_OPEN == 1 << 20
    assert "64 MiB (`MAX_LINE`)" in text and rpc.MAX_LINE == 64 << 20
    assert f"{rpc.MAX_DEPTH} levels (`MAX_DEPTH`)" in text
    assert f"{rpc.MAX_ITEMS:,} (`MAX_ITEMS`)" in text
    assert f"{rpc.MAX_INT_DIGITS} (`MAX_INT_DIGITS`)" in text
    assert f"{rpc.READ_TIMEOUT:g} s (`READ_TIMEOUT`)" in text
    assert f"{rpc.MAX_CONNECTIONS} (`MAX_CONNECTIONS`)" in text
