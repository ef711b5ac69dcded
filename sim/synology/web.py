"""The emulated NAS's web server: DSM's web API on ``/webapi/*.cgi``.

``NasServer`` serves the :class:`~sim.synology.state.Nas`: dispatch on ``api``/``method``/
``version``, the parameters of a query and of a POST body (URL-encoded or multipart, with its
Content-Encoding undone), the DSM 7 login handshake, sessions by ``_sid`` (or the ``id``
cookie) with the synotoken checked, ``SYNO.Entry.Request`` compounds, and — only with
``test_control`` — an endpoint that advances simulated time and changes the device's
conditions.

Every input is treated as hostile: whatever arrives, the reply is a documented DSM code with
HTTP 200 (100 only for a fault of the emulator itself, logged with its traceback).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import sqlite3
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import pyotp
from aiohttp import BodyPartReader, MultipartReader, StreamReader, hdrs, web
from aiohttp.base_protocol import BaseProtocol

from sim.servers import coding
from sim.servers.threaded import ThreadedServer
from sim.synology import crypto, methods
from sim.synology.errors import (
    INVALID_PARAMETER,
    INVALID_SESSION,
    LOST_PARAMETER,
    NO_PARAMETER,
    NO_SUCH_API,
    NO_SUCH_METHOD,
    OTP_FAILED,
    OTP_REQUIRED,
    SESSION_TIMEOUT,
    UNKNOWN,
    VERSION_UNSUPPORTED,
    WRONG_PASSWORD,
    SynoError,
)
from sim.synology.state import Nas

APIS: dict[str, dict[str, Any]] = {
    "SYNO.API.Info": {"path": "query.cgi", "minVersion": 1, "maxVersion": 1},
    "SYNO.API.Auth": {"path": "entry.cgi", "minVersion": 1, "maxVersion": 7},
    "SYNO.API.Auth.UIConfig": {"path": "entry.cgi", "minVersion": 1, "maxVersion": 1},
    "SYNO.API.Encryption": {"path": "entry.cgi", "minVersion": 1, "maxVersion": 1},
    "SYNO.Entry.Request": {"path": "entry.cgi", "minVersion": 1, "maxVersion": 2},
    "SYNO.CloudSync": {"path": "entry.cgi", "minVersion": 1, "maxVersion": 1},
}
log = logging.getLogger(__name__)

_SECONDS = re.compile(r"[0-9]{1,8}(\.[0-9]{1,9})?")
MAX_BODY = 1024**2
"""The largest POST body read, as sent and once its Content-Encoding is undone."""
MAX_FIELDS = 1000
"""The most form fields a body may carry."""
MAX_ADVANCE_S = 10**7


@dataclass(frozen=True)
class Credentials:
    """What a request presents to be a session: its sid (from ``_sid``, else the ``id``
    cookie DSM's web UI sends) and its synotoken (the ``X-SYNO-TOKEN`` header, else the
    ``SynoToken`` parameter). Either may hold what is not text (a cookie's or header's bytes
    that are not UTF-8): such a sid names no session."""

    sid: str | None
    by_cookie: bool
    token: str | None


def _credentials(request: web.Request, params: dict[str, str]) -> Credentials:
    sid = params.get("_sid") or None
    by_cookie = False
    if sid is None and request.cookies.get("id"):
        sid, by_cookie = request.cookies["id"], True
    token = request.headers.get("X-SYNO-TOKEN") or params.get("SynoToken") or None
    return Credentials(sid, by_cookie, token)


def _api_from_path(path: str) -> str:
    """The API named by a path-style URL (``entry.cgi/SYNO.API.Auth.UIConfig``); none for a
    plain CGI path, so a request without ``api`` is 101 rather than a made-up API name."""
    last = path.rsplit("/", 1)[-1]
    return last if last.startswith("SYNO.") else ""


async def _form(request: web.Request, body: bytes) -> dict[str, str]:
    """A decoded POST body's text fields, as DSM reads a form: URL-encoded or
    ``multipart/form-data``. A body without a Content-Type is read as URL-encoded, as DSM's
    CGI reads one; a body of any other type (``application/octet-stream`` given as such
    included) carries no parameters. A later field of the same name wins."""
    charset = request.charset or "utf-8"
    # aiohttp reports a missing Content-Type as application/octet-stream: look at the header
    typed = request.headers.get(hdrs.CONTENT_TYPE, "").strip() != ""
    if not typed or request.content_type == "application/x-www-form-urlencoded":
        text = body.rstrip().decode(charset)
        return dict(urllib.parse.parse_qsl(text, keep_blank_values=True, encoding=charset,
                                           max_num_fields=MAX_FIELDS)) if text else {}
    if request.content_type != "multipart/form-data":
        return {}
    stream = StreamReader(BaseProtocol(asyncio.get_running_loop()), 2**16)
    stream.feed_data(body)
    stream.feed_eof()
    reader = MultipartReader(request.headers, stream, client_max_size=MAX_BODY)
    fields: dict[str, str] = {}
    count = 0
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise ValueError("a multipart inside a form")
        if part.name is None:
            raise ValueError("a form field without a name")
        count += 1
        if count > MAX_FIELDS:
            raise ValueError(f"more than {MAX_FIELDS} form fields")
        value = await part.read(decode=True)
        field_type = part.headers.get("Content-Type")
        if not part.filename and (field_type is None or field_type.startswith("text/")):
            fields[part.name] = bytes(value).decode(part.get_charset(default="utf-8"))
    return fields


def _is_text(value: str) -> bool:
    """Whether ``value`` can be stored: JSON may carry lone surrogates that UTF-8 cannot."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _error(code: int) -> web.Response:
    return web.json_response({"success": False, "error": {"code": code}})


def _bad_request(reason: str) -> web.Response:
    return web.Response(status=400, text=reason + "\n")


class NasServer(ThreadedServer):
    """The NAS's web server (on 127.0.0.1 unless told otherwise), in its own thread."""

    thread_name = "nas-http"

    def __init__(self, nas: Nas, port: int = 0, *, test_control: bool = False,
                 realtime: bool = True, host: str = "127.0.0.1") -> None:
        super().__init__(port, host=host)
        self.nas = nas
        self.test_control = test_control
        self.realtime = realtime and not test_control
        self.ssid = crypto.new_ssid()
        crypto.rsa_key()

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/webapi/{path:.*}", self._handle)
        if self.test_control:
            app.router.add_post("/_test/advance", self._advance)
            app.router.add_post("/_test/device", self._device)
        return app

    async def started(self) -> None:
        if self.realtime:
            asyncio.get_running_loop().create_task(self._clock())

    async def _clock(self) -> None:
        """Simulated time follows the wall clock."""
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.2)
            now = time.monotonic()
            try:
                self.nas.advance(now - last)
            except Exception:  # the clock must not stop: the fault is logged, time goes on
                log.exception("advancing the NAS's clock failed")
            last = now

    # -- test control --------------------------------------------------------------------------

    async def _advance(self, request: web.Request) -> web.Response:
        text = request.query.get("seconds", "0")
        if not _SECONDS.fullmatch(text) or float(text) > MAX_ADVANCE_S:
            return _bad_request(f"seconds must be a number within 0..{MAX_ADVANCE_S}, "
                                f"got {text!r}")
        try:
            self.nas.advance(float(text))
        except Exception:
            log.exception("advancing the NAS's clock by %s s failed", text)
            return _error(UNKNOWN)
        return web.json_response({"success": True, "now": self.nas.env.now})

    async def _device(self, request: web.Request) -> web.Response:
        """Bring the device's network interfaces up or down (``ethernet=down``). Every value
        is checked before any is applied: one the device cannot take (an interface it does
        not have) is a 400 and changes nothing."""
        radios = tuple(self.nas.device.radios)
        for name, value in request.query.items():
            if name not in radios:
                return _bad_request(f"unknown control {name!r}: this NAS has "
                                    f"{' and '.join(radios) or 'no network interface'} only")
            if value not in ("up", "down"):
                return _bad_request(f"{name} must be up or down, got {value!r}")
        controls = self.nas.device.controls
        with self.nas.lock:
            for name, value in request.query.items():
                controls.set_radio(name, value == "up")
        return web.json_response({"success": True})

    # -- the web API ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            params = await self._params(request)
        except SynoError as exc:
            return await self._refuse_body(request, exc.code)
        try:
            credentials = _credentials(request, params)
            api = params.get("api") or _api_from_path(request.match_info["path"])
            with self.nas.lock:
                data, cookies = self._dispatch(api, params, credentials)
        except SynoError as exc:
            return _error(exc.code)
        except Exception:  # never a 500: a fault of the emulator is DSM's "unknown error"
            log.exception("internal fault answering %s %s", request.method, request.path)
            return _error(UNKNOWN)
        response = web.json_response({"success": True, "data": data} if data is not None
                                     else {"success": True})
        for name, value in (cookies or {}).items():
            if value is None:
                response.del_cookie(name, path="/")
            else:
                response.set_cookie(name, value, path="/", httponly=name == "id",
                                    samesite="Strict" if name == "id" else None)
        return response

    async def _refuse_body(self, request: web.Request, code: int) -> web.Response:
        """The reply to a body that could not be read. When the body's stream itself broke (a
        malformed chunked encoding), what is left of it cannot be drained for the next request
        on the connection: the reply is sent and the connection closed."""
        response = _error(code)
        if request.content.exception() is not None and not isinstance(
                request.content.exception(), ConnectionError):
            response.force_close()
            # when the stream broke mid-body the HTTP layer has already given up the
            # connection: nothing can be sent, it is closed at once rather than left hanging
            with contextlib.suppress(ConnectionError):
                await response.prepare(request)
                await response.write_eof()
            request.protocol.force_close()
        return response

    async def _params(self, request: web.Request) -> dict[str, str]:
        """The query's parameters, and a POST body's form fields over them."""
        params: dict[str, str] = dict(request.query)
        if request.method == "POST" and request.body_exists:
            try:
                raw = await request.read()  # all of it, at most MAX_BODY as sent
                body = coding.decode(raw, coding.codings(request.headers), MAX_BODY)
                params.update(await _form(request, body))
            # whatever stops the body being read — an unknown or false Content-Encoding, one
            # that inflates past MAX_BODY, a multipart type over a plain body, an unknown
            # charset, bytes that are not the charset, a body cut short or too large — is the
            # request's fault: its parameters are bad
            except Exception as exc:
                raise SynoError(INVALID_PARAMETER, f"unreadable body: {exc!r}") from None
        return params

    def _dispatch(self, api: str, params: dict[str, str], credentials: Credentials,
                  session: sqlite3.Row | None = None,
                  ) -> tuple[Any, dict[str, str | None] | None]:
        """The reply's data and the cookies to set (None: delete). ``session`` is given for
        the calls of a compound, whose request was authenticated once."""
        if not all(_is_text(k) and _is_text(v) for k, v in params.items()):
            raise SynoError(INVALID_PARAMETER, "a parameter is not text")
        if api not in APIS:
            raise SynoError(NO_SUCH_API if api else NO_PARAMETER, api)
        if "method" not in params or "version" not in params:
            raise SynoError(NO_PARAMETER, "api, method and version are required")
        method = params["method"]
        version = methods.parse_int(params["version"])
        if version is None:
            raise SynoError(NO_PARAMETER, "version must be a number")
        spec = APIS[api]
        if not spec["minVersion"] <= version <= spec["maxVersion"]:
            raise SynoError(VERSION_UNSUPPORTED, f"{api} v{version}")
        if api == "SYNO.API.Info":
            if method != "query":
                raise SynoError(NO_SUCH_METHOD, method)
            return APIS, None
        if api == "SYNO.API.Auth.UIConfig":
            if method != "get":
                raise SynoError(NO_SUCH_METHOD, method)
            return {}, {"_SSID": self.ssid}
        if api == "SYNO.API.Encryption":
            if method != "getinfo":
                raise SynoError(NO_SUCH_METHOD, method)
            return {"cipherkey": crypto.CIPHER_KEY, "ciphertoken": crypto.CIPHER_TOKEN,
                    "public_key": crypto.public_key_hex(), "server_time": int(time.time())}, None
        if api == "SYNO.API.Auth":
            return self._auth(method, params, credentials)
        if session is None:
            session = self._session(credentials)
        if api == "SYNO.Entry.Request":
            if method != "request":
                raise SynoError(NO_SUCH_METHOD, method)
            return self._compound(params, credentials, session), None
        handler = methods.METHODS.get(method)
        if handler is None:
            raise SynoError(NO_SUCH_METHOD, method)
        return handler(self.nas, params, session), None

    def _auth(self, method: str, params: dict[str, str], credentials: Credentials,
              ) -> tuple[Any, dict[str, str | None] | None]:
        if method == "logout":
            # a session presented is checked as for any call — a logout is a change, so a
            # cross-site request cannot end a session (119); a request presenting none (as the
            # client's own logout) has nothing to end
            if credentials.sid:
                session = self._session(credentials)
                with self.nas.store.tx() as db:
                    db.execute("DELETE FROM sessions WHERE sid = ?", (session["sid"],))
            return None, {"id": None} if credentials.by_cookie else None
        if method != "login":
            raise SynoError(NO_SUCH_METHOD, method)
        fields = dict(params)
        if crypto.CIPHER_KEY in params:
            try:
                fields.update(crypto.decrypt_login(params[crypto.CIPHER_KEY]))
            except ValueError:
                raise SynoError(WRONG_PASSWORD, "unreadable credentials") from None
        if "account" not in fields or "passwd" not in fields:
            raise SynoError(LOST_PARAMETER, "account and passwd are required")
        user = self.nas.store.check_password(fields["account"], fields["passwd"])
        if user is None:
            raise SynoError(WRONG_PASSWORD)
        if user["totp_secret"]:
            code = params.get("otp_code", "")
            if not code:
                raise SynoError(OTP_REQUIRED)
            if not pyotp.TOTP(user["totp_secret"]).verify(code, valid_window=1):
                raise SynoError(OTP_FAILED)
        sid, token = self.nas.store.new_session(
            user["name"], self.nas.session_ttl_s,
            token_required=fields.get("enable_syno_token") == "yes")
        cookies: dict[str, str | None] | None = {"id": sid} \
            if fields.get("format") == "cookie" else None
        return {"sid": sid, "synotoken": token, "account": user["name"]}, cookies

    def _session(self, credentials: Credentials) -> sqlite3.Row:
        """The caller's session. One that logged in with ``enable_syno_token=yes`` — and any
        presented by cookie, which a browser sends on its own — must come with its own
        synotoken (DSM's protection against cross-site requests), else 119."""
        if not credentials.sid:
            raise SynoError(INVALID_SESSION, "no _sid")
        if not _is_text(credentials.sid):  # an ``id`` cookie of bytes that are not UTF-8
            raise SynoError(INVALID_SESSION, "a sid that is not text")
        session = self.nas.store.session(credentials.sid)
        if session is None:
            raise SynoError(INVALID_SESSION, "unknown _sid")
        if session["expires"] < time.time():
            raise SynoError(SESSION_TIMEOUT)
        if session["token_required"] or credentials.by_cookie:
            given = (credentials.token or "").encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(given, session["synotoken"].encode()):
                raise SynoError(INVALID_SESSION, "synotoken missing or not the session's")
        return session

    def _compound(self, params: dict[str, str], credentials: Credentials,
                  session: sqlite3.Row) -> dict[str, Any]:
        """``SYNO.Entry.Request``: the calls of ``compound`` in order, as the session that
        sent them; a compound inside a compound is refused (120)."""
        if "compound" not in params:
            raise SynoError(LOST_PARAMETER, "missing compound")
        calls = methods.json_value("compound", params["compound"])
        if not isinstance(calls, list):
            raise SynoError(INVALID_PARAMETER, "compound must be a JSON list")
        if params.get("mode", "sequential") not in ("sequential", "parallel"):
            raise SynoError(INVALID_PARAMETER, "mode must be sequential or parallel")
        stop = methods.bool_param(params, "stop_when_error", default=False)
        results, failed = [], False
        for call in calls:
            if not isinstance(call, dict):
                results.append({"success": False, "error": {"code": NO_PARAMETER}})
                failed = True
            else:
                # the reply names the call by its api and method when they are text (a
                # nested value echoed back could be too deep to encode)
                named = {k: v if isinstance(v, str) else None
                         for k, v in (("api", call.get("api")), ("method", call.get("method")))}
                try:
                    data = self._call(call, credentials, session)
                    results.append({**named, "success": True, "data": data})
                except SynoError as exc:
                    results.append({**named, "success": False, "error": {"code": exc.code}})
                    failed = True
            if failed and stop:
                break
        return {"has_fail": failed, "result": results}

    def _call(self, call: dict[str, Any], credentials: Credentials, session: sqlite3.Row) -> Any:
        """One call of a compound, its values as the wire would carry them."""
        try:
            sub = {k: v if isinstance(v, str) else json.dumps(v) for k, v in call.items()}
        except RecursionError:
            raise SynoError(INVALID_PARAMETER, "a value nests too deep") from None
        api = sub.get("api", "")
        if api == "SYNO.Entry.Request":
            raise SynoError(INVALID_PARAMETER, "a compound inside a compound")
        data, _ = self._dispatch(api, sub, credentials, session)
        return data
