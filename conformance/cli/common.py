"""What every command group shares: the parser that exits with one line, and its status."""

from __future__ import annotations

import argparse
from typing import Any

EXIT_BAD_INPUT = 2
"""Exit status of bad input: one line on stderr names it, never a traceback."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors end the command with :data:`EXIT_BAD_INPUT`."""

    def error(self, message: str) -> Any:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")
