"""``syncrig`` command line: each command group is a module that registers its own parsers
(``simulate``, ``serve``, ``campaigns``, ``report``, ``hil``); this one builds the parser and
runs the chosen command.

Bad input (an unknown scenario, an invalid file, a malformed option) ends with one line on
stderr naming what is wrong and exit status 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys

from rich.console import Console

from conformance.cli import campaigns, hil, report, serve, simulate
from conformance.cli.common import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, Parser
from sim.errors import ConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="syncrig", description="A hardware-in-the-loop device simulator and "
                    "conformance harness for device-cloud sync and transfer APIs.")
    parser.add_argument("--version", action="version",
                        version=f"syncrig {importlib.metadata.version('syncrig')}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in (simulate, serve, campaigns, report, hil):
        group.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``syncrig`` console script."""
    args = build_parser().parse_args(argv)
    console = Console()
    try:
        return int(args.run(args, console))
    except ConfigError as exc:
        print(f"syncrig: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("syncrig: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (``syncrig sensors --json | head``): nothing more to say, and
        # the interpreter must not try to flush into the closed pipe on exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
