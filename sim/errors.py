"""Errors the simulator raises on purpose.

::

    SimError
    ├── ConfigError(SimError, ValueError)    a profile or scenario value is wrong
    ├── TransferInterrupted(SimError)        a Link transfer lost its radio
    └── StorageFull(SimError, OSError)       a write exceeds free space (errno ENOSPC)

Each carries the context that caused it, so the CLI can print one clear line.
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
        self.source = str(source)
        self.key_path = key_path
        self.value = value
        self.problem = problem
        where = f"{self.source}: {key_path}" if key_path else self.source
        super().__init__(f"{where}: {problem} (got {value!r})")


class TransferInterrupted(SimError):
    """A transfer stopped before its last byte; ``bytes_done`` of ``nbytes`` had moved."""

    def __init__(self, nbytes: int, bytes_done: int, radio: str | None, reason: str) -> None:
        self.nbytes = nbytes
        self.bytes_done = bytes_done
        self.radio = radio
        self.reason = reason
        super().__init__(
            f"transfer interrupted after {bytes_done} of {nbytes} bytes "
            f"(radio {radio or 'none'}: {reason})"
        )


class StorageFull(SimError, OSError):
    """A write or reservation needs more bytes than the volume has free.

    Subclasses :class:`OSError` with ``errno.ENOSPC`` so code written against real files handles
    the simulated volume the same way.
    """

    def __init__(self, requested: int, free: int) -> None:
        self.requested = requested
        self.free = free
        OSError.__init__(
            self, errno.ENOSPC, f"No space left on device: need {requested} bytes, {free} free"
        )
