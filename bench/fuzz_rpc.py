"""Fuzz campaign: malformed lines against ``syncrig serve rpc`` (syncrig-rpc/1).

Hypothesis draws lines from one strategy per class of hostile input (bytes that are not
UTF-8, text that is not JSON, JSON that is not an object, batches, deep nesting, long
integers, non-finite numbers, broken envelopes, wrong params, references that are not
integers, record and enum wire names outside the closed lists, a record naming
``subprocess.Popen``, unknown methods), plus ``--long`` lines over the length limit. Each goes
to a real server on 127.0.0.1 over a real socket, followed by a ``hello`` probe: the line must
get exactly one answer, an error with the code its class calls for (and ``id: null`` when the
id cannot be read), and the connection must then answer the probe. A connection that closes or
stays silent is counted as dropped (and reopened). No file may appear where the Popen record
would have written one.

Bounded in count and time: it stops after ``--lines`` lines or ``--seconds`` seconds,
whichever comes first. Prints a summary and, with ``--json FILE``, writes it; exit status 1 if
any line went unanswered, was answered wrongly, or dropped its connection.

Usage: ``python bench/fuzz_rpc.py [--lines 2500] [--seconds 110] [--long 2] [--seed 0]
[--json FILE]``
"""

from __future__ import annotations

import argparse
import collections
import json
import shlex
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from conformance.rpc import ENUMS, MAX_DEPTH, MAX_INT_DIGITS, MAX_LINE, PROTOCOL, RECORDS, RpcServer
from conformance.targets.rpc import open_target

Case = tuple[str, bytes, int, Any]
"""A class of input, the line, the error code it must get, and the id it must carry
(:data:`ANY_ID` when the line's id is whatever the drawn text made it)."""
ANY_ID = object()
METHODS = ["hello", "open", "get", "set", "call", "item", "setitem", "len", "iter"]
NOT_UTF8 = [b"\xff", b"\xfe", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
            b"\xe2\x82", b"\xf4\x90\x80\x80"]
GOOD = b'{"jsonrpc":"2.0","id":1,"method":"hello"}'

scalars = (st.none() | st.booleans() | st.integers(-10**12, 10**12)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=16))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=10)
ids = st.integers(-10**9, 10**9) | st.text(max_size=12)


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def request(rid: Any, method: str, params: Any) -> bytes:
    return dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})


@st.composite
def not_utf8(draw: st.DrawFn) -> Case:
    line = draw(st.sampled_from([GOOD, request(1, "get", {"ref": 1, "name": "device"})]))
    at = draw(st.integers(0, len(line)))
    return "not-utf8", line[:at] + draw(st.sampled_from(NOT_UTF8)) + line[at:], -32700, None


@st.composite
def not_json(draw: st.DrawFn) -> Case:
    line = draw(st.sampled_from([GOOD, request(2, "call", {"ref": 1, "args": [1, "a"]})]))
    choice = draw(st.integers(0, 3))
    if choice == 0:  # cut short
        broken = line[:draw(st.integers(1, len(line) - 1))]
    elif choice == 1:  # a constant Python takes and JSON has not
        broken = line[:-1] + b',"params":{"a":' + draw(st.sampled_from(
            [b"NaN", b"Infinity", b"-Infinity"])) + b"}}"
    elif choice == 2:  # a second value after the first
        broken = line + b" " + dumps(draw(values))
    else:  # a stray byte of JSON's syntax
        at = draw(st.integers(1, len(line) - 1))
        broken = line[:at] + draw(st.sampled_from([b",", b":", b"}", b"{", b"'", b"\\"])) \
            + line[at:]
    if broken.strip() and _parses(broken):
        broken = b"{" + broken  # the rare mutation that is still JSON
    return "not-json", broken, -32700, None


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


@st.composite
def garbage(draw: st.DrawFn) -> Case:
    line = draw(st.binary(min_size=1, max_size=200).filter(lambda b: b"\n" not in b))
    return "garbage", line, 0, ANY_ID  # 0: any error code


@st.composite
def not_an_object(draw: st.DrawFn) -> Case:
    value = draw(values.filter(lambda v: not isinstance(v, dict | list)))
    return "not-an-object", dumps(value), -32600, None


@st.composite
def batch(draw: st.DrawFn) -> Case:
    items = draw(st.lists(st.sampled_from([GOOD]).map(json.loads) | values, max_size=5))
    return "batch", dumps(items), -32600, None


@st.composite
def deep(draw: st.DrawFn) -> Case:
    depth = draw(st.integers(MAX_DEPTH + 1, 40_000))
    if draw(st.booleans()):
        inner = b"[" * depth + b"]" * depth
    else:
        inner = b'{"a":' * depth + b"1" + b"}" * depth
    at_top = draw(st.booleans())
    line = inner if at_top else b'{"jsonrpc":"2.0","id":1,"method":"hello","params":{"a":' \
        + inner + b"}}"
    return "deep", line, -32600, None


@st.composite
def long_integer(draw: st.DrawFn) -> Case:
    digits = draw(st.integers(MAX_INT_DIGITS + 1, 60_000))
    number = (b"-" if draw(st.booleans()) else b"") + b"9" * digits
    where = draw(st.sampled_from(["id", "ref", "value"]))
    if where == "id":
        line = b'{"jsonrpc":"2.0","id":' + number + b',"method":"hello"}'
    elif where == "ref":
        line = b'{"jsonrpc":"2.0","id":1,"method":"len","params":{"ref":' + number + b"}}"
    else:
        line = b'{"jsonrpc":"2.0","id":1,"method":"call","params":{"ref":1,"args":[' \
            + number + b"]}}"
    return "long-integer", line, -32600, None


@st.composite
def out_of_range(draw: st.DrawFn) -> Case:
    exponent = draw(st.integers(309, 10**6))
    number = draw(st.sampled_from(["", "-"])) + f"1.5e{exponent}"
    return "out-of-range", (b'{"jsonrpc":"2.0","id":1,"method":"hello","params":{"a":'
                            + number.encode() + b"}}"), -32600, None


@st.composite
def envelope(draw: st.DrawFn) -> Case:
    rid = draw(ids)
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": "hello"}
    fault = draw(st.sampled_from(["no-id", "id-type", "jsonrpc", "method-type", "member",
                                  "params-type"]))
    if fault == "no-id":
        del message["id"]
        if draw(st.booleans()):
            message["method"] = draw(st.sampled_from(METHODS))
        return "no-id", dumps(message), -32600, None
    if fault == "id-type":
        message["id"] = draw(st.booleans() | st.floats(allow_nan=False, allow_infinity=False)
                             | st.lists(scalars, max_size=2)
                             | st.dictionaries(st.text(max_size=4), scalars, max_size=2))
        return "id-type", dumps(message), -32600, None
    if fault == "jsonrpc":
        message["jsonrpc"] = draw(values.filter(lambda v: v != "2.0"))
        if draw(st.booleans()):
            del message["jsonrpc"]
        return "envelope", dumps(message), -32600, rid
    if fault == "method-type":
        message["method"] = draw(values.filter(lambda v: not isinstance(v, str)))
        return "envelope", dumps(message), -32600, rid
    if fault == "member":
        name = draw(st.text(max_size=8).filter(
            lambda n: n not in ("jsonrpc", "id", "method", "params")))
        message[name] = draw(values)
        return "envelope", dumps(message), -32600, rid
    message["params"] = draw(values.filter(lambda v: not isinstance(v, dict)))
    return "envelope", dumps(message), -32602, rid


@st.composite
def unknown_method(draw: st.DrawFn) -> Case:
    rid = draw(ids)
    method = draw(st.text(max_size=20).filter(lambda m: m not in METHODS))
    return "unknown-method", request(rid, method, {}), -32601, rid


@st.composite
def params(draw: st.DrawFn) -> Case:
    rid = draw(ids)
    method = draw(st.sampled_from(["get", "set", "call", "item", "setitem", "len", "iter"]))
    fault = draw(st.sampled_from(["ref-type", "unknown", "missing"]))
    given_params: dict[str, Any] = {"ref": 1, "name": "device", "value": 1, "key": "system"}
    keep = {"get": ("ref", "name"), "set": ("ref", "name", "value"), "call": ("ref",),
            "item": ("ref", "key"), "setitem": ("ref", "key", "value"), "len": ("ref",),
            "iter": ("ref",)}[method]
    given_params = {k: v for k, v in given_params.items() if k in keep}
    if fault == "ref-type":
        given_params["ref"] = draw(st.booleans() | st.floats(allow_nan=False,
                                                             allow_infinity=False)
                                   | st.text(max_size=4) | st.none()
                                   | st.lists(st.integers(), max_size=2))
        return "ref-type", request(rid, method, given_params), -32602, rid
    if fault == "unknown":
        names = draw(st.lists(st.text(max_size=8).filter(
            lambda n: n not in ("ref", "name", "value", "key", "args", "kwargs")),
            min_size=1, max_size=3))
        for name in names:
            given_params[name] = draw(values)
        return "unknown-params", request(rid, method, given_params), -32602, rid
    del given_params[draw(st.sampled_from(keep))]
    return "missing-params", request(rid, method, given_params), -32602, rid


RECORD_PATHS = ["conformance.rpc:subprocess.Popen", "sim.ohos.cloudsync.constants:SyncProgress",
                "os:system", "builtins:eval", "subprocess.Popen", "Popen", "SyncProgress ",
                "syncprogress", "__main__:Path", ""]


def tagged(sentinel: Path) -> Any:
    @st.composite
    def value(draw: st.DrawFn) -> Case:
        fault = draw(st.sampled_from(["record-name", "enum-name", "fields", "member", "bytes",
                                      "tuple", "ref", "callback", "extra", "popen"]))
        bad: Any
        if fault == "popen":
            bad = {"$record": draw(st.sampled_from(RECORD_PATHS[:5])),
                   "fields": {"args": ["touch", str(sentinel)]}}
        elif fault == "record-name":
            bad = {"$record": draw(st.sampled_from(RECORD_PATHS) | values.filter(
                lambda v: not isinstance(v, str) or v not in _RECORD_WIRE)), "fields": {}}
        elif fault == "enum-name":
            bad = {"$enum": draw(st.sampled_from(["sim.device.radio:NetworkType",
                                                  "enum:Enum", "networktype"])
                                 | values.filter(lambda v: not isinstance(v, str)
                                                 or v not in _ENUM_WIRE)),
                   "name": "WIFI"}
        elif fault == "fields":
            fields = draw(st.dictionaries(st.text(max_size=8), values, max_size=3).filter(
                lambda f: set(f) != {"state", "error"}))
            bad = {"$record": "SyncProgress", "fields": fields}
        elif fault == "member":
            bad = {"$enum": "NetworkType", "name": draw(values.filter(
                lambda v: not isinstance(v, str) or v not in ENUMS["NetworkType"].__members__))}
        elif fault == "bytes":
            bad = {"$bytes": draw(values.filter(
                lambda v: not (isinstance(v, str) and len(v) % 2 == 0
                               and all(c in "0123456789abcdefABCDEF" for c in v))))}
        elif fault == "tuple":
            bad = {"$tuple": draw(values.filter(lambda v: not isinstance(v, list)))}
        elif fault == "ref":
            bad = {"$ref": draw(values.filter(lambda v: not isinstance(v, int)
                                              or isinstance(v, bool) or v > 4))}
        elif fault == "callback":
            bad = {"$callback": draw(values.filter(lambda v: not isinstance(v, int)
                                                   or isinstance(v, bool)))}
        else:
            bad = {"$bytes": "00", draw(st.text(min_size=1, max_size=6).filter(
                lambda k: k != "$bytes")): draw(values)}
        rid = draw(ids)
        where = draw(st.sampled_from(["key", "value", "args"]))
        if where == "args":
            line = request(rid, "call", {"ref": 4, "args": [bad]})
        else:
            line = request(rid, "setitem", {"ref": 3, "key": bad if where == "key" else "p",
                                            "value": bad if where == "value" else 1})
        return "tagged-value", line, -32602, rid
    return value()


_RECORD_WIRE = set(RECORDS)
_ENUM_WIRE = set(ENUMS)


class Connection:
    """One client connection holding a cloudSync target (ref 1), its drive (ref 2), the
    drive's ``switches`` (ref 3) and a method (ref 4), so values reach the decoder."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.stream = self.sock.makefile("rwb")
        self.probes = 0
        for line in (request("o", "open", {"target": "cloudSync"}),
                     request("d", "get", {"ref": 1, "name": "drive"}),
                     request("s", "get", {"ref": 2, "name": "switches"}),
                     request("m", "get", {"ref": 1, "name": "set_fs_fault"})):
            answer = self.exchange(line)
            assert answer is not None and "result" in answer, answer

    def exchange(self, line: bytes) -> dict[str, Any] | None:
        """Send a line; its answer, or None if the connection closed or went silent."""
        try:
            self.stream.write(line + b"\n")
            self.stream.flush()
            answer = self.stream.readline()
        except OSError:
            return None
        if not answer.endswith(b"\n"):
            return None
        decoded: dict[str, Any] = json.loads(answer)
        return decoded

    def probe(self) -> bool:
        self.probes += 1
        rid = f"probe-{self.probes}"
        return self.exchange(request(rid, "hello", {})) == {
            "jsonrpc": "2.0", "id": rid, "result": {"protocol": PROTOCOL}}

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


class Campaign:
    def __init__(self, port: int, lines: int, seconds: float) -> None:
        self.port = port
        self.limit = lines
        self.deadline = time.monotonic() + seconds
        self.connection = Connection(port)
        self.sent = 0
        self.answered = 0
        self.dropped = 0
        self.by_kind: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter)
        self.wrong: list[dict[str, Any]] = []

    def done(self) -> bool:
        return self.sent >= self.limit or time.monotonic() >= self.deadline

    def send(self, case: Case) -> None:
        kind, line, code, rid = case
        self.sent += 1
        tally = self.by_kind[kind]
        tally["sent"] += 1
        answer = self.connection.exchange(line)
        alive = answer is not None and self.connection.probe()
        if answer is not None:
            self.answered += 1
            tally["answered"] += 1
            error = answer.get("error") if isinstance(answer.get("error"), dict) else None
            got = error.get("code") if error else None
            tally[f"code {got}"] += 1
            expected_id = answer.get("id") if rid is ANY_ID else rid
            if error is None or (code and got != code) or answer.get("id") != expected_id \
                    or answer.get("jsonrpc") != "2.0":
                self.wrong.append({"kind": kind, "line": line[:300].decode("latin-1"),
                                   "expected": {"code": code, "id": None if rid is ANY_ID
                                                else rid}, "answer": answer})
        if not alive:
            self.dropped += 1
            tally["dropped"] += 1
            self.connection.close()
            self.connection = Connection(self.port)


def run(lines: int, seconds: float, long_lines: int, seed_value: int, work: Path) -> dict[str, Any]:
    sentinel = work / "sentinel"
    started = time.monotonic()
    with RpcServer(open_target) as server:
        campaign = Campaign(server.port, lines, seconds)
        for n in range(long_lines):  # over the length limit: a few, each 64 MiB
            campaign.send(("over-long", b'{"jsonrpc":"2.0","id":1,"method":"hello","a":"'
                           + b"x" * (MAX_LINE + n) + b'"}', -32600, None))
        strategy = st.one_of(not_utf8(), not_json(), garbage(), not_an_object(), batch(),
                             deep(), long_integer(), out_of_range(), envelope(),
                             unknown_method(), params(), tagged(sentinel))

        @seed(seed_value)
        @settings(max_examples=lines, deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        @given(strategy)
        def fuzz(case: Case) -> None:
            if not campaign.done():
                campaign.send(case)

        fuzz()
        campaign.connection.close()
    return {
        "lines": campaign.sent, "answered": campaign.answered, "dropped": campaign.dropped,
        "wrong": len(campaign.wrong), "wrong_examples": campaign.wrong[:10],
        "sentinel_written": sentinel.exists(), "seconds": round(time.monotonic() - started, 1),
        "seed": seed_value, "limits": {"max_line": MAX_LINE, "max_depth": MAX_DEPTH,
                                       "max_int_digits": MAX_INT_DIGITS},
        "by_kind": {kind: dict(sorted(tally.items()))
                    for kind, tally in sorted(campaign.by_kind.items())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2500, help="malformed lines at most")
    parser.add_argument("--seconds", type=float, default=110.0, help="wall time at most")
    parser.add_argument("--long", type=int, default=2, help="lines over the length limit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        result = run(args.lines, args.seconds, args.long, args.seed, Path(work))
    ok = (result["answered"] == result["lines"] and result["dropped"] == 0
          and result["wrong"] == 0 and not result["sentinel_written"])
    result["ok"] = ok
    print(f"{result['lines']} malformed lines in {result['seconds']} s: "
          f"{result['answered']} answered, {result['dropped']} dropped connections, "
          f"{result['wrong']} wrong answers, sentinel written: {result['sentinel_written']}")
    for kind, tally in result["by_kind"].items():
        codes = ", ".join(f"{k[5:]}×{v}" for k, v in tally.items() if k.startswith("code "))
        print(f"  {kind:15} {tally.get('sent', 0):5} sent  {tally.get('answered', 0):5} "
              f"answered  {tally.get('dropped', 0)} dropped  codes {codes}")
    for example in result["wrong_examples"]:
        print("  wrong:", json.dumps(example)[:400])
    if args.json:
        result["command"] = shlex.join(["python", *sys.argv])
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
