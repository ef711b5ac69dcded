"""One device, three APIs: the cloudSync, @ohos.request and SYNO.CloudSync machines' rules
interleaved on one simulated device — the same clock, battery, radios, storage and link — as
on a bring-up board that runs all three stacks. What one API does to the device (a download's
bytes on the link and in storage, a radio a sync rule switches off, the NAS engine's transfers
and the time that passes for them) is what the others see, and every rule and invariant of all
three must still hold.

The NAS is the emulator, made afresh for each example on the example's device and served on
127.0.0.1 (only simulated time that the machine lets pass moves it). Downloads are let run to
their end before the next step (their outcome is predicted at their start, and the cloudSync
rules change the network at any time)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from conformance.machines.base import Step
from conformance.machines.cloudsync import CloudSyncMachine
from conformance.machines.request import RequestMachine
from conformance.machines.synology import SynologyMachine
from conformance.targets.nas import NasTarget
from conformance.targets.reference import ReferenceRequest
from sim.synology import Nas, NasServer


class DeviceMachine(CloudSyncMachine, RequestMachine, SynologyMachine):
    """cloudSync's target owns the device; the request module and the NAS are built on it.

    Bind :attr:`nas_seed` and :attr:`nas_login` (user, password) for a run."""

    settle_each_download = True
    nas_seed: ClassVar[Any] = None
    nas_login: ClassVar[tuple[str, str]] = ("", "")

    def make_nas(self) -> NasTarget:

        # SynologyMachine's __init__ runs first in the chain: the device is made here
        self.target = self.target_factory()
        self.nas_dir = Path(tempfile.mkdtemp(prefix="syncrig-nas-"))
        self.emulator = Nas(self.nas_dir, self.nas_seed, device=self.target.device)
        self.nas_server = NasServer(self.emulator, test_control=True).start()
        user, password = self.nas_login
        return NasTarget("127.0.0.1", self.nas_server.port, user, password, disposable=True)

    def make_request_target(self) -> ReferenceRequest:
        return ReferenceRequest(fidelity=self.request_fidelity, device=self.target.device,
                                own_device=False)

    def teardown(self) -> None:
        try:
            RequestMachine.teardown(self)
        finally:
            try:
                SynologyMachine.teardown(self)
                self.nas_server.stop()
                self.emulator.store.close()
                shutil.rmtree(self.nas_dir, ignore_errors=True)
            finally:
                CloudSyncMachine.teardown(self)

    @classmethod
    def tour(cls) -> list[Step]:
        return CloudSyncMachine.tour() + RequestMachine.tour() + SynologyMachine.tour()
