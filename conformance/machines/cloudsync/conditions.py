"""The device and cloud events a cloudSync run meets — radios, battery, charger, the cloud
account, time passing — and ``start()``'s conditions swept alone and in pairs, so each of its
refusals is reached whatever a random walk lines up."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from conformance.machines.cloudsync.model import CloudSyncModel
from conformance.machines.cloudsync.outcomes import GALLERY, START_CONDITIONS, Condition
from conformance.machines.events import RADIOS, passing_time
from conformance.targets.reference import BUNDLE


class ConditionRules(CloudSyncModel):
    """What changes the device's and the cloud's conditions rather than calls an API."""

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
                self.set_condition(condition, GALLERY if gallery else BUNDLE)
                module = self.target.modules["system"]
                sync = module.GallerySync() if gallery else module.FileSync()
                bundle = GALLERY if gallery else BUNDLE
                code, why = self.start_expectation(bundle)
                self.expect("GallerySync.start" if gallery else "FileSync.start", code,
                            sync.start, why, self.conditions(bundle))
                sync.stop()
        self.clear_conditions()

    def set_condition(self, condition: Condition, bundle: str) -> None:
        """Make ``condition`` hold for ``bundle``'s sync (on top of what holds already)."""
        controls = self.device.controls
        if not condition.online:
            self.set_radios(False)
        if not condition.logged_in:
            self.target.drive.logged_in = False
        if not condition.switch_on:
            self.target.drive.switches[bundle] = False
        if condition.battery is not None:
            controls.set_battery_level(condition.battery)
        if condition.charging:
            controls.plug_charger()

    @precondition(lambda self: self.target.has_controls)
    @rule(radio=st.sampled_from(["wifi", "cellular", "both"]), up=st.booleans())
    def radio(self, radio: str, up: bool) -> None:
        self.set_radios(up, RADIOS if radio == "both" else (radio,))

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

    time_passes = passing_time(0.5, 5.0, 60.0)
