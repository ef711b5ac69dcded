"""Storage: reservations, ENOSPC, fill and free."""

from __future__ import annotations

import errno

import pytest

from sim.device import Device
from sim.errors import StorageFull
from sim.trace import EventKind
from tests.conftest import make_profile

GB = 10**9


def test_free_space_follows_writes_reservations_and_deletes() -> None:
    device = Device(make_profile())
    storage = device.storage
    assert storage.free == 6 * GB
    reservation = storage.reserve(2 * GB)
    assert storage.free == 4 * GB
    reservation.commit(GB)
    assert (storage.used, storage.reserved, storage.free) == (5 * GB, 0, 5 * GB)
    storage.write(GB)
    storage.delete(2 * GB)
    assert storage.free == 6 * GB
    assert device.sensors.storage().free_bytes == 6 * GB


def test_a_write_beyond_free_space_fails_with_enospc_and_changes_nothing() -> None:
    device = Device(make_profile())
    storage = device.storage
    with pytest.raises(StorageFull) as info:
        storage.write(6 * GB + 1)
    assert info.value.errno == errno.ENOSPC
    assert isinstance(info.value, OSError)
    assert (info.value.requested, info.value.free) == (6 * GB + 1, 6 * GB)
    assert storage.free == 6 * GB
    with pytest.raises(StorageFull):
        storage.reserve(7 * GB)
    assert storage.reserved == 0
    assert [e.data["requested"] for e in device.trace.of_kind(EventKind.STORAGE_FULL)] == \
        [6 * GB + 1, 7 * GB]


def test_fill_and_free_controls_move_only_filler() -> None:
    device = Device(make_profile())
    assert device.controls.fill_storage(10 * GB) == 6 * GB  # capped at what is free
    assert device.storage.free == 0
    with pytest.raises(StorageFull):
        device.storage.write(1)
    assert device.controls.free_storage(GB) == GB
    assert device.storage.free == GB
    with pytest.raises(ValueError, match="cannot delete"):
        device.storage.delete(5 * GB)  # only 4 GB of real data is stored


def test_a_reservation_closes_once() -> None:
    device = Device(make_profile())
    reservation = device.storage.reserve(100)
    with pytest.raises(ValueError, match=r"0\.\.100"):
        reservation.commit(101)
    reservation.release()
    assert device.storage.free == 6 * GB
    with pytest.raises(RuntimeError):
        reservation.commit(0)
