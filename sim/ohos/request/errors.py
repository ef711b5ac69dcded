"""How ``@ohos.request`` reports a bad call, per fidelity profile."""

from __future__ import annotations

from sim.ohos.common import BusinessError
from sim.ohos.request.constants import EXCEPTION_PARAMCHECK, MESSAGES
from sim.ohos.request.fidelity import RequestFidelity


class JsError(Exception):
    """A plain JavaScript ``Error`` with no ``code``: what release 3.2's legacy entry points
    throw through ``NAPI_ASSERT`` for a bad argument (research §2.2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def business_error(code: int, detail: str = "") -> BusinessError:
    """The runtime's error: its message for ``code``, then three spaces and the detail."""
    message = MESSAGES[code]
    return BusinessError(code, f"{message}   {detail}" if detail else message)


def param_error(fidelity: RequestFidelity, detail: str) -> Exception:
    """A bad argument: 401 by the documents, a plain assertion Error on release 3.2."""
    if fidelity.plain_param_errors:
        return JsError(f"assertion (false) failed: {detail}")
    return business_error(EXCEPTION_PARAMCHECK, detail)
