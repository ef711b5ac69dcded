"""What every cloudSync rule stands on: the target and what the machine has heard of it, and
the model that predicts a call's code from the spec tables, the profile and the device's
state — so each group of rules only says what it does and what it expects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from conformance.machines.base import ConformanceFailure, Result
from conformance.machines.cloudsync.outcomes import FILE_STATES, OUTCOMES, TERMINAL
from conformance.machines.events import DeviceEvents
from conformance.targets import CloudSyncTarget
from conformance.targets.reference import BUNDLE
from sim.ohos.cloudsync.fidelity import CloudSyncFidelity
from sim.ohos.common import BusinessError
from sim.spec import ohos_cloudsync as spec


class CloudSyncModel(DeviceEvents):
    """The state the rules share and the predictions they check against."""

    target_factory: ClassVar[Any]
    """Makes the target (a :class:`~conformance.targets.CloudSyncTarget`)."""
    fidelity: ClassVar[CloudSyncFidelity]
    """The profile whose behaviour the machine predicts (the target must run the same)."""

    def __init__(self) -> None:
        super().__init__()
        if "target" not in vars(self):  # a combined machine made it for its shared device
            self.target: CloudSyncTarget = self.target_factory()
        self.device = self.target.device
        self.progress: list[Any] = []
        self._listener_sync = self.target.modules["system"].FileSync()
        self._listener_sync.on("progress", self.progress.append)
        self.progress.clear()  # the last state a release may push (research §2.8): no move
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

    # -- checking ----------------------------------------------------------------------------

    def documented_transition(self, owner: str, source: str, target: str) -> None:
        """Record a move of ``owner``'s state, which must be one the documents give."""
        if not spec.SPEC.allows(owner, source, target):
            raise ConformanceFailure(f"{owner} state", "research §3.2–3.7",
                                     sorted((t.source, t.target) for t in spec.SPEC.transitions
                                            if t.owner == owner), (source, target))
        self.coverage.transition(owner, source, target)

    def expect(self, method: str, expected: int, call: Any, why: str | None = None,
               conditions: str | None = None) -> Any:
        """Run ``call``; it must raise ``expected`` (a code) or succeed when ``expected`` is 0.
        A returned promise is settled on the device. ``why`` (the documented rule that decided
        ``expected``) and ``conditions`` (what held when it did) go into a failure's message,
        so it reads without replaying."""
        section = next((m.section for m in spec.METHODS
                        if f"{m.owner}.{m.name}" == method), spec.DOCUMENT)
        if why:
            section = f"{section}: {why}"
        message = None
        try:
            result = call()
            if result is not None and hasattr(result, "callbacks"):
                result = self.device.run(result)
            observed = 0
        except BusinessError as exc:
            observed, message = exc.code, exc.message
            if self.has_message(exc.code) and exc.message != self.message(exc.code):
                raise ConformanceFailure(f"{method} message", section,
                                         self.message(exc.code), exc.message,
                                         conditions) from None
            result = None
        if observed != expected:
            raise ConformanceFailure(method, section, Result(expected),
                                     Result(observed, message), conditions)
        self.coverage.error(method, observed)
        return result

    def file_state_is(self, observed: Any, state: spec.FileSyncState, condition: str) -> None:
        if observed != state:
            raise ConformanceFailure(f"file state ({condition})", f"{spec.DOCUMENT} ## "
                                     "FileSyncState", state.name,
                                     spec.FileSyncState(observed).name)
        self.coverage.value("FileSyncState", state.name)

    # -- predicting ----------------------------------------------------------------------------

    def message(self, code: int) -> str:
        """The documented message, or the release's under a profile that says so (§1.3)."""
        return self.fidelity.message(code)

    def has_message(self, code: int) -> bool:
        """Whether the profile's table names ``code``'s message (a code the page does not
        list, such as the NAPI's 13900020, has one only in the runtime's)."""
        table = spec.RUNTIME_MESSAGES if self.fidelity.runtime_messages else spec.ERRORS
        return code in table

    def change_code(self, code: int) -> int:
        """registerChange/unregisterChange: the release reports every problem as 401 and
        does not check for a system app (research §2.12)."""
        if self.fidelity.change_errors_as_401:
            return 0 if code in (0, spec.NOT_SYSTEM_APP) else spec.INVALID_PARAMETER
        return code

    def outcome(self, condition: str) -> tuple[spec.SyncState, spec.ErrorType]:
        """A sync condition's documented outcome, as the profile changes it (§2.4, §2.6)."""
        expected = OUTCOMES[condition]
        if condition == "battery-12" and self.fidelity.app_starts_forced:
            return (spec.SyncState.COMPLETED, spec.ErrorType.NO_ERROR)
        if condition == "battery-12" and not self.fidelity.battery_warning:
            return (spec.SyncState.UPLOAD_FAILED, spec.ErrorType.BATTERY_LEVEL_LOW)
        if condition == "overheated" and not self.fidelity.temperature_reported:
            return (spec.SyncState.COMPLETED, spec.ErrorType.NO_ERROR)
        return expected

    def file_state(self, condition: str) -> spec.FileSyncState | None:
        """A file's state after a sync under ``condition``: uploaded where the profile's
        outcome completed the run."""
        if self.outcome(condition) == (spec.SyncState.COMPLETED, spec.ErrorType.NO_ERROR) \
                and condition in FILE_STATES:
            return spec.FileSyncState.UPLOAD_SUCCESS
        return FILE_STATES.get(condition)

    def caller_code(self, caller: str) -> int:
        if caller == "no-permission":
            return spec.PERMISSION_DENIED
        if caller == "not-system":
            return spec.NOT_SYSTEM_APP
        return 0

    def start_code(self, bundle: str) -> int:
        """``start()``'s precondition order (research §2.3), read off the device and cloud."""
        return self.start_expectation(bundle)[0]

    def start_expectation(self, bundle: str) -> tuple[int, str]:
        """``start()``'s code for ``bundle`` and the rule of research §2.3 that decides it."""
        net = self.device.sensors.network()
        if not net.internet:
            return spec.NETWORK_UNAVAILABLE, "no network"
        if not self.target.drive.ready(bundle):
            return spec.CLOUD_NOT_READY, "logged out or cloud switch off"
        battery = self.device.sensors.battery()
        limit = f"{spec.STOP_CAPACITY_LIMIT:g} %"
        if battery.percent is not None and not battery.charging \
                and battery.percent < spec.STOP_CAPACITY_LIMIT:
            return spec.BATTERY_LOW, f"below {limit} on battery"
        return 0, f"network, cloud ready, not below {limit} on battery"

    def conditions(self, bundle: str = BUNDLE) -> str:
        """The device's and the cloud's state a prediction reads, as a person says it:
        ``battery 10 %, not charging, Wi-Fi up, 25 °C``; the account only when it refuses."""
        sensors = self.device.sensors
        parts = []
        battery = sensors.battery()
        if battery.percent is not None:
            parts.append(f"battery {battery.percent:g} %")
        if battery.charging is not None:
            parts.append("charging" if battery.charging else "not charging")
        names = {"wifi": "Wi-Fi", "cellular": "cellular"}
        up = [names.get(n, n) for n, r in sensors.network().radios.items() if r.up]
        parts.append(f"{' and '.join(up)} up" if up else "no radio up")
        temperature = sensors.temperature()
        if temperature.celsius is not None:
            hot = ", overheated" if temperature.overheated else ""
            parts.append(f"{temperature.celsius:.0f} °C{hot}")
        if not self.target.drive.logged_in:
            parts.append("logged out")
        elif not self.target.drive.ready(bundle):
            parts.append("cloud switch off")
        return ", ".join(parts)

    # -- the device between outcomes -----------------------------------------------------------

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

    def settle(self, progress: list[Any], limit: float = 600.0) -> None:
        """Let simulated time pass until the last progress event is a final one."""
        end = self.device.env.now + limit
        while self.device.env.now < end:
            self.device.run(until=self.device.env.now + 5.0)
            if progress and progress[-1].state in TERMINAL:
                break

    def run_until(self, done: Callable[[], bool], limit: float) -> None:
        end = self.device.env.now + limit
        while not done() and self.device.env.now < end:
            self.device.run(until=self.device.env.now + 60.0)
