"""Fuzz campaigns against ``syncrig serve nas``: hostile requests, and kill -9 mid-write.

1. **Malformed requests** (Hypothesis strategies): web-API requests with hostile values
   (other scripts' digits, oversized and spaced integers, paths with ``..`` and NUL, JSON
   nested thousands deep, wrong or missing synotokens, another user's session), compounds,
   and raw bodies the server cannot parse (a multipart type over a plain body, unknown
   charsets, a false, cut or layered ``Content-Encoding``, bodies that inflate past 1 MiB,
   bytes that are not UTF-8, truncated multipart). Each reply must be HTTP 200 with a
   documented DSM code (100, the emulator's own fault, is a finding too) — a test-control
   reply a one-line 400 or a success — within 10 s, and an error reply must leave the SQLite
   database exactly as it was (it is read before and after each reply). The server's stderr
   must hold no traceback; what those it holds raised is counted.
2. **kill -9 during acknowledged writes**: two clients rename a connection each as fast as
   they can; the server is killed at a random moment, ``PRAGMA integrity_check`` must say ok
   and every acknowledged name must be there (or a later one), then it starts again on the
   same data directory.

Usage: ``python bench/fuzz_nas.py [--requests 10000] [--seconds 300] [--kills 100]
[--seed N] [--json FILE]``; exit status 1 if anything broke.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from synology_api import base_api
from synology_api.cloud_sync import CloudSync

from sim.spec.synology import ERRORS, UNKNOWN
from sim.synology.methods import METHODS

DOCUMENTED = set(ERRORS)
TABLES = ("config", "users", "sessions", "volumes", "connections", "tasks", "synced", "logs",
          "user_config")
BATCH = 250
"""Examples per Hypothesis run: the time budget is checked between runs."""

# -- the server ----------------------------------------------------------------------------------


class Server:
    """``syncrig serve nas --test-control`` on a data directory, as its own process."""

    def __init__(self, data: Path, stderr: Path) -> None:
        self.err = stderr.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "conformance.cli", "serve", "nas", "--port", "0", "--data",
             str(data), "--test-control"], stdout=subprocess.PIPE, stderr=self.err, text=True)
        assert self.proc.stdout is not None
        banner = self.proc.stdout.readline()
        if "127.0.0.1:" not in banner:
            raise RuntimeError(f"the NAS did not start: {banner!r} (see {stderr})")
        self.port = int(banner.split("127.0.0.1:")[1].split("/")[0])
        self.base = f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(15)
        self.err.close()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.communicate(timeout=15)
        self.err.close()


def form_login(base: str, user: str, password: str, **extra: str) -> dict[str, Any]:
    reply = requests.post(f"{base}/webapi/auth.cgi", timeout=30, data={
        "api": "SYNO.API.Auth", "version": "7", "method": "login", "account": user,
        "passwd": password, **extra})
    data: dict[str, Any] = reply.json()["data"]
    return data


def snapshot(db: sqlite3.Connection) -> str:
    """A digest of every table's rows: equal digests, equal state."""
    digest = hashlib.sha256()
    for table in TABLES:
        digest.update(table.encode())
        for row in db.execute(f"SELECT * FROM {table} ORDER BY rowid"):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


# -- strategies ----------------------------------------------------------------------------------

PARAM_NAMES = ["connection_id", "session_id", "group_by", "is_tray", "offset", "limit",
               "keyword", "date_from", "date_to", "log_level", "action", "path", "file_id",
               "repo_vol_path", "log_count", "worker_count", "admin_mode", "sync_mode",
               "task_name", "pull_event_period", "max_upload_speed", "max_download_speed",
               "storage_class", "isSSE", "part_size", "is_enabled_schedule", "schedule_info",
               "sync_direction", "sync_attr_check_option", "no_delete",
               "google_drive_convert_online_doc", "filtered_paths", "filtered_names",
               "filtered_extensions", "user_defined_names", "user_defined_extensions",
               "filtered_max_upload_size", "conn_info", "compound", "mode", "stop_when_error",
               "account", "passwd", "otp_code", "enable_syno_token", "format", "SynoToken",
               "__cIpHeRtExT"]
INTEGERS = st.one_of(
    st.sampled_from(["\u0663", " +0_3 ", "3 ", "0x3", "\uff13", "1e3", "-0", "+3", "3", "4",
                     "5", "7", "-1", "9223372036854775807", "9223372036854775808",
                     "-9223372036854775809", "1" * 40, "1" * 5000, "", "null", "true"]),
    st.integers().map(str))
PATHS = st.sampled_from(["/docs", "/photos", "/../../..", "/docs/../..", "/docs/a\x00b",
                         "../x", "/docs/" + "x" * 300, "/", "//docs", "/docs/./sub", "docs",
                         "/nowhere", "/docs/sub/", "/a/../b", "\ud800"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["\ud800", "\x00", 10**30, -(10**30)]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3), max_leaves=8)
DEEP = st.integers(1, 6000).map(lambda n: "[" * n + "]" * n)
CONN_INFO = st.fixed_dictionaries({}, optional={
    "conn_id": st.one_of(st.sampled_from([3, 5, 7, "3", 10**30]), INTEGERS, JSON_VALUES),
    "path": PATHS | JSON_VALUES, "server_folder_path": PATHS | JSON_VALUES,
    "sync_direction": st.sampled_from(["ONLY_UPLOAD", "BIDIRECTION", "x"]) | JSON_VALUES,
    "filter_file": JSON_VALUES | st.fixed_dictionaries({}, optional={
        "filtered_paths": st.lists(PATHS, max_size=2), "filtered_extensions": JSON_VALUES,
        "filtered_max_upload_size": st.one_of(st.integers(), JSON_VALUES)}),
    "no_delete": JSON_VALUES}).map(json.dumps)
CALL = st.fixed_dictionaries(
    {"api": st.sampled_from(["SYNO.CloudSync", "SYNO.Entry.Request", "SYNO.API.Info", ""])
     | JSON_VALUES,
     "method": st.sampled_from([*METHODS, "request", "query"]) | JSON_VALUES,
     "version": st.sampled_from([1, "1", 2, "x"]) | JSON_VALUES},
    optional={"connection_id": st.sampled_from([3, 5, 7, 10**30]) | JSON_VALUES,
              "session_id": st.sampled_from([4, 8]) | JSON_VALUES,
              "conn_info": CONN_INFO.map(json.loads) | JSON_VALUES,
              "compound": JSON_VALUES})
COMPOUNDS = st.one_of(st.lists(CALL | JSON_VALUES, max_size=4).map(json.dumps), DEEP,
                      st.text(max_size=20))
VALUES = st.one_of(INTEGERS, PATHS.filter(lambda p: "\ud800" not in p),
                   st.text(max_size=30), DEEP, CONN_INFO.map(lambda s: s.replace("\\ud800", "")),
                   COMPOUNDS.map(lambda s: s.replace("\\ud800", "\\u00e9")),
                   st.sampled_from(['""', '"STANDARD"', "[]", '["/../x"]', '["a"]', "{}",
                                    "true", "false", "yes", "enable", "disable",
                                    "group_by_user", "sequential", "parallel", "cookie",
                                    '"' + "1" * 168 + '"', "/volume1", "BIDIRECTION"]))
CALLERS = ["admin", "alice", "none", "wrong-token", "no-token", "other-token", "cookie",
           "cookie-no-token", "cookie-unknown"]


@dataclass
class Req:
    """One request as sent: how, where, with what."""

    verb: str
    path: str
    params: dict[str, str]
    caller: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def shown(self) -> str:
        text = f"{self.verb} {self.path} {self.caller} {self.params!r}"
        if self.body is not None:
            text += f" headers={self.headers!r} body={self.body[:120]!r}"
        return text[:600]


@st.composite
def api_requests(draw: st.DrawFn) -> Req:
    params: dict[str, str] = draw(st.dictionaries(st.sampled_from(PARAM_NAMES), VALUES,
                                                  max_size=7))
    for key, choices in (
            ("api", st.sampled_from(["SYNO.CloudSync", "SYNO.Entry.Request", "SYNO.API.Auth",
                                     "SYNO.API.Info", "SYNO.API.Encryption",
                                     "SYNO.API.Auth.UIConfig", "SYNO.Nope", "", "syno"])),
            ("method", st.sampled_from([*METHODS, "login", "query", "get", "getinfo",
                                        "request", "nope", ""])),
            ("version", st.sampled_from(["1", "2", "7", " 1", "\u0661", "0", "-1", "1" * 30,
                                         "x", ""]))):
        if draw(st.integers(0, 9)) > 0:
            params[key] = draw(choices)
    if params.get("method") == "logout":
        params["method"] = "login"  # the campaign's own sessions must live on
    path = draw(st.sampled_from(["entry.cgi", "entry.cgi", "query.cgi", "auth.cgi",
                                 "entry.cgi/SYNO.API.Info", "entry.cgi/SYNO.Nope", "x.cgi",
                                 "entry.cgi/SYNO.CloudSync"]))
    return Req(draw(st.sampled_from(["GET", "POST", "POST", "PUT", "HEAD", "DELETE"])),
               f"/webapi/{path}", params, draw(st.sampled_from(CALLERS)))


def _truncated_multipart(fields: dict[str, str], cut: int) -> bytes:
    body = b"".join(b'--xx\r\nContent-Disposition: form-data; name="' + k.encode()
                    + b'"\r\n\r\n' + v.encode() + b"\r\n" for k, v in fields.items())
    body += b"--xx--\r\n"
    return body[:max(0, len(body) - cut)]


def _bomb(form: bytes, wbits: int) -> bytes:
    """``form`` and 2 MiB of padding (past the NAS's 1 MiB), compressed to about 2 KB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return packer.compress(form + b"&pad=" + bytes(2 * 1024**2)) + packer.flush()


@st.composite
def raw_bodies(draw: st.DrawFn) -> Req:
    fields = {"api": "SYNO.CloudSync", "version": "1", "method": "list_conn"}
    form = "&".join(f"{k}={v}" for k, v in fields.items()).encode()
    gzipped, deflated = gzip.compress(form), zlib.compress(form)
    body = draw(st.one_of(
        st.binary(max_size=300),
        st.integers(1, 80).map(lambda cut: _truncated_multipart(fields, cut)),
        st.just(_truncated_multipart(fields, 0)),
        st.binary(min_size=1, max_size=8).map(lambda junk: form + b"&x=" + junk),
        st.sampled_from([gzipped, deflated, deflated[2:-4], zlib.compress(gzipped),
                         gzipped + gzipped, _bomb(form, 15), _bomb(form, -15),
                         _bomb(form, 31)]),
        st.integers(1, 20).map(lambda cut: gzipped[:-cut]),
        st.integers(1, 8).map(lambda cut: deflated[:-cut]),
        st.binary(min_size=1, max_size=8).map(lambda junk: gzipped + junk),
        st.just(form),
        st.integers(1, 6000).map(lambda n: b"compound=" + b"[" * n + b"]" * n)))
    headers = {"Content-Type": draw(st.sampled_from([
        "multipart/form-data", "multipart/form-data; boundary=xx", "multipart/form-data; "
        "boundary=", "multipart/mixed; boundary=xx", "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=klingon",
        "application/x-www-form-urlencoded; charset=utf-16",
        "application/x-www-form-urlencoded; charset=latin-1", "application/json",
        "text/plain", ""]))}
    encoding = draw(st.sampled_from([None, None, "gzip", "deflate", "br", "identity", "x-no",
                                     "x-gzip", "gzip, deflate", "deflate, deflate"]))
    if encoding:
        headers["Content-Encoding"] = encoding
    query = draw(st.sampled_from([{}, {"api": "SYNO.API.Info", "version": "1",
                                       "method": "query"}, fields]))
    return Req("POST", "/webapi/entry.cgi", query, draw(st.sampled_from(["admin", "none"])),
               body, headers)


@st.composite
def advance_requests(draw: st.DrawFn) -> Req:
    value = draw(st.one_of(st.sampled_from(["abc", "-5", "1e3", "nan", "inf", "99999999",
                                            "\u0663", " 1", "", "0.5", "1"]),
                           st.text(max_size=8)))
    return Req("POST", "/_test/advance", {"seconds": value}, "none")


REQUESTS = st.one_of(api_requests(), api_requests(), api_requests(), raw_bodies(),
                     advance_requests())

# -- campaign 1: malformed requests --------------------------------------------------------------


@dataclass
class Fuzz:
    base: str
    db: sqlite3.Connection
    sessions: dict[str, dict[str, Any]]
    http: requests.Session = field(default_factory=requests.Session)
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[int] = field(default_factory=Counter)
    successes: int = 0
    error_replies: int = 0
    http_refusals: int = 0
    stalls: int = 0
    findings: list[str] = field(default_factory=list)
    last: str = ""

    def credentials(self, caller: str, params: dict[str, str]) -> tuple[dict[str, str],
                                                                      dict[str, str]]:
        admin, alice = self.sessions["admin"], self.sessions["alice"]
        headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        if caller in ("admin", "alice"):
            params.setdefault("_sid", self.sessions[caller]["sid"])
            headers["X-SYNO-TOKEN"] = self.sessions[caller]["synotoken"]
        elif caller == "wrong-token":
            params.setdefault("_sid", admin["sid"])
            headers["X-SYNO-TOKEN"] = "wrong"
        elif caller == "no-token":
            params.setdefault("_sid", admin["sid"])
        elif caller == "other-token":
            params.setdefault("_sid", admin["sid"])
            headers["X-SYNO-TOKEN"] = alice["synotoken"]
        elif caller.startswith("cookie"):
            cookies["id"] = "nope" if caller == "cookie-unknown" else admin["sid"]
            if caller != "cookie-no-token":
                headers["X-SYNO-TOKEN"] = admin["synotoken"]
        return headers, cookies

    def send(self, req: Req) -> None:
        params = dict(req.params)
        headers, cookies = self.credentials(req.caller, params)
        headers.update(req.headers)
        url = self.base + req.path
        reply = None
        failure: Exception | None = None
        for _ in range(2):  # a keep-alive connection the server closed: once more, afresh
            try:
                if req.body is not None:
                    reply = self.http.request(req.verb, url, params=params, data=req.body,
                                              headers=headers, cookies=cookies, timeout=10)
                elif req.verb == "POST":
                    reply = self.http.post(url, data=params, headers=headers, cookies=cookies,
                                           timeout=10)
                else:
                    reply = self.http.request(req.verb, url, params=params, headers=headers,
                                              cookies=cookies, timeout=10)
                break
            except requests.Timeout:  # a stall: no reply within 10 s is a finding itself
                self.http = requests.Session()
                self.stalls += 1
                self.findings.append(f"no reply within 10 s: {req.shown()}")
                return
            except requests.RequestException as exc:  # refused or dropped
                self.http = requests.Session()
                failure = exc
        if reply is None:
            self.findings.append(f"connection failed: {failure!r}: {req.shown()}")
            return
        self.sent += 1
        self.statuses[reply.status_code] += 1
        state = snapshot(self.db)
        changed, self.last = state != self.last, state
        if reply.status_code >= 500:
            self.findings.append(f"HTTP {reply.status_code}: {req.shown()}")
            return
        if req.path == "/_test/advance":
            if reply.status_code == 400:
                self.error_replies += 1
                if changed:
                    self.findings.append(f"state changed on a 400: {req.shown()}")
                if "\n" in reply.text.rstrip("\n"):
                    self.findings.append(f"a 400 of more than one line: {req.shown()}")
            elif reply.status_code != 200 or not _succeeded(reply):
                self.findings.append(f"advance answered {reply.status_code} "
                                     f"{reply.text[:80]!r}: {req.shown()}")
            else:
                self.successes += 1
            return
        if req.verb == "HEAD":
            return  # no body to read the code from
        if reply.status_code == 400 and len(reply.request.url or "") > 8190:
            # refused by the HTTP layer before any web API: a request line over 8 KB (DSM's
            # web server refuses it too)
            self.http_refusals += 1
            if changed:
                self.findings.append(f"state changed on an HTTP refusal: {req.shown()}")
            return
        try:
            body = reply.json()
            ok = body["success"]
            code = 0 if ok is True else body["error"]["code"]
        except (ValueError, KeyError, TypeError):
            self.findings.append(f"not a DSM reply ({reply.text[:80]!r}): {req.shown()}")
            return
        self.codes[code] += 1
        if code == 0:
            self.successes += 1
            return
        self.error_replies += 1
        if code not in DOCUMENTED or code == UNKNOWN:
            self.findings.append(f"code {code}: {req.shown()}")
        if changed:
            self.findings.append(f"state changed on error {code}: {req.shown()}")


def _succeeded(reply: requests.Response) -> bool:
    try:
        return reply.json().get("success") is True  # type: ignore[no-any-return]
    except (ValueError, AttributeError):
        return False


def fuzz_campaign(work: Path, count: int, budget_s: float, seed_value: int) -> dict[str, Any]:
    data, stderr = work / "fuzz", work / "fuzz-stderr.log"
    server = Server(data, stderr)
    try:
        base_api.BaseApi.shared_session = None
        cs = CloudSync("127.0.0.1", str(server.port), "admin", "Admin-Pass-1", secure=False,
                       dsm_version=7, debug=False)
        admin = {"sid": cs.session._sid,  # type: ignore[attr-defined]
                 "synotoken": cs.session._syno_token}  # type: ignore[attr-defined]
        base_api.BaseApi.shared_session = None
        db = sqlite3.connect(f"file:{data / 'nas.sqlite3'}?mode=ro", uri=True)
        # alice has no TOTP-free login: her session is one more token session in the store
        alice = form_login(server.base, "admin", "Admin-Pass-1", enable_syno_token="yes")
        with sqlite3.connect(data / "nas.sqlite3") as rw:
            rw.execute("UPDATE sessions SET user = 'alice' WHERE sid = ?", (alice["sid"],))
        fuzz = Fuzz(server.base, db, {"admin": admin, "alice": alice})
        fuzz.last = snapshot(db)
        started = time.monotonic()
        runs = 0

        @settings(max_examples=BATCH, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(req=REQUESTS)
        def one(req: Req) -> None:
            fuzz.send(req)

        while fuzz.sent < count and time.monotonic() - started < budget_s:
            seed(seed_value + runs)(one)()
            runs += 1
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    log_text = stderr.read_text(errors="replace")
    tracebacks = log_text.count("Traceback")
    first = log_text.find("Traceback")
    kinds = Counter(_raised(block) for block in log_text.split("Traceback")[1:])
    five_xx = sum(n for status, n in fuzz.statuses.items() if status >= 500)
    return {"requests": fuzz.sent, "seconds": round(elapsed, 1),
            "statuses": dict(sorted(fuzz.statuses.items())),
            "codes": {str(k): v for k, v in sorted(fuzz.codes.items())},
            "successes": fuzz.successes, "error_replies": fuzz.error_replies,
            "http_refusals": fuzz.http_refusals, "stalls": fuzz.stalls,
            "five_xx": five_xx, "tracebacks": tracebacks,
            "findings": len(fuzz.findings), "first_findings": fuzz.findings[:20],
            "traceback_kinds": dict(kinds.most_common(20)),
            "first_traceback": log_text[max(0, first - 300):first + 3000] if first >= 0 else ""}


def _raised(block: str) -> str:
    """What a logged traceback raised: its first line that is not indented (after the
    ``Traceback …:`` line itself)."""
    for line in block.splitlines()[1:]:
        if line and not line.startswith(" "):
            return line[:200]
    return "?"


# -- campaign 2: kill -9 during acknowledged writes ----------------------------------------------


def _writer(base: str, sid: str, conn_id: int, numbers: list[int], stop: threading.Event,
            acked: dict[int, int]) -> None:
    http = requests.Session()
    while not stop.is_set():
        n = numbers[0] = numbers[0] + 1
        try:
            reply = http.get(f"{base}/webapi/entry.cgi", timeout=10, params={
                "api": "SYNO.CloudSync", "version": "1", "method": "set_connection_setting",
                "connection_id": str(conn_id), "task_name": f"w{n}",
                "pull_event_period": "60", "max_upload_speed": "0",
                "max_download_speed": "0", "storage_class": '""', "isSSE": "false",
                "part_size": "128", "_sid": sid})
            if reply.json() == {"success": True}:
                acked[conn_id] = n
        except (requests.RequestException, ValueError):
            return  # the server is gone


def kill_campaign(work: Path, kills: int, rng: random.Random) -> dict[str, Any]:
    data, stderr = work / "kill", work / "kill-stderr.log"
    numbers = {3: [0], 5: [0]}
    lost, bad_integrity, acknowledged = 0, 0, 0
    details: list[str] = []
    started = time.monotonic()
    for round_no in range(kills):
        server = Server(data, stderr)
        sid = form_login(server.base, "admin", "Admin-Pass-1")["sid"]
        acked: dict[int, int] = {}
        stop = threading.Event()
        threads = [threading.Thread(target=_writer, args=(server.base, sid, c, numbers[c], stop,
                                                          acked)) for c in numbers]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.05, 0.4))
        server.kill()
        stop.set()
        for t in threads:
            t.join(15)
        acknowledged += len(acked)
        with sqlite3.connect(data / "nas.sqlite3") as db:
            (check,) = db.execute("PRAGMA integrity_check").fetchone()
            names = {row[0]: json.loads(row[1])["task_name"] for row in db.execute(
                "SELECT id, settings FROM connections")}
        if check != "ok":
            bad_integrity += 1
            details.append(f"round {round_no}: integrity_check {check!r}")
        for conn_id, n in acked.items():
            stored = int(names[conn_id].lstrip("w"))
            if stored < n:
                lost += 1
                details.append(f"round {round_no}: connection {conn_id} acknowledged w{n}, "
                               f"holds w{stored}")
    server = Server(data, stderr)  # and it starts once more on what the last kill left
    server.stop()
    return {"kills": kills, "seconds": round(time.monotonic() - started, 1),
            "writes_sent": numbers[3][0] + numbers[5][0],
            "rounds_with_acknowledged_writes": acknowledged, "lost": lost,
            "integrity_failures": bad_integrity, "details": details[:20]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000,
                        help="malformed requests to send (default 10000)")
    parser.add_argument("--seconds", type=float, default=300.0,
                        help="time budget of the request campaign (default 300)")
    parser.add_argument("--kills", type=int, default=100, help="kill -9 rounds (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="syncrig-fuzz-nas-") as tmp:
        work = Path(tmp)
        figures = {"malformed": fuzz_campaign(work, args.requests, args.seconds, args.seed),
                   "kill9": kill_campaign(work, args.kills, random.Random(args.seed))}
    m, k = figures["malformed"], figures["kill9"]
    print(f"malformed requests: {m['requests']} in {m['seconds']} s — {m['five_xx']} 5xx, "
          f"{m['tracebacks']} tracebacks, {m['stalls']} stalls, "
          f"{m['error_replies']} error replies, "
          f"{m['http_refusals']} refused by the HTTP layer, "
          f"{m['successes']} successes, {m['findings']} findings; codes {m['codes']}")
    for finding in m["first_findings"]:
        print("  " + finding)
    for kind, n in m["traceback_kinds"].items():
        print(f"  traceback x{n}: {kind}")
    print(f"kill -9: {k['kills']} kills in {k['seconds']} s, {k['writes_sent']} writes sent, "
          f"{k['lost']} acknowledged writes lost, {k['integrity_failures']} integrity failures")
    for detail in k["details"]:
        print("  " + detail)
    if args.json:
        figures["command"] = shlex.join(["python", *sys.argv])
        args.json.write_text(json.dumps(figures, indent=2))
    broke = m["findings"] or m["tracebacks"] or m["requests"] < args.requests \
        or k["lost"] or k["integrity_failures"]
    sys.exit(1 if broke else 0)


if __name__ == "__main__":
    main()
