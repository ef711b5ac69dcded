"""The cloudSync reference against a changing cloud folder, a hostile cloud and a second phone:
nothing outside the app's cloud folder is read or written, no version is lost, a file and a
folder of one name converge, bad names get their documented codes, and an app callback that
raises does not stop the service."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import simpy

from sim.cloud import CloudObject, CloudService, PathClash, VersionConflict
from sim.device import Device
from sim.errors import UnsafePath
from sim.fs import NAME_MAX, PATH_MAX, TEMP_PREFIX
from sim.ohos.cloudsync import CloudSyncModule
from sim.ohos.cloudsync import constants as K
from sim.ohos.cloudsync.api import CLOUDFILE_SYNC_MANAGER
from sim.ohos.cloudsync.engine import BATCH, REJECTED
from sim.ohos.cloudsync.folder import (
    NO_CONFLICT_NAME,
    NOT_CANONICAL,
    SHARED_FILE,
    SNAPSHOTS,
    TEMPORARY_NAME,
    cloud_path_problem,
    conflict_name,
)
from sim.ohos.cloudsync.service import LISTENER_FAILED
from sim.ohos.common import CLOUDFILE_SYNC, AppSandbox, BusinessError, Caller
from tests.conftest import make_profile

APP = "com.example.notes"
CALLER = Caller.with_permissions(CLOUDFILE_SYNC, bundle_name=APP, system_app=True)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Phone:
    """One phone of a world (its own clock unless given one) with the app's module."""

    def __init__(self, root: Path, cloud: CloudService, env: simpy.Environment | None = None,
                 name: str = "app") -> None:
        self.device = Device(make_profile(**{"battery.level_pct": 100}), env=env)
        assert self.device.controls is not None
        self.device.controls.plug_charger()
        self.cloud = cloud
        self.module = CloudSyncModule(self.device, cloud, caller=CALLER,
                                      sandbox=AppSandbox(root / name, APP))
        self.folder = self.module.sandbox.cloud_dir
        self.sync = self.module.FileSync()
        self.progress: list[tuple[str, str]] = []
        self.sync.on("progress", lambda p: self.progress.append((p.state.name, p.error.name)))

    @property
    def container(self) -> Any:
        return self.cloud.drive().container(APP)

    def seed(self, path: str, data: bytes) -> None:
        self.cloud.seed(self.cloud.drive(), APP, path, data, self.device.env.now)

    def run(self, seconds: float) -> None:
        self.device.run(until=self.device.env.now + seconds)

    def synced(self) -> tuple[str, str]:
        """Start a sync, let it end; its last progress event."""
        mark = len(self.progress)
        self.device.run(self.sync.start())
        self.run(60)
        assert len(self.progress) > mark
        return self.progress[-1]

    def files(self) -> dict[str, bytes]:
        return {rel: self.module.files.read(rel) for rel in self.module.engine().folder.scan()}

    def events(self, api: str) -> list[dict[str, Any]]:
        return [e.data for e in self.device.trace.events if e.data.get("api") == api]


@contextlib.contextmanager
def bounded(seconds: float) -> Any:
    """Fail (rather than hang) when the block runs longer than ``seconds``."""
    def expire(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def plant(phone: Phone, path: str, data: bytes) -> None:
    """An object put straight into the container, past the cloud's own checks (a hostile
    server's listing)."""
    container = phone.container
    phone.cloud.write_blob(data, sha(data))
    version = container._next_version(path)
    container.objects[path] = CloudObject(path, len(data), sha(data), version, 0.0)
    container._log("add", path, version)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """Sentinels outside the app's sandbox: a file, and a folder with a file in it."""
    folder = tmp_path / "outside"
    (folder / "dir").mkdir(parents=True)
    (folder / "victim.txt").write_bytes(b"victim")
    (folder / "dir" / "a.txt").write_bytes(b"outside a")
    return folder


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def phone(tmp_path: Path) -> Phone:
    return Phone(tmp_path, CloudService(tmp_path / "cloud"))


# -- the two reproductions ----------------------------------------------------------------------

def test_a_delete_never_removes_a_newer_version_another_phone_uploaded(tmp_path: Path) -> None:
    env = simpy.Environment()
    cloud = CloudService(tmp_path / "cloud")
    a, b = Phone(tmp_path, cloud, env, "a"), Phone(tmp_path, cloud, env, "b")
    a.module.files.write("x.txt", b"v1")
    a.synced()
    b.synced()
    a.module.files.delete("x.txt")
    a.module.files.write("big.bin", bytes(500_000))  # 1 s on the way: the delete comes after
    a.sync.start()
    env.run(until=env.now + 0.2)
    b.module.files.write("x.txt", b"B's newer edit")
    b.sync.start()
    env.run(until=env.now + 60)
    env.run(b.sync.start())
    env.run(until=env.now + 60)
    assert a.files()["x.txt"] == b.files()["x.txt"] == b"B's newer edit"
    assert a.container.get("x.txt").sha256 == sha(b"B's newer edit")
    assert a.progress[-1] == b.progress[-1] == ("COMPLETED", "NO_ERROR")


def test_a_planted_temporary_name_is_never_written_through(phone: Phone, outside: Path) -> None:
    os.symlink(outside / "victim.txt", phone.folder / f"{TEMP_PREFIX}new.txt")
    phone.seed("new.txt", b"PULLED")
    assert phone.synced() == ("COMPLETED", "NO_ERROR")
    assert (outside / "victim.txt").read_bytes() == b"victim"
    assert phone.module.files.read("new.txt") == b"PULLED"
    assert not (phone.folder / "new.txt").is_symlink()


# -- links in the cloud folder ------------------------------------------------------------------

def test_a_link_in_the_cloud_folder_is_never_uploaded(phone: Phone, outside: Path) -> None:
    (phone.folder / "link.txt").symlink_to(outside / "victim.txt")
    (phone.folder / "linkdir").symlink_to(outside / "dir")
    phone.module.files.write("mine.txt", b"mine")
    assert phone.synced() == ("COMPLETED", "NO_ERROR")
    assert sorted(phone.container.objects) == ["mine.txt"]


def test_a_file_swapped_for_a_link_mid_upload_is_not_read(phone: Phone, outside: Path) -> None:
    rels = [f"up/f{i:02}.txt" for i in range(BATCH + 2)]  # the last two in a second batch
    for rel in rels:
        phone.module.files.write(rel, rel.encode())
    phone.device.run(phone.sync.start())
    phone.run(0.5)  # the first batch is stored, the second not yet read
    assert phone.module.engine().file_state[rels[0]].name == "UPLOAD_SUCCESS"
    (phone.folder / rels[-1]).unlink()
    (phone.folder / rels[-1]).symlink_to(outside / "victim.txt")
    phone.run(60)
    assert phone.progress[-1] == ("COMPLETED", "NO_ERROR")
    assert sorted(phone.container.objects) == rels[:-1]
    assert {"api": REJECTED, "bundle": APP, "path": rels[-1], "reason": UnsafePath.LINK} \
        in phone.events(REJECTED)


def test_a_folder_link_is_not_written_or_deleted_through(phone: Phone, outside: Path) -> None:
    phone.module.files.write("sf/a.txt", b"synced")
    phone.module.files.write("sf/b.txt", b"synced b")
    phone.synced()
    before = snapshot(outside)
    phone.module.folder.remove_tree("sf")
    (phone.folder / "sf").symlink_to(outside / "dir")
    phone.seed("sf/new.txt", b"new in the cloud")
    phone.seed("sf/a.txt", b"changed in the cloud")
    phone.container.delete("sf/b.txt")
    assert phone.synced() == ("COMPLETED", "NO_ERROR")
    assert snapshot(outside) == before
    rejected = {(e["path"], e["reason"]) for e in phone.events(REJECTED)}
    assert rejected == {("sf/a.txt", UnsafePath.LINK), ("sf/b.txt", UnsafePath.LINK),
                        ("sf/new.txt", UnsafePath.LINK)}
    assert sorted(phone.container.objects) == ["sf/a.txt", "sf/new.txt"]  # nothing deleted
    # the app puts its folder back: what the link kept out arrives
    (phone.folder / "sf").unlink()
    assert phone.synced() == ("COMPLETED", "NO_ERROR")
    assert phone.files() == {"sf/a.txt": b"changed in the cloud", "sf/new.txt":
                             b"new in the cloud"}


def test_a_cloud_delete_never_unlinks_through_a_link(phone: Phone, outside: Path) -> None:
    phone.module.files.write("s.txt", b"synced")
    phone.synced()
    (phone.folder / "s.txt").unlink()
    (phone.folder / "s.txt").symlink_to(outside / "victim.txt")
    phone.container.delete("s.txt")
    phone.synced()
    assert (outside / "victim.txt").read_bytes() == b"victim"
    assert (phone.folder / "s.txt").is_symlink()


def test_a_cloud_folder_swapped_for_a_link_before_the_first_sync(tmp_path: Path,
                                                                   outside: Path) -> None:
    """Swapped after the sandbox is made, before the engine first works in it."""
    cloud = CloudService(tmp_path / "cloud")
    sandbox = AppSandbox(tmp_path / "app", APP)
    device = Phone(tmp_path, cloud, name="other").device
    cloud.seed(cloud.drive(), APP, "victim.txt", b"FROM CLOUD")
    before = snapshot(outside)
    real = sandbox.cloud_dir.with_name("cloud.real")
    sandbox.cloud_dir.rename(real)
    sandbox.cloud_dir.symlink_to(outside)
    module = CloudSyncModule(device, cloud, caller=CALLER, sandbox=sandbox)
    sync = module.FileSync()
    progress: list[tuple[str, str]] = []
    sync.on("progress", lambda p: progress.append((p.state.name, p.error.name)))
    device.run(sync.start())
    device.run(until=device.env.now + 60)
    assert progress[-1] == ("COMPLETED", "NO_ERROR")
    assert snapshot(outside) == before
    assert (real / "victim.txt").read_bytes() == b"FROM CLOUD"


BIG = 3 * 1024 * 1024
"""Over :data:`sim.ohos.cloudsync.folder.SMALL_FILE`: uploaded from a snapshot on disk."""


def test_a_link_planted_for_the_snapshot_folder_is_not_followed(phone: Phone,
                                                                 outside: Path) -> None:
    snapshots = phone.module.sandbox.root / SNAPSHOTS
    snapshots.symlink_to(outside)
    before, listed = snapshot(outside), os.stat(outside).st_mtime_ns
    data = os.urandom(BIG)
    phone.module.files.write("big.bin", data)
    assert phone.synced() == ("COMPLETED", "NO_ERROR")
    assert snapshot(outside) == before and os.stat(outside).st_mtime_ns == listed
    assert snapshots.is_dir() and not snapshots.is_symlink()
    assert phone.cloud.blob_path(phone.container.get("big.bin").sha256).read_bytes() == data


def test_a_snapshot_folder_swapped_mid_upload_redirects_nothing(phone: Phone,
                                                                outside: Path) -> None:
    """The snapshot is held by descriptor only: no name in the folder to swap or replace."""
    data = os.urandom(BIG)
    phone.module.files.write("big.bin", data)
    phone.device.run(phone.sync.start())
    phone.run(0.05)
    assert phone.module.engine().file_state["big.bin"].name == "UPLOADING"
    snapshots = phone.module.sandbox.root / SNAPSHOTS
    assert os.listdir(snapshots) == []
    snapshots.rename(snapshots.with_name("moved"))
    snapshots.symlink_to(outside)
    before = snapshot(outside)
    phone.run(60)
    assert phone.progress[-1] == ("COMPLETED", "NO_ERROR")
    assert snapshot(outside) == before
    assert phone.cloud.blob_path(phone.container.get("big.bin").sha256).read_bytes() == data


# -- a hostile cloud ----------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "reason"), [
    ("../../outside/evil.txt", UnsafePath.PARENT),
    ("a/../../../outside/evil.txt", UnsafePath.PARENT),
    ("../evil.txt", UnsafePath.PARENT),
    ("{outside}/abs.txt", UnsafePath.ABSOLUTE),
    ("nul\x00.txt", UnsafePath.NUL),
    ("n" * 300, UnsafePath.NAME_TOO_LONG),
    ("/".join(["d" * 200] * 21), UnsafePath.PATH_TOO_LONG),
    ("a//b.txt", NOT_CANONICAL),
    (f"{TEMP_PREFIX}x", TEMPORARY_NAME),
])
def test_a_cloud_path_outside_the_folder_is_skipped_and_recorded(
        phone: Phone, outside: Path, path: str, reason: str) -> None:
    path = path.format(outside=outside)
    before = snapshot(outside)
    sandbox = sorted(os.listdir(phone.module.sandbox.root))
    phone.seed(path, b"EVIL")
    phone.seed("fine.txt", b"fine")
    assert phone.synced() == ("COMPLETED", "NO_ERROR")
    assert phone.events(REJECTED) == [{"api": REJECTED, "bundle": APP, "path": path,
                                       "reason": reason}]
    assert phone.files() == {"fine.txt": b"fine"}
    assert snapshot(outside) == before
    assert sorted(os.listdir(phone.module.sandbox.root)) == sandbox


def test_a_cloud_delete_of_a_path_outside_the_folder_is_skipped(phone: Phone,
                                                                  outside: Path) -> None:
    phone.seed("../../outside/victim.txt", b"x")
    phone.container.delete("../../outside/victim.txt")
    assert phone.synced() == ("COMPLETED", "NO_ERROR")
    assert (outside / "victim.txt").read_bytes() == b"victim"
    assert phone.events(REJECTED) == [{"api": REJECTED, "bundle": APP,
                                       "path": "../../outside/victim.txt",
                                       "reason": UnsafePath.PARENT}]


def test_cloud_path_problem() -> None:
    assert cloud_path_problem("a/b.txt") is None
    assert cloud_path_problem("./a") == NOT_CANONICAL
    assert cloud_path_problem("a/") == NOT_CANONICAL
    assert cloud_path_problem("/a") == UnsafePath.ABSOLUTE


# -- a file and a folder of one name ------------------------------------------------------------

@pytest.mark.parametrize("first", ["file", "folder"])
def test_a_file_and_a_folder_of_one_name_converge(tmp_path: Path, first: str) -> None:
    env = simpy.Environment()
    cloud = CloudService(tmp_path / "cloud")
    a, b = Phone(tmp_path, cloud, env, "a"), Phone(tmp_path, cloud, env, "b")
    a.module.files.write("d", b"file d")
    b.module.files.write("d/x.txt", b"in folder d")
    order = [a, b, a] if first == "file" else [b, a, b]
    for phone in order:
        assert phone.synced() == ("COMPLETED", "NO_ERROR")
    # the cloud's version keeps the name; the other moves aside under a conflict name
    expected = {"d": b"file d", "d (conflict)/x.txt": b"in folder d"} if first == "file" \
        else {"d (conflict)": b"file d", "d/x.txt": b"in folder d"}
    assert a.files() == b.files() == expected
    assert {p: o.sha256 for p, o in a.container.objects.items()} == \
        {p: sha(data) for p, data in expected.items()}


def test_edits_of_one_file_on_two_phones_keep_both(tmp_path: Path) -> None:
    env = simpy.Environment()
    cloud = CloudService(tmp_path / "cloud")
    a, b = Phone(tmp_path, cloud, env, "a"), Phone(tmp_path, cloud, env, "b")
    a.module.files.write("n.txt", b"from a")
    b.module.files.write("n.txt", b"from b")
    for phone in (a, b, a):
        phone.synced()
    assert a.files() == b.files() == {"n.txt": b"from a", "n (conflict).txt": b"from b"}


def test_the_cloud_holds_a_file_or_a_folder_per_name(tmp_path: Path) -> None:
    cloud = CloudService(tmp_path / "cloud")
    container = cloud.drive().container(APP)
    cloud.seed(cloud.drive(), APP, "d", b"file")
    with pytest.raises(PathClash) as info:
        cloud.seed(cloud.drive(), APP, "d/x.txt", b"under it")
    assert (info.value.path, info.value.other) == ("d/x.txt", "d")
    container.delete("d")
    cloud.seed(cloud.drive(), APP, "d/x.txt", b"under it")
    with pytest.raises(PathClash) as info:
        cloud.seed(cloud.drive(), APP, "d", b"file")
    assert (info.value.path, info.value.other) == ("d", "d/x.txt")


def test_a_cloud_delete_is_conditional_on_the_version(tmp_path: Path) -> None:
    cloud = CloudService(tmp_path / "cloud")
    container = cloud.drive().container(APP)
    cloud.seed(cloud.drive(), APP, "x", b"1")
    cloud.seed(cloud.drive(), APP, "x", b"2")
    with pytest.raises(VersionConflict) as info:
        container.delete("x", base_version=1)
    assert (info.value.expected, info.value.actual) == (1, 2)
    container.delete("x", base_version=2)
    assert container.get("x") is None
    container.delete("x", base_version=2)  # already gone: what was asked holds


def test_a_conflict_name_fits_in_a_name() -> None:
    long = "n" * 251 + ".txt"
    name = conflict_name(long, 2)
    assert len(name.encode()) == NAME_MAX and name.endswith(" (conflict 2).txt")
    assert conflict_name("d", 1) == "d (conflict)"
    assert conflict_name(".profile", 1) == ".profile (conflict)"


@pytest.mark.parametrize("suffix_bytes", [10, 200, 243, 244, 252, 253])
def test_a_conflict_name_with_a_long_extension_fits(suffix_bytes: int) -> None:
    name = "a." + "x" * suffix_bytes
    with bounded(2):
        names = [conflict_name(name, n) for n in (1, 2, 100)]
    for n, conflict in zip((1, 2, 100), names, strict=True):
        assert conflict.startswith("a (conflict") and 0 < len(conflict.encode()) <= NAME_MAX
        assert f" (conflict{'' if n == 1 else f' {n}'})." in conflict


def test_a_long_extension_edited_on_both_sides_keeps_both(phone: Phone) -> None:
    name = "a." + "x" * 252
    phone.module.files.write(name, b"local")
    phone.seed(name, b"cloud")
    with bounded(20):
        assert phone.synced() == ("COMPLETED", "NO_ERROR")
    kept = "a (conflict)." + "x" * (NAME_MAX - len("a (conflict)."))
    assert phone.files() == {name: b"cloud", kept: b"local"}


def test_a_listing_with_no_free_conflict_name_is_skipped(phone: Phone, outside: Path) -> None:
    """``f``, ``f/g`` and ``f/g/h.txt`` at once: every conflict name of ``f/g`` clashes with
    the file ``f``; that object is skipped and recorded, the sync ends."""
    before = snapshot(outside)
    for path in ["f/g/h.txt", "f/g", "f"]:
        plant(phone, path, path.encode())
    with bounded(20):
        assert phone.synced() == ("COMPLETED", "NO_ERROR")
    assert {"api": REJECTED, "bundle": APP, "path": "f/g", "reason": NO_CONFLICT_NAME} \
        in phone.events(REJECTED)
    assert phone.files() == {"f": b"f", "f (conflict)/g/h.txt": b"f/g/h.txt"}
    assert snapshot(outside) == before


def test_a_full_length_path_edited_on_both_sides_is_kept_and_recorded(phone: Phone) -> None:
    """No conflict name fits a 4095-byte path: the local edit stays, the cloud's is recorded
    as skipped, and nothing escapes the run."""
    path = "/".join([f"d{i:02}" + "x" * 252 for i in range(15)] + ["e" * 249, "a.txt"])
    assert len(path.encode()) == PATH_MAX
    phone.module.files.write(path, b"local edit")
    phone.seed(path, b"cloud edit")
    assert phone.synced() == ("COMPLETED", "NO_ERROR")
    assert phone.files() == {path: b"local edit"}
    assert phone.container.get(path).sha256 == sha(b"cloud edit")
    assert {"api": REJECTED, "bundle": APP, "path": path, "reason": NO_CONFLICT_NAME} \
        in phone.events(REJECTED)


def test_a_conflict_name_is_shortened_to_fit_the_path() -> None:
    head = "/".join(["d" * 254] * 15) + "/" + "e" * 210  # 4035 bytes: 59 left for the name
    name = conflict_name("n" * 60 + ".txt", 1, PATH_MAX - len(head.encode()) - 1)
    assert name == "n" * 44 + " (conflict).txt"
    assert len(head.encode()) + 1 + len(name.encode()) == PATH_MAX


# -- bad names given to the API -----------------------------------------------------------------

BAD = {"long": "n" * 300 + ".txt", "nul": "a\x00b.txt", "escape": "../../outside/victim.txt",
       "through-link": "lnk/a.txt", "link": "lnkf.txt"}
CALLS = {
    "getFileSyncState(string)": (lambda m, uri: m.getFileSyncState(uri), 14000002),
    "getFileSyncState": (lambda m, uri: m.getFileSyncState([uri]), 14000002),
    "registerChange": (lambda m, uri: m.registerChange(uri, True, print), 14000002),
    "unregisterChange": (lambda m, uri: m.unregisterChange(uri), 14000002),
    "cleanCache": (lambda m, uri: m.CloudFileCache().cleanCache(uri), 14000002),
    "Download.start": (lambda m, uri: m.Download().start(uri), 13900002),
    "CloudFileCache.start": (lambda m, uri: m.CloudFileCache().start(uri), 14000002),
}
MESSAGES = {14000002: "Invalid URI.", 13900002: "No such file or directory."}


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_bad_name_gets_its_documented_code(phone: Phone, outside: Path, call: str,
                                             kind: str) -> None:
    (phone.folder / "lnk").symlink_to(outside / "dir")
    (phone.folder / "lnkf.txt").symlink_to(outside / "victim.txt")
    phone.seed("lnk/a.txt", b"cloud")
    phone.seed("lnkf.txt", b"cloud")
    phone.seed(BAD["long"], b"cloud")
    make, code = CALLS[call]
    with pytest.raises(BusinessError) as info:
        result = make(phone.module, phone.module.files.uri(BAD[kind]))
        if result is not None:
            phone.device.run(result)
    assert (info.value.code, info.value.message) == (code, MESSAGES[code])
    assert (outside / "victim.txt").read_bytes() == b"victim"


def test_a_uri_through_a_link_inside_the_folder_is_invalid(phone: Phone) -> None:
    phone.module.files.write("real/a.txt", b"a")
    (phone.folder / "alias").symlink_to(phone.folder / "real")
    with pytest.raises(BusinessError) as info:
        phone.module.getFileSyncState(phone.module.files.uri("alias/a.txt"))
    assert info.value.code == 14000002
    assert phone.module.getFileSyncState(phone.module.files.uri("real/a.txt")).name == \
        "TO_BE_UPLOADED"


# -- app callbacks that raise -------------------------------------------------------------------

def boom(value: object) -> None:
    raise RuntimeError("app bug")


def test_a_raising_progress_listener_does_not_stop_the_sync(phone: Phone) -> None:
    phone.module.FileSync().on("progress", boom)
    phone.module.files.write("a.txt", b"a")
    assert phone.synced() == ("COMPLETED", "NO_ERROR")
    assert phone.container.get("a.txt") is not None
    assert phone.events(LISTENER_FAILED)[0] == {"api": LISTENER_FAILED, "listener": "progress",
                                                "error": "RuntimeError: app bug"}


def test_a_raising_change_callback_does_not_stop_the_sync(phone: Phone) -> None:
    uri = phone.module.files.mkdir("w")
    phone.module.registerChange(uri, True, boom)
    phone.seed("w/a.txt", b"a")
    phone.seed("w/b.txt", b"b")
    assert phone.synced() == ("COMPLETED", "NO_ERROR")
    assert phone.files() == {"w/a.txt": b"a", "w/b.txt": b"b"}
    assert phone.events(LISTENER_FAILED) == [
        {"api": LISTENER_FAILED, "listener": "change", "error": "RuntimeError: app bug"}] * 2


def test_a_raising_download_listener_does_not_stop_the_download(phone: Phone) -> None:
    phone.seed("d.bin", b"d" * 1000)
    download = phone.module.Download()
    download.on("progress", boom)
    phone.device.run(download.start(phone.module.files.uri("d.bin")))
    phone.run(30)
    assert phone.module.files.read("d.bin") == b"d" * 1000
    heard = phone.events(LISTENER_FAILED)
    assert heard and all(e == {"api": LISTENER_FAILED, "listener": "download progress",
                               "error": "RuntimeError: app bug"} for e in heard)
    states = [e["state"] for e in phone.events("cloudSync.download")]
    assert states[-1] == "COMPLETED"


# -- other apps' sandboxes ----------------------------------------------------------------------

def gallery_synced(phone: Phone) -> tuple[str, str]:
    """Start a Gallery sync, let it end; its last progress event."""
    gallery = phone.module.GallerySync()
    progress: list[tuple[str, str]] = []
    gallery.on("progress", lambda p: progress.append((p.state.name, p.error.name)))
    phone.device.run(gallery.start())
    phone.run(60)
    return progress[-1]


def test_another_apps_sandbox_is_the_services_own(tmp_path: Path, outside: Path) -> None:
    """Two phones whose app sandboxes are side by side keep their own Gallery folders, and a
    link where a sandbox next to the app's would be is never followed."""
    (tmp_path / K.GALLERY_BUNDLE).symlink_to(outside / "dir")
    before = snapshot(outside)
    env = simpy.Environment()
    one = Phone(tmp_path, CloudService(tmp_path / "cloud-1"), env, "one")
    two = Phone(tmp_path, CloudService(tmp_path / "cloud-2"), env, "two")
    one.cloud.seed(one.cloud.drive(), K.GALLERY_BUNDLE, "IMG_1.jpg", b"photo", 0)
    assert gallery_synced(one) == gallery_synced(two) == ("COMPLETED", "NO_ERROR")
    assert snapshot(outside) == before
    assert two.cloud.drive().container(K.GALLERY_BUNDLE).objects == {}
    first, second = (p.module.engine(K.GALLERY_BUNDLE).folder for p in (one, two))
    assert (sorted(first.scan()), sorted(second.scan())) == (["IMG_1.jpg"], [])
    assert first.held.read_bytes("IMG_1.jpg") == b"photo"
    assert not first.root.is_relative_to(tmp_path)
    assert not second.root.is_relative_to(tmp_path)


MANAGER = Caller.with_permissions(CLOUDFILE_SYNC, CLOUDFILE_SYNC_MANAGER, bundle_name=APP,
                                  system_app=True)
NOT_BUNDLE_NAMES = ["{outside}/victim", "../outside/victim", "../../" + "x" * 8,
                    "com.example/../../outside", "com.example.a/b", "com", "com..x", ".com.x",
                    "1com.x", "com.x\x00", "com.x ", "com." + "x" * 252]


@pytest.mark.parametrize("name", NOT_BUNDLE_NAMES, ids=lambda name: name[:24])
def test_a_bundle_name_that_is_not_one_is_401_before_any_effect(phone: Phone, outside: Path,
                                                                 name: str) -> None:
    name = name.format(outside=outside)
    module = CloudSyncModule(phone.device, phone.cloud, caller=MANAGER,
                             sandbox=phone.module.sandbox, service=phone.module.service)
    phone.cloud.seed(phone.cloud.drive(), name, "dropped.txt", b"FROM CLOUD", 0)
    before = snapshot(outside)
    with pytest.raises(BusinessError) as info:
        module.FileSync(name)
    assert (info.value.code, info.value.message) == (
        401, K.DOCUMENTED_MESSAGES[K.INVALID_PARAMETER])
    assert snapshot(outside) == before
    assert sorted(p.name for p in outside.iterdir()) == ["dir", "victim.txt"]
    assert list(phone.module.service.engines) == list(phone.module.service.sandboxes) == [APP]


def test_a_bundle_name_of_255_bytes_is_taken(phone: Phone) -> None:
    module = CloudSyncModule(phone.device, phone.cloud, caller=MANAGER,
                             sandbox=phone.module.sandbox, service=phone.module.service)
    name = "com." + "x" * 251
    phone.cloud.seed(phone.cloud.drive(), name, "a.txt", b"a", 0)
    sync = module.FileSync(name)
    progress: list[str] = []
    sync.on("progress", lambda p: progress.append(p.state.name))
    phone.device.run(sync.start())
    phone.run(60)
    assert progress[-1] == "COMPLETED"
    assert module.engine(name).folder.held.read_bytes("a.txt") == b"a"


# -- hard links ---------------------------------------------------------------------------------

def hard_linked(phone: Phone, outside: Path, rel: str) -> None:
    """The synced file ``rel`` replaced by another name of the outside file."""
    (phone.folder / rel).unlink()
    os.link(outside / "victim.txt", phone.folder / rel)


@pytest.mark.parametrize("size", [5, 1024 * 1024 + 1])  # read in memory, copied on disk
def test_a_hard_link_to_an_outside_file_is_never_uploaded(phone: Phone, outside: Path,
                                                          size: int) -> None:
    phone.module.files.write("doc.txt", b"h" * size)
    assert phone.synced() == ("COMPLETED", "NO_ERROR")
    if size > 5:
        (outside / "victim.txt").write_bytes(b"v" * size)
    before = snapshot(outside)
    hard_linked(phone, outside, "doc.txt")
    assert phone.synced() == ("COMPLETED", "NO_ERROR")
    assert phone.events(REJECTED) == [{"api": REJECTED, "bundle": APP, "path": "doc.txt",
                                       "reason": SHARED_FILE}]
    obj = phone.container.get("doc.txt")
    assert (obj.version, obj.sha256) == (1, sha(b"h" * size))  # neither replaced nor deleted
    assert snapshot(outside) == before


def test_a_hard_link_to_an_outside_file_is_never_evicted(phone: Phone, outside: Path) -> None:
    uri = phone.module.files.write("doc.txt", b"hello")
    phone.synced()
    before = snapshot(outside)
    hard_linked(phone, outside, "doc.txt")
    cache = phone.module.CloudFileCache()
    with pytest.raises(BusinessError) as info:
        cache.cleanCache(uri)
    assert (info.value.code, info.value.message) == (14000002, "Invalid URI.")
    stopped = cache.stop(uri, True)
    assert stopped is not None
    assert phone.device.run(stopped) is None
    assert snapshot(outside) == before
    assert "doc.txt" not in phone.module.engine().evicted
