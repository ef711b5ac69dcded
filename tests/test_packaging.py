"""The wheel users install: every package and the fixtures inside it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def listed() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(config["tool"]["setuptools"]["packages"])


def test_every_package_of_the_sources_is_listed_for_the_wheel() -> None:
    found = {str(p.parent.relative_to(ROOT)).replace("/", ".")
             for top in ("sim", "conformance") for p in (ROOT / top).rglob("__init__.py")}
    assert found | {"sim.fixtures"} == set(listed())


def test_the_wheel_carries_every_module_and_the_fixtures(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("syncrig-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(ROOT)) for top in ("sim", "conformance")
               for p in (ROOT / top).rglob("*.py")}
    assert modules <= names
    fixtures = {"sim/fixtures/" + str(p.relative_to(ROOT / "fixtures"))
                for p in (ROOT / "fixtures").rglob("*.yaml")}
    assert "sim/fixtures/devices/phone.yaml" in fixtures and fixtures <= names
    assert "conformance/reporting/report.html.j2" in names


def test_the_command_line_says_its_version() -> None:
    shown = subprocess.run([sys.executable, "-m", "conformance.cli", "--version"],
                           capture_output=True, text=True, check=True)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert shown.stdout == f"syncrig {version}\n"
