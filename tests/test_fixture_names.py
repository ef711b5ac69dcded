"""A fixture given by name is the built-in one, whatever the working folder holds; only what
looks like a path (a ``/`` or a ``.yaml``/``.yml`` suffix) is read as a path."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.device.profile import fixtures_dir, load_profile, resolve_fixture
from sim.errors import ConfigError
from sim.synology import Nas, load_seed

SEED = Path(__file__).parents[1] / "fixtures" / "nas" / "default.yaml"


def test_a_bare_name_is_the_built_in_fixture_despite_a_folder_of_that_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nas").mkdir()
    (tmp_path / "phone").write_text("not a profile")
    assert resolve_fixture("devices", "nas") == fixtures_dir() / "devices" / "nas.yaml"
    assert load_profile("nas").kind == "nas"
    assert load_profile("phone").kind == "phone"


def test_the_nas_runs_with_its_data_folder_named_nas(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``syncrig serve nas --data nas``: the data folder is made before the profile loads."""
    monkeypatch.chdir(tmp_path)
    nas = Nas(Path("nas"), load_seed(SEED))
    try:
        assert nas.device.profile.kind == "nas"
        assert (tmp_path / "nas" / "nas.sqlite3").is_file()
    finally:
        nas.store.close()


def test_what_looks_like_a_path_is_a_path(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "mine.yaml"
    mine.write_text((fixtures_dir() / "devices" / "tablet.yaml").read_text())
    assert resolve_fixture("devices", "mine.yaml") == Path("mine.yaml")
    assert resolve_fixture("devices", str(mine)) == mine
    assert load_profile("./mine.yaml").kind == "tablet"
    for missing in ("./nas", "nas.yml", "sub/nas"):
        with pytest.raises(ConfigError, match="no such file"):
            resolve_fixture("devices", missing)
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_fixture("devices", "toaster")
