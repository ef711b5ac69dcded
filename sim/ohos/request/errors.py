"""How ``@ohos.request`` reports a bad call, per fidelity profile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


def bad_call(fidelity: RequestFidelity, detail: str, *, api9: bool) -> Exception:
    """A bad argument to a call: the API 9 forms (``downloadFile``, ``suspend``, …) check
    their arguments with 401 on every profile; the legacy ones as :func:`param_error` says."""
    if api9:
        return business_error(EXCEPTION_PARAMCHECK, detail)
    return param_error(fidelity, detail)


def given(args: tuple[object, ...], mandatory: int = 0) -> tuple[object, ...]:
    """The arguments a JavaScript call passed, trailing ``undefined`` (None) dropped past the
    first ``mandatory``: an optional argument given as undefined is one not given, a
    mandatory one given as undefined is a bad value of it."""
    end = len(args)
    while end > mandatory and args[end - 1] is None:
        end -= 1
    return args[:end]


def callback_only(fidelity: RequestFidelity, args: tuple[object, ...], *,
                  api9: bool) -> Callable[..., Any] | None:
    """The optional callback of a method that takes nothing else: more than one argument, or
    one that is not a function, is a bad call (``CheckParameterCorrect``, §2.2)."""
    args = given(args)
    if len(args) > 1:
        raise bad_call(fidelity, "need 0 or 1 parameter", api9=api9)
    if args and not callable(args[0]):
        raise bad_call(fidelity, "callback is not a function", api9=api9)
    return args[0] if args else None  # type: ignore[return-value]
