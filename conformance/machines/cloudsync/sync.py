"""The FileSync and GallerySync rules: starting, stopping and listening, each documented sync
outcome with the files' states and the cloud's copy it leaves, and what the progress events
must always be."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from conformance.machines.base import ConformanceFailure
from conformance.machines.cloudsync.model import CloudSyncModel
from conformance.machines.cloudsync.outcomes import (
    GALLERY,
    SEQUENCES,
    SYNC_BATTERY,
    SYNC_CONDITIONS,
    SYNC_SECTION,
    TERMINAL,
)
from conformance.targets.reference import BUNDLE
from sim.ohos.cloudsync import engine
from sim.spec import ohos_cloudsync as spec


class SyncRules(CloudSyncModel):
    """A sync's calls and its outcomes under each documented condition."""

    @rule()
    def file_sync_start(self) -> None:
        code, why = self.start_expectation(BUNDLE)
        self.expect("FileSync.start", code, self.target.modules["system"].FileSync().start,
                    why, self.conditions(BUNDLE))

    @rule()
    def gallery_start(self) -> None:
        sync = self.target.modules["system"].GallerySync()
        code, why = self.start_expectation(GALLERY)
        self.expect("GallerySync.start", code, sync.start, why, self.conditions(GALLERY))

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

    @precondition(lambda self: self.target.has_controls)
    @rule(order=st.permutations(SYNC_CONDITIONS))
    def sync_outcomes(self, order: list[str]) -> None:
        """Every documented sync outcome, in a drawn order (each is cheap in simulated time,
        and the order varies what each one starts from)."""
        for condition in order:
            self.sync_outcome(condition)

    def synced_up(self, gallery: bool) -> tuple[Any, list[Any]]:
        """The sync (and the progress it reports to) with no condition holding and nothing
        left to pull or push, so that its next run is only what a rule then sets up."""
        module = self.target.modules["system"]
        sync = module.GallerySync() if gallery else module.FileSync()
        progress = self.gallery_progress if gallery else self.progress
        if gallery and not self._gallery_listening:
            sync.on("progress", self.gallery_progress.append)
            self.gallery_progress.clear()  # the last state a release may push (research §2.8)
            self._gallery_listening = True
        self.clear_conditions()
        self.target.drive.switches[GALLERY] = True
        self.target.drive.quota = max(self.target.drive.quota, 10**9)
        sync.stop()
        self.settle(progress)
        sync.start()
        self.settle(progress)
        return sync, progress

    def sync_outcome(self, condition: str) -> None:
        """A sync with a file to upload (and, when clean, one to download), under a condition the
        documents give an outcome for; its last progress event, the files' states and the
        cloud's copy must be what the documents say."""
        module = self.target.modules["system"]
        gallery = condition == "gallery-on-cellular"
        bundle = GALLERY if gallery else BUNDLE
        sync, progress = self.synced_up(gallery)  # the next run uploads
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
        if condition in SYNC_BATTERY:
            controls.set_battery_level(SYNC_BATTERY[condition])
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
        started_at = self.conditions(GALLERY if gallery else BUNDLE)
        self.expect("GallerySync.start" if gallery else "FileSync.start", 0, sync.start,
                    conditions=started_at)
        if condition == "stopped":
            self.expect("FileSync.stop", 0, sync.stop)
        elif condition == "charging-5-then-unplugged":
            controls.unplug_charger()
        elif condition == "radio-lost-mid-upload":
            self.device.run(until=self.device.env.now + 0.5)
            state = self.expect("cloudSync.getFileSyncState(string)", 0,
                                lambda: module.getFileSyncState(module.files.uri(rel)))
            self.file_state_is(state, spec.FileSyncState.UPLOADING, condition)
            self.set_radios(False)
        self.settle(progress)
        if unheard:
            raise ConformanceFailure("off('progress') stops the events",
                                     f"{spec.DOCUMENT} ## FileSync ### off", [], unheard)
        final = [(spec.SyncState(p.state), spec.ErrorType(p.error))
                 for p in progress[mark:] if p.state in TERMINAL]
        if final[-1:] != [expected]:
            raise ConformanceFailure(f"sync outcome ({condition})", SYNC_SECTION,
                                     expected, final[-1] if final else "no final state",
                                     started_at)
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
        state = self.file_state(condition)
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

    @precondition(lambda self: self.target.has_controls)
    @rule(case=st.sampled_from(sorted(SEQUENCES)), gallery=st.booleans())
    def sync_sequence(self, case: str, gallery: bool) -> None:
        """A sync stopped, cut off, refused or started again between its stages (research
        §3.2–3.6): the run must end in the documented state, and its states move only along
        the documented transitions (:meth:`progress_is_well_formed`)."""
        module = self.target.modules["system"]
        bundle = GALLERY if gallery else BUNDLE
        sync, progress = self.synced_up(gallery)  # the run below is the case's
        self.outs += 1
        small, big = b"s" * 1000, random.Random(self.outs).randbytes(20_000_000)
        names = [f"seq/{self.outs}-{i}.bin" for i in range(engine.BATCH + 1)]
        in_pull = case.endswith("pull")
        for name, data in zip(names, [small] * engine.BATCH + [big], strict=True):
            if in_pull:  # a second batch to pull, its first reported as DOWNLOADING
                self.target.cloud.seed(self.target.drive, bundle, name, data)
            elif gallery:
                self.target.write_app_file(GALLERY, name, data)
            else:
                module.files.write(name, data)
        if case == "cloud-full-after-pull":
            self.target.drive.quota = self.target.drive.used
            if gallery:
                self.target.write_app_file(GALLERY, "seq/full.txt", small)
            else:
                module.files.write("seq/full.txt", small)
        mark = len(progress)
        sync.start()
        if case != "pull-only" and case != "cloud-full-after-pull":
            stage = spec.SyncState.DOWNLOADING if in_pull else spec.SyncState.UPLOADING
            end = self.device.env.now + 300.0
            while self.device.env.now < end and not any(
                    p.state == stage for p in progress[mark:]):
                self.device.run(until=self.device.env.now + 0.2)
            if case.startswith("stop"):
                sync.stop()
            elif case == "radio-lost-in-pull":
                self.set_radios(False)
            else:  # the next run pulls a file the cloud got meanwhile (§3.5 start + start)
                self.target.cloud.seed(self.target.drive, bundle, f"seq/{self.outs}-next.txt",
                                       small)
                sync.start()
        end = self.device.env.now + 1200.0
        while self.device.env.now < end and not any(p.state in TERMINAL
                                                     for p in progress[mark:]):
            self.device.run(until=self.device.env.now + 5.0)
        final = next((spec.SyncState(p.state) for p in progress[mark:] if p.state in TERMINAL),
                     None)
        if final != SEQUENCES[case]:
            raise ConformanceFailure(f"sync sequence ({case})", SYNC_SECTION,
                                     SEQUENCES[case].name, final and final.name)
        self.clear_conditions()
        self.target.drive.quota = max(self.target.drive.quota, 10**9)

    @invariant()
    def progress_is_well_formed(self) -> None:
        """SyncProgress: an error exactly on *_FAILED, and each run's states moving only along
        the documented transitions (research §3.2–3.6)."""
        failed = {spec.SyncState.UPLOAD_FAILED, spec.SyncState.DOWNLOAD_FAILED}
        for owner, progress in (("FileSync", self.progress),
                                ("GallerySync", self.gallery_progress)):
            previous = "start"
            for pg in progress:
                state, error = spec.SyncState(pg.state), spec.ErrorType(pg.error)
                if (error != spec.ErrorType.NO_ERROR) != (state in failed):
                    raise ConformanceFailure("SyncProgress", "## ErrorType",
                                             "an error exactly on *_FAILED", (state, error))
                self.coverage.value("SyncState", state.name)
                self.coverage.value("ErrorType", error.name)
                if state.name != previous:
                    self.documented_transition(owner, previous, state.name)
                previous = "start" if state in TERMINAL else state.name
