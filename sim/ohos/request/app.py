"""What the download and upload services use of the ``request`` module that made them.

:class:`~sim.ohos.request.api.RequestModule` creates the services; they see it only as an
:class:`App` — the device, the calling app and its sandbox, the fidelity profile — so the
dependency runs one way, from the namespace down to the services.
"""

from __future__ import annotations

from typing import Protocol

from sim.device.device import Device
from sim.ohos.common import AppSandbox, Caller
from sim.ohos.request.fidelity import RequestFidelity


class App(Protocol):
    """The calling app's side of a transfer service."""

    @property
    def device(self) -> Device: ...
    @property
    def caller(self) -> Caller: ...
    @property
    def sandbox(self) -> AppSandbox: ...
    @property
    def fidelity(self) -> RequestFidelity: ...
