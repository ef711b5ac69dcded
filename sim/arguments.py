"""Command-line argument types shared by the command groups: a bad value is refused by the
parser with one line naming it, before any work starts."""

from __future__ import annotations

import argparse
from pathlib import Path

from matplotlib.backend_bases import FigureCanvasBase

from sim.units import parse_duration


def duration(text: str) -> float:
    """A duration (``90``, ``90s``, ``2h30m``, ``1d``) in seconds."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_duration(text: str) -> float:
    """A duration of more than no time."""
    seconds = duration(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be a duration > 0, got {text!r}")
    return seconds


def positive(text: str) -> float:
    """A number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def image_path(text: str) -> Path:
    """A file to plot into, in a format the plotting library writes (told before the run,
    not as a traceback after it)."""
    path = Path(text)
    kinds = FigureCanvasBase.get_supported_filetypes()
    if path.suffix.lstrip(".").lower() not in kinds:
        raise argparse.ArgumentTypeError(
            f"{text!r}: cannot plot to {path.suffix or 'a file without an extension'} "
            f"(formats: {', '.join(sorted(kinds))})")
    return path


def out_folder(text: str) -> Path:
    """A folder for a run's reports: refused before the run when a file has its name."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a folder")
    return path
