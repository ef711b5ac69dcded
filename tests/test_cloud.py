"""The simulated cloud drive: versions, quota, change feed, conditional writes, faults."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sim.cloud import CloudFull, CloudService, CloudUnavailable, VersionConflict


def source(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_objects_keep_versions_hashes_and_real_bytes(tmp_path: Path) -> None:
    cloud = CloudService(tmp_path / "cloud")
    box = cloud.drive(quota=1000).container("app")
    first = box.put("a.txt", source(tmp_path, "1", b"one"), now=5.0)
    second = box.put("a.txt", source(tmp_path, "2", b"second"), now=9.0)
    assert (first.version, second.version, second.mtime) == (1, 2, 9.0)
    assert second.sha256 == hashlib.sha256(b"second").hexdigest()
    assert box.blob(second).read_bytes() == b"second"
    assert box.drive.used == 6


def test_the_change_feed_lists_every_change_in_order(tmp_path: Path) -> None:
    cloud = CloudService(tmp_path / "cloud")
    box = cloud.drive().container("app")
    box.put("a", source(tmp_path, "a", b"1"), 0)
    box.put("a", source(tmp_path, "b", b"2"), 0)
    box.rename("a", "b", 0)
    box.delete("b")
    assert [(c.op, c.path, c.old_path) for c in box.changes] == [
        ("add", "a", None), ("modify", "a", None), ("rename", "b", "a"), ("delete", "b", None)]
    assert [c.seq for c in box.changes_since(2)] == [3, 4]
    assert box.drive.used == 0


def test_a_full_quota_refuses_the_object_and_keeps_nothing(tmp_path: Path) -> None:
    cloud = CloudService(tmp_path / "cloud")
    box = cloud.drive(quota=10).container("app")
    box.put("a", source(tmp_path, "a", b"12345"), 0)
    with pytest.raises(CloudFull) as info:
        box.put("b", source(tmp_path, "b", b"1234567"), 0)
    assert (info.value.needed, info.value.free) == (7, 5)
    assert box.get("b") is None and box.drive.used == 5
    assert len(box.changes) == 1
    blobs = [p for p in (cloud.root / "blobs").rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in blobs] == [b"12345"]


def test_conditional_writes_detect_a_concurrent_change(tmp_path: Path) -> None:
    cloud = CloudService(tmp_path / "cloud")
    box = cloud.drive().container("app")
    box.put("a", source(tmp_path, "a", b"1"), 0, base_version=0)
    with pytest.raises(VersionConflict):
        box.put("a", source(tmp_path, "b", b"2"), 0, base_version=0)
    box.put("a", source(tmp_path, "c", b"3"), 0, base_version=1)
    assert box.get("a").version == 2  # type: ignore[union-attr]


def test_readiness_and_faults(tmp_path: Path) -> None:
    cloud = CloudService(tmp_path / "cloud")
    drive = cloud.drive()
    assert drive.ready("app")
    drive.switches["app"] = False
    assert not drive.ready("app")
    drive.switches["app"] = True
    drive.logged_in = False
    assert not drive.ready("app")
    cloud.failing_ipc = 2
    assert [cloud.ipc_ok() for _ in range(3)] == [False, False, True]
    cloud.loaded = False
    assert not cloud.ipc_ok()
    cloud.server_down = True
    with pytest.raises(CloudUnavailable):
        drive.container("app").put("a", source(tmp_path, "a", b"x"), 0)
