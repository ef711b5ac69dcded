"""Durations and sizes as written in profiles and scenarios."""

from __future__ import annotations

import pytest

from sim.units import format_duration, parse_duration, parse_size


@pytest.mark.parametrize(("text", "seconds"), [
    (90, 90.0), (1.5, 1.5), ("90", 90.0), ("90s", 90.0), ("2h30m", 9000.0),
    ("1d", 86400.0), ("500ms", 0.5), ("1h0m30s", 3630.0), ("1.5h", 5400.0),
])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["2x", "h", "", "2h30", "-5s", "1h 2q", True, None])
def test_malformed_durations_are_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(("text", "nbytes"), [
    (1024, 1024), ("512MB", 512 * 10**6), ("64GiB", 64 * 2**30), ("1.5GB", 1_500_000_000),
    ("8TB", 8 * 10**12), ("10 kB", 10_000),
])
def test_sizes(text: object, nbytes: int) -> None:
    assert parse_size(text) == nbytes


@pytest.mark.parametrize("text", ["lots", "5XB", -1, False])
def test_malformed_sizes_are_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_format_duration() -> None:
    assert format_duration(3630) == "1h00m30s"
    assert format_duration(0) == "0s"
    assert format_duration(86400 + 61) == "1d01m01s"
