"""Parsing of the human-written quantities in profiles and scenarios: durations and sizes.

Scenario authors write ``2h30m`` and ``64GB``; the models work in seconds and bytes. Parsing lives
here once so every file accepts the same spellings and rejects the same mistakes.
"""

from __future__ import annotations

import re

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKMGT]i?B|B)?\s*$")
_SIZE_UNITS = {
    None: 1,
    "B": 1,
    "kB": 10**3,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KiB": 2**10,
    "kiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
}


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``1.5``, ``"90s"``, ``"2h30m"``, ``"500ms"`` or ``"1d"``.

    Raises ValueError with the accepted forms when the text is malformed or negative.
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90s, 2h30m or 1d, not a boolean")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 90s, 2h30m or 1d")
    text = value.strip().replace(" ", "")
    if text and re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    pos = 0
    total = 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ValueError(f"malformed duration {value!r} (expected e.g. 90s, 2h30m, 1d, 500ms)")
    return total


def parse_size(value: object) -> int:
    """Bytes from ``1024``, ``"64GB"`` (decimal) or ``"512MiB"`` (binary)."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 512MB or 64GiB, not a boolean")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return int(value)
    if not isinstance(value, str):
        raise ValueError("expected a size such as 512MB or 64GiB")
    match = _SIZE.match(value)
    if match is None:
        raise ValueError(f"malformed size {value!r} (expected e.g. 1024, 512MB, 64GiB)")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])


def format_duration(seconds: float) -> str:
    """``2h30m05s`` style text for summaries; sub-second remainders are dropped."""
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days}d")
    if hours:
        parts.append(f"{hours}h")
    if minutes or (parts and secs):
        parts.append(f"{minutes:02d}m" if parts else f"{minutes}m")
    if secs or not parts:
        parts.append(f"{secs:02d}s" if parts else f"{secs}s")
    return "".join(parts)


def format_size(nbytes: float) -> str:
    """Decimal units (``1.50 GB``), as storage vendors and the profiles use."""
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if abs(nbytes) >= scale:
            return f"{nbytes / scale:.2f} {unit}"
    return f"{int(nbytes)} B"
