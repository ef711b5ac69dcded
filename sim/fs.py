"""File operations that stay inside a folder whatever another process does meanwhile.

The references write an app's downloads, place synced files and delete them on behalf of a
cloud or a server that may be hostile, in folders the app itself (or an attacker) may change at
any moment. Checking a path once and then using it by name is not enough: a folder swapped for a
symlink between the check and the use sends the write elsewhere. So every operation here starts
from a directory held open by descriptor (:class:`Folder`) and walks to its target one name at a
time with ``O_NOFOLLOW``: a symlink met on the way is refused, never followed, and the last name
is opened, created (``O_EXCL``), renamed or unlinked through its parent's descriptor, so what
is touched is always inside the folder that was held.

Names are checked before any effect (:func:`parts`): relative, no ``..``, no NUL, each name
at most :data:`NAME_MAX` bytes and the whole at most :data:`PATH_MAX`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from sim.errors import UnsafePath

NAME_MAX = 255
"""Bytes in one name (Linux's ``NAME_MAX``)."""
PATH_MAX = 4095
"""Bytes in a whole relative path (Linux's ``PATH_MAX`` less its NUL)."""
TEMP_PREFIX = ".syncrig-part-"
"""Names of files being written; a folder listing leaves them out."""

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_COPY_BLOCK = 1024 * 1024


def parts(relative: object) -> tuple[str, ...]:
    """The names of a relative path, checked: raises :class:`UnsafePath` naming the reason.

    Empty and ``.`` names are dropped (``a//./b`` is ``a/b``); ``..`` is refused rather than
    resolved, since resolving it needs the very lookup an attacker controls.
    """
    if not isinstance(relative, str):
        raise UnsafePath(relative, UnsafePath.NOT_TEXT)
    if "\x00" in relative:
        raise UnsafePath(relative, UnsafePath.NUL)
    if relative.startswith("/"):
        raise UnsafePath(relative, UnsafePath.ABSOLUTE)
    names = tuple(name for name in relative.split("/") if name not in ("", "."))
    if not names:
        raise UnsafePath(relative, UnsafePath.EMPTY)
    if ".." in names:
        raise UnsafePath(relative, UnsafePath.PARENT)
    try:
        sizes = [len(name.encode("utf-8")) for name in names]
    except UnicodeEncodeError:
        raise UnsafePath(relative, UnsafePath.NOT_TEXT) from None
    if max(sizes) > NAME_MAX:
        raise UnsafePath(relative, UnsafePath.NAME_TOO_LONG)
    if sum(sizes) + len(sizes) - 1 > PATH_MAX:
        raise UnsafePath(relative, UnsafePath.PATH_TOO_LONG)
    return names


def is_safe(relative: object) -> bool:
    """Whether :func:`parts` accepts ``relative``."""
    try:
        parts(relative)
    except UnsafePath:
        return False
    return True


def _refused(relative: str, exc: OSError) -> UnsafePath | OSError:
    """What a failed no-follow lookup means: a symlink or non-folder on the way is refused."""
    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        return UnsafePath(relative, UnsafePath.LINK)
    if exc.errno == errno.ENAMETOOLONG:
        return UnsafePath(relative, UnsafePath.NAME_TOO_LONG)
    return exc


class Folder:
    """A directory held by descriptor; every path given to it is relative to it.

    The descriptor is closed by :meth:`close` (or the ``with`` block, or when the object is
    collected). Sub-folders from :meth:`folder` hold their own descriptors.
    """

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path
        """Where the folder was when it was opened: for messages, never for access."""
        self._closer = weakref.finalize(self, os.close, fd)

    @classmethod
    def hold(cls, path: str | Path, *, create: bool = False, follow: bool = True) -> Folder:
        """Hold the folder at ``path``, a trusted path: the folders on its way are followed;
        its last name too unless ``follow`` is false (then a symlink there is refused)."""
        if create:
            Path(path).mkdir(parents=True, exist_ok=True)
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
        try:
            fd = os.open(path, flags)
        except OSError as exc:
            raise _refused(str(path), exc) from None
        return cls(fd, Path(path))

    def close(self) -> None:
        self._closer()

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Folder({str(self.path)!r})"

    # -- walking -------------------------------------------------------------------------------

    def _walk(self, relative: str, names: tuple[str, ...], create: bool) -> int:
        """A new descriptor of the folder ``names`` leads to (no symlink followed)."""
        fd = os.dup(self.fd)
        try:
            for name in names:
                try:
                    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, 0o755, dir_fd=fd)
                    try:
                        child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                    except OSError as exc:
                        raise _refused(relative, exc) from None
                except OSError as exc:
                    raise _refused(relative, exc) from None
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    @contextlib.contextmanager
    def parent(self, relative: object, *, create: bool = False) -> Iterator[tuple[int, str]]:
        """The descriptor of ``relative``'s folder (held for the block) and its last name."""
        names = parts(relative)
        assert isinstance(relative, str)
        fd = self._walk(relative, names[:-1], create)
        try:
            yield fd, names[-1]
        finally:
            os.close(fd)

    def folder(self, relative: str, *, create: bool = False) -> Folder:
        """The sub-folder ``relative``, held (created with its parents when ``create``)."""
        return Folder(self._walk(relative, parts(relative), create), self.path / relative)

    # -- files ---------------------------------------------------------------------------------

    def open(self, relative: str, flags: int = os.O_RDONLY, mode: int = 0o644, *,
             create_parents: bool = False) -> int:
        """A descriptor of the regular file ``relative`` (``flags`` as for :func:`os.open`).

        The last name is opened with ``O_NOFOLLOW`` and must be a regular file: a symlink,
        folder, FIFO or device there is refused (and a FIFO cannot block the open).
        """
        with self.parent(relative, create=create_parents) as (pfd, name):
            try:
                fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, mode,
                             dir_fd=pfd)
            except OSError as exc:
                raise _refused(relative, exc) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise UnsafePath(relative, UnsafePath.NOT_FILE)
        os.set_blocking(fd, True)
        return fd

    def create(self, relative: str, mode: int = 0o644, *, create_parents: bool = False) -> int:
        """A new, empty file ``relative`` opened for reading and writing; FileExistsError if
        any entry (a file, a folder, a planted symlink) has the name."""
        return self.open(relative, os.O_RDWR | os.O_CREAT | os.O_EXCL, mode,
                         create_parents=create_parents)

    def read_bytes(self, relative: str) -> bytes:
        fd = self.open(relative)
        with os.fdopen(fd, "rb") as f:
            return f.read()

    def lstat(self, relative: str) -> os.stat_result | None:
        """The entry ``relative`` itself (a symlink is reported, not followed); None if it
        or a folder on its way does not exist."""
        try:
            with self.parent(relative) as (pfd, name):
                return os.stat(name, dir_fd=pfd, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def write_atomic(self, relative: str, data: bytes | BinaryIO, *,
                     create_parents: bool = False) -> os.stat_result:
        """Write ``data`` to a new file under a temporary name, then rename it onto
        ``relative``: readers see the old content or the whole new one, never a part.

        The temporary file is created with ``O_EXCL`` under a random name, so a name planted
        beforehand is never written through; a symlink at ``relative`` is replaced, not
        followed. Returns the new file's status.
        """
        with self.parent(relative, create=create_parents) as (pfd, name):
            while True:
                temp = TEMP_PREFIX + secrets.token_hex(8)
                try:
                    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                                 | os.O_CLOEXEC, 0o644, dir_fd=pfd)
                    break
                except FileExistsError:
                    continue
            try:
                with os.fdopen(fd, "wb", closefd=False) as out:
                    if isinstance(data, bytes | bytearray | memoryview):
                        out.write(data)
                    else:
                        shutil.copyfileobj(data, out, _COPY_BLOCK)
                status = os.fstat(fd)
            except BaseException:
                os.close(fd)
                with contextlib.suppress(OSError):
                    os.unlink(temp, dir_fd=pfd)
                raise
            os.close(fd)
            try:
                os.rename(temp, name, src_dir_fd=pfd, dst_dir_fd=pfd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(temp, dir_fd=pfd)
                raise
            return status

    def unlink(self, relative: str) -> bool:
        """Remove the entry ``relative`` (a symlink is removed itself, its target untouched);
        False if it was not there."""
        try:
            with self.parent(relative) as (pfd, name):
                os.unlink(name, dir_fd=pfd)
        except (FileNotFoundError, NotADirectoryError):
            return False
        return True

    def rename(self, source: str, target: str) -> None:
        """Rename ``source`` to ``target``, both inside this folder."""
        with self.parent(source) as (sfd, sname), \
                self.parent(target, create=True) as (tfd, tname):
            os.rename(sname, tname, src_dir_fd=sfd, dst_dir_fd=tfd)

    def remove_tree(self, relative: str) -> bool:
        """Remove the folder ``relative`` and all it holds, following no link; False if it
        was not there."""
        try:
            with self.parent(relative) as (pfd, name):
                shutil.rmtree(name, dir_fd=pfd)
        except (FileNotFoundError, NotADirectoryError):
            return False
        return True

    def walk(self, relative: str = "") -> Iterator[tuple[str, os.stat_result]]:
        """Every regular file under ``relative`` (all of the folder when empty), as its path
        relative to this folder and its status. Symlinks are neither followed nor listed;
        temporary files are left out."""
        start = self.folder(relative) if relative else self
        try:
            stack = [(os.dup(start.fd), relative.strip("/") + "/" if relative else "")]
        finally:
            if start is not self:
                start.close()
        try:
            while stack:
                fd, prefix = stack.pop()
                try:
                    with os.scandir(fd) as entries:
                        listed = list(entries)
                    for entry in listed:
                        if entry.is_dir(follow_symlinks=False):
                            try:
                                child = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
                            except OSError:
                                continue  # swapped or removed meanwhile
                            stack.append((child, prefix + entry.name + "/"))
                        elif entry.is_file(follow_symlinks=False) \
                                and not entry.name.startswith(TEMP_PREFIX):
                            try:
                                status = entry.stat(follow_symlinks=False)
                            except FileNotFoundError:
                                continue
                            yield prefix + entry.name, status
                finally:
                    os.close(fd)
        finally:
            for fd, _ in stack:
                os.close(fd)
