"""What every command group shares: the parser that exits with one line, and its status."""

from __future__ import annotations

import argparse
from typing import Any

from sim.errors import ConfigError

EXIT_OK = 0
"""Done: the run conforms, the command did what it was asked."""
EXIT_FAILED = 1
"""A finding: a rule broke, an item was not reached, a regression, a mutant score too low."""
EXIT_BAD_INPUT = 2
"""Exit status of bad input: one line on stderr names it, never a traceback."""
EXIT_NOT_REPRODUCED = 3
"""``syncrig replay``: the recorded failure did not happen again (the target changed)."""
EXIT_NOT_DONE = 4
"""The run could not be done: a campaign ran past ``--timeout``, the target could not be
reached, the harness itself failed, or a failure did not reproduce (flaky) — the target was
not judged, so it is neither a finding nor a pass."""
EXIT_INTERRUPTED = 130
"""Ctrl-C or SIGTERM (128 + SIGINT, as a shell reports it)."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors end the command with :data:`EXIT_BAD_INPUT`."""

    def error(self, message: str) -> Any:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


class MissingVariable(ConfigError):
    """An environment variable the command needs (a secret kept off the command line) is
    unset or empty: the line names it and says what to put in it."""

    def __init__(self, name: str, what: str) -> None:
        super().__init__(f"${name}", "", None, what)
        self.name = name

    def __str__(self) -> str:
        return f"${self.name} is not set: set it to {self.problem}"
