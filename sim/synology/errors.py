"""Synology Web API errors; the codes come from the spec table (sim.spec.synology)."""

from __future__ import annotations

from sim.spec.synology import (
    INVALID_PARAMETER,
    INVALID_SESSION,
    LOST_PARAMETER,
    NO_PARAMETER,
    NO_PERMISSION,
    NO_SUCH_API,
    NO_SUCH_METHOD,
    OTP_FAILED,
    OTP_REQUIRED,
    SESSION_TIMEOUT,
    UNKNOWN,
    VERSION_UNSUPPORTED,
    WRONG_PASSWORD,
)

__all__ = ["INVALID_PARAMETER", "INVALID_SESSION", "LOST_PARAMETER", "NO_PARAMETER",
           "NO_PERMISSION", "NO_SUCH_API", "NO_SUCH_METHOD", "OTP_FAILED", "OTP_REQUIRED",
           "SESSION_TIMEOUT", "UNKNOWN", "VERSION_UNSUPPORTED", "WRONG_PASSWORD", "SynoError"]


class SynoError(Exception):
    """A request that fails with a Synology error code; the reply is HTTP 200 with
    ``{"success": false, "error": {"code": N}}``."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return f"Synology error {self.code}" + (f": {self.detail}" if self.detail else "")
