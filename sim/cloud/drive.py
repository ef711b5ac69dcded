"""The simulated cloud drive.

An account's :class:`Drive` has a quota and one :class:`Container` per app (bundle); a
container holds objects — path, size, SHA-256, version, mtime — whose bytes are real files in
a content-addressed blob folder, and a change feed with a sequence number per change, which is
what a sync engine pulls from. The service-wide state a device sees — whether the cloud service
is loaded, whether an IPC call fails, how slow or broken the server is — is on
:class:`CloudService`, so tests and scenarios can inject faults.

An upload that would exceed the quota fails with :class:`CloudFull` and leaves nothing behind:
the blob is written under a temporary name and only renamed into place once the quota check
has passed. Writes and deletes may be conditional on the version the writer last saw
(:class:`VersionConflict`), and a container holds a file or a folder under a name, never both
(:class:`PathClash`), as a drive of folders does: what a device cannot mirror, the cloud refuses.

Object paths are not checked here: the simulated cloud may be a hostile one, and whatever it
lists, a device must check before any local effect.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sim.errors import CloudFull, CloudUnavailable, PathClash, VersionConflict


@dataclass(frozen=True)
class CloudObject:
    path: str
    size: int
    sha256: str
    version: int
    mtime: float
    """Simulated seconds since the device's epoch when this version was stored."""


@dataclass(frozen=True)
class Change:
    seq: int
    op: str  # "add" | "modify" | "delete" | "rename"
    path: str
    version: int
    old_path: str | None = None


@dataclass
class Container:
    """One app's files on the drive."""

    bundle: str
    drive: Drive
    objects: dict[str, CloudObject] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    generations: dict[str, int] = field(default_factory=dict)
    """The last version ever given to each path: versions never repeat, even after a delete,
    so a client comparing versions cannot mistake a new object for one it already has."""
    folders: Counter[str] = field(default_factory=Counter)
    """Each folder the objects' paths pass through, with how many objects are under it."""

    def _index(self, path: str, step: int) -> None:
        names = path.split("/")
        for i in range(1, len(names)):
            folder = "/".join(names[:i])
            self.folders[folder] += step
            if not self.folders[folder]:
                del self.folders[folder]

    def clash(self, path: str) -> str | None:
        """The stored object or folder that ``path`` cannot coexist with, if any: an object
        where ``path`` needs a folder, or a folder (objects under it) where it is a file."""
        if path in self.folders:
            return next(p for p in self.objects if p.startswith(path + "/"))
        names = path.split("/")
        for i in range(1, len(names)):
            prefix = "/".join(names[:i])
            if prefix in self.objects:
                return prefix
        return None

    def _next_version(self, path: str) -> int:
        version = self.generations.get(path, 0) + 1
        self.generations[path] = version
        return version

    def _log(self, op: str, path: str, version: int, old: str | None = None) -> Change:
        change = Change(self.drive.next_seq(), op, path, version, old)
        self.changes.append(change)
        return change

    def changes_since(self, seq: int) -> list[Change]:
        return [c for c in self.changes if c.seq > seq]

    @property
    def cursor(self) -> int:
        return self.changes[-1].seq if self.changes else 0

    def get(self, path: str) -> CloudObject | None:
        return self.objects.get(path)

    def blob(self, obj: CloudObject) -> Path:
        return self.drive.service.blob_path(obj.sha256)

    def put(self, path: str, source: Path, now: float,
            base_version: int | None = None) -> CloudObject:
        """Store ``source`` as the next version of ``path``; CloudFull leaves nothing behind.

        With ``base_version`` (0 for "must not exist yet") the write is conditional, as an
        ETag'd upload is: if the cloud moved on meanwhile, :class:`VersionConflict`.
        """
        self.drive.service.check_server()
        staged, digest, size = self.drive.service.stage(source)
        return self.put_staged(path, staged, digest, size, now, base_version)

    def put_bytes(self, path: str, data: bytes, digest: str, now: float,
                  base_version: int | None = None) -> CloudObject:
        """Like :meth:`put` for a small body received whole and hashed."""
        return self._store(path, len(data), digest, now, base_version,
                           lambda: self.drive.service.write_blob(data, digest), lambda: None)

    def put_staged(self, path: str, staged: Path, digest: str, size: int, now: float,
                   base_version: int | None = None) -> CloudObject:
        """Like :meth:`put` for bytes already received and hashed (``staged`` is moved into
        the blob store, or deleted when the write is refused)."""
        service = self.drive.service
        return self._store(path, size, digest, now, base_version,
                           lambda: service.commit_blob(staged, digest),
                           lambda: staged.unlink(missing_ok=True))

    def put_file(self, path: str, fd: int, digest: str, size: int, now: float,
                 base_version: int | None = None) -> CloudObject:
        """Like :meth:`put_staged` for bytes received into an open file: read from ``fd`` by
        offset, never reached by a name a client's folder could redirect. The caller keeps
        and closes ``fd``."""
        service = self.drive.service
        return self._store(path, size, digest, now, base_version,
                           lambda: service.commit_blob_fd(fd, digest), lambda: None)

    def _store(self, path: str, size: int, digest: str, now: float, base_version: int | None,
               commit: Callable[[], None], discard: Callable[[], None]) -> CloudObject:
        """Checks (server, version, clash, quota) first; the blob lands only when all pass."""
        old = self.objects.get(path)
        current = old.version if old is not None else 0
        growth = size - (old.size if old is not None else 0)
        try:
            self.drive.service.check_server()
            if base_version is not None and base_version != current:
                raise VersionConflict(path, base_version, current)
            other = self.clash(path) if old is None else None
            if other is not None:
                raise PathClash(path, other)
            if growth > self.drive.free:
                raise CloudFull(growth, self.drive.free)
        except (VersionConflict, PathClash, CloudUnavailable, CloudFull):
            discard()
            raise
        commit()
        obj = CloudObject(path, size, digest, self._next_version(path), now)
        if old is None:
            self._index(path, 1)
        self.objects[path] = obj
        self.drive.used += growth
        self._log("modify" if old else "add", path, obj.version)
        return obj

    def delete(self, path: str, base_version: int | None = None) -> None:
        """Delete ``path``. With ``base_version`` the delete is conditional, as a put is: an
        object changed since that version is kept (:class:`VersionConflict`), so a delete
        never removes a version its writer did not see. An object already gone is no
        conflict: what the delete asked for holds."""
        self.drive.service.check_server()
        obj = self.objects.get(path)
        if obj is None:
            return
        if base_version is not None and base_version != obj.version:
            raise VersionConflict(path, base_version, obj.version)
        del self.objects[path]
        self._index(path, -1)
        self.drive.used -= obj.size
        self._log("delete", path, self._next_version(path))

    def rename(self, old: str, new: str, now: float) -> None:
        self.drive.service.check_server()
        other = self.clash(new)
        if other is not None and other != old:
            raise PathClash(new, other)
        obj = self.objects.pop(old)
        self._index(old, -1)
        self._next_version(old)
        moved = CloudObject(new, obj.size, obj.sha256, self._next_version(new), now)
        replaced = self.objects.get(new)
        if replaced is None:
            self._index(new, 1)
        else:
            self.drive.used -= replaced.size
        self.objects[new] = moved
        self._log("rename", new, moved.version, old)


@dataclass
class Drive:
    """One account's drive: login state, quota and the apps' containers."""

    account: str
    service: CloudService
    quota: int
    used: int = 0
    logged_in: bool = True
    switches: dict[str, bool] = field(default_factory=dict)
    """The per-app cloud switch (Settings → cloud → apps); an app absent here is on."""
    containers: dict[str, Container] = field(default_factory=dict)
    _seq: int = 0

    @property
    def free(self) -> int:
        return max(0, self.quota - self.used)

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def container(self, bundle: str) -> Container:
        if bundle not in self.containers:
            self.containers[bundle] = Container(bundle, self)
        return self.containers[bundle]

    def ready(self, bundle: str) -> bool:
        """The platform's "cloud status okay": logged in and the app's switch on."""
        return self.logged_in and self.switches.get(bundle, True)


class CloudService:
    """The cloud as a device reaches it, with its faults.

    ``loaded`` false or ``failing_ipc`` > 0 stand for the device's sync service not being
    loaded or an IPC call failing (13600001); ``server_down`` fails every request;
    ``extra_latency_s`` makes every request slower by that much simulated time.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else Path(
            tempfile.mkdtemp(prefix="syncrig-cloud-"))
        self.blobs = self.root / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self._folders: set[Path] = set()
        self.drives: dict[str, Drive] = {}
        self.loaded = True
        self.failing_ipc = 0
        self.server_down = False
        self.extra_latency_s = 0.0

    def drive(self, account: str = "default", quota: int = 5 * 10**9) -> Drive:
        if account not in self.drives:
            self.drives[account] = Drive(account, self, quota)
        return self.drives[account]

    def ipc_ok(self) -> bool:
        """One IPC call to the sync service: False when it is not loaded or the call fails."""
        if not self.loaded:
            return False
        if self.failing_ipc > 0:
            self.failing_ipc -= 1
            return False
        return True

    def check_server(self) -> None:
        if self.server_down:
            raise CloudUnavailable("server down")

    def blob_path(self, digest: str) -> Path:
        return self.blobs / digest[:2] / digest

    def stage(self, source: Path) -> tuple[Path, str, int]:
        """Copy ``source`` under a temporary name, hashing it; returns (staged, sha256, size)."""
        fd, name = tempfile.mkstemp(dir=self.blobs, prefix=".upload-")
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            while chunk := src.read(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        return Path(name), digest.hexdigest(), size

    def write_blob(self, data: bytes, digest: str) -> None:
        """Store a small body under its hash (via a temporary name: never a partial blob)."""
        target = self.blob_path(digest)
        if target.exists():
            return
        self._folder(target)
        temp = target.with_name(f".{digest}.part")
        temp.write_bytes(data)
        os.replace(temp, target)

    def _folder(self, target: Path) -> None:
        if target.parent not in self._folders:
            target.parent.mkdir(exist_ok=True)
            self._folders.add(target.parent)

    def commit_blob_fd(self, fd: int, digest: str) -> None:
        """Store an open file's bytes under their hash (copied under a temporary name in the
        blob store, then renamed: never a partial blob)."""
        target = self.blob_path(digest)
        self._folder(target)
        if target.exists():
            return
        out, name = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            offset = 0
            while sent := os.sendfile(out, fd, offset, 64 * 1024 * 1024):
                offset += sent
        except BaseException:
            os.close(out)
            os.unlink(name)
            raise
        os.close(out)
        os.replace(name, target)

    def commit_blob(self, staged: Path, digest: str) -> None:
        target = self.blob_path(digest)
        self._folder(target)
        if target.exists():
            staged.unlink()
        else:
            shutil.move(staged, target)  # a rename on one filesystem, a copy across two

    def seed(self, drive: Drive, bundle: str, path: str, data: bytes, now: float = 0.0) -> \
            CloudObject:
        """Put an object straight into the cloud (as another device would have)."""
        with tempfile.NamedTemporaryFile(dir=self.root, delete=False) as tmp:
            tmp.write(data)
        try:
            return drive.container(bundle).put(path, Path(tmp.name), now)
        finally:
            os.unlink(tmp.name)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
