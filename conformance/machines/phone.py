"""One phone, two APIs: the cloudSync and @ohos.request machines' rules interleaved on one
simulated device — the same battery, radios, storage and link — so what one API does to the
device (a download's bytes on the link and in storage, a radio a sync rule switches off) is
what the other sees, and every rule and invariant of both must still hold.

Downloads are let run to their end before the next step (their outcome is predicted at their
start, and the cloudSync rules change the network at any time)."""

from __future__ import annotations

from typing import Any

from conformance.machines.base import Step
from conformance.machines.cloudsync import CloudSyncMachine
from conformance.machines.request import RequestMachine


class PhoneMachine(CloudSyncMachine, RequestMachine):
    """cloudSync's target owns the device; the request module is built on it."""

    settle_each_download = True

    def make_device(self) -> Any:
        self.target = self.target_factory()
        return self.target.device

    def teardown(self) -> None:
        try:
            RequestMachine.teardown(self)
        finally:
            CloudSyncMachine.teardown(self)

    @classmethod
    def tour(cls) -> list[Step]:
        return CloudSyncMachine.tour() + RequestMachine.tour()
