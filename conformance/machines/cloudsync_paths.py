"""Path attacks on ``@ohos.file.cloudSync``: nothing outside the app's cloud folder is ever
read or written.

The app's cloud folder is a real directory the app (or whoever can write it) may change at any
moment, and the cloud may be hostile. Rules swap a file or a folder of the cloud folder for a
symlink to files outside it — before a sync and while one runs —, plant links where a
temporary file would go, have the cloud list paths that leave the folder (``..``, absolute,
NUL, names over 255 bytes, paths over 4095), hand the API such names and paths through links,
and register app callbacks that raise.

Outside the folder sit sentinel files and a sentinel folder (the targets of every link). The
invariant after every step: each sentinel has its content and mtime, nothing new appears
outside (nor in the app's sandbox beside its folders), no sentinel's content reaches the cloud,
and no temporary file is visible in the cloud folder. Each rule also asserts its own outcome:
the documented code for a bad name (never an exception), a rejected cloud path recorded in the
device trace with its reason and the sync still ending COMPLETED, a raising callback recorded
while the sync service carries on.

Only the in-process reference can be attacked so: the rules need the target's real folders.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import simpy
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from conformance.coverage import Coverage, Item, items_matrix
from conformance.machines.base import ConformanceFailure, RecordedMachine, Step, combos
from conformance.options import Options
from conformance.targets.reference import BUNDLE, ReferenceCloudSync
from sim.errors import UnsafePath
from sim.fs import TEMP_PREFIX
from sim.ohos.cloudsync.engine import REJECTED
from sim.ohos.cloudsync.service import LISTENER_FAILED
from sim.ohos.common import BusinessError
from sim.spec import ohos_cloudsync as spec

OUTSIDE = f"{spec.DOCUMENT} ## cloudSync (the app's cloud folder, /data/storage/el2/cloud); " \
    "research §2.11"
"""Where the documents confine the API: files of the app's cloud folder, checked by realpath."""
SYNC = f"{spec.DOCUMENT} ## FileSync ### start, ## SyncState"
LISTENER = f"{spec.DOCUMENT} ## FileSync ### on; research §0 (the service is its own process)"
ALLOWED_IN_SANDBOX = frozenset({"cache", "files", "cloud", ".sync-snapshots"})
BAD_NAMES = ("long", "nul", "escape", "through-link", "link")
"""Names an app may pass: a name over 255 bytes, a NUL, ``..`` out of the folder, a path
through a folder link, a link itself."""
CALLS: dict[str, tuple[str | None, int]] = {
    # name: (documented method, the code a URI naming no file of the folder gets)
    "getFileSyncState(string)": ("cloudSync.getFileSyncState(string)", spec.INVALID_URI),
    "getFileSyncState": ("cloudSync.getFileSyncState", spec.INVALID_URI),
    "registerChange": ("cloudSync.registerChange", spec.INVALID_URI),
    "unregisterChange": ("cloudSync.unregisterChange", spec.INVALID_URI),
    "cleanCache": ("CloudFileCache.cleanCache", spec.INVALID_URI),
    "Download.start": ("Download.start", spec.NO_SUCH_FILE),
    "CloudFileCache.start": (None, spec.INVALID_URI),
}
"""Download's page lists no 14000002: a URI that names no file there is 13900002.
CloudFileCache.start is not in the spec table (research §1.2 gives it 14000002)."""
HOSTILE: dict[str, tuple[Callable[[Path, int], str], str]] = {
    # kind: (the cloud path, given the outside folder and a counter; the reason refused)
    "parent": (lambda out, n: f"../../outside/evil-{n}.txt", UnsafePath.PARENT),
    "nested": (lambda out, n: f"in/../../../outside/evil-{n}.txt", UnsafePath.PARENT),
    "sandbox": (lambda out, n: f"../evil-{n}.txt", UnsafePath.PARENT),
    "absolute": (lambda out, n: str(out / f"abs-{n}.txt"), UnsafePath.ABSOLUTE),
    "nul": (lambda out, n: f"nul\x00-{n}.txt", UnsafePath.NUL),
    "long": (lambda out, n: "l" * 300 + f"-{n}.txt", UnsafePath.NAME_TOO_LONG),
    "deep": (lambda out, n: "/".join(["d" * 200] * 21) + f"/{n}.txt", UnsafePath.PATH_TOO_LONG),
    "delete": (lambda out, n: "../../outside/victim.txt", UnsafePath.PARENT),
}
"""Paths a hostile cloud lists. ``delete``: the cloud lists the deletion of a sentinel."""
DOCUMENTED: set[Item] = {
    *{("error", method.partition(".")[0], method.partition(".")[2], str(code))
      for method, code in CALLS.values() if method is not None},
    ("enum", "SyncState", "COMPLETED", ""), ("enum", "State", "COMPLETED", ""),
}
"""The documented codes this machine must see for bad names, and a sync and a download that
complete despite the attacks."""


class AppCallbackFailed(RuntimeError):
    """What the raising callbacks throw (an app's bug)."""


def _boom(value: object) -> None:
    raise AppCallbackFailed(f"app callback failed on {type(value).__name__}")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class CloudSyncPathMachine(RecordedMachine):
    """One device, one cloud drive, sentinels outside the app's cloud folder."""

    target_factory: ClassVar[Any] = ReferenceCloudSync
    """Makes the target: the reference only (the attacks reach into its folders)."""
    coverage = Coverage()

    def __init__(self) -> None:
        super().__init__()
        self.target: ReferenceCloudSync = self.target_factory()
        self.device = self.target.device
        self.module = self.target.modules["system"]
        self.folder = self.module.sandbox.cloud_dir
        self.outside = self.target.root / "outside"
        (self.outside / "dir").mkdir(parents=True)
        for rel in ("victim.txt", "secret.bin", "dir/a.txt", "dir/inner.txt"):
            (self.outside / rel).write_bytes(f"sentinel {rel} ".encode() + secrets.token_bytes(32))
        self.sentinels = self._outside_now()
        self.secrets = {entry[2] for entry in self.sentinels.values() if entry[2]}
        self.root_entries = set(os.listdir(self.target.root))
        self.progress: list[Any] = []
        self.sync = self.module.FileSync()
        self.sync.on("progress", self.progress.append)
        self.count = 0

    def teardown(self) -> None:
        self.target.close()

    @classmethod
    def tour(cls) -> list[Step]:
        """Every attack once, each where it bites: the upload swap first, on a folder with
        nothing to pull (its second batch is read after the swap)."""
        return [
            *combos("swap_file", stage=["during-upload"], cloud=["none"]),
            *combos("swap_file", stage=["before-start"], cloud=["none", "modify", "delete"]),
            *combos("swap_folder", stage=["before-start", "during-download"],
                    cloud=["add", "modify", "delete"]),
            *combos("plant_temp", kind=["sync", "download"]),
            *combos("hostile_cloud_path", kind=sorted(HOSTILE)),
            *combos("bad_name", call=sorted(CALLS), kind=list(BAD_NAMES)),
            *combos("raising_callback", kind=["progress", "change", "download"]),
            *combos("time_passes", seconds=[60.0]),
        ]

    # -- helpers -----------------------------------------------------------------------------

    def _run(self, until: float | simpy.Event, rule: str = "no sync ends in an exception",
             section: str = SYNC) -> Any:
        """Advance the device; an exception out of the service is a finding."""
        try:
            return self.device.run(until)
        except BusinessError:
            raise
        except Exception as exc:
            raise ConformanceFailure(rule, section, "the service carries on",
                                     f"{type(exc).__name__}: {exc}") from exc

    def _settle(self, rule: str = "no sync ends in an exception", section: str = SYNC) -> None:
        engine = self.module.engine()
        end = self.device.env.now + 600.0
        while engine.running and self.device.env.now < end:
            self._run(self.device.env.now + 5.0, rule, section)

    def _sync(self, rule: str = "no sync ends in an exception", section: str = SYNC) -> Any:
        """Start a sync and let it end; its last progress event."""
        mark = len(self.progress)
        promise = self.sync.start()
        self._run(promise, rule, section)
        self._settle(rule, section)
        heard = self.progress[mark:]
        return heard[-1] if heard else None

    def _completed(self, last: Any, what: str) -> None:
        if last is None or spec.SyncState(last.state) != spec.SyncState.COMPLETED:
            raise ConformanceFailure(f"a sync {what} completes", SYNC, "COMPLETED",
                                     None if last is None else
                                     (spec.SyncState(last.state).name,
                                      spec.ErrorType(last.error).name))
        self.coverage.value("SyncState", "COMPLETED")

    def _next(self) -> int:
        self.count += 1
        return self.count

    def _events(self, api: str) -> list[dict[str, Any]]:
        return [e.data for e in self.device.trace.events if e.data.get("api") == api]

    def _seed(self, rel: str, data: bytes) -> None:
        self.target.cloud.seed(self.target.drive, BUNDLE, rel, data, self.device.env.now)

    def _link(self, rel: str, target: Path) -> None:
        """Replace whatever is at ``rel`` in the cloud folder by a symlink to ``target``."""
        path = self.folder / rel
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            self.module.folder.remove_tree(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)

    def _outside_now(self) -> dict[str, tuple[int, int, str]]:
        """Every entry under the outside folder: (mode, mtime_ns, SHA-256 of a file)."""
        found: dict[str, tuple[int, int, str]] = {}
        for folder, dirs, files in os.walk(self.outside):
            for name in dirs + files:
                path = Path(folder) / name
                status = path.lstat()
                digest = _sha(path.read_bytes()) if stat.S_ISREG(status.st_mode) else ""
                found[str(path.relative_to(self.outside))] = (status.st_mode,
                                                              status.st_mtime_ns, digest)
        return found

    # -- swaps ---------------------------------------------------------------------------------

    @rule(stage=st.sampled_from(["before-start", "during-upload"]),
          cloud=st.sampled_from(["none", "modify", "delete"]))
    def swap_file(self, stage: str, cloud: str) -> None:
        """A file of the cloud folder becomes a link to a sentinel: before a sync (a synced
        file, which the cloud may then change or delete), or while a sync uploads it (it is
        in the second batch, read after the first one is stored)."""
        n = self._next()
        files = self.module.files
        victim = self.outside / "victim.txt"
        if stage == "before-start":
            rel = f"sw{n}/f.txt"
            files.write(rel, f"synced {n}".encode())
            self._sync()
            self._link(rel, victim)
            if cloud == "modify":
                self._seed(rel, f"cloud {n}".encode())
            elif cloud == "delete":
                self.target.drive.container(BUNDLE).delete(rel)
            self._sync()
            return
        rels = [f"up{n}/f{i:02}.txt" for i in range(12)]
        for rel in rels:
            files.write(rel, f"upload {n} {rel}".encode())
        self._run(self.sync.start())
        engine = self.module.engine()
        end = self.device.env.now + 60.0
        while engine.file_state.get(rels[0]) is not spec.FileSyncState.UPLOAD_SUCCESS \
                and engine.running and self.device.env.now < end:
            self._run(self.device.env.now + 0.1)
        self._link(rels[-1], victim)
        self._settle()

    @rule(stage=st.sampled_from(["before-start", "during-download"]),
          cloud=st.sampled_from(["add", "modify", "delete"]))
    def swap_folder(self, stage: str, cloud: str) -> None:
        """A folder of the cloud folder becomes a link to the sentinel folder (which holds a
        file of the same name as the synced one): before the sync that pulls the cloud's
        change into it, or while that sync downloads."""
        n = self._next()
        folder = f"sf{n}"
        self.module.files.write(f"{folder}/a.txt", f"synced {n}".encode())
        self._sync()
        if stage == "before-start":
            self._link(folder, self.outside / "dir")
        container = self.target.drive.container(BUNDLE)
        if cloud == "add":
            self._seed(f"{folder}/new.txt", f"new {n}".encode() * 1000)
        elif cloud == "modify":
            self._seed(f"{folder}/a.txt", f"changed {n}".encode() * 1000)
        else:
            container.delete(f"{folder}/a.txt")
        if stage == "before-start":
            self._sync()
            return
        self._run(self.sync.start())
        self._link(folder, self.outside / "dir")  # before the pull places or deletes
        self._settle()

    @rule(kind=st.sampled_from(["sync", "download"]))
    def plant_temp(self, kind: str) -> None:
        """A link to a sentinel where a download's temporary file would go; then the cloud
        file of that name arrives (by a sync, or an on-demand download)."""
        n = self._next()
        rel = f"pt{n}.txt"
        data = f"pulled {n}".encode()
        (self.folder / (TEMP_PREFIX + rel)).symlink_to(self.outside / "victim.txt")
        self._seed(rel, data)
        if kind == "sync":
            self._completed(self._sync(), "onto a planted temporary name")
        else:
            download = self.module.Download()
            download.on("progress", lambda pg: None)
            self._run(download.start(self.module.files.uri(rel)))
            self._run(self.device.env.now + 30.0)
        self.nothing_outside_changes()  # first: a write through the link shows there
        status = self.module.status(rel)
        placed = self.module.files.read(rel) if status is not None \
            and stat.S_ISREG(status.st_mode) else status
        if placed != data:
            raise ConformanceFailure("the cloud's file is placed whole under its name", SYNC,
                                     data, placed)

    # -- a hostile cloud ---------------------------------------------------------------------

    @rule(kind=st.sampled_from(sorted(HOSTILE)))
    def hostile_cloud_path(self, kind: str) -> None:
        """The cloud lists a path that is not a file of the folder: it is skipped with its
        reason in the trace, nothing else changes, the sync completes."""
        n = self._next()
        make, reason = HOSTILE[kind]
        path = make(self.outside, n)
        self._seed(path, f"hostile {kind} {n}".encode())
        if kind == "delete":
            self.target.drive.container(BUNDLE).delete(path)
        mark = len(self._events(REJECTED))
        self._completed(self._sync(), f"past a cloud path ({kind})")
        heard = [(e["path"], e["reason"]) for e in self._events(REJECTED)[mark:]]
        if (path, reason) not in heard:
            raise ConformanceFailure("a cloud path that is not a file of the folder is skipped "
                                     "and recorded with its reason", OUTSIDE, (path, reason),
                                     heard)

    # -- the API, given bad names ------------------------------------------------------------

    def _bad_uri(self, kind: str) -> str:
        files = self.module.files
        if kind == "through-link" and not (self.folder / "lnk").is_symlink():
            self._link("lnk", self.outside / "dir")
            self._seed("lnk/a.txt", b"in the cloud")
        if kind == "link" and not (self.folder / "lnkf.txt").is_symlink():
            self._link("lnkf.txt", self.outside / "victim.txt")
            self._seed("lnkf.txt", b"in the cloud")
        rel = {"long": "n" * 300 + ".txt", "nul": "a\x00b.txt",
               "escape": "../../outside/victim.txt", "through-link": "lnk/a.txt",
               "link": "lnkf.txt"}[kind]
        return str(files.uri(rel))

    @rule(call=st.sampled_from(sorted(CALLS)), kind=st.sampled_from(BAD_NAMES))
    def bad_name(self, call: str, kind: str) -> None:
        """A URI that is not a plain path of the cloud folder gets the method's documented
        code — never an exception, never an effect outside."""
        module = self.module
        uri = self._bad_uri(kind)
        method, code = CALLS[call]
        calls: dict[str, Callable[[], Any]] = {
            "getFileSyncState(string)": lambda: module.getFileSyncState(uri),
            "getFileSyncState": lambda: module.getFileSyncState([uri]),
            "registerChange": lambda: module.registerChange(uri, True, _boom),
            "unregisterChange": lambda: module.unregisterChange(uri),
            "cleanCache": lambda: module.CloudFileCache().cleanCache(uri),
            "Download.start": lambda: module.Download().start(uri),
            "CloudFileCache.start": lambda: module.CloudFileCache().start(uri),
        }
        name = method or f"CloudFileCache.{call.split('.')[-1]}"
        section = f"{spec.DOCUMENT} ## {name.replace('.', ' ### ')}; research §2.11"
        try:
            result = calls[call]()
            if result is not None and hasattr(result, "callbacks"):
                result = self.device.run(result)
            observed: object = 0
        except BusinessError as exc:
            observed = exc.code
            expected_message = spec.ERRORS[exc.code].message if exc.code in spec.ERRORS \
                else exc.message
            if exc.message != expected_message:
                raise ConformanceFailure(f"{name} message", section, expected_message,
                                         exc.message) from None
        except Exception as exc:
            raise ConformanceFailure(f"{name}: a bad path gets its documented code, never an "
                                     "exception", section, code,
                                     f"{type(exc).__name__}: {exc}") from exc
        if observed != code:
            raise ConformanceFailure(f"{name} ({kind} name)", section, code, observed)
        if method is not None:
            self.coverage.error(method, code)

    # -- callbacks that raise ----------------------------------------------------------------

    @rule(kind=st.sampled_from(["progress", "change", "download"]))
    def raising_callback(self, kind: str) -> None:
        """An app callback that raises (sync progress, a change, download progress) is
        recorded in the trace; the service carries on and the work completes."""
        n = self._next()
        module = self.module
        rule_name = f"a {kind} callback that raises does not stop the sync service"
        mark = len(self._events(LISTENER_FAILED))
        if kind == "progress":
            raising = module.FileSync()
            raising.on("progress", _boom)
            module.files.write(f"cb/p{n}.txt", b"progress")
            try:
                self._completed(self._sync(rule_name, LISTENER), "with a raising listener")
            finally:
                raising.off("progress")
        elif kind == "change":
            uri = module.files.mkdir("cbw")
            module.unregisterChange(uri)
            module.registerChange(uri, True, _boom)
            self._seed(f"cbw/c{n}.txt", b"change")
            try:
                self._completed(self._sync(rule_name, LISTENER), "with a raising watcher")
            finally:
                module.unregisterChange(uri)
        else:
            rel = f"cbd/d{n}.bin"
            self._seed(rel, b"download" * 100)
            download = module.Download()
            download.on("progress", _boom)
            self._run(download.start(module.files.uri(rel)), rule_name, LISTENER)
            self._run(self.device.env.now + 30.0, rule_name, LISTENER)
            if module.files.read(rel) != b"download" * 100:
                raise ConformanceFailure(rule_name, LISTENER, "the file downloaded",
                                         module.files.read(rel))
            self.coverage.value("State", "COMPLETED")
        heard = self._events(LISTENER_FAILED)[mark:]
        if not heard or not all(e["error"].startswith(AppCallbackFailed.__name__)
                                for e in heard):
            raise ConformanceFailure("a callback that raises is recorded in the trace",
                                     LISTENER, AppCallbackFailed.__name__, heard)

    @rule(seconds=st.sampled_from([0.5, 5.0, 60.0]))
    def time_passes(self, seconds: float) -> None:
        self._run(self.device.env.now + seconds)

    # -- what must always hold -------------------------------------------------------------------

    @invariant()
    def nothing_outside_changes(self) -> None:
        """Every sentinel keeps its content and mtime, and nothing new appears outside the
        cloud folder — beside it in the sandbox, or in the folder the links point to."""
        now = self._outside_now()
        if now != self.sentinels:
            changed = sorted(k for k in now.keys() | self.sentinels.keys()
                             if now.get(k) != self.sentinels.get(k))
            raise ConformanceFailure("no byte is written outside the app's cloud folder",
                                     OUTSIDE, "the sentinels as they were", changed)
        sandbox = set(os.listdir(self.module.sandbox.root)) - ALLOWED_IN_SANDBOX
        extra = sandbox | (set(os.listdir(self.target.root)) - self.root_entries)
        if extra:
            raise ConformanceFailure("no byte is written outside the app's cloud folder",
                                     OUTSIDE, "no new entry", sorted(extra))

    @invariant()
    def no_outside_content_reaches_the_cloud(self) -> None:
        stored = {obj.sha256 for obj in self.target.drive.container(BUNDLE).objects.values()}
        leaked = stored & self.secrets
        if leaked:
            raise ConformanceFailure("no byte is read from outside the app's cloud folder",
                                     OUTSIDE, "no sentinel's content in the cloud",
                                     f"{len(leaked)} sentinel(s) uploaded")

    @invariant()
    def nothing_partial_is_visible(self) -> None:
        partial = [f"{folder}/{name}" for folder, _, names in os.walk(self.folder)
                   for name in names if name.startswith(TEMP_PREFIX)
                   and not os.path.islink(os.path.join(folder, name))]
        if partial:
            raise ConformanceFailure("no temporary or partial file is visible", SYNC, [],
                                     partial)

    @invariant()
    def progress_is_well_formed(self) -> None:
        failed = {spec.SyncState.UPLOAD_FAILED, spec.SyncState.DOWNLOAD_FAILED}
        for pg in self.progress:
            state, error = spec.SyncState(pg.state), spec.ErrorType(pg.error)
            if (error != spec.ErrorType.NO_ERROR) != (state in failed):
                raise ConformanceFailure("SyncProgress", f"{spec.DOCUMENT} ## ErrorType",
                                         "an error exactly on *_FAILED",
                                         (state.name, error.name))


@contextlib.contextmanager
def campaign_world(work: Path, options: Options) -> Iterator[None]:
    """The campaign's world: each example on a fresh reference of the run's device."""
    saved = CloudSyncPathMachine.target_factory
    CloudSyncPathMachine.target_factory = staticmethod(
        lambda: ReferenceCloudSync(options.device))
    try:
        yield
    finally:
        CloudSyncPathMachine.target_factory = saved


def campaign_matrix(coverage: Coverage) -> dict[str, Any]:
    return items_matrix("@ohos.file.cloudSync (path attacks)", spec.DOCUMENT, DOCUMENTED,
                        coverage)
