"""A state machine for ``@ohos.file.cloudSync``: API calls from three callers, interleaved with
device and cloud events; a model predicts every outcome from the spec tables and the device's
state, and the target must match it exactly (code and message).

Every asserted outcome is recorded in :attr:`CloudSyncMachine.coverage`, so a run ends with a
coverage matrix of the documented (method, code) pairs and enum values it reached.
"""

from __future__ import annotations

import errno
import hashlib
import random
from collections.abc import Callable
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from conformance.coverage import Coverage
from conformance.machines.base import ConformanceFailure, RecordedMachine, Step, combos, wait
from conformance.targets import CloudSyncTarget
from conformance.targets.reference import BUNDLE, ReferenceCloudSync
from sim.ohos.cloudsync import engine
from sim.ohos.cloudsync.fidelity import DOCUMENTED, CloudSyncFidelity
from sim.ohos.common import BusinessError
from sim.spec import ohos_cloudsync as spec

GALLERY = "com.ohos.photos"


START_CONDITIONS = ("none", "offline", "logged-out", "switch-off", "battery-9", "battery-10",
                    "charging-5", "offline+logged-out", "logged-out+battery-5",
                    "switch-off+battery-9")
"""start()'s conditions (research §2.3), and pairs of them to show their order."""
TERMINAL = {spec.SyncState.COMPLETED, spec.SyncState.UPLOAD_FAILED,
            spec.SyncState.DOWNLOAD_FAILED, spec.SyncState.STOPPED}
SYNC_SECTION = f"{spec.DOCUMENT} ## SyncState, ## ErrorType; research §2.4"
_S, _E = spec.SyncState, spec.ErrorType
OUTCOMES = {
    # condition: the sync's last progress event (documented profile; research §2.4-§2.6)
    "clean": (_S.COMPLETED, _E.NO_ERROR),
    "battery-15": (_S.COMPLETED, _E.NO_ERROR),
    "battery-12": (_S.UPLOAD_FAILED, _E.BATTERY_LEVEL_WARNING),
    "charging-5-then-unplugged": (_S.UPLOAD_FAILED, _E.BATTERY_LEVEL_LOW),
    "cloud-full": (_S.UPLOAD_FAILED, _E.CLOUD_STORAGE_FULL),
    "local-full": (_S.DOWNLOAD_FAILED, _E.LOCAL_STORAGE_FULL),
    "overheated": (_S.UPLOAD_FAILED, _E.DEVICE_TEMPERATURE_TOO_HIGH),
    "radio-lost-mid-upload": (_S.UPLOAD_FAILED, _E.NETWORK_UNAVAILABLE),
    "gallery-on-cellular": (_S.UPLOAD_FAILED, _E.WIFI_UNAVAILABLE),
    "stopped": (_S.STOPPED, _E.NO_ERROR),
}
SYNC_CONDITIONS = sorted(OUTCOMES)
FILE_STATES = {
    "clean": spec.FileSyncState.UPLOAD_SUCCESS, "battery-15": spec.FileSyncState.UPLOAD_SUCCESS,
    "battery-12": spec.FileSyncState.TO_BE_UPLOADED,
    "cloud-full": spec.FileSyncState.UPLOAD_FAILURE,
    "radio-lost-mid-upload": spec.FileSyncState.UPLOAD_FAILURE,
}
"""A file's state after each sync (the page's FileSyncState descriptions)."""
DOWNLOAD_OUTCOMES = {
    "complete": (spec.State.COMPLETED, spec.DownloadErrorType.NO_ERROR),
    "stopped": (spec.State.STOPPED, spec.DownloadErrorType.NO_ERROR),
    "vanished": (spec.State.FAILED, spec.DownloadErrorType.CONTENT_NOT_FOUND),
    "radio-lost": (spec.State.FAILED, spec.DownloadErrorType.NETWORK_UNAVAILABLE),
}
FS_FAULTS = {errno.EPERM: spec.OPERATION_NOT_PERMITTED, errno.EINTR: spec.INTERRUPTED,
             errno.EAGAIN: spec.TRY_AGAIN, errno.EACCES: spec.PERMISSION_DENIED_FS,
             errno.ENOSYS: spec.NOT_IMPLEMENTED, errno.EIO: spec.UNKNOWN_ERROR}
"""An errno where the platform reads a file's state, and the code it surfaces as (§2.11)."""
Make = Callable[[Any, Any], Callable[[], Any]]


def _ignore(*_: Any) -> None:
    """A listener for calls whose events this machine does not follow."""


def _uri(machine: Any, module: Any) -> str:
    return str(module.files.uri("f0.txt"))


def _watched(machine: Any, module: Any) -> str:
    """A folder that exists and that nobody watches (so only the caller can be refused)."""
    uri = str(module.files.mkdir("watched"))
    machine.target.modules["system"].unregisterChange(uri)
    return uri


CALLER_CHECKED: dict[str, tuple[str, bool, Make]] = {
    # name: (documented method, needs CLOUDFILE_SYNC, the call as the caller makes it)
    "GallerySync.start": ("GallerySync.start", True, lambda m, mod: mod.GallerySync().start),
    "GallerySync.stop": ("GallerySync.stop", True, lambda m, mod: mod.GallerySync().stop),
    "GallerySync.on": ("GallerySync.on", True,
                       lambda m, mod: lambda: mod.GallerySync().on("progress", _ignore)),
    "GallerySync.off": ("GallerySync.off", True,
                        lambda m, mod: lambda: mod.GallerySync().off("progress")),
    "FileSync.start": ("FileSync.start", True, lambda m, mod: lambda: mod.FileSync().start()),
    "FileSync.stop": ("FileSync.stop", True, lambda m, mod: lambda: mod.FileSync().stop()),
    "FileSync.on": ("FileSync.on", True,
                    lambda m, mod: lambda: mod.FileSync().on("progress", _ignore)),
    "FileSync.off": ("FileSync.off", True,
                     lambda m, mod: lambda: mod.FileSync().off("progress")),
    "FileSync.getLastSyncTime": ("FileSync.getLastSyncTime", True,
                                 lambda m, mod: lambda: mod.FileSync().getLastSyncTime()),
    "Download.start": ("Download.start", True,
                       lambda m, mod: lambda: mod.Download().start(_uri(m, mod))),
    "Download.stop": ("Download.stop", True,
                      lambda m, mod: lambda: mod.Download().stop(_uri(m, mod))),
    "Download.on": ("Download.on", True,
                    lambda m, mod: lambda: mod.Download().on("progress", _ignore)),
    "Download.off": ("Download.off", True,
                     lambda m, mod: lambda: mod.Download().off("progress")),
    "CloudFileCache.cleanCache": ("CloudFileCache.cleanCache", True,
                                  lambda m, mod: lambda: mod.CloudFileCache().cleanCache(
                                      _uri(m, mod))),
    "getFileSyncState": ("cloudSync.getFileSyncState", True,
                         lambda m, mod: lambda: mod.getFileSyncState([_uri(m, mod)])),
    "getFileSyncState(string)": ("cloudSync.getFileSyncState(string)", False,
                                 lambda m, mod: lambda: mod.getFileSyncState(_uri(m, mod))),
    "registerChange": ("cloudSync.registerChange", False,
                       lambda m, mod: lambda: mod.registerChange(_watched(m, mod), True,
                                                                 _ignore)),
    "unregisterChange": ("cloudSync.unregisterChange", False,
                         lambda m, mod: lambda: mod.unregisterChange(_watched(m, mod))),
}
"""The system APIs and who may call them (the page: CLOUDFILE_SYNC and a system app)."""


def _listening_to(obj: Any) -> Any:
    """``obj`` with a progress listener, so only the arguments of an ``off`` can be wrong."""
    obj.on("progress", _ignore)
    return obj


def _listening(make: Callable[[Any], Any]) -> Make:
    """An ``off`` call on an instance that has a listener (so only the IPC can fail)."""
    def build(machine: Any, module: Any) -> Callable[[], Any]:
        obj = make(module)
        obj.on("progress", _ignore)
        return lambda: obj.off("progress")
    return build


IPC_CHECKED: dict[str, tuple[str, Make]] = {
    # the methods whose page lists 13600001, each as the system caller makes it
    "FileSync.start": ("FileSync.start", lambda m, mod: mod.FileSync().start),
    "FileSync.stop": ("FileSync.stop", lambda m, mod: mod.FileSync().stop),
    "FileSync.getLastSyncTime": ("FileSync.getLastSyncTime",
                                 lambda m, mod: mod.FileSync().getLastSyncTime),
    "FileSync.on": ("FileSync.on", lambda m, mod: lambda: mod.FileSync().on("progress", _ignore)),
    "FileSync.off": ("FileSync.off", _listening(lambda mod: mod.FileSync())),
    "GallerySync.on": ("GallerySync.on",
                       lambda m, mod: lambda: mod.GallerySync().on("progress", _ignore)),
    "GallerySync.off": ("GallerySync.off", _listening(lambda mod: mod.GallerySync())),
    "CloudFileCache.cleanCache": ("CloudFileCache.cleanCache",
                                  lambda m, mod: lambda: mod.CloudFileCache().cleanCache(
                                      _uri(m, mod))),
    "getFileSyncState": ("cloudSync.getFileSyncState",
                         lambda m, mod: lambda: mod.getFileSyncState([_uri(m, mod)])),
    "Download.on": ("Download.on", lambda m, mod: lambda: mod.Download().on("progress",
                                                                            _ignore)),
    "Download.off": ("Download.off", _listening(lambda mod: mod.Download())),
}


class CloudSyncMachine(RecordedMachine):
    """Runs against a fresh target each example; subclass to bind another target."""

    target_factory: ClassVar[Any] = ReferenceCloudSync
    """Makes the target (a :class:`~conformance.targets.CloudSyncTarget`)."""
    fidelity: ClassVar[CloudSyncFidelity] = DOCUMENTED
    """The profile whose behaviour the machine predicts (the target must run the same)."""
    coverage = Coverage()
    hardware_excused: ClassVar[dict[Any, str]] = {}
    """With ``--hil``: the documented items only rules needing Controls reach, and why."""

    def __init__(self) -> None:
        super().__init__()
        if "target" not in vars(self):  # a combined machine made it for its shared device
            self.target: CloudSyncTarget = self.target_factory()
        self.device = self.target.device
        self.progress: list[Any] = []
        self._listener_sync = self.target.modules["system"].FileSync()
        self._listener_sync.on("progress", self.progress.append)
        self.coverage.error("FileSync.on", 0)
        self.files = 0
        self.local_files = 0
        self.outs = 0
        self.downloads: list[Any] = []
        self.changes: list[Any] = []
        self.gallery_progress: list[Any] = []
        self._gallery_listening = False
        self.ambient = self.device.thermal.ambient_c

    def teardown(self) -> None:
        self.target.close()

    @classmethod
    def tour(cls) -> list[Step]:
        return [
            *combos("write_file", data=[b"tour"]), *combos("callers_are_checked"),
            *combos("bad_arguments"), *combos("ipc_failures"), *combos("start_conditions"),
            *combos("callback_forms"),
            *combos("sync_outcomes", order=[SYNC_CONDITIONS]),
            *combos("download_outcomes", order=[sorted(DOWNLOAD_OUTCOMES)]),
            *combos("file_system_faults"),
            *combos("file_sync_state", kind=["file", "missing", "invalid"],
                    array=[False, True]),
            *combos("download", kind=["in-cloud", "not-in-cloud", "too-big", "exact-fit",
                                      "foreign"], stop=[False, True]),
            *combos("clean_cache", kind=["synced", "local-only", "invalid"]),
            *combos("change_subscription", kind=["folder", "missing", "invalid"],
                    unregister=[False, True]),
            *combos("watched_file", op=["add", "modify", "rename", "delete"], data=[b"w"]),
            *combos("listeners", owner=["GallerySync", "Download"], method=["on", "off"]),
            *combos("on_event_name", evt=["progress", "done"], gallery=[False, True]),
            *combos("file_sync_start"), *combos("gallery_start"),
            *combos("stop", gallery=[False, True]), *combos("last_sync_time"),
            *combos("time_passes", seconds=[60.0]),
        ]

    # -- checking ----------------------------------------------------------------------------

    def expect(self, method: str, expected: int, call: Any) -> Any:
        """Run ``call``; it must raise ``expected`` (a code) or succeed when ``expected`` is 0.
        A returned promise is settled on the device."""
        section = next((m.section for m in spec.METHODS
                        if f"{m.owner}.{m.name}" == method), spec.DOCUMENT)
        try:
            result = call()
            if result is not None and hasattr(result, "callbacks"):
                result = self.device.run(result)
            observed = 0
        except BusinessError as exc:
            observed = exc.code
            if exc.code in spec.ERRORS and exc.message != self.message(exc.code):
                raise ConformanceFailure(f"{method} message", section,
                                         self.message(exc.code), exc.message) from None
            result = None
        if observed != expected:
            raise ConformanceFailure(method, section, expected, observed)
        self.coverage.error(method, observed)
        return result

    def message(self, code: int) -> str:
        """The documented message, or the release's under a profile that says so (§1.3)."""
        if self.fidelity.runtime_messages:
            return spec.RUNTIME_MESSAGES[code]
        return spec.ERRORS[code].message

    def change_code(self, code: int) -> int:
        """registerChange/unregisterChange: the release reports every problem as 401 and
        does not check for a system app (research §2.12)."""
        if self.fidelity.change_errors_as_401:
            return 0 if code in (0, spec.NOT_SYSTEM_APP) else spec.INVALID_PARAMETER
        return code

    def outcome(self, condition: str) -> tuple[spec.SyncState, spec.ErrorType]:
        """A sync condition's documented outcome, as the profile changes it (§2.4, §2.6)."""
        expected = OUTCOMES[condition]
        if condition == "battery-12" and not self.fidelity.battery_warning:
            return (spec.SyncState.UPLOAD_FAILED, spec.ErrorType.BATTERY_LEVEL_LOW)
        if condition == "overheated" and not self.fidelity.temperature_reported:
            return (spec.SyncState.COMPLETED, spec.ErrorType.NO_ERROR)
        return expected

    def caller_code(self, caller: str) -> int:
        if caller == "no-permission":
            return spec.PERMISSION_DENIED
        if caller == "not-system":
            return spec.NOT_SYSTEM_APP
        return 0

    def start_code(self, bundle: str) -> int:
        """``start()``'s precondition order (research §2.3), read off the device and cloud."""
        net = self.device.sensors.network()
        if not net.internet:
            return spec.NETWORK_UNAVAILABLE
        if not self.target.drive.ready(bundle):
            return spec.CLOUD_NOT_READY
        battery = self.device.sensors.battery()
        if battery.percent is not None and not battery.charging \
                and battery.percent < spec.STOP_CAPACITY_LIMIT:
            return spec.BATTERY_LOW
        return 0

    # -- API calls ------------------------------------------------------------------------------

    @rule()
    def callers_are_checked(self) -> None:
        """Every system API refuses a caller without CLOUDFILE_SYNC (201) and an ordinary app
        (202), before anything else and whatever the device's state."""
        for method, needs_permission, make in CALLER_CHECKED.values():
            for caller in ("no-permission", "not-system") if needs_permission \
                    else ("not-system",):
                module = self.target.modules[caller]
                if caller == "not-system" and method.startswith("FileSync."):
                    self.expect("FileSync.constructor", spec.NOT_SYSTEM_APP, module.FileSync)
                elif "Change" in method:
                    self.expect(method, self.change_code(self.caller_code(caller)),
                                make(self, module))
                else:
                    self.expect(method, self.caller_code(caller), make(self, module))

    @rule()
    def bad_arguments(self) -> None:
        """Each method's documented 401: a wrong type or a missing mandatory argument."""
        module = self.target.modules["system"]
        uri = module.files.uri("f0.txt")
        for method, call in (
                ("FileSync.constructor", lambda: module.FileSync(5)),
                ("FileSync.start", lambda: module.FileSync().start(5)),
                ("FileSync.stop", lambda: module.FileSync().stop("cb")),
                ("FileSync.getLastSyncTime", lambda: module.FileSync().getLastSyncTime(5)),
                ("FileSync.on", lambda: module.FileSync().on("progress", 5)),
                ("FileSync.off", lambda: _listening_to(module.FileSync()).off("done")),
                ("FileSync.off", lambda: _listening_to(module.FileSync()).off("progress", 5)),
                ("GallerySync.start", lambda: module.GallerySync().start(5)),
                ("GallerySync.stop", lambda: module.GallerySync().stop(5)),
                ("GallerySync.on", lambda: module.GallerySync().on("done", _ignore)),
                ("GallerySync.off", lambda: _listening_to(module.GallerySync()).off(
                    "progress", 5)),
                ("GallerySync.off", lambda: _listening_to(module.GallerySync()).off("done")),
                ("Download.start", lambda: module.Download().start(5)),
                ("Download.start", lambda: module.Download().start(uri, 5)),
                ("Download.stop", lambda: module.Download().stop(uri, "cb")),
                ("Download.stop", lambda: module.Download().stop("")),
                ("Download.on", lambda: module.Download().on("done", _ignore)),
                ("Download.off", lambda: _listening_to(module.Download()).off("progress", 5)),
                ("Download.off", lambda: _listening_to(module.Download()).off("done")),
                ("CloudFileCache.cleanCache", lambda: module.CloudFileCache().cleanCache(5)),
                ("cloudSync.getFileSyncState", lambda: module.getFileSyncState([])),
                ("cloudSync.getFileSyncState(string)", lambda: module.getFileSyncState("")),
                ("cloudSync.registerChange", lambda: module.registerChange(uri, "yes", _ignore)),
                ("cloudSync.unregisterChange", lambda: module.unregisterChange(5))):
            self.expect(method, spec.INVALID_PARAMETER, call)

    @rule()
    def callback_forms(self) -> None:
        """The AsyncCallback forms: the callback is called once, with (null, data) where the
        promise would resolve and (err, null) where it would reject — or, on a release that
        ignores callback forms (research §2.1), never, with a Promise returned instead."""
        system, denied = self.target.modules["system"], self.target.modules["no-permission"]
        uri = system.files.uri("dl/cb.bin")
        if self.target.drive.container(BUNDLE).get("dl/cb.bin") is None:
            self.target.cloud.seed(self.target.drive, BUNDLE, "dl/cb.bin", b"cb")
        cases: list[tuple[str, Any, int, bool]] = [
            # method, call with a callback, expected code, ignored on such a release
            ("FileSync.stop", lambda cb: system.FileSync().stop(cb), 0, True),
            ("FileSync.stop", lambda cb: denied.FileSync().stop(cb), spec.PERMISSION_DENIED,
             True),
            ("GallerySync.stop", lambda cb: system.GallerySync().stop(cb), 0, True),
            ("FileSync.getLastSyncTime", lambda cb: system.FileSync().getLastSyncTime(cb), 0,
             False),
            ("Download.start", lambda cb: system.Download().start(uri, cb), 0, False),
            ("Download.stop", lambda cb: system.Download().stop(uri, cb), 0, False),
            ("Download.stop", lambda cb: denied.Download().stop(uri, cb),
             spec.PERMISSION_DENIED, False)]
        for method, call, code, may_ignore in cases:
            calls: list[tuple[Any, Any]] = []
            returned = call(lambda err, data, c=calls: c.append((err, data)))
            self.device.run(until=self.device.env.now + 0.01)
            if may_ignore and self.fidelity.callback_forms_ignored:
                if calls or returned is None:
                    raise ConformanceFailure(f"{method}(callback) on this release",
                                             "research §2.1", "a Promise, no call",
                                             (returned, calls))
                continue
            observed = [getattr(err, "code", 0) if err is not None else 0 for err, _ in calls]
            if observed != [code] or returned is not None:
                raise ConformanceFailure(f"{method}(callback)", f"{spec.DOCUMENT} ## "
                                         f"{method.replace('.', ' ### ')}",
                                         [code], (observed, returned))
            self.coverage.error(method, code)

    @rule()
    def ipc_failures(self) -> None:
        """The sync service does not answer: each method whose page lists 13600001 says so."""
        module = self.target.modules["system"]
        for method, make in IPC_CHECKED.values():
            call = make(self, module)  # built first: building may itself talk to the service
            self.target.cloud.failing_ipc = 1
            try:
                self.expect(method, spec.IPC_ERROR, call)
            finally:
                self.target.cloud.failing_ipc = 0

    @rule()
    def file_sync_start(self) -> None:
        self.expect("FileSync.start", self.start_code(BUNDLE),
                    self.target.modules["system"].FileSync().start)

    @precondition(lambda self: self.target.has_controls)
    @rule()
    def start_conditions(self) -> None:
        """start()'s documented conditions, alone and two at once (the first in research
        §2.3's order wins), for FileSync and GallerySync: every rule is exercised in every
        campaign, not only when a random walk happens to line them up."""
        for condition in START_CONDITIONS:
            for gallery in (False, True):
                self.clear_conditions()
                self.target.drive.switches[GALLERY] = True
                controls = self.device.controls
                for part in condition.split("+"):
                    if part == "offline":
                        controls.set_radio("wifi", False)
                        controls.set_radio("cellular", False)
                    elif part == "logged-out":
                        self.target.drive.logged_in = False
                    elif part == "switch-off":
                        self.target.drive.switches[GALLERY if gallery else BUNDLE] = False
                    elif part.startswith("battery"):
                        controls.set_battery_level(float(part.split("-")[1]))
                    elif part.startswith("charging"):
                        controls.set_battery_level(5.0)
                        controls.plug_charger()
                module = self.target.modules["system"]
                sync = module.GallerySync() if gallery else module.FileSync()
                self.expect("GallerySync.start" if gallery else "FileSync.start",
                            self.start_code(GALLERY if gallery else BUNDLE), sync.start)
                sync.stop()
        self.clear_conditions()

    def clear_conditions(self) -> None:
        """Wi-Fi up, logged in, switch on, 60 % on battery: no start() condition holds."""
        controls = self.device.controls
        controls.set_radio("wifi", True)
        self.target.drive.logged_in = True
        self.target.drive.switches[BUNDLE] = True
        controls.unplug_charger()
        controls.set_battery_level(60.0)
        controls.set_ambient(self.ambient)
        self.device.storage.free_filler(self.device.storage.capacity)
        self.target.cloud.server_down = False

    @precondition(lambda self: self.target.has_controls)
    @rule(order=st.permutations(SYNC_CONDITIONS))
    def sync_outcomes(self, order: list[str]) -> None:
        """Every documented sync outcome, in a drawn order (each is cheap in simulated time,
        and the order varies what each one starts from)."""
        for condition in order:
            self.sync_outcome(condition)

    def sync_outcome(self, condition: str) -> None:
        """A sync with a file to upload (and, when clean, one to download), under a condition the
        documents give an outcome for; its last progress event, the files' states and the
        cloud's copy must be what the documents say."""
        module = self.target.modules["system"]
        gallery = condition == "gallery-on-cellular"
        bundle = GALLERY if gallery else BUNDLE
        sync = module.GallerySync() if gallery else module.FileSync()
        progress = self.gallery_progress if gallery else self.progress
        if gallery and not self._gallery_listening:
            sync.on("progress", self.gallery_progress.append)
            self._gallery_listening = True
        self.clear_conditions()
        self.target.drive.switches[GALLERY] = True
        self.target.drive.quota = max(self.target.drive.quota, 10**9)
        sync.stop()
        self.settle(progress)
        sync.start()
        self.settle(progress)  # the cloud's changes are pulled now: the next run uploads
        self.outs += 1
        rel, pulled = f"out/{self.outs}.txt", f"in/{self.outs}.txt"
        size = 20_000_000 if condition == "radio-lost-mid-upload" else 100
        data = random.Random(self.outs).randbytes(size)
        if gallery:
            self.target.write_app_file(GALLERY, rel, data)
        else:
            module.files.write(rel, data)
        if condition in ("clean", "local-full"):  # a pull takes time: the battery drains
            self.target.cloud.seed(self.target.drive, bundle, pulled, b"from the cloud")
        if condition == "charging-5-then-unplugged":
            # the battery is checked before each batch of uploads (research §2.4): the
            # charger goes while the first batch is on its way, the second is refused
            for extra in range(engine.BATCH):
                module.files.write(f"out/{self.outs}-{extra}.txt", data)
        expected = self.outcome(condition)
        controls = self.device.controls
        if condition.startswith("battery"):
            controls.set_battery_level(float(condition.split("-")[1]))
        elif condition == "cloud-full":
            self.target.drive.quota = self.target.drive.used
        elif condition == "local-full":
            controls.fill_storage(self.device.storage.free)
        elif condition == "overheated":
            controls.set_ambient(70.0)
            self.run_until(lambda: self.device.thermal.overheated, 4 * 3600)
        elif condition == "charging-5-then-unplugged":
            controls.set_battery_level(5.0)
            controls.plug_charger()
        elif gallery:
            controls.set_radio("wifi", False)
            controls.set_radio("cellular", True)
        mark = len(progress)
        unheard: list[Any] = []  # a listener turned off before the run hears nothing of it
        quiet = module.GallerySync() if gallery else module.FileSync()
        quiet.on("progress", unheard.append)
        unheard.clear()  # a release may push the last state at once (research §2.8)
        quiet.off("progress")
        self.expect("GallerySync.start" if gallery else "FileSync.start", 0, sync.start)
        if condition == "stopped":
            self.expect("FileSync.stop", 0, sync.stop)
        elif condition == "charging-5-then-unplugged":
            controls.unplug_charger()
        elif condition == "radio-lost-mid-upload":
            self.device.run(until=self.device.env.now + 0.5)
            state = self.expect("cloudSync.getFileSyncState(string)", 0,
                                lambda: module.getFileSyncState(module.files.uri(rel)))
            self.file_state_is(state, spec.FileSyncState.UPLOADING, condition)
            controls.set_radio("wifi", False)
            controls.set_radio("cellular", False)
        self.settle(progress)
        if unheard:
            raise ConformanceFailure("off('progress') stops the events",
                                     f"{spec.DOCUMENT} ## FileSync ### off", [], unheard)
        final = [(spec.SyncState(p.state), spec.ErrorType(p.error))
                 for p in progress[mark:] if p.state in TERMINAL]
        if final[-1:] != [expected]:
            raise ConformanceFailure(f"sync outcome ({condition})", SYNC_SECTION,
                                     expected, final[-1] if final else "no final state")
        self.coverage.transition("GallerySync" if gallery else "FileSync", "start",
                                 expected[0].name)
        self.coverage.value("SyncState", expected[0].name)
        self.coverage.value("ErrorType", expected[1].name)
        if not gallery:
            self.check_files(condition, rel, pulled, data)
        self.clear_conditions()
        self.run_until(lambda: not self.device.thermal.overheated, 4 * 3600)
        self.target.drive.quota = max(self.target.drive.quota, 10**9)

    def check_files(self, condition: str, rel: str, pulled: str, data: bytes) -> None:
        """The files a sync touched: their FileSyncState, the cloud's copy, the local copy."""
        module = self.target.modules["system"]
        state = FILE_STATES.get(condition)
        if state is not None:
            observed = self.expect("cloudSync.getFileSyncState(string)", 0,
                                   lambda: module.getFileSyncState(module.files.uri(rel)))
            self.file_state_is(observed, state, condition)
        if condition == "clean":
            stored = self.target.drive.container(BUNDLE).get(rel)
            if stored is None or stored.sha256 != hashlib.sha256(data).hexdigest():
                raise ConformanceFailure("a completed sync leaves the file in the cloud, "
                                         "intact", SYNC_SECTION, len(data), stored)
            if module.files.read(pulled) != b"from the cloud":
                raise ConformanceFailure("a completed sync brings the cloud's files",
                                         SYNC_SECTION, b"from the cloud",
                                         module.files.read(pulled))
            observed = self.expect("cloudSync.getFileSyncState(string)", 0,
                                   lambda: module.getFileSyncState(module.files.uri(pulled)))
            self.file_state_is(observed, spec.FileSyncState.COMPLETED, condition)
        if module.files.read(rel) != data:
            raise ConformanceFailure("a sync never changes the local file it uploads",
                                     SYNC_SECTION, len(data), len(module.files.read(rel)))

    def file_state_is(self, observed: Any, state: spec.FileSyncState, condition: str) -> None:
        if observed != state:
            raise ConformanceFailure(f"file state ({condition})", f"{spec.DOCUMENT} ## "
                                     "FileSyncState", state.name,
                                     spec.FileSyncState(observed).name)
        self.coverage.value("FileSyncState", state.name)

    def run_until(self, done: Callable[[], bool], limit: float) -> None:
        end = self.device.env.now + limit
        while not done() and self.device.env.now < end:
            self.device.run(until=self.device.env.now + 60.0)

    @precondition(lambda self: self.target.has_controls)
    @rule(order=st.permutations(sorted(DOWNLOAD_OUTCOMES)))
    def download_outcomes(self, order: list[str]) -> None:
        """Every documented download outcome, in a drawn order."""
        for case in order:
            self.download_outcome(case)

    def download_outcome(self, case: str) -> None:
        """An on-demand download under one condition: its last DownloadProgress must carry
        the documented State and DownloadErrorType."""
        module = self.target.modules["system"]
        self.clear_conditions()
        self.outs += 1
        rel = f"dl/o{self.outs}.bin"
        self.target.cloud.seed(self.target.drive, BUNDLE, rel, b"d" * 4_000_000)
        uri = module.files.uri(rel)
        download = module.Download()
        download.on("progress", self.downloads.append)
        mark = len(self.downloads)
        self.expect("Download.start", 0, lambda: download.start(uri))
        controls = self.device.controls
        if case == "stopped":
            self.device.run(until=self.device.env.now + 0.05)
            self.expect("Download.stop", 0, lambda: download.stop(uri))
        elif case == "vanished":
            self.device.run(until=self.device.env.now + 0.05)
            self.target.drive.container(BUNDLE).delete(rel)
        elif case == "radio-lost":
            self.device.run(until=self.device.env.now + 0.05)
            controls.set_radio("wifi", False)
            controls.set_radio("cellular", False)
        self.device.run(until=self.device.env.now + 30.0)
        events = [d for d in self.downloads[mark:] if d.uri == uri]
        final = (spec.State(events[-1].state), spec.DownloadErrorType(events[-1].error)) \
            if events else None
        if final != DOWNLOAD_OUTCOMES[case]:
            raise ConformanceFailure(f"download outcome ({case})", f"{spec.DOCUMENT} ## "
                                     "Download, ## State, ## DownloadErrorType",
                                     DOWNLOAD_OUTCOMES[case], final)
        self.clear_conditions()

    @precondition(lambda self: self.target.has_controls)
    @rule()
    def file_system_faults(self) -> None:
        """A file-system error where the file's state or a watch is read surfaces as its
        documented code (research §2.11: the state lives in an extended attribute)."""
        module = self.target.modules["system"]
        module.files.mkdir("watched")
        try:
            for fault, code in FS_FAULTS.items():
                self.target.set_fs_fault("f0.txt", fault)
                self.expect("cloudSync.getFileSyncState(string)", code,
                            lambda: module.getFileSyncState(module.files.uri("f0.txt")))
            self.target.set_fs_fault("f0.txt", None)
            for fault in (errno.EPERM, errno.EACCES):
                self.target.set_fs_fault("watched", fault)
                for method in ("registerChange", "unregisterChange"):
                    call = (lambda: module.registerChange(module.files.uri("watched"), True,
                                                          _ignore)) \
                        if method == "registerChange" \
                        else (lambda: module.unregisterChange(module.files.uri("watched")))
                    self.expect(f"cloudSync.{method}", self.change_code(FS_FAULTS[fault]), call)
        finally:
            self.target.set_fs_fault("f0.txt", None)
            self.target.set_fs_fault("watched", None)

    def settle(self, progress: list[Any], limit: float = 600.0) -> None:
        """Let simulated time pass until the last progress event is a final one."""
        end = self.device.env.now + limit
        while self.device.env.now < end:
            self.device.run(until=self.device.env.now + 5.0)
            if progress and progress[-1].state in TERMINAL:
                break

    @rule()
    def gallery_start(self) -> None:
        sync = self.target.modules["system"].GallerySync()
        self.expect("GallerySync.start", self.start_code(GALLERY), sync.start)

    @rule(gallery=st.booleans())
    def stop(self, gallery: bool) -> None:
        module = self.target.modules["system"]
        sync = module.GallerySync() if gallery else module.FileSync()
        self.expect("GallerySync.stop" if gallery else "FileSync.stop", 0, sync.stop)

    @rule()
    def last_sync_time(self) -> None:
        value = self.expect("FileSync.getLastSyncTime", 0,
                            self.target.modules["system"].FileSync().getLastSyncTime)
        if not isinstance(value, int) or value < 0 or value > self.device.utc_ms():
            raise ConformanceFailure("getLastSyncTime", f"{spec.DOCUMENT} ## FileSync ### "
                                     "getLastSyncTime", "UTC milliseconds, not later than now",
                                     value)

    @rule(evt=st.sampled_from(["progress", "done", ""]), gallery=st.booleans())
    def on_event_name(self, evt: str, gallery: bool) -> None:
        module = self.target.modules["system"]
        sync = module.GallerySync() if gallery else module.FileSync()
        owner = "GallerySync" if gallery else "FileSync"
        self.expect(f"{owner}.on", 0 if evt == "progress" else spec.INVALID_PARAMETER,
                    lambda: sync.on(evt, lambda pg: None))

    @rule(kind=st.sampled_from(["file", "missing", "invalid"]), array=st.booleans())
    def file_sync_state(self, kind: str, array: bool) -> None:
        module = self.target.modules["system"]
        files = module.files
        uri = {"file": files.uri("f0.txt"), "missing": files.uri("missing.txt"),
               "invalid": "file://other.app/data/storage/el2/cloud/x"}[kind]
        if kind == "invalid":
            code = spec.INVALID_URI
        elif kind == "missing" or not self.files:
            code = spec.NO_SUCH_FILE
        else:
            code = 0
        if array:
            states = self.expect("cloudSync.getFileSyncState", code,
                                 lambda: module.getFileSyncState([uri]))
            state = states[0] if states else None
        else:
            state = self.expect("cloudSync.getFileSyncState(string)", code,
                                lambda: module.getFileSyncState(uri))
        if state is not None:
            self.coverage.value("FileSyncState", spec.FileSyncState(state).name)

    @rule(owner=st.sampled_from(["GallerySync", "Download"]), method=st.sampled_from(["on", "off"]))
    def listeners(self, owner: str, method: str) -> None:
        module = self.target.modules["system"]
        obj = module.GallerySync() if owner == "GallerySync" else module.Download()
        listener = _ignore
        if method == "off":
            obj.on("progress", listener)  # off needs a registration on this instance
        # off(type, callback?): with the callback given, as the page allows
        call = (lambda: obj.on("progress", lambda pg: None)) if method == "on" \
            else (lambda: obj.off("progress", listener))
        self.expect(f"{owner}.{method}", 0, call)
        if method == "off":
            # off again, with nothing registered: 401 for the sync classes (the current
            # release); Download asks the service, which has no callback: 13600001 (§2.1)
            again = spec.IPC_ERROR if owner == "Download" else \
                spec.INVALID_PARAMETER if self.fidelity.off_without_on_fails else 0
            self.expect(f"{owner}.off", again, lambda: obj.off("progress"))

    @rule(kind=st.sampled_from(["in-cloud", "not-in-cloud", "too-big", "exact-fit", "foreign"]),
          stop=st.booleans())
    def download(self, kind: str, stop: bool) -> None:
        """Download.start's documented refusals: no such file in the cloud (or a URI that is
        not the app's), 13900002; more than the free space, 13900025 — exactly the free space
        fits."""
        module = self.target.modules["system"]
        rel = {"in-cloud": "dl/a.bin", "not-in-cloud": "dl/none.bin", "too-big": "dl/big.bin",
               "exact-fit": "dl/fit.bin", "foreign": "dl/a.bin"}
        if kind in ("in-cloud", "foreign") and \
                self.target.drive.container(BUNDLE).get(rel[kind]) is None:
            self.target.cloud.seed(self.target.drive, BUNDLE, rel[kind], b"x" * 1000)
        if kind == "too-big" and self.target.drive.container(BUNDLE).get(rel[kind]) is None:
            self.target.plant_object(BUNDLE, rel[kind], 10**14)
        if kind == "exact-fit":
            self.target.plant_object(BUNDLE, rel[kind], self.device.storage.free)
        uri = module.files.uri(rel[kind]) if kind != "foreign" else \
            f"file://other.app/data/storage/el2/cloud/{rel[kind]}"
        download = module.Download()
        download.on("progress", self.downloads.append)
        if stop:
            self.expect("Download.stop", 0, lambda: download.stop(uri))
            return
        code = {"in-cloud": 0, "not-in-cloud": spec.NO_SUCH_FILE, "too-big": spec.NO_SPACE,
                "exact-fit": 0, "foreign": spec.NO_SUCH_FILE}[kind]
        self.expect("Download.start", code, lambda: download.start(uri))
        if kind == "exact-fit":  # its bytes are never meant to arrive
            self.expect("Download.stop", 0, lambda: download.stop(uri))

    @rule(kind=st.sampled_from(["synced", "local-only", "invalid"]))
    def clean_cache(self, kind: str) -> None:
        module = self.target.modules["system"]
        if kind == "synced" and self.target.drive.container(BUNDLE).get("cc/s.bin") is None:
            self.target.cloud.seed(self.target.drive, BUNDLE, "cc/s.bin", b"cached")
            module.files.write("cc/s.bin", b"cached")
        # a new name each time: a sync started earlier may have uploaded an older one
        self.local_files += 1
        local = f"cc/local-{self.local_files}.bin"
        if kind == "local-only":
            module.files.write(local, b"only here")
        uri = {"synced": module.files.uri("cc/s.bin"), "local-only": module.files.uri(local),
               "invalid": "file://x.y/data/storage/el2/a"}[kind]
        code = {"synced": 0, "local-only": spec.NO_SUCH_FILE, "invalid": spec.INVALID_URI}[kind]
        self.expect("CloudFileCache.cleanCache", code,
                    lambda: module.CloudFileCache().cleanCache(uri))
        if kind == "local-only" and module.files.read(local) != b"only here":
            raise ConformanceFailure("a refused cleanCache loses nothing",
                                     f"{spec.DOCUMENT} ## CloudFileCache ### cleanCache",
                                     b"only here", module.files.read(local))

    @rule(kind=st.sampled_from(["folder", "missing", "invalid"]), unregister=st.booleans())
    def change_subscription(self, kind: str, unregister: bool) -> None:
        module = self.target.modules["system"]
        module.files.mkdir("watched")
        uri = {"folder": module.files.uri("watched"), "missing": module.files.uri("nowhere"),
               "invalid": "file://x.y/data/storage/el2/cloud/a"}[kind]
        code = self.change_code({"folder": 0, "missing": spec.NO_SUCH_FILE,
                                 "invalid": spec.INVALID_URI}[kind])
        if unregister:
            self.expect("cloudSync.unregisterChange", code, lambda: module.unregisterChange(uri))
        else:
            callback = self._watch
            if code == 0:
                module.unregisterChange(uri)  # the same callback twice on one uri is 401
            self.expect("cloudSync.registerChange", code,
                        lambda: module.registerChange(uri, True, callback))

    def _watch(self, change: Any) -> None:
        self.changes.append(change)

    @rule(op=st.sampled_from(["add", "modify", "delete", "rename"]), data=st.binary(max_size=50))
    def watched_file(self, op: str, data: bytes) -> None:
        """Change a file in a folder watched with registerChange: the callback hears of it,
        with the NotifyType for what happened and the file's URI."""
        module = self.target.modules["system"]
        files = module.files
        files.mkdir("watched")
        module.unregisterChange(files.uri("watched"))
        module.registerChange(files.uri("watched"), True, self._watch)
        here = files.list("watched")
        mark = len(self.changes)
        if op == "add" or not here:
            name = f"w{len(here)}.txt"
            while name in here:
                name = "n" + name
            kind = spec.NotifyType.NOTIFY_ADDED
            files.write(f"watched/{name}", data)
            uris = [files.uri(f"watched/{name}")]
        elif op == "modify":
            kind = spec.NotifyType.NOTIFY_MODIFIED
            files.write(f"watched/{here[0]}", data)
            uris = [files.uri(f"watched/{here[0]}")]
        elif op == "delete":
            kind = spec.NotifyType.NOTIFY_DELETED
            files.delete(f"watched/{here[0]}")
            uris = [files.uri(f"watched/{here[0]}")]
        else:
            kind, new = spec.NotifyType.NOTIFY_RENAMED, f"r{len(here)}-{here[0]}"
            files.rename(f"watched/{here[0]}", f"watched/{new}")
            uris = [files.uri(f"watched/{here[0]}"), files.uri(f"watched/{new}")]
        heard = [(spec.NotifyType(c.type), sorted(c.uris)) for c in self.changes[mark:]]
        if heard != [(kind, sorted(uris))]:
            raise ConformanceFailure("registerChange callback", f"{spec.DOCUMENT} ## "
                                     "cloudSync.registerChange, ## ChangeData",
                                     [(kind, sorted(uris))], heard)
        self.coverage.value("NotifyType", kind.name)

    @rule(data=st.binary(max_size=200))
    def write_file(self, data: bytes) -> None:
        self.target.modules["system"].files.write(f"f{self.files % 3}.txt", data)
        self.files += 1

    # -- device and cloud events ---------------------------------------------------------------

    @precondition(lambda self: self.target.has_controls)
    @rule(radio=st.sampled_from(["wifi", "cellular", "both"]), up=st.booleans())
    def radio(self, radio: str, up: bool) -> None:
        for name in ("wifi", "cellular") if radio == "both" else (radio,):
            self.device.controls.set_radio(name, up)

    @precondition(lambda self: self.target.has_controls)
    @rule(level=st.sampled_from([5.0, 9.9, 10.0, 12.0, 14.9, 15.0, 60.0]))
    def battery(self, level: float) -> None:
        self.device.controls.set_battery_level(level)

    @precondition(lambda self: self.target.has_controls)
    @rule(plugged=st.booleans())
    def charger(self, plugged: bool) -> None:
        controls = self.device.controls
        controls.plug_charger() if plugged else controls.unplug_charger()

    @rule(logged_in=st.booleans(), switch=st.booleans())
    def cloud_account(self, logged_in: bool, switch: bool) -> None:
        self.target.drive.logged_in = logged_in
        self.target.drive.switches[BUNDLE] = switch

    @rule(seconds=st.sampled_from([0.5, 5.0, 60.0]))
    def time_passes(self, seconds: float) -> None:
        wait(self, seconds)

    @invariant()
    def downloads_are_well_formed(self) -> None:
        """DownloadProgress: an error exactly on FAILED, COMPLETED after every byte, nothing
        after a final state of the same file's download."""
        ended: set[str] = set()
        for dp in self.downloads:
            state, error = spec.State(dp.state), spec.DownloadErrorType(dp.error)
            if (state == spec.State.FAILED) != (error != spec.DownloadErrorType.NO_ERROR):
                raise ConformanceFailure("DownloadProgress", f"{spec.DOCUMENT} ## "
                                         "DownloadErrorType", "an error exactly on FAILED",
                                         (state.name, error.name))
            if state == spec.State.COMPLETED and dp.processed != dp.size:
                raise ConformanceFailure("DownloadProgress COMPLETED", f"{spec.DOCUMENT} ## "
                                         "DownloadProgress", dp.size, dp.processed)
            if dp.uri in ended and state == spec.State.RUNNING:
                ended.discard(dp.uri)  # a new download of the same file
            self.coverage.value("State", state.name)
            self.coverage.value("DownloadErrorType", error.name)
            if state != spec.State.RUNNING:
                ended.add(dp.uri)

    # -- what must always hold -------------------------------------------------------------------

    @invariant()
    def progress_is_well_formed(self) -> None:
        failed = {spec.SyncState.UPLOAD_FAILED, spec.SyncState.DOWNLOAD_FAILED}
        previous = "start"
        for pg in self.progress:
            state, error = spec.SyncState(pg.state), spec.ErrorType(pg.error)
            if (error != spec.ErrorType.NO_ERROR) != (state in failed):
                raise ConformanceFailure("SyncProgress", "## ErrorType",
                                         "an error exactly on *_FAILED", (state, error))
            self.coverage.value("SyncState", state.name)
            self.coverage.value("ErrorType", error.name)
            self.coverage.transition("FileSync", previous, state.name)
            previous = state.name
