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


def _huge(path: str) -> Any:
    """A cloud object larger than any device's free space (its bytes are never read)."""
    from sim.cloud.drive import CloudObject

    return CloudObject(path, 10**14, "0" * 64, 1, 0.0)


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
        self.local_files = 0

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

    @rule(caller=CALLERS, owner=st.sampled_from(["GallerySync", "Download"]),
          method=st.sampled_from(["on", "off"]))
    def listeners(self, caller: str, owner: str, method: str) -> None:
        """on/off of the system API classes: 201 before 202 (research §2.2)."""
        module = self.target.modules[caller]
        obj = module.GallerySync() if owner == "GallerySync" else module.Download()
        code = self.caller_code(caller)
        if code == 0 and method == "off":
            obj.on("progress", lambda pg: None)  # off needs a registration on this instance
        call = (lambda: obj.on("progress", lambda pg: None)) if method == "on" \
            else (lambda: obj.off("progress"))
        self.expect(f"{owner}.{method}", code, call)

    @rule(caller=CALLERS, kind=st.sampled_from(["in-cloud", "not-in-cloud", "too-big"]),
          stop=st.booleans())
    def download(self, caller: str, kind: str, stop: bool) -> None:
        module = self.target.modules[caller]
        rel = {"in-cloud": "dl/a.bin", "not-in-cloud": "dl/none.bin", "too-big": "dl/big.bin"}
        if kind == "in-cloud" and self.target.drive.container(BUNDLE).get(rel[kind]) is None:
            self.target.cloud.seed(self.target.drive, BUNDLE, rel[kind], b"x" * 1000)
        if kind == "too-big" and self.target.drive.container(BUNDLE).get(rel[kind]) is None:
            self.target.drive.quota = 10**15
            self.target.drive.container(BUNDLE).objects[rel[kind]] = _huge(rel[kind])
        uri = module.files.uri(rel[kind])
        download = module.Download()
        code = self.caller_code(caller)
        if stop:
            self.expect("Download.stop", code, lambda: download.stop(uri))
            return
        if code == 0:
            code = {"in-cloud": 0, "not-in-cloud": spec.NO_SUCH_FILE,
                    "too-big": spec.NO_SPACE}[kind]
        self.expect("Download.start", code, lambda: download.start(uri))

    @rule(caller=CALLERS, kind=st.sampled_from(["synced", "local-only", "invalid"]))
    def clean_cache(self, caller: str, kind: str) -> None:
        module = self.target.modules[caller]
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
        code = self.caller_code(caller) or {"synced": 0, "local-only": spec.NO_SUCH_FILE,
                                            "invalid": spec.INVALID_URI}[kind]
        self.expect("CloudFileCache.cleanCache", code,
                    lambda: module.CloudFileCache().cleanCache(uri))

    @rule(caller=CALLERS, kind=st.sampled_from(["folder", "missing", "invalid"]),
          unregister=st.booleans())
    def change_subscription(self, caller: str, kind: str, unregister: bool) -> None:
        module = self.target.modules[caller]
        (module.sandbox.cloud_dir / "watched").mkdir(exist_ok=True)
        uri = {"folder": module.files.uri("watched"), "missing": module.files.uri("nowhere"),
               "invalid": "file://x.y/data/storage/el2/cloud/a"}[kind]
        code = spec.NOT_SYSTEM_APP if caller == "not-system" else {
            "folder": 0, "missing": spec.NO_SUCH_FILE, "invalid": spec.INVALID_URI}[kind]
        if unregister:
            self.expect("cloudSync.unregisterChange", code, lambda: module.unregisterChange(uri))
        else:
            callback = self._watch
            if code == 0:
                module.unregisterChange(uri)  # the same callback twice on one uri is 401
            self.expect("cloudSync.registerChange", code,
                        lambda: module.registerChange(uri, True, callback))

    def _watch(self, change: Any) -> None:
        self.coverage.value("NotifyType", spec.NotifyType(change.type).name)

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
