"""The CI configurations in examples/ are YAML their CI reads, and every ``syncrig`` command in
them is one syncrig's own parser takes: an option renamed breaks this test, not a pipeline."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cli import build_parser

EXAMPLES = Path(__file__).parents[1] / "examples"
COMMAND = re.compile(r"(?:^|[;&|(]|\bthen|\belse|\bdo)\s*(syncrig\s[^;&|\n]*)")


def shell_of(config: Any, name: str) -> Iterator[str]:
    """The shell scripts of a CI configuration: GitHub's ``run`` steps, GitLab's
    ``before_script``, ``script`` and ``after_script``."""
    if name == "github-actions.yml":
        for job in config["jobs"].values():
            for step in job["steps"]:
                if "run" in step:
                    yield step["run"]
        return
    for job in config.values():
        if isinstance(job, dict):
            for key in ("before_script", "script", "after_script"):
                yield from job.get(key, [])


def commands(script: str) -> list[list[str]]:
    """Each ``syncrig`` command line of a shell script, split as the shell would."""
    joined = script.replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for match in COMMAND.finditer(line):
            found.append(shlex.split(match[1])[1:])
    return found


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_a_ci_example_parses_and_its_commands_are_syncrigs(name: str) -> None:
    config = yaml.safe_load((EXAMPLES / name).read_text())
    assert isinstance(config, dict)
    lines = [argv for script in shell_of(config, name) for argv in commands(script)]
    assert [argv[:2] for argv in lines] == [
        ["conformance", "--target"], ["report", "$RUN_DIR"], ["report", "diff"]]
    parser = build_parser()
    for argv in lines:
        args = parser.parse_args(argv)  # exits with status 2 on an unknown option
        assert callable(args.run), argv
    diff = parser.parse_args(lines[2])
    assert (diff.command, str(diff.json)) == ("report", "diff.json")


def test_the_github_workflow_runs_on_main_and_pull_requests() -> None:
    config = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())
    triggers = config[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"] == {"branches": ["main"]} and "pull_request" in triggers
    steps = config["jobs"]["conformance"]["steps"]
    uploaded = {s["with"]["name"] for s in steps if s.get("uses", "").startswith(
        "actions/upload-artifact")}
    assert uploaded == {"conformance-run", "junit", "allure-report"}


def test_the_gitlab_job_keeps_its_run_and_reports_junit() -> None:
    job = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text())["conformance"]
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == "reports/*/junit.xml"
    assert "reports/" in job["artifacts"]["paths"]
