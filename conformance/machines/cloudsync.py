"""A state machine for ``@ohos.file.cloudSync``: API calls from three callers, interleaved with
device and cloud events; a model predicts every outcome from the spec tables and the device's
state, and the target must match it exactly (code and message).

Every asserted outcome is recorded in :attr:`CloudSyncMachine.coverage`, so a run ends with a
coverage matrix of the documented (method, code) pairs and enum values it reached.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from conformance.coverage import Coverage
from conformance.spec import ohos_cloudsync as spec
from conformance.targets.reference import BUNDLE, ReferenceCloudSync
from sim.ohos.common import BusinessError

CALLERS = st.sampled_from(["system", "no-permission", "not-system"])
GALLERY = "com.ohos.photos"


class ConformanceFailure(AssertionError):
    """A documented rule the target broke: the rule's section, expected and observed."""

    def __init__(self, rule: str, section: str, expected: object, observed: object) -> None:
        super().__init__(f"{rule} ({section}): expected {expected!r}, observed {observed!r}")


class CloudSyncMachine(RuleBasedStateMachine):
    """Runs against a fresh target each example; subclass to bind another target."""

    target_factory = ReferenceCloudSync
    coverage = Coverage()

    def __init__(self) -> None:
        super().__init__()
        self.target = self.target_factory()
        self.device = self.target.device
        self.progress: list[Any] = []
        self._listener_sync = self.target.modules["system"].FileSync()
        self._listener_sync.on("progress", self.progress.append)
        self.coverage.error("FileSync.on", 0)
        self.files = 0

    def teardown(self) -> None:
        self.target.close()

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
            if exc.code in spec.ERRORS and exc.message != spec.ERRORS[exc.code].message:
                raise ConformanceFailure(f"{method} message", section,
                                         spec.ERRORS[exc.code].message, exc.message) from None
            result = None
        if observed != expected:
            raise ConformanceFailure(method, section, expected, observed)
        self.coverage.error(method, observed)
        return result

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
        if battery.percent is not None and not battery.charging and battery.percent < 10:
            return spec.BATTERY_LOW
        return 0

    # -- API calls ------------------------------------------------------------------------------

    @rule(caller=CALLERS)
    def file_sync_start(self, caller: str) -> None:
        module = self.target.modules[caller]
        if caller == "not-system":
            self.expect("FileSync.constructor", spec.NOT_SYSTEM_APP, module.FileSync)
            return
        sync = module.FileSync()
        code = self.caller_code(caller) or self.start_code(BUNDLE)
        self.expect("FileSync.start", code, sync.start)

    @precondition(lambda self: self.target.has_controls)
    @rule(condition=st.sampled_from(["offline", "logged-out", "switch-off", "battery-9",
                                     "battery-10", "charging-5"]))
    def start_under(self, condition: str) -> None:
        """Bring about one of start()'s documented conditions, then start: every rule of
        research §2.3 gets exercised in every campaign, not only by chance."""
        controls = self.device.controls
        controls.set_radio("wifi", True)  # only this condition holds: no other rule masks it
        self.target.drive.logged_in = True
        self.target.drive.switches[BUNDLE] = True
        controls.set_battery_level(max(60.0, self.device.sensors.battery().percent or 60.0))
        controls.unplug_charger()
        if condition == "offline":
            controls.set_radio("wifi", False)
            controls.set_radio("cellular", False)
        elif condition == "logged-out":
            self.target.drive.logged_in = False
        elif condition == "switch-off":
            self.target.drive.switches[BUNDLE] = False
        elif condition.startswith("battery"):
            controls.unplug_charger()
            controls.set_battery_level(float(condition.split("-")[1]))
        else:
            controls.set_battery_level(5.0)
            controls.plug_charger()
        self.expect("FileSync.start", self.start_code(BUNDLE),
                    self.target.modules["system"].FileSync().start)

    @rule(caller=CALLERS)
    def gallery_start(self, caller: str) -> None:
        sync = self.target.modules[caller].GallerySync()
        code = self.caller_code(caller) or self.start_code(GALLERY)
        self.expect("GallerySync.start", code, sync.start)

    @rule(caller=CALLERS, gallery=st.booleans())
    def stop(self, caller: str, gallery: bool) -> None:
        module = self.target.modules[caller]
        if gallery:
            self.expect("GallerySync.stop", self.caller_code(caller), module.GallerySync().stop)
        elif caller == "not-system":
            self.expect("FileSync.constructor", spec.NOT_SYSTEM_APP, module.FileSync)
        else:
            self.expect("FileSync.stop", self.caller_code(caller), module.FileSync().stop)

    @rule(caller=CALLERS)
    def last_sync_time(self, caller: str) -> None:
        module = self.target.modules[caller]
        if caller == "not-system":
            self.expect("FileSync.constructor", spec.NOT_SYSTEM_APP, module.FileSync)
            return
        value = self.expect("FileSync.getLastSyncTime", self.caller_code(caller),
                            module.FileSync().getLastSyncTime)
        if caller == "system" and not isinstance(value, int):
            raise ConformanceFailure("getLastSyncTime", "FileSync.getLastSyncTime",
                                     "UTC milliseconds", value)

    @rule(evt=st.sampled_from(["progress", "done", ""]), gallery=st.booleans())
    def on_event_name(self, evt: str, gallery: bool) -> None:
        module = self.target.modules["system"]
        sync = module.GallerySync() if gallery else module.FileSync()
        owner = "GallerySync" if gallery else "FileSync"
        self.expect(f"{owner}.on", 0 if evt == "progress" else spec.INVALID_PARAMETER,
                    lambda: sync.on(evt, lambda pg: None))

    @rule()
    def ipc_failure(self) -> None:
        self.target.cloud.failing_ipc = 1
        self.expect("FileSync.start", spec.IPC_ERROR,
                    self.target.modules["system"].FileSync().start)

    @rule(caller=CALLERS, kind=st.sampled_from(["file", "missing", "invalid"]))
    def file_sync_state(self, caller: str, kind: str) -> None:
        module = self.target.modules[caller]
        files = module.files
        uri = {"file": files.uri("f0.txt"), "missing": files.uri("missing.txt"),
               "invalid": "file://other.app/data/storage/el2/cloud/x"}[kind]
        if caller == "not-system":
            code = spec.NOT_SYSTEM_APP
        elif kind == "invalid":
            code = spec.INVALID_URI
        elif kind == "missing" or not self.files:
            code = spec.NO_SUCH_FILE
        else:
            code = 0
        state = self.expect("cloudSync.getFileSyncState(string)", code,
                            lambda: module.getFileSyncState(uri))
        if state is not None:
            self.coverage.value("FileSyncState", spec.FileSyncState(state).name)

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
        self.device.run(until=self.device.env.now + seconds)

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
