"""Synology Web API error codes, as DSM and the ``synology-api`` client number them."""

from __future__ import annotations

UNKNOWN = 100
NO_PARAMETER = 101
NO_SUCH_API = 102
NO_SUCH_METHOD = 103
VERSION_UNSUPPORTED = 104
NO_PERMISSION = 105
SESSION_TIMEOUT = 106
LOST_PARAMETER = 114
INVALID_SESSION = 119
INVALID_PARAMETER = 120
"""DSM's "invalid parameter" (the client's table reserves 120-149): a value that is ill-typed,
out of range, or names a connection or task that does not exist."""

WRONG_PASSWORD = 400
OTP_REQUIRED = 403
OTP_FAILED = 404


class SynoError(Exception):
    """A request that fails with a Synology error code; the reply is HTTP 200 with
    ``{"success": false, "error": {"code": N}}``."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return f"Synology error {self.code}" + (f": {self.detail}" if self.detail else "")
