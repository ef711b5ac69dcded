"""Reference @ohos.file.cloudSync on the simulated device and cloud: every rule made to happen."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from sim.cloud import CloudService
from sim.device import Device
from sim.ohos.cloudsync import (
    DOCUMENTED,
    OHOS_4_1,
    OHOS_HEAD,
    CloudSyncFidelity,
    CloudSyncModule,
    DownloadErrorType,
    ErrorType,
    FileSyncState,
    NotifyType,
    State,
    SyncState,
)
from sim.ohos.cloudsync import constants as K
from sim.ohos.cloudsync.engine import BATCH
from sim.ohos.common import CLOUDFILE_SYNC, AppSandbox, BusinessError, Caller
from sim.spec.ohos_cloudsync import ARITY
from tests.conftest import make_profile

APP = "com.example.notes"
NOT_SYSTEM_MESSAGE = ("Permission verification failed, application which is not a system "
                      "application uses system API.")
K_BATCH = BATCH


class Rig:
    def __init__(self, tmp_path: Path, fidelity: CloudSyncFidelity = DOCUMENTED,
                 caller: Caller | None = None, bundle: str = APP, **profile: Any) -> None:
        profile.setdefault("battery.level_pct", 100)
        self.device = Device(make_profile(**profile))
        self.cloud = CloudService(tmp_path / "cloud")
        self.drive = self.cloud.drive()
        caller = caller or Caller.with_permissions(CLOUDFILE_SYNC, bundle_name=bundle,
                                                   system_app=True)
        self.module = CloudSyncModule(self.device, self.cloud, caller=caller,
                                      sandbox=AppSandbox(tmp_path / "app", caller.bundle_name),
                                      fidelity=fidelity)
        self.progress: list[tuple[str, str]] = []
        self.root = self.module.sandbox.cloud_dir

    @property
    def container(self) -> Any:
        return self.drive.container(self.module.sandbox.bundle_name)

    def sync(self, gallery: bool = False) -> Any:
        sync = self.module.GallerySync() if gallery else self.module.FileSync()
        sync.on("progress", lambda p: self.progress.append((p.state.name, p.error.name)))
        return sync

    def start(self, sync: Any) -> None:
        assert self.device.run(sync.start()) is None

    def run(self, seconds: float) -> None:
        self.device.run(until=self.device.env.now + seconds)

    def seed(self, path: str, data: bytes) -> None:
        self.cloud.seed(self.drive, self.module.sandbox.bundle_name, path, data)

    def local_hashes(self) -> dict[str, str]:
        return {str(p.relative_to(self.root)): sha(p.read_bytes())
                for p in self.root.rglob("*") if p.is_file()}

    def cloud_hashes(self) -> dict[str, str]:
        return {path: obj.sha256 for path, obj in self.container.objects.items()}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rejected(rig: Rig, promise: Any) -> BusinessError:
    with pytest.raises(BusinessError) as info:
        rig.device.run(promise)
    return info.value


# -- values ----------------------------------------------------------------------------------

def test_enum_values_are_the_documented_ones() -> None:
    assert [(m.name, m.value) for m in SyncState] == [
        ("UPLOADING", 0), ("UPLOAD_FAILED", 1), ("DOWNLOADING", 2), ("DOWNLOAD_FAILED", 3),
        ("COMPLETED", 4), ("STOPPED", 5)]
    assert [(m.name, m.value) for m in ErrorType] == [
        ("NO_ERROR", 0), ("NETWORK_UNAVAILABLE", 1), ("WIFI_UNAVAILABLE", 2),
        ("BATTERY_LEVEL_LOW", 3), ("BATTERY_LEVEL_WARNING", 4), ("CLOUD_STORAGE_FULL", 5),
        ("LOCAL_STORAGE_FULL", 6), ("DEVICE_TEMPERATURE_TOO_HIGH", 7)]
    assert [(m.name, m.value) for m in FileSyncState] == [
        ("UPLOADING", 0), ("DOWNLOADING", 1), ("COMPLETED", 2), ("STOPPED", 3),
        ("TO_BE_UPLOADED", 4), ("UPLOAD_SUCCESS", 5), ("UPLOAD_FAILURE", 6)]
    assert [(m.name, m.value) for m in NotifyType] == [
        ("NOTIFY_ADDED", 0), ("NOTIFY_MODIFIED", 1), ("NOTIFY_DELETED", 2), ("NOTIFY_RENAMED", 3)]
    assert [(m.name, m.value) for m in State] == [
        ("RUNNING", 0), ("COMPLETED", 1), ("FAILED", 2), ("STOPPED", 3)]


def test_error_messages_documented_and_runtime(tmp_path: Path) -> None:
    documented = Rig(tmp_path / "a").module
    runtime = Rig(tmp_path / "b", fidelity=OHOS_4_1).module
    assert documented.error(22400003).message == "Low battery level."
    assert runtime.error(22400003).message == "Battery level warning"
    assert documented.error(14000002).message == "Invalid URI."
    assert runtime.error(14000002).message == "Invalid uri"
    assert documented.error(401).message == (
        "The input parameter is invalid. Possible causes: 1. Mandatory parameters are left "
        "unspecified. 2. Incorrect parameter types.")
    assert {c for c in K.DOCUMENTED_MESSAGES} == {
        201, 202, 401, 13600001, 13900001, 13900002, 13900004, 13900010, 13900012, 13900025,
        13900031, 13900042, 14000002, 22400001, 22400002, 22400003}


# -- start() preconditions ---------------------------------------------------------------------

def test_start_is_refused_without_network(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.device.controls.set_radio("wifi", False)
    rig.device.controls.set_radio("cellular", False)
    error = rejected(rig, rig.sync().start())
    assert (error.code, error.message) == (22400002, "Network unavailable.")


def test_start_runs_on_mobile_data(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.device.controls.set_radio("wifi", False)
    rig.start(rig.sync())
    rig.run(30)
    assert rig.progress[-1] == ("COMPLETED", "NO_ERROR")


@pytest.mark.parametrize("fault", ["logged_out", "switch_off"])
def test_start_is_refused_when_the_cloud_is_not_ready(tmp_path: Path, fault: str) -> None:
    rig = Rig(tmp_path)
    if fault == "logged_out":
        rig.drive.logged_in = False
    else:
        rig.drive.switches[APP] = False
    error = rejected(rig, rig.sync().start())
    assert (error.code, error.message) == (22400001, "Cloud status not ready.")


@pytest.mark.parametrize(("level", "charging", "refused"), [
    (9.9, False, True), (10.0, False, False), (5.0, True, False), (14.0, False, False)])
def test_start_battery_rule(tmp_path: Path, level: float, charging: bool,
                            refused: bool) -> None:
    rig = Rig(tmp_path, **{"battery.level_pct": level, "battery.charger_plugged": charging})
    promise = rig.sync().start()
    if refused:
        error = rejected(rig, promise)
        assert (error.code, error.message) == (22400003, "Low battery level.")
    else:
        assert rig.device.run(promise) is None


def test_start_error_priority(tmp_path: Path) -> None:
    rig = Rig(tmp_path, **{"battery.level_pct": 5})
    rig.drive.logged_in = False
    assert rejected(rig, rig.sync().start()).code == 22400001
    rig.device.controls.set_radio("wifi", False)
    rig.device.controls.set_radio("cellular", False)
    assert rejected(rig, rig.sync().start()).code == 22400002


def test_ipc_failure_is_13600001(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.cloud.failing_ipc = 1
    sync = rig.module.FileSync()
    with pytest.raises(BusinessError) as info:
        sync.on("progress", lambda p: None)
    assert (info.value.code, info.value.message) == (13600001, "IPC error.")
    rig.cloud.loaded = False
    assert rejected(rig, sync.start()).code == 13600001
    assert rejected(rig, sync.stop()).code == 13600001
    assert rejected(rig, sync.getLastSyncTime()).code == 13600001
    uri = rig.module.files.write("a.txt", b"x")
    assert rejected(rig, rig.module.getFileSyncState([uri])).code == 13600001
    assert rejected(rig, rig.module.CloudFileCache().start(uri)).code == 13600001
    with pytest.raises(BusinessError) as info:
        rig.module.CloudFileCache().cleanCache(uri)
    assert info.value.code == 13600001


# -- runs and events -----------------------------------------------------------------------------

def test_file_sync_moves_real_bytes_both_ways(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.seed("docs/from-cloud.txt", b"cloud bytes" * 100)
    rig.module.files.write("notes/local.txt", os.urandom(50_000))
    rig.start(rig.sync())
    rig.run(60)
    assert rig.progress == [("DOWNLOADING", "NO_ERROR"), ("UPLOADING", "NO_ERROR"),
                            ("COMPLETED", "NO_ERROR")]
    assert rig.local_hashes() == rig.cloud_hashes()
    assert set(rig.local_hashes()) == {"docs/from-cloud.txt", "notes/local.txt"}


def test_an_empty_file_sync_reports_only_completed(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.start(rig.sync())
    rig.run(10)
    assert rig.progress == [("COMPLETED", "NO_ERROR")]


def test_gallery_reports_each_phase_upfront_and_each_batch(tmp_path: Path) -> None:
    rig = Rig(tmp_path, bundle=K.GALLERY_BUNDLE)
    for i in range(10):
        rig.seed(f"DCIM/{i}.jpg", os.urandom(1000))
    rig.module.files.write("DCIM/new.jpg", os.urandom(1000))
    rig.start(rig.sync(gallery=True))
    rig.run(60)
    assert rig.progress == [("DOWNLOADING", "NO_ERROR")] * 3 + [("UPLOADING", "NO_ERROR")] * 2 \
        + [("COMPLETED", "NO_ERROR")]
    assert rig.local_hashes() == rig.cloud_hashes()


def test_gallery_needs_the_permission_then_a_system_app(tmp_path: Path) -> None:
    no_permission = Rig(tmp_path / "a", caller=Caller(APP, system_app=True))
    with pytest.raises(BusinessError) as info:
        no_permission.module.GallerySync().on("progress", lambda p: None)
    assert (info.value.code, info.value.message) == (201, "Permission verification failed.")
    assert rejected(no_permission, no_permission.module.GallerySync().start()).code == 201
    not_system = Rig(tmp_path / "b", caller=Caller.with_permissions(CLOUDFILE_SYNC))
    with pytest.raises(BusinessError) as info:
        not_system.module.GallerySync().on("progress", lambda p: None)
    assert (info.value.code, info.value.message) == (202,
                                                     NOT_SYSTEM_MESSAGE)


def test_file_sync_needs_the_permission_and_a_system_app(tmp_path: Path) -> None:
    no_permission = Rig(tmp_path / "a", caller=Caller(APP, system_app=True))
    sync = no_permission.module.FileSync()
    for call in (lambda: sync.on("progress", print), lambda: sync.off("progress")):
        with pytest.raises(BusinessError) as info:
            call()
        assert info.value.code == 201
    for promise in (sync.start(), sync.stop(), sync.getLastSyncTime()):
        assert rejected(no_permission, promise).code == 201
    not_system = Rig(tmp_path / "b", caller=Caller.with_permissions(CLOUDFILE_SYNC))
    for make in (lambda: not_system.module.FileSync(), lambda: not_system.module.FileSync(APP)):
        with pytest.raises(BusinessError) as info:
            make()
        assert (info.value.code, info.value.message) == (
            202, NOT_SYSTEM_MESSAGE)


@pytest.mark.parametrize("fidelity", [DOCUMENTED, OHOS_HEAD])
def test_file_sync_for_another_bundle(tmp_path: Path, fidelity: CloudSyncFidelity) -> None:
    """The constructor checks only its argument; the service refuses each call for another
    app's bundle without CLOUDFILE_SYNC_MANAGER with 201 (research §2.1, §2.2)."""
    rig = Rig(tmp_path / "a", fidelity=fidelity)
    system = rig.module
    other = system.FileSync("com.other.app")
    with pytest.raises(BusinessError) as info:
        other.on("progress", print)
    assert info.value.code == 201
    for call in (other.start, other.stop, other.getLastSyncTime):
        with pytest.raises(BusinessError) as info:
            rig.device.run(call())
        assert (info.value.code, info.value.message) == (201, fidelity.message(201))
    with pytest.raises(BusinessError) as info:
        system.FileSync("")
    assert info.value.code == 401
    assert system.FileSync(APP) is not None


@pytest.mark.parametrize(("fidelity", "level", "error"), [
    (DOCUMENTED, 9.0, "BATTERY_LEVEL_LOW"),
    (DOCUMENTED, 13.0, "BATTERY_LEVEL_WARNING"),
    (OHOS_4_1, 13.0, "BATTERY_LEVEL_LOW"),
])
def test_uploads_stop_on_low_battery(tmp_path: Path, fidelity: CloudSyncFidelity, level: float,
                                     error: str) -> None:
    rig = Rig(tmp_path, fidelity=fidelity, **{"battery.level_pct": 50})
    for i in range(K_BATCH + 2):
        rig.module.files.write(f"f{i:02}.bin", os.urandom(1000))
    sync = rig.sync()
    before = len(rig.progress)  # ohos-4.1 pushes the last state on registration
    rig.start(sync)
    rig.device.controls.set_battery_level(level)  # while the first batch uploads
    rig.run(60)
    assert rig.progress[-1] == ("UPLOAD_FAILED", error)
    assert "COMPLETED" not in [s for s, _ in rig.progress[before:]]
    assert len(rig.cloud_hashes()) == K_BATCH  # the batch under way completed, then stop


def test_a_forced_app_start_uploads_down_to_10_percent(tmp_path: Path) -> None:
    """ohos-head: an app's start() is a forced sync, so 13 % does not stop uploads (§2.4)."""
    rig = Rig(tmp_path, fidelity=OHOS_HEAD, **{"battery.level_pct": 50})
    for i in range(K_BATCH + 2):
        rig.module.files.write(f"f{i:02}.bin", os.urandom(1000))
    sync = rig.sync()
    rig.start(sync)
    rig.device.controls.set_battery_level(13.0)
    rig.run(60)
    assert rig.progress[-1] == ("COMPLETED", "NO_ERROR")
    assert len(rig.cloud_hashes()) == K_BATCH + 2


def test_battery_below_10_ends_the_sync_after_the_current_upload(tmp_path: Path) -> None:
    rig = Rig(tmp_path, **{"battery.level_pct": 15.5, "power.cpu_busy_ma": 36000,
                           "thermal.resistance_c_per_w": 0.01})  # a fast drain, kept cool
    rig.device.controls.set_load(cpu=1.0)  # drains ~1 %/s on the 1000 mAh test battery
    rig.module.files.write("a.bin", os.urandom(3_000_000))  # 6 s over the 500 kB/s uplink
    for i in range(K_BATCH):
        rig.module.files.write(f"b{i}.bin", os.urandom(1000))
    rig.start(rig.sync())
    rig.run(60)
    assert rig.progress[-1] == ("UPLOAD_FAILED", "BATTERY_LEVEL_LOW")
    assert len(rig.cloud_hashes()) == K_BATCH  # the batch under way completed, then stop
    assert "a.bin" in rig.cloud_hashes()


def test_charging_bypasses_the_battery_rules(tmp_path: Path) -> None:
    rig = Rig(tmp_path, **{"battery.level_pct": 5, "battery.charger_plugged": True})
    rig.module.files.write("a.bin", b"x")
    rig.start(rig.sync())
    rig.run(30)
    assert rig.progress[-1] == ("COMPLETED", "NO_ERROR")


@pytest.mark.parametrize(("fidelity", "bundle", "result"), [
    (DOCUMENTED, APP, ("COMPLETED", "NO_ERROR")),
    (DOCUMENTED, K.GALLERY_BUNDLE, ("UPLOAD_FAILED", "WIFI_UNAVAILABLE")),
    (OHOS_4_1, APP, ("UPLOAD_FAILED", "WIFI_UNAVAILABLE")),
])
def test_uploads_on_cellular(tmp_path: Path, fidelity: CloudSyncFidelity, bundle: str,
                             result: tuple[str, str]) -> None:
    rig = Rig(tmp_path, fidelity=fidelity, bundle=bundle)
    rig.device.controls.set_radio("wifi", False)
    rig.module.files.write("a.bin", b"data")
    rig.start(rig.sync(gallery=bundle == K.GALLERY_BUNDLE))
    rig.run(30)
    assert rig.progress[-1] == result


def test_gallery_mobile_data_setting_allows_cellular_uploads(tmp_path: Path) -> None:
    rig = Rig(tmp_path, bundle=K.GALLERY_BUNDLE)
    rig.module.service.gallery_mobile_data = True
    rig.device.controls.set_radio("wifi", False)
    rig.module.files.write("a.jpg", b"data")
    rig.start(rig.sync(gallery=True))
    rig.run(30)
    assert rig.progress[-1] == ("COMPLETED", "NO_ERROR")


def test_losing_the_network_mid_download_leaves_no_partial_file(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.seed("big.bin", os.urandom(3_000_000))  # 3 s over the 1 MB/s test downlink
    rig.device.controls.set_radio("cellular", False)
    rig.start(rig.sync())
    rig.run(1.0)
    rig.device.controls.set_radio("wifi", False)
    rig.run(30)
    assert rig.progress[-1] == ("DOWNLOAD_FAILED", "NETWORK_UNAVAILABLE")
    assert list(rig.root.rglob("*")) == []
    rig.device.controls.set_radio("wifi", True)
    rig.start(rig.module.FileSync())
    rig.run(30)
    assert rig.local_hashes() == rig.cloud_hashes()


def test_a_full_cloud_fails_the_upload_and_keeps_no_partial_object(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.drive.quota = 10_000
    rig.module.files.write("small.bin", os.urandom(4_000))
    rig.module.files.write("zbig.bin", os.urandom(9_000))
    rig.start(rig.sync())
    rig.run(30)
    assert rig.progress[-1] == ("UPLOAD_FAILED", "CLOUD_STORAGE_FULL")
    assert set(rig.cloud_hashes()) == {"small.bin"}
    assert rig.drive.used == 4_000
    state = rig.module.getFileSyncState(rig.module.files.uri("zbig.bin"))
    assert state == FileSyncState.UPLOAD_FAILURE
    assert not any(p.name.startswith(".upload") for p in (rig.cloud.root / "blobs").iterdir())


def test_a_full_device_fails_the_download_and_keeps_no_partial_file(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.seed("big.bin", os.urandom(100_000))
    rig.device.controls.fill_storage(rig.device.storage.free - 50_000)
    rig.start(rig.sync())
    rig.run(30)
    assert rig.progress[-1] == ("DOWNLOAD_FAILED", "LOCAL_STORAGE_FULL")
    assert list(rig.root.rglob("*")) == []


@pytest.mark.parametrize(("fidelity", "result"), [
    (DOCUMENTED, ("UPLOAD_FAILED", "DEVICE_TEMPERATURE_TOO_HIGH")),
    (OHOS_4_1, ("COMPLETED", "NO_ERROR")),
])
def test_overheating(tmp_path: Path, fidelity: CloudSyncFidelity,
                     result: tuple[str, str]) -> None:
    rig = Rig(tmp_path, fidelity=fidelity, **{"thermal.initial_c": 41})
    assert rig.device.thermal.overheated
    rig.module.files.write("a.bin", b"x")
    rig.device.controls.set_radio("wifi", True)
    sync = rig.sync()
    rig.start(sync)
    rig.run(5)
    assert rig.progress[-1] == result


def test_start_while_running_coalesces_into_one_rerun(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.module.files.write("a.bin", os.urandom(1_000_000))
    sync = rig.sync()
    rig.start(sync)
    rig.run(0.5)
    rig.module.files.write("b.bin", os.urandom(1000))
    assert rig.device.run(sync.start()) is None
    assert rig.device.run(sync.start()) is None
    rig.run(60)
    assert rig.progress.count(("COMPLETED", "NO_ERROR")) == 1
    assert rig.module.engine().runs == 2
    assert set(rig.cloud_hashes()) == {"a.bin", "b.bin"}


def test_stop_emits_stopped_and_cancels_the_pending_rerun(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.module.files.write("a.bin", os.urandom(2_000_000))
    sync = rig.sync()
    rig.start(sync)
    rig.run(0.5)
    sync.start()  # pending re-run
    assert rig.device.run(sync.stop()) is None
    rig.run(60)
    assert rig.progress[-1] == ("STOPPED", "NO_ERROR")
    assert rig.module.engine().runs == 1
    assert rig.cloud_hashes() == {}


@pytest.mark.parametrize(("fidelity", "heard"), [(DOCUMENTED, (2, 1)), (OHOS_HEAD, (1, 0))])
def test_a_second_on_adds_a_listener_or_keeps_the_first(
        tmp_path: Path, fidelity: CloudSyncFidelity, heard: tuple[int, int]) -> None:
    """The page's on/off add and remove listeners; the current sources hold one callback
    per instance (research §2.8), and off drops it whichever callback it is given."""
    rig = Rig(tmp_path, fidelity=fidelity)
    sync = rig.module.FileSync()
    first: list[Any] = []
    second: list[Any] = []
    sync.on("progress", first.append)
    sync.on("progress", second.append)
    rig.start(sync)
    rig.run(10)
    sync.off("progress", second.append)
    rig.start(sync)
    rig.run(10)
    assert (len(first), len(second)) == heard  # one COMPLETED a run


@pytest.mark.parametrize(("fidelity", "fails"), [(DOCUMENTED, True), (OHOS_4_1, False)])
def test_off_without_on(tmp_path: Path, fidelity: CloudSyncFidelity, fails: bool) -> None:
    sync = Rig(tmp_path, fidelity=fidelity).module.FileSync()
    if fails:
        with pytest.raises(BusinessError) as info:
            sync.off("progress")
        assert info.value.code == 401
    else:
        sync.off("progress")


def test_release_4_1_pushes_the_last_state_on_register(tmp_path: Path) -> None:
    rig = Rig(tmp_path, fidelity=OHOS_4_1)
    rig.sync()
    assert rig.progress == [("COMPLETED", "NO_ERROR")]


def test_bad_arguments_are_401(tmp_path: Path) -> None:
    sync = Rig(tmp_path).module.FileSync()
    for call in (lambda: sync.on("done", lambda p: None), lambda: sync.on("progress", 3),
                 lambda: sync.start(42), lambda: sync.getLastSyncTime("x")):
        with pytest.raises(BusinessError) as info:
            call()
        assert info.value.code == 401


def test_last_sync_time_is_utc_ms_of_the_last_clean_run(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    sync = rig.sync()
    assert rig.device.run(sync.getLastSyncTime()) == 0
    rig.start(sync)
    rig.run(10)
    done_at = rig.device.utc_ms()
    assert rig.device.run(sync.getLastSyncTime()) <= done_at
    first = rig.device.run(sync.getLastSyncTime())
    assert first > 0
    rig.drive.quota = 0
    rig.module.files.write("a.bin", b"x")
    rig.run(5)
    rig.start(sync)
    rig.run(10)
    assert rig.progress[-1] == ("UPLOAD_FAILED", "CLOUD_STORAGE_FULL")
    assert rig.device.run(sync.getLastSyncTime()) == first


@pytest.mark.parametrize(("fidelity", "called"), [(DOCUMENTED, True), (OHOS_4_1, False)])
def test_callback_form_of_start(tmp_path: Path, fidelity: CloudSyncFidelity,
                                called: bool) -> None:
    rig = Rig(tmp_path, fidelity=fidelity)
    got: list[Any] = []
    result = rig.module.FileSync().start(lambda err, data: got.append((err, data)))
    rig.run(5)
    assert (got == [(None, None)]) is called
    assert (result is None) is called


# -- per-file states, changes ---------------------------------------------------------------------

def test_file_sync_states_follow_the_upload(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    uri = rig.module.files.write("a.bin", os.urandom(2_000_000))
    assert rig.module.getFileSyncState(uri) == FileSyncState.TO_BE_UPLOADED
    rig.start(rig.sync())
    rig.run(1.0)
    assert rig.module.getFileSyncState(uri) == FileSyncState.UPLOADING
    rig.run(30)
    assert rig.module.getFileSyncState(uri) == FileSyncState.UPLOAD_SUCCESS
    assert rig.device.run(rig.module.getFileSyncState([uri])) == [FileSyncState.UPLOAD_SUCCESS]


def test_get_file_sync_state_errors(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    module = rig.module
    with pytest.raises(BusinessError) as info:
        module.getFileSyncState("file://com.example.notes/data/storage/el2/base/x.txt")
    assert (info.value.code, info.value.message) == (14000002, "Invalid URI.")
    with pytest.raises(BusinessError) as info:
        module.getFileSyncState(module.files.uri("missing.txt"))
    assert info.value.code == 13900002
    with pytest.raises(BusinessError) as info:
        module.getFileSyncState([module.files.uri("a")] * 101)
    assert info.value.code == 401
    escaped = module.files.uri("../../outside.txt")
    assert rejected(rig, module.getFileSyncState([escaped])).code == 14000002
    not_system = Rig(tmp_path / "b", caller=Caller.with_permissions(CLOUDFILE_SYNC)).module
    with pytest.raises(BusinessError) as info:
        not_system.getFileSyncState(not_system.files.uri("a"))
    assert info.value.code == 202


def test_a_symlink_out_of_the_cloud_folder_is_an_invalid_uri(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (rig.root / "link.txt").symlink_to(secret)
    with pytest.raises(BusinessError) as info:
        rig.module.getFileSyncState(rig.module.files.uri("link.txt"))
    assert info.value.code == 14000002


def test_change_notifications_recursive_and_not(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    module = rig.module
    (rig.root / "docs" / "deep").mkdir(parents=True)
    top: list[Any] = []
    deep: list[Any] = []
    on_top, on_deep = top.append, deep.append
    module.registerChange(module.files.uri("docs"), False, on_top)
    module.registerChange(module.files.uri("docs"), True, on_deep)
    module.files.write("docs/a.txt", b"1")
    module.files.write("docs/deep/b.txt", b"2")
    module.files.write("docs/a.txt", b"3")
    module.files.rename("docs/a.txt", "docs/c.txt")
    module.files.delete("docs/c.txt")
    rig.seed("docs/from-cloud.txt", b"cloud")
    rig.start(rig.sync())
    rig.run(30)
    kinds = [(c.type, [u.rsplit("/", 1)[1] for u in c.uris]) for c in top]
    assert kinds == [(NotifyType.NOTIFY_ADDED, ["a.txt"]), (NotifyType.NOTIFY_MODIFIED, ["a.txt"]),
                     (NotifyType.NOTIFY_RENAMED, ["a.txt", "c.txt"]),
                     (NotifyType.NOTIFY_DELETED, ["c.txt"]),
                     (NotifyType.NOTIFY_ADDED, ["from-cloud.txt"])]
    assert len(deep) == len(top) + 1  # plus docs/deep/b.txt
    assert deep[1].uris == [module.files.uri("docs/deep/b.txt")]
    assert deep[1].isDirectory == [False]
    with pytest.raises(BusinessError) as info:
        module.registerChange(module.files.uri("docs"), True, on_deep)
    assert info.value.code == 401
    module.registerChange(module.files.uri("docs/deep"), True, on_deep)  # another uri: fine
    module.unregisterChange(module.files.uri("docs/deep"))
    module.unregisterChange(module.files.uri("docs"))
    module.files.write("docs/d.txt", b"4")
    assert len(deep) == len(top) + 1


@pytest.mark.parametrize(("fidelity", "codes"), [
    (DOCUMENTED, (14000002, 13900002, 202, 13900001, 13900012)),
    (OHOS_4_1, (401, 401, None, 401, 401)),
])
def test_register_change_errors(tmp_path: Path, fidelity: CloudSyncFidelity,
                                codes: tuple[int | None, ...]) -> None:
    module = Rig(tmp_path, fidelity=fidelity).module
    module.files.write("a.txt", b"x")
    module.files.write("b.txt", b"y")
    for args in ((module.files.uri("a.txt"), "yes", print), (module.files.uri("a.txt"), True, 3)):
        with pytest.raises(BusinessError) as info:
            module.registerChange(*args)  # type: ignore[arg-type]
        assert info.value.code == 401
    invalid, missing, not_system, eperm, eacces = codes
    calls = [lambda: module.registerChange(
                 "file://com.example.notes/data/storage/el2/base/files/a", True, print),
             lambda: module.registerChange(module.files.uri("missing.txt"), True, print)]
    for call, code in zip(calls, (invalid, missing), strict=True):
        with pytest.raises(BusinessError) as info:
            call()
        assert info.value.code == code
    for rel, err, code in (("a.txt", errno.EPERM, eperm), ("b.txt", errno.EACCES, eacces)):
        module.service.fs_faults[rel] = err
        with pytest.raises(BusinessError) as info:
            module.registerChange(module.files.uri(rel), False, print)
        assert info.value.code == code
    outsider = Rig(tmp_path / "b", fidelity=fidelity,
                   caller=Caller.with_permissions(CLOUDFILE_SYNC)).module
    outsider.files.write("c.txt", b"z")
    if not_system is None:
        outsider.registerChange(outsider.files.uri("c.txt"), False, print)
    else:
        with pytest.raises(BusinessError) as info:
            outsider.registerChange(outsider.files.uri("c.txt"), False, print)
        assert (info.value.code, info.value.message) == (
            202, NOT_SYSTEM_MESSAGE)


def test_cloud_side_changes_reach_the_device(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.seed("a.txt", b"v1")
    rig.seed("b.txt", b"keep")
    sync = rig.sync()
    rig.start(sync)
    rig.run(10)
    rig.seed("a.txt", b"v2")  # another device edits a.txt
    rig.container.delete("b.txt")  # and deletes b.txt
    rig.start(sync)
    rig.run(10)
    assert rig.module.files.read("a.txt") == b"v2"
    assert not (rig.root / "b.txt").exists()
    assert rig.local_hashes() == rig.cloud_hashes()


def test_a_file_changed_on_both_sides_keeps_both(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.seed("a.txt", b"base")
    sync = rig.sync()
    rig.start(sync)
    rig.run(10)
    rig.module.files.write("a.txt", b"local edit")
    rig.seed("a.txt", b"cloud edit")
    rig.start(sync)
    rig.run(10)
    assert rig.module.files.read("a.txt") == b"cloud edit"
    assert rig.module.files.read("a (conflict).txt") == b"local edit"
    assert rig.local_hashes() == rig.cloud_hashes()


# -- Download and CloudFileCache -------------------------------------------------------------------

def evicted_rig(tmp_path: Path, size: int = 2_000_000, **profile: Any) -> tuple[Rig, str]:
    rig = Rig(tmp_path, **profile)
    rig.seed("movie.bin", os.urandom(size))
    rig.start(rig.sync())
    rig.run(30)
    uri = rig.module.files.uri("movie.bin")
    rig.module.CloudFileCache().cleanCache(uri)
    return rig, uri


def test_clean_cache_keeps_a_placeholder_and_frees_space(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.seed("movie.bin", os.urandom(2_000_000))
    rig.start(rig.sync())
    rig.run(30)
    free = rig.device.storage.free
    rig.module.CloudFileCache().cleanCache(rig.module.files.uri("movie.bin"))
    assert (rig.root / "movie.bin").stat().st_size == 0
    assert rig.device.storage.free == free + 2_000_000
    rig.start(rig.module.FileSync())
    rig.run(30)
    assert "movie.bin" in rig.cloud_hashes()  # an evicted file is not a local deletion


@pytest.mark.parametrize("kind", ["Download", "CloudFileCache"])
def test_download_brings_the_content_back_with_progress(tmp_path: Path, kind: str) -> None:
    rig, uri = evicted_rig(tmp_path)
    downloader = getattr(rig.module, kind)()
    events: list[Any] = []
    downloader.on("progress", events.append)
    assert rig.device.run(downloader.start(uri)) is None
    rig.run(30)
    assert events[0].state == State.RUNNING
    assert events[-1].state == State.COMPLETED
    assert (events[-1].processed, events[-1].size, events[-1].uri) == (2_000_000, 2_000_000, uri)
    processed = [e.processed for e in events]
    assert processed == sorted(processed)
    assert sha((rig.root / "movie.bin").read_bytes()) == rig.cloud_hashes()["movie.bin"]


@pytest.mark.parametrize("kind", ["Download", "CloudFileCache"])
def test_stopping_a_download_removes_the_partial_file(tmp_path: Path, kind: str) -> None:
    rig, uri = evicted_rig(tmp_path)
    downloader = getattr(rig.module, kind)()
    events: list[Any] = []
    downloader.on("progress", events.append)
    downloader.start(uri)
    rig.run(1.0)
    assert rig.device.run(downloader.stop(uri)) is None
    rig.run(10)
    assert events[-1].state == State.STOPPED
    assert [p.name for p in rig.root.iterdir()] == ["movie.bin"]
    assert (rig.root / "movie.bin").stat().st_size == 0


def test_download_errors(tmp_path: Path) -> None:
    rig, uri = evicted_rig(tmp_path)
    download = rig.module.Download()
    error = rejected(rig, download.start(rig.module.files.uri("nothing.bin")))
    assert (error.code, error.message) == (13900002, "No such file or directory.")
    rig.device.controls.fill_storage(rig.device.storage.free - 1000)
    error = rejected(rig, download.start(uri))
    assert (error.code, error.message) == (13900025, "No space left on device.")
    with pytest.raises(BusinessError) as info:
        download.start("")
    assert info.value.code == 401
    outsider = Rig(tmp_path / "b", caller=Caller(APP, system_app=True))
    assert rejected(outsider, outsider.module.Download().start(uri)).code == 201


def test_a_download_that_loses_the_network_fails(tmp_path: Path) -> None:
    rig, uri = evicted_rig(tmp_path)
    rig.device.controls.set_radio("cellular", False)
    cache = rig.module.CloudFileCache()
    events: list[Any] = []
    cache.on("progress", events.append)
    cache.start(uri)
    rig.run(1.0)
    rig.device.controls.set_radio("wifi", False)
    rig.run(5)
    assert (events[-1].state, events[-1].error) == (State.FAILED,
                                                    DownloadErrorType.NETWORK_UNAVAILABLE)
    assert (rig.root / "movie.bin").stat().st_size == 0


def test_cache_uri_errors(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    cache = rig.module.CloudFileCache()
    with pytest.raises(BusinessError) as info:
        cache.cleanCache("file://com.other/data/storage/el2/cloud/a.txt")
    assert (info.value.code, info.value.message) == (14000002, "Invalid URI.")
    with pytest.raises(BusinessError) as info:
        cache.cleanCache(rig.module.files.uri("missing.txt"))
    assert info.value.code == 13900002
    assert rejected(rig, cache.start("file://x/y")).code == 14000002
    with pytest.raises(BusinessError) as info:
        cache.stop(rig.module.files.uri("a"), "yes")
    assert info.value.code == 401


def test_a_failing_server_fails_the_sync_as_network_unavailable(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.cloud.server_down = True
    rig.start(rig.sync())
    rig.run(10)
    assert rig.progress[-1] == ("DOWNLOAD_FAILED", "NETWORK_UNAVAILABLE")


def test_a_slow_server_slows_every_transfer(tmp_path: Path) -> None:
    times = []
    for delay in (0.0, 2.0):
        rig = Rig(tmp_path / str(delay))
        rig.cloud.extra_latency_s = delay
        rig.module.files.write("a.bin", b"x")
        rig.module.files.write("b.bin", b"y")
        rig.start(rig.sync())
        rig.run(60)
        times.append(rig.module.engine().last_sync_ms)
    assert times[1] - times[0] == 2000  # one batch, one request: 2 s more


# -- the platform's typical sequences (research §3.6), event by event -------------------------

D, U = ("DOWNLOADING", "NO_ERROR"), ("UPLOADING", "NO_ERROR")


def gallery_rig(tmp_path: Path, fidelity: CloudSyncFidelity = DOCUMENTED, **profile: Any) -> Rig:
    rig = Rig(tmp_path, fidelity=fidelity, bundle=K.GALLERY_BUNDLE, **profile)
    rig.seed("DCIM/cloud.jpg", os.urandom(1000))
    rig.module.files.write("DCIM/new.jpg", os.urandom(1000))
    return rig


def test_sequence_uploads_on_cellular(tmp_path: Path) -> None:
    rig = gallery_rig(tmp_path, fidelity=OHOS_4_1)
    rig.device.controls.set_radio("wifi", False)
    sync = rig.sync(gallery=True)
    rig.progress.clear()  # the state pushed on registration
    rig.start(sync)
    rig.run(30)
    assert rig.progress == [D, D, U, ("UPLOAD_FAILED", "WIFI_UNAVAILABLE")]


def test_sequence_battery_12_percent_non_forced(tmp_path: Path) -> None:
    rig = gallery_rig(tmp_path, fidelity=OHOS_4_1, **{"battery.level_pct": 12})
    sync = rig.sync(gallery=True)
    rig.progress.clear()
    rig.start(sync)
    rig.run(30)
    assert rig.progress == [D, D, U, ("UPLOAD_FAILED", "BATTERY_LEVEL_LOW")]


def test_sequence_stop_during_upload(tmp_path: Path) -> None:
    rig = Rig(tmp_path, bundle=K.GALLERY_BUNDLE)
    rig.module.files.write("DCIM/big.jpg", os.urandom(2_000_000))  # 4 s over the uplink
    sync = rig.sync(gallery=True)
    rig.start(sync)
    rig.run(1.0)
    sync.stop()
    rig.run(30)
    assert rig.progress == [D, U, ("STOPPED", "NO_ERROR")]


def test_sequence_start_plus_start(tmp_path: Path) -> None:
    rig = gallery_rig(tmp_path)
    sync = rig.sync(gallery=True)
    rig.start(sync)
    rig.run(0.01)
    sync.start()  # coalesced: the first run ends without COMPLETED, a second one follows
    rig.run(30)
    assert rig.progress == [D, D, U, U, D, U, ("COMPLETED", "NO_ERROR")]


@pytest.mark.parametrize(("err", "code", "message"), [
    (errno.ENOENT, 13900002, "No such file or directory."),
    (errno.EINTR, 13900004, "Interrupted system call."),
    (errno.EAGAIN, 13900010, "Try again."),
    (errno.EACCES, 13900012, "Permission denied."),
    (errno.ENOSYS, 13900031, "Function not implemented."),
    (errno.ENODATA, 13900042, "Unknown error."),
])
def test_file_system_errors_reading_a_state_get_their_codes(tmp_path: Path, err: int,
                                                           code: int, message: str) -> None:
    rig = Rig(tmp_path)
    uri = rig.module.files.write("a.txt", b"x")
    rig.module.service.fs_faults["a.txt"] = err
    with pytest.raises(BusinessError) as info:
        rig.module.getFileSyncState(uri)
    assert (info.value.code, info.value.message) == (code, message)
    assert rejected(rig, rig.module.getFileSyncState([uri])).code == code


# -- ohos-head: the current sources' differences from the documents (research §0) ---------


def code_of(call: Any) -> tuple[int, str]:
    """The code and message ``call`` throws (or its promise rejects with); (0, "") if none."""
    try:
        result = call()
        if hasattr(result, "callbacks"):
            result.result()
    except BusinessError as exc:
        return exc.code, exc.message
    return 0, ""


def settled(rig: Rig, call: Any, *args: object) -> tuple[int, str]:
    """As :func:`code_of` of ``call(*args)``, the promise settled on the device first."""
    def run() -> Any:
        result = call(*args)
        if hasattr(result, "callbacks"):
            rig.device.run(until=rig.device.env.now + 0.01)
        return result
    return code_of(run)


@pytest.mark.parametrize(("fidelity", "codes"), [(DOCUMENTED, (202, 202)), (OHOS_HEAD, (0, 0))])
def test_file_sync_is_public_on_head(tmp_path: Path, fidelity: CloudSyncFidelity,
                                     codes: tuple[int, int]) -> None:
    """§2.2: FileSync is public since API 12: an ordinary app without CLOUDFILE_SYNC may make
    one and start it."""
    rig = Rig(tmp_path, fidelity=fidelity, caller=Caller(APP))
    assert code_of(rig.module.FileSync)[0] == codes[0]
    if fidelity is OHOS_HEAD:
        sync = rig.module.FileSync()
        sync.on("progress", print)
        assert (settled(rig, sync.start)[0], settled(rig, sync.getLastSyncTime)[0]) \
            == (codes[1], 0)
    gallery = rig.module.GallerySync()  # GallerySync stays a system API
    assert code_of(lambda: gallery.on("progress", print))[0] == 201


@pytest.mark.parametrize(("fidelity", "message"), [
    (DOCUMENTED, "IPC error."), (OHOS_4_1, "IPC error"),
    (OHOS_HEAD, "IPC error. Possible causes: 1.IPC failed or timed out. 2.Failed to load the "
                "service")])
def test_runtime_messages_of_the_current_sources(tmp_path: Path, fidelity: CloudSyncFidelity,
                                                 message: str) -> None:
    """§1.3: since v6.0 the runtime's 13600001 names its possible causes."""
    rig = Rig(tmp_path, fidelity=fidelity)
    rig.cloud.failing_ipc = 1
    assert settled(rig, rig.module.FileSync().start) == (13600001, message)


@pytest.mark.parametrize(("fidelity", "code", "message"), [
    (DOCUMENTED, 401, K.DOCUMENTED_MESSAGES[401]), (OHOS_HEAD, 13900020, "Invalid argument")])
def test_a_number_where_the_napi_wants_a_callback_or_uri(
        tmp_path: Path, fidelity: CloudSyncFidelity, code: int, message: str) -> None:
    """§2.1: getLastSyncTime(number) and cleanCache(non-string) throw EINVAL on head."""
    module = Rig(tmp_path, fidelity=fidelity).module
    assert code_of(lambda: module.FileSync().getLastSyncTime(5)) == (code, message)
    assert code_of(lambda: module.CloudFileCache().cleanCache(5)) == (code, message)
    assert code_of(lambda: module.FileSync().getLastSyncTime("cb"))[0] == 401


@pytest.mark.parametrize(("fidelity", "code"), [(DOCUMENTED, 13600001), (OHOS_HEAD, 0)])
def test_stop_when_the_service_is_not_running(tmp_path: Path, fidelity: CloudSyncFidelity,
                                              code: int) -> None:
    """§2.2: the current client's stop() does not load the service: it resolves at once."""
    rig = Rig(tmp_path, fidelity=fidelity)
    rig.cloud.loaded = False
    assert settled(rig, rig.module.FileSync().stop)[0] == code
    assert settled(rig, rig.module.GallerySync().stop)[0] == code
    assert settled(rig, rig.module.FileSync().start)[0] == 13600001  # start loads it


@pytest.mark.parametrize(("fidelity", "codes"), [(DOCUMENTED, (13900002, 14000002)),
                                                 (OHOS_HEAD, (13600001, 13600001))])
def test_cloud_file_cache_start_failures(tmp_path: Path, fidelity: CloudSyncFidelity,
                                         codes: tuple[int, int]) -> None:
    """§2.1: the current NAPI rewrites every service failure of CloudFileCache.start but a
    bad argument to 13600001."""
    rig = Rig(tmp_path, fidelity=fidelity)
    cache = rig.module.CloudFileCache()
    missing = rig.module.files.uri("missing.bin")
    foreign = "file://other.app/data/storage/el2/cloud/x"
    assert (settled(rig, lambda: cache.start(missing))[0],
            settled(rig, lambda: cache.start(foreign))[0]) == codes
    assert code_of(lambda: cache.start(""))[0] == 401


@pytest.mark.parametrize(("fidelity", "code"), [(DOCUMENTED, 0), (OHOS_HEAD, 401)])
def test_cloud_file_cache_stop_needs_on_or_start(tmp_path: Path, fidelity: CloudSyncFidelity,
                                                 code: int) -> None:
    """§2.1: without on('progress') or start() the instance has no callback object."""
    rig = Rig(tmp_path, fidelity=fidelity)
    uri = rig.module.files.uri("a.bin")
    assert settled(rig, lambda: rig.module.CloudFileCache().stop(uri))[0] == code
    cache = rig.module.CloudFileCache()
    cache.on("progress", print)
    assert settled(rig, lambda: cache.stop(uri, True))[0] == 0


@pytest.mark.parametrize(("fidelity", "code"), [(DOCUMENTED, 13900002), (OHOS_HEAD, 0)])
def test_clean_cache_of_a_file_the_cloud_lacks(tmp_path: Path, fidelity: CloudSyncFidelity,
                                               code: int) -> None:
    """§2.1: the current service drops the engine's answer: success, nothing cleaned."""
    rig = Rig(tmp_path, fidelity=fidelity)
    uri = rig.module.files.write("local.bin", b"only here")
    assert code_of(lambda: rig.module.CloudFileCache().cleanCache(uri))[0] == code
    assert rig.module.files.read("local.bin") == b"only here"


@pytest.mark.parametrize(("fidelity", "code"), [(DOCUMENTED, 0), (OHOS_HEAD, 201)])
def test_file_state_by_string_checks_the_permission_on_head(
        tmp_path: Path, fidelity: CloudSyncFidelity, code: int) -> None:
    """§2.2: both getFileSyncState overloads check CLOUDFILE_SYNC in the current NAPI."""
    rig = Rig(tmp_path, fidelity=fidelity, caller=Caller(APP, system_app=True))
    uri = rig.module.files.write("a.txt", b"a")
    assert code_of(lambda: rig.module.getFileSyncState(uri))[0] == code


# -- JavaScript argument semantics: every method, every profile ---------------------------


def js_calls(rig: Rig) -> dict[str, Any]:
    """Each method of the d.ts as a function of its argument list."""
    module = rig.module
    on = module.FileSync()
    on.on("progress", print)
    return {
        "GallerySync.constructor": lambda *a: module.GallerySync(*a),
        "FileSync.constructor": lambda *a: module.FileSync(*a),
        "Download.constructor": lambda *a: module.Download(*a),
        "CloudFileCache.constructor": lambda *a: module.CloudFileCache(*a),
        **{f"GallerySync.{n}": getattr(module.GallerySync(), n)
           for n in ("on", "off", "start", "stop")},
        **{f"FileSync.{n}": getattr(on, n)
           for n in ("on", "off", "start", "stop", "getLastSyncTime")},
        **{f"Download.{n}": getattr(module.Download(), n) for n in ("on", "off", "start",
                                                                     "stop")},
        **{f"CloudFileCache.{n}": getattr(module.CloudFileCache(), n)
           for n in ("on", "off", "start", "stop", "cleanCache")},
        "cloudSync.getFileSyncState": module.getFileSyncState,
        "cloudSync.registerChange": module.registerChange,
        "cloudSync.unregisterChange": module.unregisterChange,
    }


@pytest.mark.parametrize("fidelity", [DOCUMENTED, OHOS_4_1, OHOS_HEAD], ids=lambda f: f.name)
def test_every_method_takes_its_arguments_as_javascript_does(
        tmp_path: Path, fidelity: CloudSyncFidelity) -> None:
    """One argument too many, one mandatory argument missing, ``undefined`` where one is
    mandatory: each is the NAPI's 401 with the profile's message, never a TypeError."""
    rig = Rig(tmp_path, fidelity=fidelity)
    calls = js_calls(rig)
    assert set(calls) == set(ARITY)
    expected = (401, fidelity.message(401))
    uri = rig.module.files.uri("a.txt")
    for method, (mandatory, most) in ARITY.items():
        args = [uri] * most
        assert settled(rig, calls[method], *args, print) == expected, method
        if mandatory:
            assert settled(rig, calls[method], *args[:mandatory - 1]) == expected, method
            assert settled(rig, calls[method], *[None] * mandatory) == expected, method


def test_undefined_is_an_absent_optional_argument(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    sync = rig.module.FileSync(None)
    sync.on("progress", print)
    for promise in (sync.start(None), sync.stop(None), sync.getLastSyncTime(None)):
        assert promise is not None  # the Promise form, not a callback
        rig.device.run(promise)
    sync.off("progress", None)
    uri = rig.module.files.uri("a.bin")
    cache = rig.module.CloudFileCache()
    assert rig.device.run(cache.stop(uri, None)) is None


def test_wrong_types_are_401_with_the_message(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    module = rig.module
    message = K.DOCUMENTED_MESSAGES[401]
    uri = module.files.uri("a.txt")
    for call in (lambda: module.FileSync().on(5, print), lambda: module.FileSync().start("x"),
                 lambda: module.Download().start(uri, "cb"),
                 lambda: module.CloudFileCache().stop(uri, "yes"),
                 lambda: module.CloudFileCache().on("progress", 5),
                 lambda: module.getFileSyncState(uri, print),
                 lambda: module.getFileSyncState({"uri": uri}),
                 lambda: module.registerChange(uri, 1, print),
                 lambda: module.unregisterChange(None)):
        assert settled(rig, call) == (401, message)


@pytest.mark.parametrize("fidelity", [DOCUMENTED, OHOS_4_1, OHOS_HEAD])
def test_off_twice_after_an_on_succeeds_and_off_with_no_on_is_per_profile(
        tmp_path: Path, fidelity: CloudSyncFidelity) -> None:
    """An ``on`` gives the instance a callback id that stays after ``off``: a second ``off``
    asks the service again and succeeds; with no ``on`` ever, the current client refuses
    with 401 (4.1: the service's no-op) (research §2.8)."""
    rig = Rig(tmp_path, fidelity=fidelity)
    sync = rig.module.GallerySync()
    sync.on("progress", print)
    sync.off("progress")
    sync.off("progress")  # no error
    fresh = rig.module.GallerySync()
    if fidelity.off_without_on_fails:
        with pytest.raises(BusinessError) as caught:
            fresh.off("progress")
        assert (caught.value.code, caught.value.message) == (401, fidelity.message(401))
    else:
        fresh.off("progress")


@pytest.mark.parametrize(("fidelity", "code"), [(DOCUMENTED, 13900002), (OHOS_HEAD, 14000002)])
def test_file_sync_state_of_a_file_not_there(tmp_path: Path, fidelity: CloudSyncFidelity,
                                            code: int) -> None:
    """The page: 13900002; the current NAPI checks the URI with realpath first, 14000002
    (research §2.11) — both forms."""
    rig = Rig(tmp_path, fidelity=fidelity)
    uri = rig.module.files.uri("missing.txt")
    with pytest.raises(BusinessError) as caught:
        rig.module.getFileSyncState(uri)
    assert (caught.value.code, caught.value.message) == (code, fidelity.message(code))
    with pytest.raises(BusinessError) as caught:
        rig.device.run(rig.module.getFileSyncState([uri]))
    assert caught.value.code == code
