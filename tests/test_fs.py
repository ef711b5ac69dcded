"""sim.fs: every operation stays inside its held folder, whatever is swapped in meanwhile."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sim.errors import UnsafePath
from sim.fs import TEMP_PREFIX, Folder, parts


@pytest.fixture
def world(tmp_path: Path) -> tuple[Folder, Path, Path]:
    inside = tmp_path / "inside"
    outside = tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    (outside / "victim.txt").write_bytes(b"OUTSIDE")
    return Folder.hold(inside), inside, outside


@pytest.mark.parametrize(("path", "reason"), [
    ("", UnsafePath.EMPTY), ("./", UnsafePath.EMPTY), ("/etc/passwd", UnsafePath.ABSOLUTE),
    ("a/../../x", UnsafePath.PARENT), ("..", UnsafePath.PARENT), ("a\x00b", UnsafePath.NUL),
    ("x" * 256, UnsafePath.NAME_TOO_LONG), ("/".join(["d" * 200] * 21), UnsafePath.PATH_TOO_LONG),
    ("\udcff", UnsafePath.NOT_TEXT), (7, UnsafePath.NOT_TEXT),
])
def test_a_path_that_is_not_plainly_inside_is_refused_with_its_reason(path: object,
                                                                        reason: str) -> None:
    with pytest.raises(UnsafePath) as caught:
        parts(path)
    assert caught.value.reason == reason
    assert str(caught.value) == f"unsafe path {path!r}: {reason}"


def test_plain_names_pass_and_dot_names_drop() -> None:
    assert parts("a//./b/c.txt") == ("a", "b", "c.txt")
    assert parts("é" * 127) == ("é" * 127,)  # 254 bytes


def test_a_symlinked_file_is_never_opened_or_written_through(world: tuple[Folder, Path, Path]
                                                              ) -> None:
    folder, inside, outside = world
    (inside / "f").symlink_to(outside / "victim.txt")
    for flags in (os.O_RDONLY, os.O_WRONLY | os.O_APPEND, os.O_WRONLY | os.O_TRUNC):
        with pytest.raises(UnsafePath) as caught:
            folder.open("f", flags)
        assert caught.value.reason == UnsafePath.LINK
    with pytest.raises(FileExistsError):
        folder.create("f")
    assert (outside / "victim.txt").read_bytes() == b"OUTSIDE"


def test_a_folder_swapped_for_a_symlink_is_refused_on_the_way(
        world: tuple[Folder, Path, Path]) -> None:
    folder, inside, outside = world
    (inside / "d").symlink_to(outside)
    with pytest.raises(UnsafePath) as caught:
        folder.open("d/victim.txt", os.O_WRONLY | os.O_TRUNC)
    assert caught.value.reason == UnsafePath.LINK
    with pytest.raises(UnsafePath):
        folder.write_atomic("d/victim.txt", b"PULLED")
    with pytest.raises(UnsafePath):
        folder.unlink("d/victim.txt")
    with pytest.raises(UnsafePath):
        folder.create("d/new.txt", create_parents=True)
    assert (outside / "victim.txt").read_bytes() == b"OUTSIDE"
    assert sorted(os.listdir(outside)) == ["victim.txt"]


def test_a_held_subfolder_keeps_working_on_the_original_after_a_swap(
        world: tuple[Folder, Path, Path]) -> None:
    folder, inside, outside = world
    sub = folder.folder("d", create=True)
    (inside / "d").rename(inside / "moved")
    (inside / "d").symlink_to(outside)
    sub.write_atomic("x.txt", b"MINE")
    assert (inside / "moved" / "x.txt").read_bytes() == b"MINE"
    assert sorted(os.listdir(outside)) == ["victim.txt"]


def test_write_atomic_never_writes_through_a_planted_name(world: tuple[Folder, Path, Path]
                                                          ) -> None:
    folder, inside, outside = world
    (inside / (TEMP_PREFIX + "new.txt")).symlink_to(outside / "victim.txt")
    (inside / "new.txt").symlink_to(outside / "victim.txt")
    status = folder.write_atomic("new.txt", b"PULLED")
    assert (outside / "victim.txt").read_bytes() == b"OUTSIDE"
    assert not (inside / "new.txt").is_symlink()
    assert (inside / "new.txt").read_bytes() == b"PULLED"
    assert status.st_size == 6
    assert [n for n in os.listdir(inside) if n.startswith(TEMP_PREFIX) and n != TEMP_PREFIX +
            "new.txt"] == []


def test_unlink_removes_a_symlink_not_its_target(world: tuple[Folder, Path, Path]) -> None:
    folder, inside, outside = world
    (inside / "f").symlink_to(outside / "victim.txt")
    assert folder.unlink("f") is True
    assert folder.unlink("f") is False
    assert (outside / "victim.txt").read_bytes() == b"OUTSIDE"


def test_walk_lists_regular_files_only_and_follows_no_link(world: tuple[Folder, Path, Path]
                                                           ) -> None:
    folder, inside, outside = world
    (inside / "a").mkdir()
    (inside / "a" / "x.txt").write_bytes(b"x")
    (inside / "top.txt").write_bytes(b"top")
    (inside / "link.txt").symlink_to(outside / "victim.txt")
    (inside / "linkdir").symlink_to(outside)
    (inside / (TEMP_PREFIX + "1")).write_bytes(b"partial")
    os.mkfifo(inside / "fifo")
    assert sorted(rel for rel, _ in folder.walk()) == ["a/x.txt", "top.txt"]
    assert [rel for rel, _ in folder.walk("a")] == ["a/x.txt"]


def test_a_fifo_is_refused_without_blocking(world: tuple[Folder, Path, Path]) -> None:
    folder, inside, _ = world
    os.mkfifo(inside / "fifo")
    with pytest.raises(UnsafePath) as caught:
        folder.read_bytes("fifo")
    assert caught.value.reason == UnsafePath.NOT_FILE


def test_remove_tree_removes_links_inside_not_what_they_point_at(
        world: tuple[Folder, Path, Path]) -> None:
    folder, inside, outside = world
    (inside / "d" / "e").mkdir(parents=True)
    (inside / "d" / "e" / "out").symlink_to(outside)
    assert folder.remove_tree("d") is True
    assert not (inside / "d").exists()
    assert (outside / "victim.txt").read_bytes() == b"OUTSIDE"
    assert folder.lstat("d") is None


def test_lstat_reports_a_symlink_itself(world: tuple[Folder, Path, Path]) -> None:
    folder, inside, outside = world
    (inside / "f").symlink_to(outside / "victim.txt")
    status = folder.lstat("f")
    assert status is not None and os.path.islink(inside / "f")
    assert stat.S_ISLNK(status.st_mode)
