"""The emulated NAS treats every input as hostile: malformed bodies and values get a documented
DSM code (never a 5xx), connections are per user, the synotoken is checked, and no path leads
out of a share. Real server on 127.0.0.1, real HTTP, real SQLite."""

from __future__ import annotations

import gzip
import http.client
import json
import logging
import os
import sqlite3
import urllib.parse
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import requests
import yaml
from synology_api import base_api
from synology_api.cloud_sync import CloudSync

from sim.synology import Nas, NasServer, load_seed

SEED = Path(__file__).parents[1] / "fixtures" / "nas" / "default.yaml"
ALICE_TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
INFO = "api=SYNO.API.Info&version=1&method=query"
REFUSED = {"success": False, "error": {"code": 120}}


def error(code: int) -> dict[str, Any]:
    return {"success": False, "error": {"code": code}}


class Nas2:
    """The default seed plus a connection (7, with task 8 on /photos) that alice owns."""

    def __init__(self, tmp_path: Path) -> None:
        seed = yaml.safe_load(SEED.read_text())
        seed["connections"].append({"id": 7, "user": "alice", "type": "gd",
                                    "account": "alice@example.com", "task_name": "Alice's",
                                    "tasks": [{"id": 8, "local": "/photos", "remote": "/mine"}]})
        seed_file = tmp_path / "seed.yaml"
        seed_file.write_text(yaml.safe_dump(seed))
        self.data = tmp_path / "nas"
        self.nas = Nas(self.data, load_seed(seed_file))
        self.server = NasServer(self.nas, test_control=True).start()
        self.url = f"{self.server.url}/webapi/entry.cgi"

    def login(self, user: str = "admin") -> tuple[str, str]:
        """A session made by the unmodified client (enable_syno_token=yes): sid, synotoken."""
        base_api.BaseApi.shared_session = None
        password, otp = ("Admin-Pass-1", None) if user == "admin" else (
            "Alice-Pass-1", pyotp.TOTP(ALICE_TOTP).now())
        cs = CloudSync("127.0.0.1", str(self.server.port), user, password, secure=False,
                       dsm_version=7, debug=False, otp_code=otp)
        base_api.BaseApi.shared_session = None
        return cs.session._sid, cs.session._syno_token  # type: ignore[attr-defined]

    def call(self, who: tuple[str, str], method: str, **params: Any) -> dict[str, Any]:
        sid, token = who
        query = {"api": "SYNO.CloudSync", "version": "1", "method": method, "_sid": sid,
                 **params}
        reply = requests.get(self.url, params=query, headers={"X-SYNO-TOKEN": token},
                             timeout=30)
        assert reply.status_code == 200
        return reply.json()  # type: ignore[no-any-return]

    def compound(self, who: tuple[str, str], calls: Any, **form: str) -> dict[str, Any]:
        sid, token = who
        body = {"api": "SYNO.Entry.Request", "method": "request", "version": "2", "_sid": sid,
                "compound": calls if isinstance(calls, str) else json.dumps(calls), **form}
        reply = requests.post(self.url, data=body, headers={"X-SYNO-TOKEN": token}, timeout=30)
        assert reply.status_code == 200
        return reply.json()  # type: ignore[no-any-return]

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.data / "nas.sqlite3") as db:
            return list(db.execute(sql))

    def close(self) -> None:
        self.server.stop()
        self.nas.store.close()


@pytest.fixture
def nas(tmp_path: Path) -> Iterator[Nas2]:
    n = Nas2(tmp_path)
    yield n
    n.close()


# -- bodies that cannot be read ------------------------------------------------------------------

TRUNCATED = (b'--xx\r\nContent-Disposition: form-data; name="api"\r\n\r\nSYNO.API.Info\r\n'
             b'--xx\r\nContent-Disposition: form-data; name="method"\r\n\r\nque')


FORM = "application/x-www-form-urlencoded"
GZIPPED = gzip.compress(INFO.encode())
FALSE_CODINGS = [  # each with the API.Info query: read as empty, the request would succeed
    ("gzip", b"a=b"),  # not gzip at all
    ("gzip", GZIPPED[:-8]),  # cut short: no CRC and length
    ("gzip", GZIPPED[:4]),  # a gzip header and nothing more
    ("gzip", GZIPPED + b"a=b"),  # other bytes after the gzip stream
    ("deflate", b"a=b"),  # not deflate at all (aiohttp's own plain-text 400)
    ("deflate", b"\xd2\xee"),  # two bytes that are none (aiohttp's: no reply at all)
    ("deflate", zlib.compress(INFO.encode())[:-3]),  # cut short
    ("deflate", zlib.compress(INFO.encode()) + b"a=b"),  # other bytes after the stream
    ("br", b"a=b"),  # a coding the NAS does not read
    ("gzip, deflate", b"a=b"),  # two codings, neither there
]
FALSE_IDS = ["gzip-plain", "gzip-cut", "gzip-header-only", "gzip-trailing", "deflate-plain",
             "deflate-two-bytes", "deflate-cut", "deflate-trailing", "brotli", "layered"]


@pytest.mark.parametrize(("content_type", "encoding", "body"), [
    ("multipart/form-data", None, b"hello"),  # a multipart type over a plain body
    ("multipart/form-data; boundary=xx", None, TRUNCATED),  # cut short
    (f"{FORM}; charset=klingon", None, b"a=b"),  # unknown charset
    (FORM, None, b"a=\xff\xfe"),  # not UTF-8
    *((FORM, encoding, body) for encoding, body in FALSE_CODINGS),
], ids=["multipart-plain", "multipart-truncated", "charset", "utf8", *FALSE_IDS])
def test_an_unreadable_body_is_120_and_no_traceback(
        nas: Nas2, caplog: pytest.LogCaptureFixture, content_type: str, encoding: str | None,
        body: bytes) -> None:
    headers = {"Content-Type": content_type}
    if encoding:
        headers["Content-Encoding"] = encoding
    with caplog.at_level(logging.DEBUG):
        reply = requests.post(f"{nas.url}?{INFO}", data=body, headers=headers, timeout=10)
        assert (reply.status_code, reply.json()) == (200, REFUSED)
        # the server goes on answering, and logged no error or traceback of its own
        assert requests.get(f"{nas.url}?{INFO}", timeout=10).json()["success"] is True
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_false_codings_on_one_connection_are_each_answered(nas: Nas2) -> None:
    """One keep-alive connection: every false body gets its 120, none stalls the next."""
    with requests.Session() as http:
        for encoding, body in FALSE_CODINGS * 2:
            reply = http.post(f"{nas.url}?{INFO}", data=body, timeout=10, headers={
                "Content-Type": FORM, "Content-Encoding": encoding})
            assert (reply.status_code, reply.json()) == (200, REFUSED), (encoding, body)
        assert http.get(f"{nas.url}?{INFO}", timeout=10).json()["success"] is True


def _bomb(wbits: int, form: bytes, zeros_mib: int) -> bytes:
    """``form`` and then ``zeros_mib`` MiB of a padding field, compressed about 1000:1."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(1024**2)
    return b"".join([packer.compress(form + b"&pad="),
                     *(packer.compress(zeros) for _ in range(zeros_mib)), packer.flush()])


@pytest.mark.parametrize(("encoding", "wbits"), [("deflate", 15), ("deflate", -15),
                                                 ("gzip", 31)],
                         ids=["deflate", "raw-deflate", "gzip"])
def test_a_body_that_inflates_past_1_mib_is_120_and_changes_nothing(
        nas: Nas2, encoding: str, wbits: int) -> None:
    """64 MiB from 64 KiB: inflating stops at 1 MiB, so a bomb costs no more than a body of
    the largest size read, and what it carries is not done."""
    sid, token = nas.login()
    pause = f"api=SYNO.CloudSync&version=1&method=pause&connection_id=3&_sid={sid}".encode()
    bomb = _bomb(wbits, pause, 64)
    assert len(bomb) < 100_000
    reply = requests.post(nas.url, data=bomb, timeout=30, headers={
        "Content-Type": FORM, "Content-Encoding": encoding, "X-SYNO-TOKEN": token})
    assert (reply.status_code, reply.json()) == (200, REFUSED)
    assert nas.rows("SELECT id, paused FROM connections ORDER BY id") == [(3, 0), (5, 0),
                                                                         (7, 0)]
    # the same under the limit is read and done
    small = _bomb(wbits, pause, 0)
    reply = requests.post(nas.url, data=small, timeout=30, headers={
        "Content-Type": FORM, "Content-Encoding": encoding, "X-SYNO-TOKEN": token})
    assert reply.json() == {"success": True}
    assert nas.rows("SELECT id, paused FROM connections ORDER BY id") == [(3, 1), (5, 0),
                                                                         (7, 0)]


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate", "raw-deflate",
                                      "gzip, deflate", "identity", "gzip-members"])
def test_a_compressed_body_that_is_what_it_says_is_read(nas: Nas2, encoding: str) -> None:
    """The refusals above are about false codings, not about codings."""
    form = INFO.encode()
    body, header = {
        "gzip": (GZIPPED, "gzip"), "x-gzip": (GZIPPED, "x-gzip"),
        "deflate": (zlib.compress(form), "deflate"),
        "raw-deflate": (zlib.compress(form)[2:-4], "deflate"),  # as some clients send it
        "gzip, deflate": (zlib.compress(GZIPPED), "gzip, deflate"),  # gzip, then deflate
        "identity": (form, "identity"),
        "gzip-members": (gzip.compress(form[:10]) + gzip.compress(form[10:]), "gzip"),
    }[encoding]
    reply = requests.post(nas.url, data=body, timeout=30, headers={
        "Content-Type": FORM, "Content-Encoding": header})
    assert reply.json()["data"]["SYNO.CloudSync"]["path"] == "entry.cgi"


def test_a_multipart_form_is_read(nas: Nas2) -> None:
    """Its text fields are parameters; a file part is none."""
    sid, token = nas.login()
    fields = {"api": "SYNO.CloudSync", "version": "1", "method": "pause",
              "connection_id": "5", "_sid": sid}
    parts: list[tuple[str, tuple[str | None, bytes, str]]] = [
        (k, (None, v.encode(), "text/plain")) for k, v in fields.items()]
    parts.append(("method", ("method.txt", b"unlink_connection", "text/plain")))
    reply = requests.post(nas.url, headers={"X-SYNO-TOKEN": token}, timeout=30, files=parts)
    assert reply.json() == {"success": True}
    assert nas.rows("SELECT id, paused FROM connections ORDER BY id") == [(3, 0), (5, 1),
                                                                         (7, 0)]


@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_a_body_without_a_content_type_is_read_as_url_encoded(nas: Nas2,
                                                               encoding: str | None) -> None:
    """As DSM's CGI reads it; a body typed as anything else carries no parameters."""
    sid, token = nas.login()
    form = urllib.parse.urlencode({"api": "SYNO.CloudSync", "version": "1", "method": "pause",
                                   "connection_id": "5", "_sid": sid}).encode()
    body = gzip.compress(form) if encoding else form
    headers = {"X-SYNO-TOKEN": token, **({"Content-Encoding": encoding} if encoding else {})}
    typed = requests.post(nas.url, data=body, timeout=30,
                          headers={**headers, "Content-Type": "application/octet-stream"})
    assert typed.json() == error(101)  # no api: the body was not read
    assert nas.rows("SELECT id, paused FROM connections ORDER BY id") == [(3, 0), (5, 0),
                                                                         (7, 0)]
    untyped = requests.Request("POST", nas.url, data=body, headers=headers).prepare()
    assert "Content-Type" not in untyped.headers
    with requests.Session() as http_session:
        reply = http_session.send(untyped, timeout=30)
    assert reply.json() == {"success": True}
    assert nas.rows("SELECT id, paused FROM connections ORDER BY id") == [(3, 0), (5, 1),
                                                                         (7, 0)]


# -- values --------------------------------------------------------------------------------------

def test_an_oversized_integer_in_json_is_120_and_fails_only_its_call(nas: Nas2) -> None:
    admin = nas.login()
    info = {"conn_id": 10**30, "path": "/photos", "server_folder_path": "/b",
            "sync_direction": "ONLY_UPLOAD"}
    assert nas.call(admin, "test_task_setting", conn_info=json.dumps(info)) == REFUSED
    reply = nas.compound(admin, [
        {"api": "SYNO.CloudSync", "method": "list_sess", "version": 1, "connection_id": 3},
        {"api": "SYNO.CloudSync", "method": "create_session", "version": 1, "conn_info": info}])
    assert reply["success"] is True and reply["data"]["has_fail"] is True
    first, second = reply["data"]["result"]
    assert first["success"] is True and first["data"]["total"] == 1
    assert second == {"api": "SYNO.CloudSync", "method": "create_session", **REFUSED}
    assert nas.rows("SELECT id FROM tasks ORDER BY id") == [(4,), (8,)]


@pytest.mark.parametrize("form", [
    {"compound": "[" * 5000 + "]" * 5000},
    {"compound": json.dumps([{"api": "SYNO.CloudSync"}]), "stop_when_error": "yes"},
    {"compound": "[]", "mode": "backwards"},
    {"compound": "{}"},
], ids=["5000-deep", "stop_when_error", "mode", "not-a-list"])
def test_a_malformed_compound_is_120(nas: Nas2, form: dict[str, str]) -> None:
    admin = nas.login()
    calls = form.pop("compound")
    assert nas.compound(admin, calls, **form) == REFUSED


def test_a_compound_inside_a_compound_is_refused(nas: Nas2) -> None:
    admin = nas.login()
    inner = [{"api": "SYNO.CloudSync", "method": "unlink_connection", "version": 1,
              "connection_id": 5}]
    reply = nas.compound(admin, [{"api": "SYNO.Entry.Request", "method": "request",
                                  "version": 1, "compound": inner}])
    assert reply["data"] == {"has_fail": True, "result": [
        {"api": "SYNO.Entry.Request", "method": "request", **REFUSED}]}
    assert nas.rows("SELECT id FROM connections ORDER BY id") == [(3,), (5,), (7,)]


def test_a_request_without_api_is_101(nas: Nas2) -> None:
    reply = requests.get(nas.url, params={"method": "query", "version": "1"}, timeout=30)
    assert (reply.status_code, reply.json()) == (200, error(101))
    # the path names an API only in DSM's path style (entry.cgi/SYNO.…)
    styled = requests.get(f"{nas.server.url}/webapi/entry.cgi/SYNO.API.Info",
                          params={"method": "query", "version": "1"}, timeout=30)
    assert styled.json()["success"] is True


@pytest.mark.parametrize("value", ["\u0663", " +0_3 ", "3 ", "0x3", "３"])
def test_integers_are_ascii_digits_only(nas: Nas2, value: str) -> None:
    admin = nas.login()
    assert nas.call(admin, "unlink_connection", connection_id=value) == REFUSED
    assert nas.rows("SELECT id FROM connections ORDER BY id") == [(3,), (5,), (7,)]
    assert nas.call(admin, "get_connection_setting", connection_id="+3")["success"] is True


def test_an_internal_fault_is_100_and_logged_with_its_traceback(
        nas: Nas2, caplog: pytest.LogCaptureFixture) -> None:
    admin = nas.login()
    nas.nas.store.db.close()  # the database gone from under the server: a fault of its own
    with caplog.at_level(logging.ERROR, logger="sim.synology.web"):
        assert nas.call(admin, "list_conn") == error(100)
    (record,) = [r for r in caplog.records if r.name == "sim.synology.web"]
    assert record.exc_info is not None and record.exc_info[0] is sqlite3.ProgrammingError


# -- who sees and changes what -------------------------------------------------------------------

def test_a_user_sees_and_changes_only_their_own_connections(nas: Nas2) -> None:
    alice = nas.login("alice")
    listed = nas.call(alice, "list_conn")["data"]
    assert [(c["id"], c["user_name"]) for c in listed["conn"]] == [(7, "alice")]
    assert listed["is_admin_mode"] is False
    for method, params in [("get_connection_setting", {}), ("get_property", {}),
                           ("get_log", {}), ("list_sess", {}), ("unlink_connection", {}),
                           ("pause", {}), ("set_schedule_setting", {
                               "is_enabled_schedule": "true",
                               "schedule_info": '"' + "0" * 168 + '"'})]:
        assert nas.call(alice, method, connection_id="3", **params) == REFUSED, method
    for method in ("get_selective_sync_config", "set_session_setting"):
        assert nas.call(alice, method, session_id="4", sync_direction="ONLY_UPLOAD",
                        sync_attr_check_option="true", no_delete="true",
                        google_drive_convert_online_doc="false") == REFUSED, method
    info = {"conn_id": 3, "path": "/photos", "server_folder_path": "/x",
            "sync_direction": "ONLY_UPLOAD"}
    assert nas.call(alice, "create_session", conn_info=json.dumps(info)) == REFUSED
    assert nas.rows("SELECT id, paused FROM connections ORDER BY id") == [(3, 0), (5, 0),
                                                                         (7, 0)]
    # her own connection she changes
    assert nas.call(alice, "pause", connection_id="7") == {"success": True}
    assert nas.call(alice, "list_sess", connection_id="7")["data"]["total"] == 1
    assert nas.rows("SELECT paused FROM connections WHERE id = 7") == [(1,)]


def test_package_wide_settings_and_secrets_need_an_administrator(nas: Nas2) -> None:
    alice = nas.login("alice")
    before = nas.rows("SELECT * FROM config ORDER BY key")
    assert nas.call(alice, "set_global_config", repo_vol_path="/volume1", log_count="5",
                    worker_count="1", admin_mode="disable") == error(105)
    assert nas.call(alice, "pause") == error(105)  # every connection
    assert nas.call(alice, "resume") == error(105)
    assert nas.call(alice, "get_conn_auth_info", connection_id="7") == error(105)
    assert nas.rows("SELECT * FROM config ORDER BY key") == before


def test_the_relink_behaviour_is_each_users_own(nas: Nas2) -> None:
    admin, alice = nas.login(), nas.login("alice")
    assert nas.call(alice, "set_personal_config", sync_mode="true") == {"success": True}
    assert nas.call(alice, "get_config")["data"]["sync_mode"] is True
    assert nas.call(admin, "get_config")["data"]["sync_mode"] is False


def test_admin_mode_decides_whether_an_administrator_sees_everyone(nas: Nas2) -> None:
    admin = nas.login()
    listed = nas.call(admin, "list_conn")["data"]
    assert [c["id"] for c in listed["conn"]] == [3, 5, 7] and listed["is_admin_mode"] is True
    assert nas.call(admin, "get_connection_setting", connection_id="7")["success"] is True
    assert nas.call(admin, "set_global_config", repo_vol_path="/volume1", log_count="20000",
                    worker_count="3", admin_mode="disable") == {"success": True}
    listed = nas.call(admin, "list_conn")["data"]
    assert [c["id"] for c in listed["conn"]] == [3, 5] and listed["is_admin_mode"] is False
    assert nas.call(admin, "unlink_connection", connection_id="7") == REFUSED
    assert nas.rows("SELECT id FROM connections ORDER BY id") == [(3,), (5,), (7,)]


def test_recent_changes_show_only_what_the_caller_may_see(nas: Nas2) -> None:
    admin, alice = nas.login(), nas.login("alice")
    requests.post(f"{nas.server.url}/_test/advance?seconds=120", timeout=60)
    everyone = nas.call(admin, "get_recently_change")["data"]["history_items"]
    assert {i["base_name"] for i in everyone} == {"readme.txt", "notes.md"}
    assert nas.call(alice, "get_recently_change")["data"]["history_items"] == []


# -- the synotoken and the id cookie -------------------------------------------------------------

def _login_form(nas: Nas2, **extra: str) -> requests.Response:
    """A plain-form login (as a browser's, or a script's without the client)."""
    return requests.post(f"{nas.server.url}/webapi/auth.cgi", timeout=30, data={
        "api": "SYNO.API.Auth", "version": "7", "method": "login", "account": "admin",
        "passwd": "Admin-Pass-1", **extra})


def test_a_token_session_must_present_its_own_synotoken(nas: Nas2) -> None:
    sid, token = nas.login()
    _, other_token = nas.login()
    params = {"api": "SYNO.CloudSync", "version": "1", "method": "unlink_connection",
              "connection_id": "5", "_sid": sid}
    for headers in ({}, {"X-SYNO-TOKEN": "wrong"}, {"X-SYNO-TOKEN": other_token}):
        reply = requests.get(nas.url, params=params, headers=headers, timeout=30)
        assert reply.json() == error(119), headers
    assert nas.rows("SELECT id FROM connections ORDER BY id") == [(3,), (5,), (7,)]
    reply = requests.get(nas.url, params=params, headers={"X-SYNO-TOKEN": token}, timeout=30)
    assert reply.json() == {"success": True}


def test_a_session_without_enable_syno_token_needs_only_its_sid(nas: Nas2) -> None:
    sid = _login_form(nas).json()["data"]["sid"]
    reply = requests.get(nas.url, timeout=30, params={
        "api": "SYNO.CloudSync", "version": "1", "method": "list_conn", "_sid": sid})
    assert reply.json()["data"]["total"] == 3
    token_sid = _login_form(nas, enable_syno_token="yes").json()["data"]["sid"]
    reply = requests.get(nas.url, timeout=30, params={
        "api": "SYNO.CloudSync", "version": "1", "method": "list_conn", "_sid": token_sid})
    assert reply.json() == error(119)


def test_the_id_cookie_is_a_sid_that_always_needs_the_token(nas: Nas2) -> None:
    login = _login_form(nas, format="cookie")
    data = login.json()["data"]
    cookie = login.cookies.get("id")
    assert cookie == data["sid"] and "httponly" in login.headers["Set-Cookie"].lower()
    params = {"api": "SYNO.CloudSync", "version": "1", "method": "list_conn"}
    bare = requests.get(nas.url, params=params, cookies={"id": cookie}, timeout=30)
    assert bare.json() == error(119)  # a browser sends the cookie on its own: CSRF
    signed = requests.get(nas.url, params=params, cookies={"id": cookie}, timeout=30,
                          headers={"X-SYNO-TOKEN": data["synotoken"]})
    assert signed.json()["data"]["total"] == 3
    unknown = requests.get(nas.url, params=params, cookies={"id": "nope"}, timeout=30,
                           headers={"X-SYNO-TOKEN": data["synotoken"]})
    assert unknown.json() == error(119)


LOGOUT = {"api": "SYNO.API.Auth", "version": "7", "method": "logout"}
LIST = {"api": "SYNO.CloudSync", "version": "1", "method": "list_conn"}


def test_a_logout_follows_the_token_rule(nas: Nas2) -> None:
    """A logout ends a session: a token session's without its token, or a cookie's without
    the token (a cross-site logout), is 119 and the session lives on."""
    sid, token = nas.login()
    for headers in ({}, {"X-SYNO-TOKEN": "wrong"}):
        reply = requests.get(nas.url, params={**LOGOUT, "_sid": sid}, headers=headers,
                             timeout=30)
        assert reply.json() == error(119), headers
    assert nas.call((sid, token), "list_conn")["data"]["total"] == 3
    reply = requests.get(nas.url, params={**LOGOUT, "_sid": sid},
                         headers={"X-SYNO-TOKEN": token}, timeout=30)
    assert reply.json() == {"success": True}
    assert nas.call((sid, token), "list_conn") == error(119)

    login = _login_form(nas, format="cookie").json()["data"]  # no enable_syno_token
    cookies = {"id": login["sid"]}
    bare = requests.get(nas.url, params=LOGOUT, cookies=cookies, timeout=30)
    assert bare.json() == error(119) and "Set-Cookie" not in bare.headers
    signed = {"X-SYNO-TOKEN": login["synotoken"]}
    assert requests.get(nas.url, params=LIST, cookies=cookies, headers=signed,
                        timeout=30).json()["data"]["total"] == 3
    reply = requests.get(nas.url, params=LOGOUT, cookies=cookies, headers=signed, timeout=30)
    assert reply.json() == {"success": True} and reply.cookies.get("id") is None
    assert 'id=""' in reply.headers["Set-Cookie"]
    assert nas.rows(f"SELECT COUNT(*) FROM sessions WHERE sid = '{login['sid']}'") == [(0,)]
    # a request presenting no session has none to end (the client's own logout)
    assert requests.get(nas.url, params=LOGOUT, timeout=30).json() == {"success": True}


@pytest.mark.parametrize("params", [LIST, LOGOUT], ids=["list_conn", "logout"])
def test_an_id_cookie_that_is_not_utf8_names_no_session(
        nas: Nas2, caplog: pytest.LogCaptureFixture, params: dict[str, str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", nas.server.port, timeout=30)
    try:
        with caplog.at_level(logging.ERROR):
            connection.putrequest("GET", "/webapi/entry.cgi?" + urllib.parse.urlencode(params))
            connection.putheader("Cookie", b"id=\xff\xfe")
            connection.endheaders()
            reply = connection.getresponse()
            assert (reply.status, json.loads(reply.read())) == (200, error(119))
    finally:
        connection.close()
    assert [r.getMessage() for r in caplog.records] == []


def test_a_compound_is_one_request_of_its_session(nas: Nas2) -> None:
    """Its calls run as the session that sent it (authenticated by cookie here), whatever
    _sid a call names."""
    login = _login_form(nas, format="cookie", enable_syno_token="yes").json()["data"]
    alice_sid, _ = nas.login("alice")
    calls = [{"api": "SYNO.CloudSync", "method": "list_conn", "version": 1,
              "_sid": alice_sid}]
    reply = requests.post(nas.url, timeout=30, cookies={"id": login["sid"]},
                          headers={"X-SYNO-TOKEN": login["synotoken"]},
                          data={"api": "SYNO.Entry.Request", "method": "request",
                                "version": "2", "compound": json.dumps(calls)})
    assert reply.json()["data"]["result"][0]["data"]["total"] == 3


# -- paths ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/../../..", "/docs/../..", "/docs/a\x00b", "/nowhere",
                                  "/docs/" + "x" * 256, "docs", "/"])
def test_a_task_path_outside_a_share_is_120(nas: Nas2, path: str) -> None:
    admin = nas.login()
    info = {"conn_id": 5, "path": path, "server_folder_path": "/b",
            "sync_direction": "ONLY_UPLOAD"}
    for method in ("test_task_setting", "create_session"):
        assert nas.call(admin, method, conn_info=json.dumps(info)) == REFUSED, method
    assert nas.rows("SELECT id FROM tasks ORDER BY id") == [(4,), (8,)]


@pytest.mark.parametrize(("method", "params"), [
    ("create_session", {"conn_info": json.dumps({
        "conn_id": 5, "path": "/photos", "server_folder_path": "/a/../../b",
        "sync_direction": "ONLY_UPLOAD"})}),
    ("set_selective_sync_config", {
        "session_id": "4", "filtered_paths": '["/../x"]', "filtered_names": "[]",
        "filtered_extensions": "[]", "user_defined_names": "[]",
        "user_defined_extensions": "[]", "filtered_max_upload_size": "0"}),
    ("get_selective_folder_list", {"session_id": "4", "path": "/../..", "file_id": "x"}),
])
def test_remote_and_filter_paths_are_confined(nas: Nas2, method: str,
                                              params: dict[str, str]) -> None:
    admin = nas.login()
    before = nas.rows("SELECT * FROM tasks ORDER BY id")
    assert nas.call(admin, method, **params) == REFUSED
    assert nas.rows("SELECT * FROM tasks ORDER BY id") == before


def test_a_symlink_out_of_a_share_is_never_followed(nas: Nas2, tmp_path: Path) -> None:
    """A link in a share to a folder or file outside: a task cannot be made there, the
    engine neither uploads what it points at nor writes a download through it."""
    admin = nas.login()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("host secret")
    docs = nas.data / "shares" / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "out").symlink_to(outside)
    (docs / "passwd").symlink_to(outside / "secret.txt")
    (docs / "sub dir").symlink_to(outside)  # where the cloud's notes.md would come down
    info = {"conn_id": 5, "path": "/docs/out", "server_folder_path": "/b",
            "sync_direction": "ONLY_UPLOAD"}
    assert nas.call(admin, "create_session", conn_info=json.dumps(info)) == REFUSED
    requests.post(f"{nas.server.url}/_test/advance?seconds=120", timeout=60)
    assert sorted(os.listdir(outside)) == ["secret.txt"]  # nothing written through
    remote = set(nas.nas.drive_by_id(3).container("files").objects)
    assert remote == {"/docs/readme.txt", "/docs/sub dir/notes.md"}  # nothing of outside
    assert (docs / "readme.txt").read_text() == "hello from the cloud"
    errors = nas.call(admin, "get_log", connection_id="3", log_level="2")["data"]["items"]
    # refused in each round (it is retried), the rest of each round done
    assert {(e["action"], e["path"]) for e in errors} == {(1, "/docs/sub dir/notes.md")}


def test_a_hard_link_in_a_share_is_not_uploaded(nas: Nas2, tmp_path: Path) -> None:
    """A second name in a share for a file outside it: its bytes are not the share's own, so
    each round refuses it (logged as an error) and does the rest."""
    admin = nas.login()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("host secret")
    docs = nas.data / "shares" / "docs"
    docs.mkdir(exist_ok=True)
    os.link(outside / "secret.txt", docs / "innocent.txt")
    (docs / "own.txt").write_text("the share's own")
    requests.post(f"{nas.server.url}/_test/advance?seconds=120", timeout=60)
    remote = set(nas.nas.drive_by_id(3).container("files").objects)
    assert remote == {"/docs/readme.txt", "/docs/sub dir/notes.md", "/docs/own.txt"}
    errors = nas.call(admin, "get_log", connection_id="3", log_level="2")["data"]["items"]
    assert {(e["action"], e["path"]) for e in errors} == {(2, "/docs/innocent.txt")}
    assert (outside / "secret.txt").read_text() == "host secret"


def test_a_share_replaced_by_a_symlink_is_no_share(nas: Nas2, tmp_path: Path) -> None:
    admin = nas.login()
    (tmp_path / "elsewhere").mkdir()
    photos = nas.data / "shares" / "photos"
    photos.rmdir()
    photos.symlink_to(tmp_path / "elsewhere")
    info = {"conn_id": 5, "path": "/photos", "server_folder_path": "/b",
            "sync_direction": "ONLY_UPLOAD"}
    assert nas.call(admin, "test_task_setting", conn_info=json.dumps(info)) == REFUSED
    (tmp_path / "elsewhere" / "x.txt").write_text("x")
    requests.post(f"{nas.server.url}/_test/advance?seconds=120", timeout=60)
    assert set(nas.nas.drive_by_id(7).container("files").objects) == set()  # task 8


# -- test control --------------------------------------------------------------------------------

def test_advancing_by_no_time_is_nothing_to_run(nas: Nas2,
                                                caplog: pytest.LogCaptureFixture) -> None:
    url = f"{nas.server.url}/_test/advance"
    with caplog.at_level(logging.ERROR):
        for value, now in (("0", 0), ("0.0", 0), ("60", 60), ("0", 60)):
            reply = requests.post(url, params={"seconds": value}, timeout=60)
            assert (reply.status_code, reply.json()) == (200, {"success": True, "now": now})
    assert caplog.records == []


@pytest.mark.parametrize("value", ["abc", "-5", "1e3", "nan", "99999999"])
def test_advance_refuses_what_is_not_a_number_of_seconds(nas: Nas2, value: str) -> None:
    reply = requests.post(f"{nas.server.url}/_test/advance", params={"seconds": value},
                          timeout=30)
    assert (reply.status_code, reply.text) == (
        400, f"seconds must be a number within 0..10000000, got {value!r}\n")
    assert nas.nas.env.now == 0


def test_device_control_refuses_unknown_values(nas: Nas2) -> None:
    reply = requests.post(f"{nas.server.url}/_test/device?ethernet=sideways", timeout=30)
    assert (reply.status_code, reply.text) == (400, "ethernet must be up or down, got "
                                                    "'sideways'\n")
    reply = requests.post(f"{nas.server.url}/_test/device?toaster=up", timeout=30)
    assert (reply.status_code, reply.text) == (400, "unknown control 'toaster': this NAS "
                                                    "has ethernet only\n")


@pytest.mark.parametrize("query", ["wifi=down", "ethernet=down&wifi=down",
                                   "ethernet=down&cellular=up"])
def test_device_control_refuses_an_interface_the_nas_lacks_and_changes_nothing(
        nas: Nas2, caplog: pytest.LogCaptureFixture, query: str) -> None:
    """The NAS has only ethernet: every value is checked before any is applied."""
    with caplog.at_level(logging.ERROR):
        reply = requests.post(f"{nas.server.url}/_test/device?{query}", timeout=30)
    name = query.rsplit("&", 1)[-1].split("=")[0]
    assert (reply.status_code, reply.text) == (
        400, f"unknown control {name!r}: this NAS has ethernet only\n")
    assert nas.nas.device.radios["ethernet"].up is True
    assert [r.getMessage() for r in caplog.records] == []
    reply = requests.post(f"{nas.server.url}/_test/device?ethernet=down", timeout=30)
    assert (reply.status_code, reply.json()) == (200, {"success": True})
    assert nas.nas.device.radios["ethernet"].up is False
