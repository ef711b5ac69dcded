"""The import layers: command line, harness, references, device and cloud, ground — one way."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_imports_run_one_way_through_the_layers() -> None:
    command = shutil.which("lint-imports")
    assert command is not None, "import-linter is a test dependency"
    done = subprocess.run([command, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Contracts: 1 kept, 0 broken." in done.stdout
