"""Errors the simulator raises on purpose.

::

    SimError
    ├── ConfigError(SimError, ValueError)    a profile or scenario value is wrong
    ├── TransferInterrupted(SimError)        a Link transfer lost its radio
    ├── StorageFull(SimError, OSError)       a write exceeds free space (errno ENOSPC)
    ├── UnsafePath(SimError, ValueError)     a path that is not plainly inside its folder
    ├── CloudError                           the simulated cloud refused a request
    │   ├── CloudFull                        the account's quota cannot take an object
    │   ├── VersionConflict                  the object changed since the writer's base
    │   ├── PathClash                        a file and a folder of one name
    │   └── CloudUnavailable                 an injected server fault
    └── ShapeError(SimError, RuntimeError)   shaping a real interface failed

The references report their APIs' own errors beside this tree, as the platforms do:
``sim.ohos.common.BusinessError`` (and ``sim.ohos.request.errors.JsError``, a release's plain
Error) and ``sim.synology.errors.SynoError`` (a DSM code).

Each carries the context that caused it, so the CLI can print one clear line. Constructor
arguments are kept as ``args`` because SimPy re-creates an exception from them when it throws a
failed event into a waiting process.
"""

from __future__ import annotations

import errno
from pathlib import Path


class SimError(Exception):
    """Base of every error the simulator raises deliberately."""


class ConfigError(SimError, ValueError):
    """A device profile or scenario is invalid.

    The message names the file, the key path inside it and the offending value, because the
    person who reads it is editing a YAML file and needs to know exactly where to look.
    """

    def __init__(self, source: str | Path, key_path: str, value: object, problem: str) -> None:
        super().__init__(source, key_path, value, problem)
        self.source = str(source)
        self.key_path = key_path
        self.value = value
        self.problem = problem

    def __str__(self) -> str:
        where = f"{self.source}: {self.key_path}" if self.key_path else self.source
        return f"{where}: {self.problem} (got {self.value!r})"


class TransferInterrupted(SimError):
    """A transfer stopped before its last byte; ``bytes_done`` of ``nbytes`` had moved."""

    def __init__(self, nbytes: int, bytes_done: int, radio: str | None, reason: str) -> None:
        super().__init__(nbytes, bytes_done, radio, reason)
        self.nbytes = nbytes
        self.bytes_done = bytes_done
        self.radio = radio
        self.reason = reason

    def __str__(self) -> str:
        return (f"transfer interrupted after {self.bytes_done} of {self.nbytes} bytes "
                f"(radio {self.radio or 'none'}: {self.reason})")


class StorageFull(SimError, OSError):
    """A write or reservation needs more bytes than the volume has free.

    Subclasses :class:`OSError` with ``errno.ENOSPC`` so code written against real files handles
    the simulated volume the same way.
    """

    def __init__(self, requested: int, free: int) -> None:
        OSError.__init__(self, errno.ENOSPC, "No space left on device")
        self.args = (requested, free)
        self.requested = requested
        self.free = free

    def __str__(self) -> str:
        return f"[Errno {errno.ENOSPC}] No space left on device: need {self.requested} bytes, " \
            f"{self.free} free"


class UnsafePath(SimError, ValueError):
    """A path refused before any effect: not a plain relative path, or one whose way inside
    its folder meets a symlink (or a file where a folder should be).

    ``reason`` is one of the class's constants, so callers map each to their API's documented
    error (a name too long is ENAMETOOLONG's code, the others a bad path).
    """

    NOT_TEXT = "not text"
    NUL = "NUL character"
    ABSOLUTE = "absolute"
    EMPTY = "empty"
    PARENT = "parent folder (..)"
    NAME_TOO_LONG = "name too long"
    PATH_TOO_LONG = "path too long"
    LINK = "symlink or non-folder on the way"
    NOT_FILE = "not a regular file"

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"unsafe path {self.path!r}: {self.reason}"


class CloudError(SimError):
    """The simulated cloud refused a request (the references map each to their API's code)."""


class CloudFull(CloudError):
    """The account's quota cannot take the object."""

    def __init__(self, needed: int, free: int) -> None:
        super().__init__(needed, free)
        self.needed = needed
        self.free = free

    def __str__(self) -> str:
        return f"cloud quota exceeded: need {self.needed} bytes, {self.free} free"


class VersionConflict(CloudError):
    """The object changed since the version the writer based its change on."""

    def __init__(self, path: str, expected: int, actual: int) -> None:
        super().__init__(path, expected, actual)
        self.path = path
        self.expected = expected
        self.actual = actual

    def __str__(self) -> str:
        return f"{self.path}: expected version {self.expected}, the cloud has {self.actual}"


class PathClash(CloudError):
    """A file and a folder of the same name: ``path`` cannot be stored while ``other`` is."""

    def __init__(self, path: str, other: str) -> None:
        super().__init__(path, other)
        self.path = path
        self.other = other

    def __str__(self) -> str:
        return f"{self.path}: clashes with {self.other} (a file and a folder of one name)"


class CloudUnavailable(CloudError):
    """The server failed the request (a fault injected on the service)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return f"cloud server unavailable: {self.reason}"


class ShapeError(SimError, RuntimeError):
    """A command that shapes a real interface failed (not root, no such interface, ...)."""
