"""Two phones on one cloud account: does FileSync converge without losing a version?

Each example builds a world of two simulated phones (one SimPy clock, one simulated cloud
account, the reference cloudSync on each) running one app. Rules edit, delete and rename files
on either phone — including a file on one and a folder of the same name on the other — and
sync them, with faults in between: the radios lost mid-sync, a sync stopped and started again.
The model keeps the set of versions that must survive: every content written, less what the
app itself overwrote or deleted on the phone where it saw it (a delete on one phone never
licenses losing an edit the other made meanwhile).

After a final clean sync on both phones (:meth:`TwoDeviceMachine.converge`, also run at the end
of every example): each phone's last sync COMPLETED, both phones and the cloud hold the same
files with the same bytes, and every surviving version exists — as itself or as a conflict
copy. Throughout: no temporary or partial file is visible, progress carries an error exactly on
a failed state, and no sync ends in an exception.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import simpy
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from conformance.coverage import Coverage, Item, items_matrix
from conformance.machines.base import ConformanceFailure, RecordedMachine, Step
from conformance.options import Options
from sim.cloud import CloudService
from sim.device import Device, DeviceProfile, load_profile
from sim.errors import ConfigError
from sim.fs import TEMP_PREFIX
from sim.ohos.cloudsync import CloudSyncModule
from sim.ohos.cloudsync.engine import SyncEngine
from sim.ohos.common import CLOUDFILE_SYNC, AppSandbox, Caller
from sim.spec import ohos_cloudsync as spec

BUNDLE = "com.example.twodevice"
CALLER = Caller.with_permissions(CLOUDFILE_SYNC, bundle_name=BUNDLE, system_app=True)
PHONES = ("A", "B")
NAMES = ("a.txt", "b.txt", "d", "d/x.txt", "d/y.txt", "e/f.txt")
"""Names that clash on purpose: ``d`` is a file on one phone and a folder on the other."""
WIFI_KBPS = 2000
"""The world's Wi-Fi: slow enough that a big file is still on its way when a fault hits."""
BIG = 400_000
"""Bytes of a big file: 1.6 s over :data:`WIFI_KBPS`."""
SETTLE_S = 600.0
ROUNDS = 4
"""Clean syncs of both phones the final check allows for conflicts to settle."""
SECTION = f"{spec.DOCUMENT} ## FileSync, ## SyncState; research §3.3"
LOSS_SECTION = f"{spec.DOCUMENT} ## FileSync ### start; ## SyncState COMPLETED"
FAILED = {spec.SyncState.UPLOAD_FAILED, spec.SyncState.DOWNLOAD_FAILED}
DOCUMENTED: set[Item] = {("enum", "SyncState", s.name, "") for s in spec.SyncState} | \
    {("enum", "ErrorType", name, "") for name in ("NO_ERROR", "NETWORK_UNAVAILABLE")}
"""What a run of two phones with radio faults and stops reaches: every SyncState, and the
errors of a clean run and of a lost network."""

F = TypeVar("F", bound=Callable[..., Any])


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def world_profile(name: str) -> DeviceProfile:
    """The device profile ``name`` with the world's slow Wi-Fi."""
    data = load_profile(name).model_dump()
    if data["radios"].get("wifi") is None:
        raise ConfigError("--device", "radios.wifi", name, "the two-device campaign needs a "
                          "device with Wi-Fi")
    data["radios"]["wifi"].update(down_kbps=WIFI_KBPS, up_kbps=WIFI_KBPS)
    return DeviceProfile.model_validate(data)


class Phone:
    """One phone: its device (on the world's clock), the app's cloudSync module, and every
    progress event its FileSync listener heard."""

    def __init__(self, name: str, env: simpy.Environment, cloud: CloudService, root: Path,
                 profile: DeviceProfile) -> None:
        self.name = name
        self.device = Device(profile, env=env)
        assert self.device.controls is not None
        self.device.controls.plug_charger()  # the battery rules are the one-device campaign's
        self.module = CloudSyncModule(self.device, cloud, caller=CALLER,
                                      sandbox=AppSandbox(root / name, BUNDLE))
        self.sync = self.module.FileSync()
        self.progress: list[Any] = []
        self.sync.on("progress", self.progress.append)

    @property
    def engine(self) -> SyncEngine:
        return self.module.engine()

    def files(self) -> dict[str, str]:
        """The cloud folder's regular files: path → SHA-256."""
        return {rel: _sha(self.module.files.read(rel)) for rel in self.engine.folder.scan()}

    def kind(self, rel: str) -> str | None:
        """``file``, ``folder``, ``other`` or None for what is at ``rel``."""
        status = self.module.status(rel)
        if status is None:
            return None
        return "file" if stat.S_ISREG(status.st_mode) else \
            "folder" if stat.S_ISDIR(status.st_mode) else "other"

    def set_radios(self, up: bool) -> None:
        assert self.device.controls is not None
        for radio in ("wifi", "cellular"):
            self.device.controls.set_radio(radio, up)


class TwoDeviceWorld:
    """Two phones on one cloud account, real folders under one temporary root."""

    def __init__(self, profile: str = "phone") -> None:
        device_profile = world_profile(profile)
        self.root = Path(tempfile.mkdtemp(prefix="syncrig-twodevice-"))
        self.env = simpy.Environment()
        self.cloud = CloudService(self.root / "cloud")
        self.drive = self.cloud.drive(quota=10**10)
        self.phones = {name: Phone(name, self.env, self.cloud, self.root, device_profile)
                       for name in PHONES}

    def cloud_files(self) -> dict[str, str]:
        return {path: obj.sha256 for path, obj in self.drive.container(BUNDLE).objects.items()}

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _marking(function: F) -> F:
    """A rule or invariant that marks the example as failed when it raises, so the final
    check at teardown does not mask the failure with one of its own."""
    @functools.wraps(function)
    def run(machine: TwoDeviceMachine, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(machine, *args, **kwargs)
        except BaseException:
            machine.broken = True
            raise
    return run  # type: ignore[return-value]


PHONE = st.sampled_from(PHONES)
NAME = st.sampled_from(NAMES)


class TwoDeviceMachine(RecordedMachine):
    """Two phones syncing one app's folder through one cloud account."""

    world_factory: ClassVar[Any] = TwoDeviceWorld
    coverage = Coverage()

    def __init__(self) -> None:
        super().__init__()
        self.world = self.world_factory()
        self.device = self.world.phones["A"].device  # the clock the steps are timed by
        self.live: set[str] = set()
        """Versions that must survive: written, and not overwritten or deleted by the app on
        a phone that had it."""
        self.writes = 0
        self.written: dict[str, str] = {}
        """Each version's SHA-256 → where it was written (``phone:path``), for messages."""
        self.broken = False

    def teardown(self) -> None:
        try:
            if not self.broken:
                self.converge()
        finally:
            self.world.close()

    @classmethod
    def tour(cls) -> list[Step]:
        """Each hazard once, in an order that makes it bite: a delete racing an edit of the
        other phone (both orders of the syncs), a file and a folder of one name (both
        orders), renames of one file on both phones, edits of one file on both, the radios
        lost while uploading and while downloading, a stop mid-upload."""
        def s(rule: str, **args: Any) -> Step:
            return Step(rule, args)
        return [
            # a delete pushed after the other phone's newer edit reached the cloud
            s("edit", phone="A", name="a.txt", big=False), s("sync", phone="A"),
            s("sync", phone="B"),
            s("delete", phone="A", name="a.txt"), s("edit", phone="A", name="e/f.txt",
                                                    big=True),
            s("start", phone="A"), s("time_passes", seconds=0.5),
            s("edit", phone="B", name="a.txt", big=False), s("sync", phone="B"),
            s("sync", phone="A"), s("sync", phone="B"),
            # a delete and an edit, the edit's phone syncing first
            s("delete", phone="B", name="a.txt"), s("edit", phone="A", name="a.txt",
                                                    big=False),
            s("sync", phone="A"), s("sync", phone="B"),
            # a file d on one phone, a folder d/ on the other: the folder reaches the cloud
            # first (a file in the way), then the file does (a folder at the name)
            s("edit", phone="A", name="d", big=False), s("edit", phone="B", name="d/x.txt",
                                                         big=False),
            s("sync", phone="B"), s("sync", phone="A"), s("sync", phone="B"),
            s("edit", phone="A", name="b.txt", big=False),
            s("converge"),
            s("delete", phone="A", name="d"), s("edit", phone="A", name="d/x.txt", big=False),
            s("edit", phone="B", name="d", big=False),
            s("sync", phone="B"), s("sync", phone="A"), s("sync", phone="B"),
            # one file renamed on both phones, then edited on both
            s("rename", phone="A", old="b.txt", new="a.txt"),
            s("rename", phone="B", old="b.txt", new="e/f.txt"),
            s("sync", phone="B"), s("sync", phone="A"),
            s("edit", phone="A", name="e/f.txt", big=False),
            s("edit", phone="B", name="e/f.txt", big=False),
            s("sync", phone="A"), s("sync", phone="B"),
            # the radios lost mid-upload and mid-download, a stop mid-upload
            s("edit", phone="A", name="b.txt", big=True), s("radio_lost", phone="A", after=0.5),
            s("sync", phone="A"), s("radio_lost", phone="B", after=0.5),
            s("edit", phone="B", name="d/y.txt", big=True),
            s("stop_start", phone="B", after=0.5),
            # both at once: B's edit lands between A's pull and A's delete
            s("converge"), s("delete", phone="A", name="b.txt"),
            s("edit", phone="A", name="e/f.txt", big=True),
            s("edit", phone="B", name="b.txt", big=False), s("sync_both", first="A", delay=0.5),
            s("converge"),
        ]

    # -- running the world --------------------------------------------------------------------

    def _run(self, until: float | simpy.Event) -> Any:
        """Advance the world; an exception out of a sync is a finding, not a harness error."""
        try:
            return self.world.env.run(until=until)
        except Exception as exc:
            raise ConformanceFailure("no sync ends in an exception", SECTION,
                                     "a documented state", f"{type(exc).__name__}: {exc}") \
                from exc

    def _start(self, phone: Phone) -> None:
        promise = phone.sync.start()
        assert promise is not None
        self._run(promise)

    def _settle(self, phone: Phone) -> None:
        engine = phone.engine
        end = self.world.env.now + SETTLE_S
        while engine.running and self.world.env.now < end:
            self._run(self.world.env.now + 5.0)

    def phone(self, name: str) -> Phone:
        phone: Phone = self.world.phones[name]
        return phone

    # -- the app on one phone ------------------------------------------------------------------

    def _supersede(self, phone: Phone, rel: str) -> None:
        """The app overwrites or deletes the file it sees at ``rel``: that version may go."""
        if phone.kind(rel) == "file":
            self.live.discard(_sha(phone.module.files.read(rel)))

    def _clear_way(self, phone: Phone, rel: str) -> None:
        """Make room for a file at ``rel`` as a user would: delete a file where a folder is
        needed, and a folder (with its files) where the file goes."""
        names = rel.split("/")
        for i in range(1, len(names)):
            prefix = "/".join(names[:i])
            kind = phone.kind(prefix)
            if kind == "folder":
                continue
            if kind is not None:
                self._supersede(phone, prefix)
                phone.module.files.delete(prefix)
            break
        if phone.kind(rel) == "folder":
            for sub in list(phone.engine.folder.scan()):
                if sub.startswith(rel + "/"):
                    self._supersede(phone, sub)
                    phone.module.files.delete(sub)
            phone.module.folder.remove_tree(rel)

    @rule(phone=PHONE, name=NAME, big=st.booleans())
    @_marking
    def edit(self, phone: str, name: str, big: bool) -> None:
        """Write a new version of ``name`` (every version's bytes are unique)."""
        p = self.phone(phone)
        self._clear_way(p, name)
        self._supersede(p, name)
        self.writes += 1
        data = f"{phone}{self.writes}:".encode() + b"." * (BIG if big else 40)
        p.module.files.write(name, data)
        self.live.add(_sha(data))
        self.written[_sha(data)] = f"{phone}:{name}"

    @rule(phone=PHONE, name=NAME)
    @_marking
    def delete(self, phone: str, name: str) -> None:
        p = self.phone(phone)
        if p.kind(name) == "file":
            self._supersede(p, name)
            p.module.files.delete(name)

    @rule(phone=PHONE, old=NAME, new=NAME)
    @_marking
    def rename(self, phone: str, old: str, new: str) -> None:
        p = self.phone(phone)
        if old == new or p.kind(old) != "file" or new.startswith(old + "/") \
                or old.startswith(new + "/"):
            return
        self._clear_way(p, new)
        self._supersede(p, new)
        p.module.files.rename(old, new)

    @rule(phone=PHONE)
    @_marking
    def sync(self, phone: str) -> None:
        """Start a sync and let it end."""
        p = self.phone(phone)
        self._start(p)
        self._settle(p)

    @rule(phone=PHONE)
    @_marking
    def start(self, phone: str) -> None:
        """Start a sync and go on (the other phone may act meanwhile)."""
        self._start(self.phone(phone))

    @rule(first=PHONE, delay=st.sampled_from([0.0, 0.5, 1.2]))
    @_marking
    def sync_both(self, first: str, delay: float) -> None:
        """Both phones sync at once, the other ``delay`` seconds after ``first``: one's push
        may land between the other's pull and push (a delete racing an edit, say)."""
        a, b = self.phone(first), self.phone(PHONES[1 - PHONES.index(first)])
        self._start(a)
        if delay:
            self._run(self.world.env.now + delay)
        self._start(b)
        self._settle(a)
        self._settle(b)

    @rule(phone=PHONE, after=st.sampled_from([0.05, 0.5, 1.5]))
    @_marking
    def radio_lost(self, phone: str, after: float) -> None:
        """Start a sync and lose every radio ``after`` seconds into it; back 5 s later."""
        p = self.phone(phone)
        self._start(p)
        self._run(self.world.env.now + after)
        p.set_radios(False)
        self._run(self.world.env.now + 5.0)
        p.set_radios(True)

    @rule(phone=PHONE, after=st.sampled_from([0.05, 0.5, 1.5]))
    @_marking
    def stop_start(self, phone: str, after: float) -> None:
        """Start a sync, stop it ``after`` seconds into it, start it again."""
        p = self.phone(phone)
        self._start(p)
        self._run(self.world.env.now + after)
        stopped = p.sync.stop()
        assert stopped is not None
        self._run(stopped)
        self._run(self.world.env.now + 1.0)
        self._start(p)

    @rule(seconds=st.sampled_from([0.5, 5.0, 60.0]))
    @_marking
    def time_passes(self, seconds: float) -> None:
        self._run(self.world.env.now + seconds)

    # -- the final check -------------------------------------------------------------------------

    @rule()
    @_marking
    def converge(self) -> None:
        """Radios up, every sync ended, then clean syncs of both phones until nothing moves:
        the last one of each COMPLETED, phones and cloud hold the same files, and every
        version that must survive is among them."""
        for p in self.world.phones.values():
            p.set_radios(True)
            self._settle(p)
        ends: dict[str, Any] = {}
        for _ in range(ROUNDS):
            for name, p in self.world.phones.items():
                mark = len(p.progress)
                self._start(p)
                self._settle(p)
                heard = [spec.SyncState(pg.state) for pg in p.progress[mark:]]
                ends[name] = heard[-1] if heard else None
            trees = [p.files() for p in self.world.phones.values()]
            if all(t == trees[0] for t in trees) and trees[0] == self.world.cloud_files():
                break
        for name, end in ends.items():
            if end is not spec.SyncState.COMPLETED:
                raise ConformanceFailure(f"a clean sync completes (phone {name})", SECTION,
                                         spec.SyncState.COMPLETED.name,
                                         end.name if end is not None else "no final state")
        cloud = self.world.cloud_files()
        for name, p in self.world.phones.items():
            files = p.files()
            if files != cloud:
                diff = sorted(set(files.items()) ^ set(cloud.items()))
                raise ConformanceFailure("after a clean sync on both phones, phones and cloud "
                                         "agree", LOSS_SECTION, f"phone {name} as the cloud",
                                         diff)
        lost = self.live - set(cloud.values())
        if lost:
            raise ConformanceFailure("every version last written survives (as itself or a "
                                     "conflict copy)", LOSS_SECTION, "no version lost",
                                     sorted(f"lost: the version {self.written[v]} wrote"
                                            for v in lost))

    # -- what must always hold -------------------------------------------------------------------

    @invariant()
    @_marking
    def nothing_partial_is_visible(self) -> None:
        """No temporary file in either cloud folder, no half-received blob in the cloud."""
        for p in self.world.phones.values():
            for folder, _, names in os.walk(p.module.sandbox.cloud_dir):
                partial = [n for n in names if n.startswith(TEMP_PREFIX)]
                if partial:
                    raise ConformanceFailure("no temporary or partial file is visible",
                                             SECTION, [], [f"{folder}/{n}" for n in partial])
        staged = [n for n in os.listdir(self.world.cloud.blobs) if n.startswith(".upload-")]
        if staged:
            raise ConformanceFailure("no partial upload is left in the cloud", SECTION, [],
                                     staged)

    @invariant()
    @_marking
    def progress_is_well_formed(self) -> None:
        for p in self.world.phones.values():
            for pg in p.progress:
                state, error = spec.SyncState(pg.state), spec.ErrorType(pg.error)
                if (error != spec.ErrorType.NO_ERROR) != (state in FAILED):
                    raise ConformanceFailure("SyncProgress", f"{spec.DOCUMENT} ## ErrorType",
                                             "an error exactly on *_FAILED",
                                             (state.name, error.name))
                self.coverage.value("SyncState", state.name)
                self.coverage.value("ErrorType", error.name)


@contextlib.contextmanager
def campaign_world(work: Path, options: Options) -> Iterator[None]:
    """The campaign's world: each example's two phones are of the run's device profile."""
    world_profile(options.device)  # a device without Wi-Fi is refused before any example
    saved = TwoDeviceMachine.world_factory
    TwoDeviceMachine.world_factory = staticmethod(lambda: TwoDeviceWorld(options.device))
    try:
        yield
    finally:
        TwoDeviceMachine.world_factory = saved


def campaign_matrix(coverage: Coverage) -> dict[str, Any]:
    return items_matrix("@ohos.file.cloudSync (two phones, one account)", spec.DOCUMENT,
                        DOCUMENTED, coverage)
