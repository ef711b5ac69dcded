"""An app's cloud folder as the sync engine works on it, every operation by descriptor.

The folder is held (:class:`sim.fs.Folder`) and every file operation of a sync — scan, upload
snapshot, placing a download, conflict copies, deletes, evicting, on-demand fetches — walks to
its target without following a link. A symlink in the cloud folder is never uploaded, written
through or deleted through, and a name planted where a temporary file would go is never
written (temporary names are random and created ``O_EXCL``). Paths the cloud lists are checked
before any local effect (:func:`cloud_path_problem`). Kept apart from the run so that every
path the engine touches goes through one small surface.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sim.errors import UnsafePath
from sim.fs import NAME_MAX, PATH_MAX, TEMP_PREFIX, Folder, parts
from sim.ohos.common import AppSandbox

NOT_CANONICAL = "not in canonical form (empty or . names)"
"""A cloud path that names a file only once normalised: the device could not keep its name."""
TEMPORARY_NAME = "a temporary file's name"
"""A cloud path with a name the folder listing leaves out: it would never sync back."""
NO_CONFLICT_NAME = "no free conflict name"
"""A local file that must move aside has no conflict name to go to: every candidate is taken
(a cloud listing a file and folders of one name) or the path leaves no room for one."""
CONFLICT_CANDIDATES = 100
"""Conflict names tried (``(conflict)`` to ``(conflict 100)``) before giving up: a hostile
listing can make every candidate taken, and a sync step must end."""
SHARED_FILE = "a file with other names (hard link)"
"""A regular file with more than one link: its bytes are also another place's, so it is not
the app's own to upload or truncate."""
SNAPSHOTS = ".sync-snapshots"
"""The sandbox folder large files are copied to for upload."""
SMALL_FILE = 1024 * 1024
"""Files up to this size are snapshotted in memory (one file open instead of three)."""
_BLOCK = 1024 * 1024


def cloud_path_problem(path: str) -> str | None:
    """Why a path the cloud lists cannot be a file of the cloud folder, or None when it can:
    a relative path of names (no ``..``, NUL, absolute path, name over 255 bytes —
    :func:`sim.fs.parts`), written as the device writes it, with no temporary file's name."""
    try:
        names = parts(path)
    except UnsafePath as exc:
        return exc.reason
    if "/".join(names) != path:
        return NOT_CANONICAL
    if any(name.startswith(TEMP_PREFIX) for name in names):
        return TEMPORARY_NAME
    return None


@dataclass(frozen=True)
class Snapshot:
    """A file's bytes as taken for upload: in memory when small, else a copy on disk held
    only by ``fd`` (its name is removed once made), so nothing can swap it for another file;
    whoever ends the upload closes ``fd``."""

    rel: str
    fd: int | None
    data: bytes | None
    sha256: str
    size: int
    mtime_ns: int


def _digest(fd: int) -> str:
    """SHA-256 of an open file from its start, read by offset (``pread``): the descriptor's
    own position is left alone, so another thread may copy from it meanwhile."""
    digest = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, _BLOCK, offset):
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()


def _copy(source: int, target: int) -> int:
    """Copy an open file into another in the kernel; the bytes copied."""
    offset = 0
    while sent := os.sendfile(target, source, offset, 64 * _BLOCK):
        offset += sent
    return offset


def _cut(text: str, nbytes: int) -> str:
    """``text`` shortened to at most ``nbytes`` UTF-8 bytes, never splitting a character."""
    return text.encode()[:max(nbytes, 0)].decode(errors="ignore")


def conflict_name(name: str, n: int, limit: int = NAME_MAX) -> str:
    """``name (conflict).ext``, then ``(conflict 2)``…, shortened to fit ``limit`` bytes (a
    name's 255): the stem first, keeping at least its first character, then the extension,
    so a long "extension" cannot leave no room. Empty when even the label does not fit."""
    pure = PurePosixPath(name)
    stem, suffix = (pure.stem, pure.suffix) if pure.stem else (name, "")
    label = " (conflict)" if n == 1 else f" (conflict {n})"
    room = min(limit, NAME_MAX) - len(label.encode())
    if room < 0:
        return ""
    suffix = _cut(suffix, room - len(stem[:1].encode()))
    stem = _cut(stem, room - len(suffix.encode()))
    return f"{stem}{label}{suffix}"


class CloudFolder:
    """One app's cloud folder, held, with what a sync does in it."""

    def __init__(self, sandbox: AppSandbox) -> None:
        self.sandbox = sandbox
        self.held = sandbox.cloud
        """The folder itself, as the sandbox held it when it was made (a folder swapped for
        a link since is not followed): every file operation starts here."""
        self._snapshots: Folder | None = None

    @property
    def root(self) -> Path:
        """Where the cloud folder is: for messages and change notifications, never access."""
        return self.sandbox.cloud_dir

    def scan(self) -> dict[str, os.stat_result]:
        """Every regular file of the cloud folder (relative path → status): no link followed
        or listed, temporary files left out."""
        return dict(self.held.walk())

    def sha256(self, rel: str) -> str:
        """SHA-256 of the regular file ``rel`` (a link there is refused, not followed)."""
        fd = self.held.open(rel)
        try:
            return _digest(fd)
        finally:
            os.close(fd)

    def place(self, rel: str, blob: Path) -> os.stat_result:
        """Write a blob's bytes to ``rel`` under a random temporary name created ``O_EXCL``
        and rename it into place: never a partial file, never through a planted name or a
        link (:meth:`sim.fs.Folder.write_atomic`). The new file's status."""
        with blob.open("rb") as src:
            return self.held.write_atomic(rel, src, create_parents=True)

    def free_conflict_name(self, rel: str, taken: Callable[[str], bool]) -> str:
        """The first conflict name for ``rel`` free here and not ``taken`` elsewhere, short
        enough for the whole path to fit :data:`sim.fs.PATH_MAX`. After
        :data:`CONFLICT_CANDIDATES` taken names, or with no room for one,
        :class:`UnsafePath` (:data:`NO_CONFLICT_NAME`): the caller skips the file."""
        head, _, name = rel.rpartition("/")
        prefix = head + "/" if head else ""
        limit = PATH_MAX - len(prefix.encode())
        for n in range(1, CONFLICT_CANDIDATES + 1):
            candidate = conflict_name(name, n, limit)
            if not candidate:
                break
            target = prefix + candidate
            if self.held.lstat(target) is None and not taken(target):
                return target
        raise UnsafePath(rel, NO_CONFLICT_NAME)

    def move_aside(self, rel: str, target: str) -> tuple[list[str], bool]:
        """Rename the file or folder ``rel`` to ``target``: the files now under the new name,
        and whether it was a folder."""
        status = self.held.lstat(rel)
        directory = status is not None and stat.S_ISDIR(status.st_mode)
        self.held.rename(rel, target)
        moved = [sub for sub, _ in self.held.walk(target)] if directory else [target]
        return moved, directory

    def remove_empty(self, rel: str) -> bool:
        """Remove the folder ``rel`` if it holds nothing but empty folders (empty folders are
        not synced); whether it is gone."""
        try:
            with self.held.folder(rel) as held:
                names = os.listdir(held.fd)
            for name in names:
                status = self.held.lstat(f"{rel}/{name}")
                if status is None or not stat.S_ISDIR(status.st_mode) \
                        or not self.remove_empty(f"{rel}/{name}"):
                    return False
            with self.held.parent(rel) as (pfd, last):
                os.rmdir(last, dir_fd=pfd)
        except (OSError, UnsafePath):
            return False
        return True

    def behind_link(self, rel: str) -> bool:
        """Whether a symlink is at ``rel`` or on its way (a file or nothing there is not)."""
        names = rel.split("/")
        for i in range(1, len(names) + 1):
            try:
                status = self.held.lstat("/".join(names[:i]))
            except UnsafePath:
                return True
            if status is None or stat.S_ISLNK(status.st_mode):
                return status is not None
            if not stat.S_ISDIR(status.st_mode):
                return False
        return False

    def snapshot(self, rel: str, tag: str,
                 unreadable: Callable[[str, OSError | UnsafePath], None]) -> Snapshot | None:
        """Take a file's bytes now from the file opened and held (no link followed), hashing
        them on the way: the app may go on editing, delete or swap the file while it
        uploads, and what uploads is what was held. A large file is copied into the held
        snapshot folder under a name starting with ``tag``, removed at once (the copy is held
        by descriptor only). A file that cannot be opened so (gone, or a link or a
        folder now), or one with other names (:data:`SHARED_FILE`), is given to
        ``unreadable`` and None returned."""
        try:
            fd = self.held.open(rel)
        except (OSError, UnsafePath) as exc:
            unreadable(rel, exc)
            return None
        try:
            status = os.fstat(fd)
            if status.st_nlink > 1:
                unreadable(rel, UnsafePath(rel, SHARED_FILE))
                return None
            if status.st_size <= SMALL_FILE:
                with os.fdopen(fd, "rb", closefd=False) as f:
                    data = f.read()
                return Snapshot(rel, None, data, hashlib.sha256(data).hexdigest(), len(data),
                                status.st_mtime_ns)
            try:
                snapshots = self._snapshot_folder()
                name = f"{tag}-{secrets.token_hex(8)}"
                out = snapshots.create(name)
            except (OSError, UnsafePath) as exc:
                unreadable(rel, exc)  # no held place to copy it to: it waits, kept here
                return None
            snapshots.unlink(name)  # held by descriptor only: no name to swap or plant
            try:
                # hash on a second thread while the kernel copies: both release the GIL, and
                # nothing else touches the file until this step of the simulation returns
                with ThreadPoolExecutor(max_workers=1) as pool:
                    digest = pool.submit(_digest, fd)
                    size = _copy(fd, out)
                    sha = digest.result()
            except BaseException:
                os.close(out)
                raise
        finally:
            os.close(fd)
        return Snapshot(rel, out, None, sha, size, status.st_mtime_ns)

    def _snapshot_folder(self) -> Folder:
        """``.sync-snapshots`` in the sandbox, made and held from the sandbox's own folder
        without following a link. The name is the service's: a link planted there is
        removed (itself, never its target) and the folder made in its place."""
        if self._snapshots is None:
            home = self.sandbox.home
            status = home.lstat(SNAPSHOTS)
            if status is not None and stat.S_ISLNK(status.st_mode):
                home.unlink(SNAPSHOTS)
            self._snapshots = home.folder(SNAPSHOTS, create=True)
        return self._snapshots

    def evict(self, rel: str) -> int:
        """Drop a file's local content, keeping an empty placeholder; the bytes it held. The
        file is opened without following a link: a link there, or a file with other names
        (:data:`SHARED_FILE`: truncating it would empty them too), is refused
        (:class:`UnsafePath`)."""
        fd = self.held.open(rel, os.O_WRONLY)
        try:
            status = os.fstat(fd)
            if status.st_nlink > 1:
                raise UnsafePath(rel, SHARED_FILE)
            size = status.st_size
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)
        return size
