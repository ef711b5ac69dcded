"""A run directory on disk: reading it back and checking it.

Everything a report needs is in the run's JSON files, so a run made on another machine (or an
older run) renders the same. A missing, partial or corrupted directory is named precisely —
which file, which field — instead of failing somewhere inside a renderer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REQUIRED = ("run.json", "matrix.json")
MANIFEST_FIELDS = ("run", "target", "profile", "device", "campaigns", "started", "counts")
CAMPAIGN_FIELDS = ("campaign", "ok", "failure", "seconds")
MATRIX_FIELDS = ("api", "documented", "reached", "unreached", "excused")


class RunDirError(Exception):
    """A run directory that cannot be read as one; the message names what is wrong."""


@dataclass
class RunDir:
    path: Path
    manifest: dict[str, Any]
    results: dict[str, Any]
    """``matrix.json``: the campaigns (failures, traces, journals) and their matrices."""
    stats: dict[str, Any] | None = None
    bench: dict[str, Any] | None = None
    hardware: dict[str, Any] | None = None
    """``hardware.json`` of a bring-up: the sensors found and the measured timeline."""

    @property
    def campaigns(self) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        """Campaign name → (its result, its matrix)."""
        return {c["campaign"]: (c, m) for c, m in zip(self.results["campaigns"],
                                                       self.results["matrices"], strict=True)}


def load(path: Path) -> RunDir:
    """Read and check a run directory."""
    if not path.exists():
        raise RunDirError(f"{path}: no such run directory")
    if not path.is_dir():
        raise RunDirError(f"{path}: not a directory (give the folder a conformance run wrote, "
                          "reports/<run-id>)")
    missing = [name for name in REQUIRED if not (path / name).is_file()]
    if missing:
        raise RunDirError(f"{path}: {' and '.join(missing)} missing — not a conformance run "
                          "directory, or the run did not finish")
    manifest = _json(path / "run.json", dict)
    for name in MANIFEST_FIELDS:
        if name not in manifest:
            raise RunDirError(f"{path / 'run.json'}: field {name!r} is missing")
    results = _json(path / "matrix.json", dict)
    for name in ("campaigns", "matrices"):
        if not isinstance(results.get(name), list):
            raise RunDirError(f"{path / 'matrix.json'}: field {name!r} is missing or not a list")
    if len(results["campaigns"]) != len(results["matrices"]):
        raise RunDirError(f"{path / 'matrix.json'}: {len(results['campaigns'])} campaigns but "
                          f"{len(results['matrices'])} matrices")
    for i, (campaign, matrix) in enumerate(zip(results["campaigns"], results["matrices"],
                                               strict=True)):
        for fields, value, what in ((CAMPAIGN_FIELDS, campaign, "campaigns"),
                                    (MATRIX_FIELDS, matrix, "matrices")):
            if not isinstance(value, dict):
                raise RunDirError(f"{path / 'matrix.json'}: {what}[{i}] is not an object")
            for name in fields:
                if name not in value:
                    raise RunDirError(f"{path / 'matrix.json'}: {what}[{i}].{name} is missing")
    stats = _json(path / "stats.json", dict) if (path / "stats.json").exists() else None
    bench = _json(path / "bench.json", dict) if (path / "bench.json").exists() else None
    hardware = _json(path / "hardware.json", dict) if (path / "hardware.json").exists() \
        else None
    return RunDir(path, manifest, results, stats, bench, hardware)


def _json(path: Path, kind: type) -> Any:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise RunDirError(f"{path}: cannot be read ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f", line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise RunDirError(f"{path}: corrupted, not JSON ({type(exc).__name__}{where})") \
            from None
    if not isinstance(data, kind):
        raise RunDirError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data

