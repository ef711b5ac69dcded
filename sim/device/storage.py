"""Storage: the device's local volume — capacity, used and reserved bytes.

Writers reserve space before a transfer (as download managers preallocate) and commit what they
actually wrote; a write or reservation larger than the free space fails with
:class:`~sim.errors.StorageFull` (``ENOSPC``) and changes nothing.
"""

from __future__ import annotations

from sim.device.profile import StorageProfile
from sim.errors import StorageFull
from sim.trace import EventKind, Trace


class Reservation:
    """Space set aside for a write in progress; commit what was written, release the rest."""

    def __init__(self, storage: Storage, nbytes: int) -> None:
        self._storage = storage
        self.nbytes = nbytes
        self.open = True

    def commit(self, written: int) -> None:
        """Turn ``written`` bytes of the reservation into used space and release the rest."""
        if not self.open:
            raise RuntimeError("reservation already closed")
        if not 0 <= written <= self.nbytes:
            raise ValueError(f"written must be within 0..{self.nbytes}, got {written!r}")
        self.open = False
        self._storage._settle_reservation(self.nbytes, written)

    def release(self) -> None:
        """Give the whole reservation back (the write was abandoned)."""
        if self.open:
            self.commit(0)


class Storage:
    """One volume. ``filler`` is space taken by controls (other apps' data) and can be freed."""

    def __init__(self, profile: StorageProfile, trace: Trace) -> None:
        self._trace = trace
        self.capacity = profile.capacity
        self.used = profile.used
        self.reserved = 0
        self.filler = 0

    @property
    def free(self) -> int:
        return self.capacity - self.used - self.reserved

    def reserve(self, nbytes: int) -> Reservation:
        self._check(nbytes)
        self.reserved += nbytes
        self._changed("reserve", nbytes)
        return Reservation(self, nbytes)

    def write(self, nbytes: int) -> None:
        """Consume ``nbytes`` at once (a write with no prior reservation)."""
        self._check(nbytes)
        self.used += nbytes
        self._changed("write", nbytes)

    def delete(self, nbytes: int) -> None:
        """Free ``nbytes`` of written data."""
        if not 0 <= nbytes <= self.used - self.filler:
            raise ValueError(f"cannot delete {nbytes} bytes: {self.used - self.filler} "
                             "bytes of data are stored")
        self.used -= nbytes
        self._changed("delete", nbytes)

    def fill(self, nbytes: int) -> int:
        """Take up to ``nbytes`` of free space as filler (a control); returns bytes taken."""
        if nbytes < 0:
            raise ValueError(f"fill size must be >= 0, got {nbytes!r}")
        taken = min(nbytes, self.free)
        self.filler += taken
        self.used += taken
        self._changed("fill", taken)
        return taken

    def free_filler(self, nbytes: int) -> int:
        """Give back up to ``nbytes`` of filler (a control); returns bytes freed."""
        if nbytes < 0:
            raise ValueError(f"free size must be >= 0, got {nbytes!r}")
        given = min(nbytes, self.filler)
        self.filler -= given
        self.used -= given
        self._changed("unfill", given)
        return given

    def set_measured_free(self, free: int) -> None:
        """Match a host filesystem's free bytes: whatever else on the volume uses space is
        filler, so what the device's own APIs wrote (and the host also counts) stays theirs."""
        want = max(0, self.capacity - self.reserved - free - (self.used - self.filler))
        if want > self.filler:
            self.fill(want - self.filler)
        elif want < self.filler:
            self.free_filler(self.filler - want)

    def _check(self, nbytes: int) -> None:
        if nbytes < 0:
            raise ValueError(f"size must be >= 0, got {nbytes!r}")
        if nbytes > self.free:
            self._trace.emit(EventKind.STORAGE_FULL, requested=nbytes, free=self.free)
            raise StorageFull(nbytes, self.free)

    def _settle_reservation(self, reserved: int, written: int) -> None:
        self.reserved -= reserved
        self.used += written
        self._changed("commit", written)

    def _changed(self, op: str, nbytes: int) -> None:
        self._trace.emit(EventKind.STORAGE, op=op, nbytes=nbytes, free=self.free,
                         used=self.used)
