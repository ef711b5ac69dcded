"""The ``nas`` target: any SYNO.CloudSync endpoint over HTTP or HTTPS — the emulator, or a
real NAS.

It logs in with the unmodified ``synology-api`` client (so the DSM 7 handshake is the real
one) and then makes raw calls with the session, so a machine can also send what the client
would correct (a 167-character schedule) or never send (an unknown method). Over HTTPS the
NAS's certificate is verified — against the system's CAs, or a PEM file naming the NAS's own
self-signed certificate — unless verification is switched off outright.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import requests
from synology_api import base_api
from synology_api.cloud_sync import CloudSync

from conformance.options import NAS_PASSWORD_ENV

MUTATING = frozenset({
    "set_global_config", "set_personal_config", "set_connection_setting",
    "set_schedule_setting", "set_session_setting", "set_selective_sync_config", "pause",
    "resume", "unlink_connection", "unlink_session", "create_session"})


class ReadOnlyRefused(RuntimeError):
    """A mutating call on a ``read_only`` target."""


class NasTarget:
    """One logged-in session on a SYNO.CloudSync endpoint."""

    has_controls = False
    exchanges_kept: ClassVar[bool] = False
    """While true, each session keeps its requests and responses (:attr:`exchanges`): a
    failing trace's replay attaches them to its report."""

    def __init__(self, host: str, port: int, user: str, password: str, *,
                 read_only: bool = False, otp_code: str | None = None,
                 disposable: bool = False, test_clock: bool = False,
                 on_close: Callable[[], None] | None = None, secure: bool = False,
                 verify: bool | str = True) -> None:
        """``host`` is a name or an address (an IPv6 one without brackets); ``secure``
        speaks HTTPS, its certificate checked as ``requests`` takes ``verify``: true for the
        system's CAs, a PEM file's path, or false for no check."""
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        scheme = "https" if secure else "http"
        self.base = f"{scheme}://{netloc}/webapi/entry.cgi"
        self.test_clock = test_clock
        """The emulator serves ``/_test/advance``: a machine can let the NAS's simulated time
        pass (its engine syncs, writes logs). A real NAS keeps its own time."""
        self._advance_url = f"{scheme}://{netloc}/_test/advance"
        self._on_close = on_close
        """What ends with the session: the emulator made for it."""
        self.read_only = read_only
        self.disposable = disposable
        """An emulator made for this run: calls that destroy what a real NAS holds (removing
        a cloud connection) are made only here."""
        if not password:
            # the client's own words would be "Missing required credentials for initial
            # authentication."; say what is missing
            raise ValueError(f"no password for user {user!r} on {scheme}://{netloc} (set "
                             f"${NAS_PASSWORD_ENV})")
        base_api.BaseApi.shared_session = None  # the client shares one session class-wide
        # the client builds its URL from the host as given, and hands cert_verify to
        # requests as ``verify`` (so a PEM file's path works as it does for requests)
        self.client = CloudSync(netloc.rsplit(":", 1)[0], str(port), user, password,
                                secure=secure, cert_verify=verify if secure else False,
                                dsm_version=7, debug=False, otp_code=otp_code)
        session = self.client.session
        self.sid: str = session._sid
        self.token: str | None = session._syno_token
        # one kept-alive connection for the machine's many calls; on loopback, no proxy
        # lookup in the environment for each of them
        self.http = requests.Session()
        self.http.verify = verify
        self.http.trust_env = host not in ("127.0.0.1", "localhost", "::1")
        self.exchanges: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One SYNO.CloudSync call; the decoded JSON reply (``success``, ``data``/``error``)."""
        if self.read_only and method in MUTATING:
            raise ReadOnlyRefused(method)
        query = {"api": "SYNO.CloudSync", "version": "1", "method": method,
                 **{k: _wire(v) for k, v in params.items()}, "_sid": self.sid}
        headers = {"X-SYNO-TOKEN": self.token} if self.token else {}
        reply = self.http.get(self.base, params=query, headers=headers, timeout=60)
        if self.exchanges_kept:
            shown = {k: v for k, v in query.items() if k != "_sid"}  # no credentials
            self.exchanges.append({"request": f"GET {self.base}", "params": shown,
                                   "status": reply.status_code, "response": reply.text[:2000]})
        reply.raise_for_status()
        body: dict[str, Any] = reply.json()
        return body

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of the emulator's simulated time pass (only with ``test_clock``)."""
        if not self.test_clock:
            raise RuntimeError("this NAS keeps its own time: no /_test/advance")
        reply = self.http.post(self._advance_url, params={"seconds": seconds}, timeout=120)
        reply.raise_for_status()
        if not reply.json().get("success"):
            raise RuntimeError(f"/_test/advance refused {seconds} s: {reply.text[:200]}")

    def close(self) -> None:
        try:
            self.http.close()
            base_api.BaseApi.shared_session = None
        finally:
            if self._on_close is not None:
                self._on_close()


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
