"""README figures and tables that the code decides: the exit statuses the command line uses,
and the benchmark figures bench/render.py renders from the committed bench JSON."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bench import render
from conformance.cli import common

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"


def exit_table() -> dict[int, str]:
    text = README.read_text()
    section = text[text.index("### Exit status"):]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", section.split("\n\n")[1], re.M)
    return {int(code): meaning for code, meaning in rows}


def defined() -> set[int]:
    return {value for name, value in vars(common).items() if name.startswith("EXIT_")}


def used() -> set[int]:
    """Every integer a command returns or exits with, as written in conformance/cli/."""
    codes = set()
    for path in (ROOT / "conformance" / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            values = []
            if isinstance(node, ast.Return) and node.value is not None:
                values = [node.value]
                if isinstance(node.value, ast.IfExp):
                    values = [node.value.body, node.value.orelse]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "exit":
                values = node.args[:1]
            codes |= {v.value for v in values if isinstance(v, ast.Constant)
                      and type(v.value) is int}
    return codes


def test_the_exit_table_lists_exactly_the_codes_the_cli_defines() -> None:
    assert set(exit_table()) == defined() == {0, 1, 2, 3, 4, 130}


def test_every_exit_status_the_cli_uses_is_defined() -> None:
    assert used() <= defined(), used() - defined()


def test_the_bench_block_is_what_the_committed_json_renders() -> None:
    text = README.read_text()
    assert render.rewrite(text, render.render(render.load())) == text
    block = text.split(render.START)[1].split(render.END)[0]
    assert "| day-in-the-life | 24 h |" in block and "| low-battery-upload | 4 h |" in block


def test_a_hand_edited_figure_is_rendered_over() -> None:
    text = README.read_text()
    stale = text.replace(render.START + "\n", render.START + "\nhand-typed 0.99\n")
    assert render.rewrite(stale, render.render(render.load())) == text
