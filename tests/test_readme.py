"""README figures and tables that the code decides: the exit statuses the command line uses,
and the benchmark figures bench/render.py renders from the committed bench JSON."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bench import render
from conformance.campaign import examples_of
from conformance.cli import common
from conformance.options import HYPOTHESIS_PROFILES, Options
from conformance.suite import CAMPAIGNS

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


def test_every_bench_block_is_what_the_committed_json_renders() -> None:
    text = README.read_text()
    assert render.rewrite_all(text) == text
    block = render.BLOCKS["simulate"]
    simulate = text.split(block.start)[1].split(block.end)[0]
    assert "| day-in-the-life | 24 h |" in simulate and "| low-battery-upload | 4 h |" in simulate


@pytest.mark.parametrize("name", render.BLOCKS)
def test_a_hand_edited_figure_is_rendered_over(name: str) -> None:
    text = README.read_text()
    start = render.BLOCKS[name].start
    stale = text.replace(start + "\n", start + "\nhand-typed 0.99\n")
    assert stale != text
    assert render.rewrite_all(stale) == text


@pytest.mark.parametrize("name", render.BLOCKS)
def test_each_block_names_the_commands_that_measured_it(name: str) -> None:
    block = render.BLOCKS[name]
    figures = render.load(block)
    rendered = render.render(block, figures)
    for f in figures:
        assert f["command"].startswith("python bench/")
        assert f"\n{f['command']}\n" in rendered.split("```sh")[1]


def test_every_committed_result_is_rendered() -> None:
    used = {name for block in render.BLOCKS.values() for name in block.files}
    assert {p.name for p in render.RESULTS.glob("*.json")} == used


def test_the_conformance_section_states_what_each_campaign_runs() -> None:
    n = {name: examples_of(Options(), campaign) for name, campaign in CAMPAIGNS.items()}
    assert n["cloudSync"] == n["request"] == n["cloudSync-twodevice"]
    assert n["SYNO.CloudSync"] == n["device"]
    assert set(n) == {"cloudSync", "request", "cloudSync-twodevice", "SYNO.CloudSync", "device",
                      "cloudSync-paths"}
    said = (f"(`ci` profile: {n['cloudSync']} examples and the tour for cloudSync, request and "
            f"the two-phone campaign, {n['device']} for SYNO.CloudSync and device, "
            f"{n['cloudSync-paths']} for the path attacks;")
    assert Options().examples == HYPOTHESIS_PROFILES["ci"][0]
    assert said in " ".join(README.read_text().split())
