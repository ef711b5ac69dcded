"""syncrig-rpc/1 treats every line as hostile: each gets its JSON-RPC 2.0 answer, the
connection stays open, nothing outside the protocol's closed lists is built, and no target's
folder outlives its connection or the server."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.rpc import (
    BUSY,
    MAX_CONNECTIONS,
    MAX_DEPTH,
    MAX_INT_DIGITS,
    MAX_LINE,
    MAX_LINE_BEFORE_OPEN,
    NOT_OFFERED,
    PROTOCOL,
    READ_TIMEOUT,
    ProtocolError,
    RpcClient,
    RpcServer,
    _Session,
)
from conformance.targets.reference import REQUEST_CURL
from conformance.targets.rpc import TOKEN_ENV, RpcTarget, open_target
from sim.device.ports import NetworkReading
from sim.device.radio import NetworkType
from sim.errors import UnsafePath

RCE = (b'{"jsonrpc":"2.0","id":1,"method":"item","params":{"ref":1,"key":{"$record":'
       b'"conformance.rpc:subprocess.Popen","fields":{"args":["touch","sentinel"]}}}}')
TOKEN = "correct-horse-battery-staple-42"
HELLO = b'{"jsonrpc":"2.0","id":"after","method":"hello"}'
FOLDERS = "syncrig-conformance-*"


def error(rid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}


class Line:
    """A raw connection: one line out, one answer back."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=60)
        self.stream = self.sock.makefile("rwb")

    def ask(self, line: bytes) -> Any:
        self.stream.write(line + b"\n")
        self.stream.flush()
        answer = self.stream.readline()
        assert answer.endswith(b"\n"), f"no answer to {line[:80]!r}"
        return json.loads(answer)

    def still_open(self) -> bool:
        """The connection answers a good request after a bad one."""
        return bool(self.ask(HELLO) == {"jsonrpc": "2.0", "id": "after",
                                         "result": {"protocol": PROTOCOL}})

    def open(self, **params: Any) -> Any:
        return self.ask(json.dumps({"jsonrpc": "2.0", "id": "open", "method": "open",
                                    "params": params}).encode())

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


@pytest.fixture(scope="module")
def server() -> Iterator[RpcServer]:
    with RpcServer(open_target) as srv:
        yield srv


@pytest.fixture
def line(server: RpcServer) -> Iterator[Line]:
    connection = Line("127.0.0.1", server.port)
    yield connection
    connection.close()


def request(rid: Any, method: str, **params: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": rid, "method": method,
                       "params": params}).encode()


class Served:
    """``syncrig serve rpc`` in a child process whose temporary folder is ``tmp``, so the
    targets' folders can be counted."""

    def __init__(self, tmp: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.process = subprocess.Popen(
            [sys.executable, "-m", "conformance.cli", "serve", "rpc", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp,
            env={**os.environ, "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1", **(env or {})})
        assert self.process.stdout is not None
        self.banner = self.process.stdout.readline()
        found = re.search(r"on ([\d.]+):(\d+) ", self.banner)
        assert found is not None, self.banner + self.process.communicate(timeout=30)[1]
        self.host, self.port = found[1], int(found[2])

    def folders(self) -> list[Path]:
        return sorted(self.tmp.glob(FOLDERS))

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; the exit status."""
        self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=60)
        return self.process.returncode

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=30)


# -- records and enums --------------------------------------------------------------------------


def test_a_record_naming_a_class_path_builds_nothing_and_runs_nothing(tmp_path: Path) -> None:
    with Served(tmp_path) as served:
        line = Line(served.host, served.port)
        assert line.open()["result"] == {"$ref": 1, "type": "ReferenceCloudSync"}
        assert line.ask(RCE) == error(
            1, -32602, "invalid params: unknown record 'conformance.rpc:subprocess.Popen'")
        assert line.still_open()
        line.close()
        assert served.stop() == 130
    assert not (tmp_path / "sentinel").exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("value", "message"), [
    ({"$record": "sim.ohos.cloudsync.constants:SyncProgress",
      "fields": {"state": 0, "error": 0}},
     "unknown record 'sim.ohos.cloudsync.constants:SyncProgress'"),
    ({"$record": "SyncProgress", "fields": {"state": 0}},
     "record SyncProgress: missing field 'error'"),
    ({"$record": "SyncProgress", "fields": {"state": 0, "error": 0, "args": ["touch"]}},
     "record SyncProgress: unknown field 'args'"),
    ({"$record": "SyncProgress", "fields": {"state": "0", "error": 0}},
     "record SyncProgress: field 'state' must be an integer"),
    ({"$record": "SyncProgress", "fields": {"state": True, "error": 0}},
     "record SyncProgress: field 'state' must be an integer"),
    ({"$record": "NetworkReading", "fields": {"radios": {}, "internet": True,
                                              "active": "wifi"}},
     "record NetworkReading: field 'active' must be NetworkType"),
    ({"$record": "SyncProgress", "fields": [0, 0]},
     "record SyncProgress: fields must be an object"),
    ({"$record": "SyncProgress", "fields": {"state": 0, "error": 0}, "x": 1},
     "$record takes exactly '$record', 'fields', got '$record', 'fields', 'x'"),
    ({"$enum": "sim.device.radio:NetworkType", "name": "WIFI"},
     "unknown enum 'sim.device.radio:NetworkType'"),
    ({"$enum": "NetworkType", "name": "__class__"}, "enum NetworkType has no member '__class__'"),
    ({"$enum": "Popen", "name": "x"}, "unknown enum 'Popen'"),
    ({"$bytes": "abc"}, "$bytes must be a string of hex digit pairs"),
    ({"$tuple": {}}, "$tuple must be an array"),
    ({"$callback": 1.5}, "a callback is exactly {\"$callback\": integer}"),
])
def test_values_outside_the_closed_lists_are_invalid_params(line: Line, value: Any,
                                                            message: str) -> None:
    method = line.ask(request(2, "get", ref=line.open()["result"]["$ref"], name="set_fs_fault"))
    assert line.ask(request(3, "call", ref=method["result"]["$ref"], args=["probe", value])) \
        == error(3, -32602, f"invalid params: {message}")
    assert line.still_open()


def test_records_and_enums_by_wire_name_travel_both_ways(line: Line) -> None:
    """The closed lists still carry what the API sends: the device's network reading comes as
    a record holding records and a StrEnum member, and the same wire form decodes back."""
    target = line.open()["result"]["$ref"]
    device = line.ask(request(2, "get", ref=target, name="device"))["result"]["$ref"]
    sensors = line.ask(request(3, "get", ref=device, name="sensors"))["result"]["$ref"]
    network = line.ask(request(4, "get", ref=sensors, name="network"))["result"]["$ref"]
    reading = line.ask(request(5, "call", ref=network))["result"]
    assert reading["$record"] == "NetworkReading"
    assert reading["fields"]["active"] == {"$enum": "NetworkType", "name": "WIFI"}
    assert reading["fields"]["radios"]["wifi"]["$record"] == "RadioReading"
    session = _Session(open_target, lambda message: None)
    decoded = session.decode(reading)
    assert isinstance(decoded, NetworkReading) and decoded.active is NetworkType.WIFI
    assert session.encode(decoded) == reading


def test_the_client_decodes_wire_names_and_refuses_others(server: RpcServer) -> None:
    client = RpcClient.connect("127.0.0.1", server.port)
    try:
        active = client.open("cloudSync").device.sensors.network().active
        assert type(active).__name__ == "NetworkType" and active.value == "wifi"
    finally:
        client.close()
    # a server answering with a class path: the client builds nothing either
    with socket.create_server(("127.0.0.1", 0)) as hostile:
        client = RpcClient.connect("127.0.0.1", hostile.getsockname()[1])
        peer, _ = hostile.accept()
        with peer:
            peer.sendall(json.dumps({"jsonrpc": "2.0", "id": 1, "result": {
                "$record": "conformance.rpc:subprocess.Popen",
                "fields": {"args": ["touch", "sentinel"]}}}).encode() + b"\n")
            with pytest.raises(ProtocolError) as refused:
                client.request("hello")
        client.close()
    assert str(refused.value) == \
        "the server sent unknown record 'conformance.rpc:subprocess.Popen'"


# -- lines that are not requests ----------------------------------------------------------------


@pytest.mark.parametrize("text", [b"1", b"-2.5", b'"open"', b"null", b"true"])
def test_json_that_is_not_an_object_is_an_invalid_request(line: Line, text: bytes) -> None:
    assert line.ask(text) == error(None, -32600, "invalid request: not a JSON object")
    assert line.still_open()


@pytest.mark.parametrize("batch", [
    b"[]",
    b'[{"jsonrpc":"2.0","id":1,"method":"hello"},{"jsonrpc":"2.0","id":2,"method":"hello"}]',
    b"[1, 2, 3]",
])
def test_a_batch_is_refused_with_one_answer(line: Line, batch: bytes) -> None:
    assert line.ask(batch) == error(
        None, -32600, "invalid request: batches are not supported, send one request per line")
    assert line.still_open()  # the next answer is the next line's: no second one for the batch


@pytest.mark.parametrize(("text", "message"), [
    (b"{not json", "parse error: Expecting property name enclosed in double quotes: "
                   "line 1 column 2 (char 1)"),
    (b'{"jsonrpc":"2.0","id":1,"method":"hello"} {}', "parse error: Extra data: line 1 "
                                                       "column 43 (char 42)"),
    (b"", "parse error: an empty line"),
    (b"   \t", "parse error: an empty line"),
    (b'{"jsonrpc":"2.0","id":1,"method":"hello","params":{"a":NaN}}',
     "parse error: NaN is not JSON"),
    (b'{"jsonrpc":"2.0","id":1,"method":"hello","params":{"a":-Infinity}}',
     "parse error: -Infinity is not JSON"),
])
def test_what_is_not_json_is_a_parse_error(line: Line, text: bytes, message: str) -> None:
    assert line.ask(text) == error(None, -32700, message)
    assert line.still_open()


@pytest.mark.parametrize(("text", "byte"), [
    (b'{"jsonrpc":"2.0","id":1,"method":"hello","params":{"a":"\xff"}}', 56),
    (b'{"jsonrpc":"2.0","id":1,"method":"hello","params":{"a":"\xed\xa0\x80"}}', 56),
    (b'{"jsonrpc":"2.0","id":1,"method":"hello","params":{"a":"\xc0\xaf"}}', 56),
    ('{"jsonrpc":"2.0","id":1,"method":"hello"}'.encode("utf-16"), 0),
], ids=["invalid-byte", "surrogate", "overlong", "utf-16"])
def test_invalid_utf8_is_a_parse_error(line: Line, text: bytes, byte: int) -> None:
    """UTF-16 too: Python's parser would take it from bytes; the protocol is UTF-8."""
    assert b"\n" not in text
    assert line.ask(text) == error(None, -32700, f"parse error: not UTF-8 (byte {byte})")
    assert line.still_open()


def _nested(depth: int) -> bytes:
    return (b'{"jsonrpc":"2.0","id":1,"method":"hello","params":{"a":'
            + b"[" * (depth - 2) + b"]" * (depth - 2) + b"}}")


def test_nesting_deeper_than_the_limit_is_refused_before_parsing(line: Line) -> None:
    too_deep = error(None, -32600, f"invalid request: nested deeper than {MAX_DEPTH} levels")
    assert line.ask(_nested(1_000)) == too_deep
    assert line.ask(_nested(40_000)) == too_deep
    assert line.ask(b"[" * 50_000) == too_deep
    assert line.ask(_nested(MAX_DEPTH + 1)) == too_deep
    # at the limit the line is parsed and answered for what it is
    assert line.ask(_nested(MAX_DEPTH)) == error(
        1, -32602, "invalid params: unknown params 'a' (none known)")
    # brackets inside strings are text, not nesting
    assert line.ask(b'{"jsonrpc":"2.0","id":2,"method":"hello","params":{"a":"'
                    + b"[{" * 5_000 + b'\\"[["}}') == error(
        2, -32602, "invalid params: unknown params 'a' (none known)")
    assert line.still_open()


def test_a_line_of_countless_values_is_refused(line: Line) -> None:
    assert line.ask(b'{"jsonrpc":"2.0","id":1,"method":"hello","params":{"a":['
                    + b"[]," * 200_000 + b"[]]}}") == error(
        None, -32600, "invalid request: more than 100000 brackets and commas")
    assert line.still_open()


def test_an_integer_over_the_digit_limit_is_refused_not_parsed(line: Line) -> None:
    too_long = error(None, -32600,
                     f"invalid request: an integer of more than {MAX_INT_DIGITS} digits")
    for digits in (MAX_INT_DIGITS + 1, 4_301, 1_000_000):
        assert line.ask(b'{"jsonrpc":"2.0","id":' + b"9" * digits
                        + b',"method":"hello"}') == too_long
        assert line.ask(b'{"jsonrpc":"2.0","id":1,"method":"hello","params":{"a":-'
                        + b"1" * digits + b"}}") == too_long
    widest = int("9" * MAX_INT_DIGITS)
    assert line.ask(b'{"jsonrpc":"2.0","id":%d,"method":"hello"}' % widest) == {
        "jsonrpc": "2.0", "id": widest, "result": {"protocol": PROTOCOL}}
    assert line.ask(b'{"jsonrpc":"2.0","id":1,"method":"hello","params":{"a":1e999}}') == \
        error(None, -32600, "invalid request: a number out of range (1e999)")
    assert line.still_open()


def test_a_line_over_the_length_limit_is_dropped_whole_and_answered(line: Line) -> None:
    assert "result" in line.open()  # the longest lines are a connection's with a target
    head = b'{"jsonrpc":"2.0","id":1,"method":"hello","params":{"pad":"'
    tail = b'"}}'
    exactly = head + b"x" * (MAX_LINE - len(head) - len(tail)) + tail
    assert len(exactly) == MAX_LINE
    assert line.ask(exactly) == error(1, -32602,
                                      "invalid params: unknown params 'pad' (none known)")
    over = head + b"x" * (MAX_LINE + 1 - len(head) - len(tail)) + tail
    assert line.ask(over) == error(None, -32600,
                                   f"invalid request: a line longer than {MAX_LINE} bytes")
    assert line.still_open()  # the rest of the long line was not taken for a request


# -- requests that are not well formed ----------------------------------------------------------


@pytest.mark.parametrize(("text", "answer"), [
    (b'{"jsonrpc":"2.0","method":"hello"}',
     error(None, -32600, f"invalid request: no id (every request of {PROTOCOL} has one)")),
    (b'{"jsonrpc":"2.0","method":"open","params":{}}',
     error(None, -32600, f"invalid request: no id (every request of {PROTOCOL} has one)")),
    (b'{"method":1,"params":"x"}',
     error(None, -32600, f"invalid request: no id (every request of {PROTOCOL} has one)")),
    (b"{}", error(None, -32600, f"invalid request: no id (every request of {PROTOCOL} has one)")),
    (b'{"jsonrpc":"2.0","id":true,"method":"hello"}',
     error(None, -32600, "invalid request: id must be a string, an integer or null")),
    (b'{"jsonrpc":"2.0","id":1.5,"method":"hello"}',
     error(None, -32600, "invalid request: id must be a string, an integer or null")),
    (b'{"jsonrpc":"2.0","id":[1],"method":"hello"}',
     error(None, -32600, "invalid request: id must be a string, an integer or null")),
    (b'{"jsonrpc":"2.0","id":null,"method":"hello"}',
     {"jsonrpc": "2.0", "id": None, "result": {"protocol": PROTOCOL}}),
    (b'{"id":4,"method":"hello"}', error(4, -32600, 'invalid request: jsonrpc must be "2.0"')),
    (b'{"jsonrpc":"1.0","id":4,"method":"hello"}',
     error(4, -32600, 'invalid request: jsonrpc must be "2.0"')),
    (b'{"jsonrpc":"2.0","id":5,"method":["hello"]}',
     error(5, -32600, "invalid request: method must be a string")),
    (b'{"jsonrpc":"2.0","id":6,"method":"hello","token":"x"}',
     error(6, -32600, "invalid request: unknown members 'token'")),
    (b'{"jsonrpc":"2.0","id":7,"method":"rm"}', error(7, -32601, "method not found: 'rm'")),
    (b'{"jsonrpc":"2.0","id":8,"method":"hello","params":[1]}',
     error(8, -32602, "invalid params: params must be an object")),
    (b'{"jsonrpc":"2.0","id":9,"method":"hello","params":null}',
     error(9, -32602, "invalid params: params must be an object")),
])
def test_each_malformed_request_gets_its_answer(line: Line, text: bytes,
                                                answer: dict[str, Any]) -> None:
    """Without a readable id the answer's id is null; a request without one is answered, not
    run as a notification."""
    assert line.ask(text) == answer
    assert line.still_open()


@pytest.mark.parametrize("ref", [True, False, 1.0, "1", None, [1]])
def test_a_reference_must_be_a_json_integer(line: Line, ref: Any) -> None:
    target = line.open()["result"]["$ref"]
    assert target == 1
    assert line.ask(request(2, "get", ref=ref, name="device")) == error(
        2, -32602, "invalid params: param 'ref' must be an integer")
    call = line.ask(request(3, "get", ref=target, name="write_app_file"))["result"]["$ref"]
    assert line.ask(request(4, "call", ref=call, args=["b", "a.txt", {"$ref": ref}])) == error(
        4, -32602, f"invalid params: a reference must be an integer, got {json.dumps(ref)}")
    assert line.ask(request(5, "call", ref=call, args=["b", "a.txt", {"$ref": ref,
                                                                     "type": "x"}])) == error(
        5, -32602, "invalid params: $ref takes exactly '$ref', got '$ref', 'type'")
    assert line.still_open()


@pytest.mark.parametrize(("method", "params", "message"), [
    ("hello", {"x": 1}, "unknown params 'x' (none known)"),
    ("get", {"ref": 1, "name": "device", "as": "root", "by": 1},
     "unknown params 'as', 'by' (known: 'name', 'ref')"),
    ("open", {"target": "request", "tokens": "x"},
     "unknown params 'tokens' (known: 'options', 'target', 'token')"),
    ("call", {"ref": 1, "argv": []}, "unknown params 'argv' (known: 'args', 'kwargs', 'ref')"),
    ("get", {"ref": 1}, "missing param 'name'"),
    ("setitem", {"ref": 1, "key": "a"}, "missing param 'value'"),
    ("get", {"ref": 1, "name": 3}, "param 'name' must be a string"),
    ("call", {"ref": 1, "args": {"a": 1}}, "param 'args' must be an array"),
    ("open", {"options": ["phone"]}, "param 'options' must be an object"),
    ("get", {"ref": 1, "name": "_modules"}, "_modules: not an attribute of the API"),
    ("set", {"ref": 1, "name": "_x", "value": 1}, "_x: not an attribute of the API"),
    ("get", {"ref": 99, "name": "device"}, "unknown reference 99"),
])
def test_params_are_checked_by_name_and_type(line: Line, method: str, params: dict[str, Any],
                                             message: str) -> None:
    line.open()
    assert line.ask(request(2, method, **params)) == error(2, -32602,
                                                           f"invalid params: {message}")
    assert line.still_open()


def test_objects_beyond_the_api_are_not_handed_out(line: Line) -> None:
    """A path would let a client write any file the server can; the target's folder is a
    path."""
    line.open()
    assert line.ask(request(2, "get", ref=1, name="root")) == error(
        2, -32002, f"not offered: ReferenceCloudSync.root is not an attribute {PROTOCOL} offers")
    assert line.still_open()


# -- stdio --------------------------------------------------------------------------------------


def test_the_stdio_server_answers_hostile_lines_alike(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "rpc", "--stdio"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=tmp_path,
                             env={**os.environ, "TMPDIR": str(tmp_path)})
    assert child.stdin is not None and child.stdout is not None
    answers = []
    for text in (b"[]", b"7", b"\xff", _nested(1_000), b'{"jsonrpc":"2.0","method":"hello"}',
                 b'{"jsonrpc":"2.0","id":1,"method":"open","params":{}}', RCE, HELLO):
        child.stdin.write(text + b"\n")
        child.stdin.flush()
        answers.append(json.loads(child.stdout.readline()))
    child.stdin.close()
    assert child.wait(timeout=60) == 0
    child.stdout.close()
    assert [a.get("error", a.get("result")) for a in answers] == [
        {"code": -32600,
         "message": "invalid request: batches are not supported, send one request per line"},
        {"code": -32600, "message": "invalid request: not a JSON object"},
        {"code": -32700, "message": "parse error: not UTF-8 (byte 0)"},
        {"code": -32600, "message": f"invalid request: nested deeper than {MAX_DEPTH} levels"},
        {"code": -32600, "message": f"invalid request: no id (every request of {PROTOCOL} "
                                    "has one)"},
        {"$ref": 1, "type": "ReferenceCloudSync"},
        {"code": -32602,
         "message": "invalid params: unknown record 'conformance.rpc:subprocess.Popen'"},
        {"protocol": PROTOCOL}]
    assert list(tmp_path.iterdir()) == []  # no sentinel, and the target's folder is gone


def test_a_stdio_server_stopped_by_sigterm_removes_its_targets_folders(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "rpc", "--stdio"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(request(1, "open", target="request") + b"\n")
    child.stdin.flush()
    assert json.loads(child.stdout.readline())["result"]["type"] == "ReferenceRequest"
    assert len(list(tmp_path.glob(FOLDERS))) == 1
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=60)
    assert list(tmp_path.glob(FOLDERS)) == []


# -- access -------------------------------------------------------------------------------------


def test_listening_beyond_127_0_0_1_needs_a_token() -> None:
    """127.0.0.2 is loopback too on Linux, but any address other than 127.0.0.1 may be
    routed or shared: the rule is the address, not a guess at who can reach it."""
    with pytest.raises(ValueError) as no_token:
        RpcServer(open_target, host="127.0.0.2")
    assert str(no_token.value) == "listening on 127.0.0.2 needs a token"
    with pytest.raises(ValueError) as short:
        RpcServer(open_target, host="127.0.0.2", token="short")
    assert str(short.value) == "a token needs at least 16 characters"
    run = subprocess.run([sys.executable, "-m", "conformance.cli", "serve", "rpc", "--host",
                          "127.0.0.2", "--port", "0"], capture_output=True, text=True,
                         timeout=60, env={k: v for k, v in os.environ.items()
                                          if k != TOKEN_ENV})
    assert run.returncode == 2
    assert run.stderr == (
        "syncrig: error: --host: listening on an address other than 127.0.0.1 needs a token "
        "(--token or $SYNCRIG_RPC_TOKEN) (got '127.0.0.2')\n")


def test_open_needs_the_token_and_opens_nothing_without_it(tmp_path: Path) -> None:
    with Served(tmp_path, "--host", "127.0.0.2", env={TOKEN_ENV: TOKEN}) as served:
        assert served.host == "127.0.0.2"
        assert "token required" in served.banner
        line = Line(served.host, served.port)
        refused = error("open", -32001, "token missing or wrong: nothing opened")
        assert line.open(target="request") == refused
        assert line.open(target="request", token=TOKEN[:-1]) == refused
        assert line.open(target="request", token=TOKEN + "x") == refused
        assert line.open(target="request", token="") == refused
        assert line.open(target="request", token="\udcff" * 30) == refused
        assert line.ask(request("open", "open", token=7)) == error(
            "open", -32602, "invalid params: param 'token' must be a string")
        assert served.folders() == []
        assert line.open(target="request", token=TOKEN)["result"] == {
            "$ref": 1, "type": "ReferenceRequest"}
        assert len(served.folders()) == 1
        line.close()


def test_the_rpc_target_presents_the_token_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with RpcServer(open_target, host="127.0.0.2", token=TOKEN) as secured:
        monkeypatch.delenv(TOKEN_ENV, raising=False)
        with pytest.raises(ProtocolError) as refused:
            RpcTarget("127.0.0.2", secured.port, "request")
        assert str(refused.value) == "-32001: token missing or wrong: nothing opened"
        monkeypatch.setenv(TOKEN_ENV, TOKEN)
        target = RpcTarget("127.0.0.2", secured.port, "request", device="tablet")
        try:
            assert target.has_controls is True
            assert list(target.cache_files()) == []
        finally:
            target.close()


def test_a_token_is_checked_on_127_0_0_1_too_when_the_server_has_one() -> None:
    with RpcServer(open_target, token=TOKEN) as secured:
        client = RpcClient.connect("127.0.0.1", secured.port)
        try:
            with pytest.raises(ProtocolError) as refused:
                client.open("request")
            assert refused.value.code == -32001
            assert client.open("request", token=TOKEN).has_controls is True
        finally:
            client.close()


# -- folders ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "message"), [
    ({"device": "no-such-phone"}, "unknown device 'no-such-phone' (known: nas, phone, tablet)"),
    ({"device": "/etc/passwd"}, "unknown device '/etc/passwd' (known: nas, phone, tablet)"),
    ({"device": "../fixtures/devices/phone"},
     "unknown device '../fixtures/devices/phone' (known: nas, phone, tablet)"),
    ({"device": 3}, "unknown device 3 (known: nas, phone, tablet)"),
    ({"profile": "ohos-9"},
     "unknown profile 'ohos-9' (known: documented, ohos-3.2, ohos-head, page-kb)"),
    ({"profile": None}, "unknown profile None"),
    ({"colour": "red"}, "unknown options ['colour'] (known: device, profile)"),
])
def test_a_refused_open_leaves_no_folder(tmp_path: Path, options: dict[str, Any],
                                         message: str) -> None:
    with Served(tmp_path) as served:
        line = Line(served.host, served.port)
        assert line.open(target="request", options=options) == error(
            "open", -32602, f"invalid params: {message}")
        assert served.folders() == []
        line.close()


def test_stopping_the_server_closes_open_connections_and_removes_their_folders(
        tmp_path: Path) -> None:
    with Served(tmp_path) as served:
        lines = [Line(served.host, served.port) for _ in range(3)]
        for line, target in zip(lines, ["cloudSync", "request", "request"], strict=True):
            assert "result" in line.open(target=target)
        assert len(served.folders()) == 3
        assert served.stop() == 130
        for line in lines:  # the server ended each connection
            assert line.stream.readline() == b""
            line.close()
    assert list(tmp_path.iterdir()) == []


def test_stopping_an_in_process_server_ends_its_connections(server: RpcServer) -> None:
    with RpcServer(open_target) as own:
        line = Line("127.0.0.1", own.port)
        assert "result" in line.open(target="request")
    assert line.stream.readline() == b""
    line.close()



# -- a short fuzz campaign ----------------------------------------------------------------------


def test_a_short_fuzz_campaign_answers_every_malformed_line(tmp_path: Path) -> None:
    """``bench/fuzz_rpc.py`` with a few hundred lines: each answered with its class's code,
    no connection dropped, nothing written by the Popen record."""
    bench = Path(__file__).parents[1] / "bench" / "fuzz_rpc.py"
    out = tmp_path / "fuzz.json"
    run = subprocess.run([sys.executable, str(bench), "--lines", "300", "--long", "0",
                          "--seconds", "120", "--seed", "1", "--json", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(out.read_text())
    assert (result["lines"], result["answered"], result["dropped"], result["wrong"]) == \
        (300, 300, 0, 0)
    assert result["sentinel_written"] is False
    assert len(result["by_kind"]) >= 12


@pytest.mark.parametrize("rel", ["../../outside.txt", "/tmp/outside.txt", "a/../../x"])
def test_a_targets_world_helpers_write_nothing_outside_its_folders(tmp_path: Path,
                                                                   rel: str) -> None:
    """A client may call a target's helpers with any name: nothing outside is touched."""
    cloudsync, request = open_target("cloudSync", {}), open_target("request", {})

    def files() -> list[set[Path]]:
        return [{p for p in root.rglob("*") if not p.is_dir()}
                for root in (cloudsync.root, request.root)]

    try:
        cloudsync.modules["system"].engine("com.example.gallery")  # its folder exists
        before = files()
        with pytest.raises(UnsafePath):
            cloudsync.write_app_file("com.example.gallery", rel, b"x")
        for helper in (request.swap_for_symlink, request.plant_link, request.read_cache):
            with pytest.raises(UnsafePath):
                helper(rel)
        assert files() == before
        gallery = cloudsync.modules["system"].engine("com.example.gallery").folder.root
        for base in (gallery, request.sandbox.cache_dir):  # where the name would lead
            assert not Path(os.path.normpath(base / rel)).exists()
    finally:
        cloudsync.close()
        request.close()


# -- capabilities -------------------------------------------------------------------------------


def ask_ref(line: Line, rid: Any, method: str, **params: Any) -> int:
    answer = line.ask(request(rid, method, **params))
    assert "result" in answer, answer
    ref: int = answer["result"]["$ref"]
    return ref


def not_offered(rid: Any, message: str) -> dict[str, Any]:
    return error(rid, NOT_OFFERED, f"not offered: {message}")


@pytest.mark.parametrize(("target", "name", "cls"), [
    ("request", "sandbox", "ReferenceRequest"), ("request", "root", "ReferenceRequest"),
    ("request", "outside", "ReferenceRequest"), ("request", "own_device", "ReferenceRequest"),
    ("cloudSync", "root", "ReferenceCloudSync"), ("cloudSync", "__dict__", None),
])
def test_a_targets_folders_are_neither_read_nor_set(line: Line, target: str, name: str,
                                                    cls: str | None) -> None:
    ref = line.open(target=target)["result"]["$ref"]
    if cls is None:  # a private name is not even looked up
        assert line.ask(request(2, "get", ref=ref, name=name)) == error(
            2, -32602, f"invalid params: {name}: not an attribute of the API")
        return
    assert line.ask(request(2, "get", ref=ref, name=name)) == not_offered(
        2, f"{cls}.{name} is not an attribute {PROTOCOL} offers")
    assert line.ask(request(3, "set", ref=ref, name=name, value="/tmp")) == not_offered(
        3, f"{cls}.{name} is not an attribute {PROTOCOL} lets a client set")
    assert line.still_open()


def test_no_file_outside_a_target_is_read_written_or_removed(tmp_path: Path) -> None:
    """What reached the server's files before: the sandbox's held folder (``hold`` any path,
    ``read_bytes``, ``write_atomic``), a bundle name that leads out, a link planted anywhere,
    a target whose ``root`` was set elsewhere before ``close``."""
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    sentinel = outside / "sentinel.txt"
    sentinel.write_bytes(b"untouched")
    hostname = Path("/etc/hostname").read_bytes() if Path("/etc/hostname").exists() else None
    with RpcServer(open_target) as server:
        line = Line("127.0.0.1", server.port)
        answers: list[Any] = []
        target = ask_ref(line, 1, "open", target="request")
        answers.append(line.ask(request(2, "get", ref=target, name="sandbox")))
        modules = line.ask(request(3, "get", ref=target, name="modules"))["result"]
        answers.append(line.ask(request(4, "get", ref=modules["app"]["$ref"],
                                        name="downloads")))
        for helper in ("plant_link", "swap_for_symlink"):
            method = ask_ref(line, 5, "get", ref=target, name=helper)
            answers.append(line.ask(request(6, "call", ref=method, args=[str(sentinel)])))
        answers.append(line.ask(request(7, "set", ref=target, name="root", value=str(outside))))
        close = ask_ref(line, 8, "get", ref=target, name="close")
        assert line.ask(request(9, "call", ref=close)) == {"jsonrpc": "2.0", "id": 9,
                                                          "result": None}
        cloudsync = ask_ref(line, 10, "open", target="cloudSync")
        write = ask_ref(line, 11, "get", ref=cloudsync, name="write_app_file")
        for bundle in ("../../x", "..", "/tmp", "com.example/../../x"):
            answers.append(line.ask(request(12, "call", ref=write,
                                            args=[bundle, "a.txt", {"$bytes": "00"}])))
        line.close()
    assert answers[0] == not_offered(2, f"ReferenceRequest.sandbox is not an attribute "
                                        f"{PROTOCOL} offers")
    assert answers[1] == not_offered(4, f"RequestModule.downloads is not an attribute "
                                        f"{PROTOCOL} offers")
    for answer in answers[2:4]:
        assert answer["error"]["data"] == {"type": "UnsafePath", "message": (
            f"unsafe path {str(sentinel)!r}: absolute")}
    assert answers[4] == not_offered(7, f"ReferenceRequest.root is not an attribute "
                                        f"{PROTOCOL} lets a client set")
    for answer, bundle in zip(answers[5:], ("../../x", "..", "/tmp", "com.example/../../x"),
                              strict=True):
        assert answer["error"]["data"] == {"type": "ValueError",
                                           "message": f"not a bundle name: {bundle!r}"}
    assert sorted(p.name for p in outside.rglob("*")) == ["keep", "sentinel.txt"]
    assert sentinel.read_bytes() == b"untouched"
    assert hostname is None or hostname.hex() not in json.dumps(answers)


def test_each_request_target_has_its_own_curl_options() -> None:
    """A module's options were one shared object: a client changing it changed every later
    target's."""
    first, second = open_target("request", {}), open_target("request", {})
    try:
        options = [t.modules[name].downloads.curl_options for t in (first, second)
                   for name in ("app", "denied")]
        assert len({id(o) for o in options} | {id(REQUEST_CURL)}) == 5
        assert all(o == REQUEST_CURL for o in options)
        options[0].max_redirects = 0
        assert [o.max_redirects for o in options] == [0, REQUEST_CURL.max_redirects,
                                                      REQUEST_CURL.max_redirects,
                                                      REQUEST_CURL.max_redirects]
    finally:
        first.close()
        second.close()


def test_containers_travel_by_value_and_only_an_offered_dict_by_reference(line: Line) -> None:
    """A list handed out by reference had ``extend``: ``extend(itself)`` doubled it per call."""
    target = line.open(target="cloudSync")["result"]["$ref"]
    modules = line.ask(request(2, "get", ref=target, name="modules"))["result"]
    assert sorted(modules) == ["no-permission", "not-system", "system"]
    assert all(set(m) == {"$ref", "type"} for m in modules.values())
    drive = ask_ref(line, 3, "get", ref=target, name="drive")
    for method, params in (("item", {"key": 0}), ("setitem", {"key": "a", "value": 1}),
                           ("len", {}), ("iter", {})):
        assert line.ask(request(4, method, ref=drive, **params)) == not_offered(
            4, f"{method} of a Drive: only a dict {PROTOCOL} hands out by reference has items")
    switches = ask_ref(line, 5, "get", ref=drive, name="switches")
    assert line.ask(request(6, "setitem", ref=switches, key="com.example.conformance",
                            value=False))["result"] is None
    assert line.ask(request(7, "item", ref=switches, key="com.example.conformance")) == {
        "jsonrpc": "2.0", "id": 7, "result": False}
    assert line.ask(request(8, "setitem", ref=switches, key="a", value=[1])) == error(
        8, -32602, "invalid params: a value of Drive.switches must be a boolean")
    assert line.ask(request(9, "setitem", ref=switches, key=1, value=True)) == error(
        9, -32602, "invalid params: a key of Drive.switches must be a string")
    for name in ("update", "clear", "extend"):
        assert line.ask(request(10, "get", ref=switches, name=name)) == not_offered(
            10, f"a mapping (Drive.switches) has no attributes {PROTOCOL} offers")
    method = ask_ref(line, 11, "get", ref=target, name="set_fs_fault")
    assert line.ask(request(12, "get", ref=method, name="extend")) == not_offered(
        12, f"a method (ReferenceCloudSync.set_fs_fault) has no attributes {PROTOCOL} offers")
    assert line.ask(request(13, "set", ref=drive, name="quota", value="x")) == error(
        13, -32602, "invalid params: Drive.quota must be an integer")
    assert line.still_open()


def test_a_list_answered_is_a_value(line: Line) -> None:
    target = line.open(target="request")["result"]["$ref"]
    files = ask_ref(line, 2, "get", ref=target, name="cache_files")
    assert line.ask(request(3, "call", ref=files)) == {"jsonrpc": "2.0", "id": 3, "result": []}


@pytest.mark.parametrize(("name", "params", "message"), [
    ("cache_files", {"kwargs": {"bogus": 1}},
     "ReferenceRequest.cache_files(): got an unexpected keyword argument 'bogus'"),
    ("cache_files", {"args": [1, 2]}, "ReferenceRequest.cache_files(): too many positional "
                                      "arguments"),
    ("read_cache", {}, "ReferenceRequest.read_cache(): missing a required argument: 'rel'"),
    ("read_cache", {"args": ["a"], "kwargs": {"rel": "b"}},
     "ReferenceRequest.read_cache(): multiple values for argument 'rel'"),
])
def test_arguments_that_do_not_fit_a_method_are_invalid_params(
        line: Line, name: str, params: dict[str, Any], message: str) -> None:
    target = line.open(target="request")["result"]["$ref"]
    method = ask_ref(line, 2, "get", ref=target, name=name)
    assert line.ask(request(3, "call", ref=method, **params)) == error(
        3, -32602, f"invalid params: {message}")
    assert line.still_open()


def test_an_unknown_target_is_invalid_params(line: Line) -> None:
    assert line.open(target="../x") == error(
        "open", -32602, "invalid params: unknown target '../x' (this server has: cloudSync, "
                        "request)")


# -- resources ----------------------------------------------------------------------------------


def test_a_connection_without_a_target_holds_at_most_a_short_line(line: Line) -> None:
    head = b'{"jsonrpc":"2.0","id":1,"method":"hello","params":{"pad":"'
    over = head + b"x" * MAX_LINE_BEFORE_OPEN + b'"}}'
    assert line.ask(over) == error(None, -32600, f"invalid request: a line longer than "
                                                 f"{MAX_LINE_BEFORE_OPEN} bytes (before a "
                                                 "target is open)")
    assert line.still_open()
    assert MAX_LINE_BEFORE_OPEN == 1 << 20 and READ_TIMEOUT == 30 and MAX_CONNECTIONS == 64


def test_connections_past_the_cap_are_answered_busy_and_closed() -> None:
    with RpcServer(open_target, max_connections=2) as server:
        held = [Line("127.0.0.1", server.port) for _ in range(2)]
        assert all(h.still_open() for h in held)
        extra = Line("127.0.0.1", server.port)
        assert json.loads(extra.stream.readline()) == error(
            None, BUSY, "server busy: 2 connections are open, try again later")
        assert extra.stream.readline() == b""
        extra.close()
        held.pop().close()
        for _ in range(50):  # the server notices the closed one
            again = Line("127.0.0.1", server.port)
            if again.ask(HELLO).get("result") is not None:
                break
            again.close()
        assert again.still_open()
        again.close()
        for h in held:
            h.close()


def test_a_silent_connection_is_answered_and_closed() -> None:
    with RpcServer(open_target, read_timeout=0.5) as server:
        unfinished = Line("127.0.0.1", server.port)
        unfinished.stream.write(b'{"jsonrpc":"2.0","id":1,"method":"hel')
        unfinished.stream.flush()
        assert json.loads(unfinished.stream.readline()) == error(
            None, -32600, "invalid request: no byte for 0.5 s in the middle of a line: the "
                          "connection is closed")
        assert unfinished.stream.readline() == b""
        unfinished.close()
        idle = Line("127.0.0.1", server.port)
        assert json.loads(idle.stream.readline()) == error(
            None, -32600, "invalid request: no request for 0.5 s and no target open: the "
                          "connection is closed")
        idle.close()
        working = Line("127.0.0.1", server.port)
        assert "result" in working.open(target="request")
        working.sock.settimeout(1.5)
        with pytest.raises(TimeoutError):  # a connection with a target may wait between lines
            working.stream.readline()
        working.close()
