"""The pytest plugin: ``pytest --syncrig-target=reference`` runs the conformance suite.

Registered through the ``pytest11`` entry point, so installing syncrig is enough. Without
``--syncrig-target`` or a ``syncrig`` argument it adds nothing. With them, each campaign is a
test item ``syncrig::<campaign>``, marked ``syncrig_conformance``, of a collector ``syncrig``
that stands beside the folders pytest collects: pytest counts, lists (``--collect-only``),
selects (``-k``, ``-m``, ``--lf``) and reports the campaigns as it does tests. ``pytest
syncrig`` or ``pytest syncrig::request`` collects only what it names (target ``reference``
unless ``--syncrig-target`` says otherwise); without path arguments the campaigns come with
pytest's own tests, with paths only those paths are collected. A failing item shows the broken
rule, the shrunk steps and the replay command. Items are the same on every process, so
``pytest-xdist`` (``-n 3``) runs the campaigns side by side.

The options are the command line's (``syncrig conformance --help``) with a ``--syncrig-``
prefix, checked the same way before collection: a bad value is a usage error naming it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Generator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.campaign import run_campaign
from conformance.mutants import BY_NAME
from conformance.options import (
    HYPOTHESIS_PROFILES,
    NAS_PASSWORD_ENV,
    Options,
    check_nas_cert,
    nas_address,
    rpc_address,
)
from conformance.outcome import Outcome
from conformance.reporting.allure import annotate
from conformance.suite import CAMPAIGNS, PROFILE_CAMPAIGNS, Campaign
from conformance.targets.rpc import APIS
from sim.arguments import positive_duration
from sim.device import load_profile
from sim.errors import ConfigError

MARKER = "syncrig_conformance"
ROOT = "syncrig"
"""The collector's name: ``pytest syncrig::request`` selects the request campaign."""
HIL_CAMPAIGNS: tuple[str, ...] = ("cloudSync", "request", "SYNO.CloudSync")
"""The campaigns hardware can run (``syncrig conformance --hil``)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("syncrig", "syncrig conformance suite (syncrig conformance's "
                            "options; the campaigns are items syncrig::<campaign>)")
    add = group.addoption
    add("--syncrig-target", metavar="TARGET",
        help="run the conformance suite against TARGET: reference (the default of a "
        "`syncrig` argument), nas=http://HOST:PORT or nas=https://HOST:PORT (password from "
        f"${NAS_PASSWORD_ENV}) or rpc=HOST:PORT (syncrig-rpc/1: cloudSync and request)")
    add("--syncrig-nas-user", default="admin", metavar="USER", help="user for a nas= target")
    add("--syncrig-nas-cert", metavar="PEM", help="trust an https NAS whose certificate is in "
        "this PEM file")
    add("--syncrig-nas-insecure", action="store_true", help="do not verify an https NAS's "
        "certificate")
    add("--syncrig-read-only", action="store_true", help="only non-mutating calls (a NAS in use)")
    add("--syncrig-api", action="append", choices=list(CAMPAIGNS), metavar="NAME",
        help=f"only this campaign (repeatable): {', '.join(CAMPAIGNS)}")
    add("--syncrig-profile", default="documented", metavar="PROFILE",
        help="fidelity profile the target runs and the suite predicts: documented (default), "
        "ohos-head (cloudSync and request), ohos-4.1 (cloudSync), ohos-3.2 or page-kb "
        "(request)")
    add("--syncrig-device", default="phone", metavar="PROFILE", help="device profile")
    add("--syncrig-hypothesis-profile", default="ci", choices=list(HYPOTHESIS_PROFILES))
    add("--syncrig-examples", type=int, metavar="N", help="examples per campaign")
    add("--syncrig-steps", type=int, default=25, metavar="N", help="steps per example")
    add("--syncrig-timeout", type=float, metavar="SECONDS", help="time limit of each campaign; "
        "one past it fails as a harness error")
    add("--syncrig-seed", type=int, metavar="N", help="Hypothesis seed of a profile that is not "
        "derandomized (explore, nightly)")
    add("--syncrig-hil", action="store_true", help="hardware in the loop: the references on "
        "this machine's sensors in real time")
    add("--syncrig-duration", type=positive_duration, metavar="DURATION", help="time for each "
        "campaign's random examples")
    add("--syncrig-mutant", action="append", default=[], metavar="NAME",
        help="apply a mutant of the catalogue for the whole run (repeatable)")
    add("--syncrig-report", type=Path, metavar="DIR",
        help="write each campaign's matrix and replay file here (default: replay files in "
        "pytest's cache folder)")


@dataclass(frozen=True)
class Plan:
    """What the options ask for: the campaigns, how they run, and whether they are collected
    with the paths pytest collects."""

    options: Options
    campaigns: list[str]
    collected: bool


_PLAN = pytest.StashKey[Plan]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: a conformance campaign of the syncrig suite "
                            "(added by --syncrig-target or a syncrig argument)")
    named, config.args[:] = _split_arguments(config)
    if config.getoption("--syncrig-target") is None and named is None:
        return
    try:
        options, campaigns = _options(config)
    except ConfigError as exc:
        raise pytest.UsageError(_prefixed(exc)) from None
    unknown = [name for name in config.getoption("--syncrig-mutant") if name not in BY_NAME]
    if unknown:
        raise pytest.UsageError(f"--syncrig-mutant={', '.join(unknown)}: not in the catalogue; "
                                f"known: {', '.join(BY_NAME)}")
    if named:
        wrong = [name for name in named if name not in campaigns]
        if wrong:
            raise pytest.UsageError(
                f"{', '.join(f'{ROOT}::{name}' for name in wrong)}: no such campaign for "
                f"target {options.target}, profile {options.profile}; known: "
                f"{', '.join(f'{ROOT}::{name}' for name in campaigns)}")
        campaigns = [name for name in campaigns if name in named]
    collected = named is not None or config.args_source != pytest.Config.ArgsSource.ARGS
    config.stash[_PLAN] = Plan(options, campaigns, collected)


def _split_arguments(config: pytest.Config) -> tuple[list[str] | None, list[str]]:
    """The campaigns ``syncrig``/``syncrig::NAME`` arguments name (``[]``: all, ``None``: no
    such argument), and the other arguments, which pytest resolves as paths. A ``syncrig``
    file or folder in the invocation folder keeps its name."""
    if (config.invocation_params.dir / ROOT).exists():
        return None, list(config.args)
    named: list[str] | None = None
    rest = []
    for arg in config.args:
        root, _, name = arg.partition("::")
        if root != ROOT:
            rest.append(arg)
            continue
        named = named or []
        if not name:
            named += CAMPAIGNS
        elif "::" in name or "[" in name:
            raise pytest.UsageError(f"{arg}: a campaign is named {ROOT}::NAME")
        else:
            named.append(name)
    return (list(dict.fromkeys(named)) if named is not None else None), rest


def _prefixed(exc: ConfigError) -> str:
    """A :class:`ConfigError` about a command-line option, named as pytest spells it."""
    text = str(exc)
    return f"--syncrig-{text[2:]}" if text.startswith("--") else text


def _options(config: pytest.Config) -> tuple[Options, list[str]]:
    """The run's options and campaigns, checked as ``syncrig conformance`` checks them."""
    get = config.getoption
    target: str = get("--syncrig-target") or "reference"
    profile: str = get("--syncrig-profile")
    if profile not in PROFILE_CAMPAIGNS:
        raise ConfigError("--profile", "", profile, "the machines predict "
                          f"{', '.join(PROFILE_CAMPAIGNS)} only")
    for option, least in (("examples", 1), ("steps", 1)):
        if get(f"--syncrig-{option}") is not None and get(f"--syncrig-{option}") < least:
            raise ConfigError(f"--{option}", "", get(f"--syncrig-{option}"),
                              f"must be at least {least}")
    load_profile(get("--syncrig-device"))
    overrides: dict[str, Any] = {"device": get("--syncrig-device"), "profile": profile,
                                 "steps": get("--syncrig-steps"),
                                 "read_only": get("--syncrig-read-only"),
                                 "duration_s": get("--syncrig-duration")}
    if get("--syncrig-examples") is not None:
        overrides["examples"] = get("--syncrig-examples")
    timeout, seed = get("--syncrig-timeout"), get("--syncrig-seed")
    if timeout is not None and not timeout > 0:
        raise ConfigError("--timeout", "", timeout, "must be a positive number of seconds")
    overrides["timeout_s"] = timeout
    if seed is not None and not 0 <= seed < 2**32:
        raise ConfigError("--seed", "", seed, "must be in 0 .. 2**32-1")
    if seed is not None and get("--syncrig-hypothesis-profile") == "ci":
        raise ConfigError("--seed", "", seed, "applies to --syncrig-hypothesis-profile "
                          "explore or nightly; ci is derandomized")
    overrides["seed"] = seed
    api: list[str] | None = get("--syncrig-api")
    offered: tuple[str, ...]
    if get("--syncrig-hil"):
        if target != "reference":
            raise ConfigError("--hil", "", target, "runs the reference on this machine; give "
                              "no --syncrig-target")
        overrides["hil"], offered = True, HIL_CAMPAIGNS
    elif target == "reference":
        offered = tuple(CAMPAIGNS)
    elif target.startswith("nas="):
        overrides |= _nas(config, target[4:])
        offered = ("SYNO.CloudSync",)
    elif target.startswith("rpc="):
        rpc_address(target[4:])
        overrides["rpc"], offered = target[4:], APIS
    else:
        raise ConfigError("--target", "", target, "must be reference, nas=http://HOST:PORT, "
                          "nas=https://HOST:PORT or rpc=HOST:PORT")
    wrong = [name for name in api or [] if name not in offered]
    if wrong:
        raise ConfigError("--api", "", ",".join(wrong), f"the target {target} runs "
                          f"{', '.join(offered)}")
    campaigns = [name for name in api or offered if name in PROFILE_CAMPAIGNS[profile]]
    return Options.for_profile(get("--syncrig-hypothesis-profile"), **overrides), campaigns


def _nas(config: pytest.Config, url: str) -> dict[str, Any]:
    """The options of a ``nas=`` target: its address, user, password and certificate."""
    secure = nas_address(url).secure
    cert, insecure = config.getoption("--syncrig-nas-cert"), \
        config.getoption("--syncrig-nas-insecure")
    if (cert or insecure) and not secure:
        raise ConfigError("--nas-cert" if cert else "--nas-insecure", "", url,
                          "applies to an https NAS only")
    if cert:
        check_nas_cert(cert)
    user = config.getoption("--syncrig-nas-user")
    password = os.environ.get(NAS_PASSWORD_ENV, "")
    if not password:
        raise pytest.UsageError(f"${NAS_PASSWORD_ENV} is not set: set it to the password of "
                                f"{user!r} (--syncrig-nas-user) on the NAS")
    return {"nas": url, "nas_user": user, "nas_password": password, "nas_cert": cert,
            "nas_insecure": insecure}


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
        collector: pytest.Collector) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """The session's collection gains the ``syncrig`` collector beside the paths it
    collected, so its items are collected, counted and reported as any."""
    report: pytest.CollectReport = yield
    plan = collector.config.stash.get(_PLAN, None)
    if isinstance(collector, pytest.Session) and plan and plan.collected and report.passed:
        assert isinstance(report.result, list)
        report.result.append(Suite.from_parent(collector, name=ROOT, nodeid=ROOT))
    return report


class Suite(pytest.Collector):
    """The campaigns the options ask for, as items ``syncrig::<campaign>``."""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        plan = self.config.stash[_PLAN]
        return [CampaignItem.from_parent(self, name=name, campaign=CAMPAIGNS[name],
                                         options=plan.options) for name in plan.campaigns]

    def reportinfo(self) -> tuple[str, int, str]:
        return ROOT, 0, ROOT


class ConformanceViolation(Exception):
    """Raised by a campaign item that found a broken rule."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.describe())
        self.outcome = outcome


class CampaignItem(pytest.Item):
    """One campaign as a test: passes when the target keeps every rule the machine checks."""

    def __init__(self, *, campaign: Campaign, options: Options, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.campaign = campaign
        self.options = options
        self.add_marker(MARKER)
        self.outcome: Outcome | None = None

    def runtest(self) -> None:
        report_dir = self.config.getoption("--syncrig-report")
        with tempfile.TemporaryDirectory(prefix="syncrig-pytest-") as work, ExitStack() as stack:
            for name in self.config.getoption("--syncrig-mutant"):
                stack.enter_context(BY_NAME[name].applied())
            self.outcome = run_campaign(self.campaign, self.options, Path(work),
                                        replays=_replays(self.config, report_dir))
        m = self.outcome.matrix
        self.user_properties += [("documented", m["documented"]),
                                 ("reached", len(m["reached"])), ("percent", m["percent"])]
        result = self.outcome.to_json(report_dir)
        if report_dir is not None:
            report_dir.mkdir(parents=True, exist_ok=True)
            slug = self.campaign.name.replace(".", "-")
            (report_dir / f"matrix-{slug}.json").write_text(
                json.dumps(result | {"matrix": m}, indent=2))
        if self.config.pluginmanager.hasplugin("allure_pytest"):
            annotate(result, m, {"target": self.options.target,
                                 "profile": self.options.profile,
                                 "device": self.options.device}, report_dir)
        if not self.outcome.ok:
            raise ConformanceViolation(self.outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, ConformanceViolation):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int, str]:
        return ROOT, 0, self.nodeid


def _replays(config: pytest.Config, report_dir: Path | None) -> Path:
    """Where a failing campaign's replay file goes: the report folder, else pytest's cache
    (``.pytest_cache/d/syncrig/replays``), else a folder of its own that is kept."""
    if report_dir is not None:
        return report_dir / "replays"
    cache = getattr(config, "cache", None)
    folder = Path(cache.mkdir(ROOT)) / "replays" if cache is not None else \
        Path(tempfile.mkdtemp(prefix="syncrig-replays-"))
    here = config.invocation_params.dir
    return folder.relative_to(here) if folder.is_relative_to(here) else folder
