"""No sequence of faults loses a file or presents a partial one (property-based).

A state machine interleaves local edits, edits from "another device" in the cloud, radio loss,
battery levels, quota changes, start and stop. Throughout, no partial download is visible and no
partial upload exists in the cloud; at the end, with conditions restored, one sync completes and
leaves local and cloud holding the same files with equal SHA-256, every live content among them.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sim.cloud import CloudService
from sim.device import Device
from sim.fs import TEMP_PREFIX
from sim.ohos.cloudsync import CloudSyncModule
from sim.ohos.common import CLOUDFILE_SYNC, AppSandbox, Caller
from tests.conftest import make_profile

NAMES = st.sampled_from(["a.txt", "b.txt", "dir/c.txt", "dir/d.bin"])
DATA = st.binary(min_size=0, max_size=3000)
BUNDLE = "com.example.notes"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class SyncIntegrity(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="syncrig-integrity-"))
        self.device = Device(make_profile(**{"battery.capacity_mah": 100_000,
                                             "battery.level_pct": 100,
                                             "radios.wifi.down_kbps": 80,
                                             "radios.wifi.up_kbps": 80}))
        self.cloud = CloudService(self.tmp / "cloud")
        self.drive = self.cloud.drive(quota=10**9)
        caller = Caller.with_permissions(CLOUDFILE_SYNC, bundle_name=BUNDLE, system_app=True)
        self.module = CloudSyncModule(self.device, self.cloud, caller=caller,
                                      sandbox=AppSandbox(self.tmp / "app", BUNDLE))
        self.sync = self.module.FileSync()
        self.progress: list[Any] = []
        self.sync.on("progress", self.progress.append)
        self.live: dict[str, str] = {}
        self.root = self.module.sandbox.cloud_dir
        self.container = self.drive.container(BUNDLE)

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    @rule(name=NAMES, data=DATA)
    def local_write(self, name: str, data: bytes) -> None:
        self.module.files.write(name, data)
        self.live[name] = sha(data)

    @precondition(lambda self: any(self.root.rglob("*.*")))
    @rule(name=NAMES)
    def local_delete(self, name: str) -> None:
        if (self.root / name).is_file():
            self.module.files.delete(name)
            self.live.pop(name, None)

    @rule(name=NAMES, data=DATA)
    def cloud_write(self, name: str, data: bytes) -> None:
        self.cloud.seed(self.drive, BUNDLE, name, data, self.device.env.now)
        self.live[name] = sha(data)

    @rule(name=NAMES)
    def cloud_delete(self, name: str) -> None:
        if self.container.get(name) is not None:
            self.container.delete(name)
            self.live.pop(name, None)

    @rule(radio=st.sampled_from(["wifi", "cellular"]), up=st.booleans())
    def radio(self, radio: str, up: bool) -> None:
        self.device.controls.set_radio(radio, up)

    @rule(level=st.sampled_from([5.0, 12.0, 50.0, 100.0]))
    def battery(self, level: float) -> None:
        self.device.controls.set_battery_level(level)

    @rule(quota=st.sampled_from([2000, 10**9]))
    def quota(self, quota: int) -> None:
        self.drive.quota = quota

    @rule()
    def start(self) -> None:
        self.sync.start()

    @rule()
    def stop(self) -> None:
        self.sync.stop()

    @rule(seconds=st.sampled_from([0.05, 0.3, 2.0, 30.0]))
    def advance(self, seconds: float) -> None:
        self.device.run(until=self.device.env.now + seconds)

    @invariant()
    def no_partial_file_is_visible(self) -> None:
        assert not [p for p in self.root.rglob("*") if p.name.startswith(TEMP_PREFIX)]
        assert not [p for p in (self.cloud.root / "blobs").iterdir()
                    if p.name.startswith(".upload-")]

    @invariant()
    def cloud_objects_are_whole(self) -> None:
        for obj in self.container.objects.values():
            assert self.container.blob(obj).stat().st_size == obj.size

    def settle_and_check(self) -> None:
        controls = self.device.controls
        controls.set_radio("wifi", True)
        controls.set_battery_level(100)
        self.drive.quota = 10**9
        self.sync.stop()
        self.device.run(until=self.device.env.now + 600)
        self.progress.clear()
        self.device.run(self.sync.start())
        self.device.run(until=self.device.env.now + 600)
        assert self.progress and self.progress[-1].state.name == "COMPLETED", self.progress
        local = {str(p.relative_to(self.root)): sha(p.read_bytes())
                 for p in self.root.rglob("*") if p.is_file()}
        cloud = {path: obj.sha256 for path, obj in self.container.objects.items()}
        assert local == cloud
        for path, digest in self.live.items():
            assert digest in local.values(), f"lost the last content of {path}"


class TestSyncIntegrity(SyncIntegrity.TestCase):  # type: ignore[name-defined]
    settings = settings(stateful_step_count=30, deadline=None)


def _check_at_teardown(self: SyncIntegrity) -> None:
    try:
        self.settle_and_check()
    finally:
        shutil.rmtree(self.tmp, ignore_errors=True)


SyncIntegrity.teardown = _check_at_teardown  # type: ignore[method-assign]
