"""The pytest plugin: ``pytest --syncrig-target=reference`` runs the conformance suite.

Registered through the ``pytest11`` entry point, so installing syncrig is enough. Without
``--syncrig-target`` it adds nothing. With it, each campaign (one per API) becomes a test item
``syncrig::<campaign>`` marked ``syncrig_conformance``; a failing item shows the broken rule and
the shrunk steps, and writes a replay file. Items are the same on every process, so
``pytest-xdist`` (``-n 3``) runs the campaigns side by side.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from conformance.campaign import run_campaign
from conformance.mutants import BY_NAME
from conformance.options import HYPOTHESIS_PROFILES, Options, rpc_address
from conformance.outcome import Outcome
from conformance.reporting.allure import annotate
from conformance.suite import CAMPAIGNS, PROFILE_CAMPAIGNS, Campaign
from conformance.targets.rpc import APIS
from sim.errors import ConfigError

MARKER = "syncrig_conformance"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("syncrig", "syncrig conformance suite")
    group.addoption("--syncrig-target", metavar="TARGET",
                    help="run the conformance suite against TARGET: reference, "
                    "nas=http://HOST:PORT (password from $SYNCRIG_NAS_PASSWORD) or "
                    "rpc=HOST:PORT (syncrig-rpc/1: cloudSync and request)")
    group.addoption("--syncrig-profile", default="documented", metavar="PROFILE",
                    help="fidelity profile the target runs and the suite predicts: "
                    "documented (default), ohos-4.1 or ohos-head (cloudSync), ohos-3.2 or page-kb "
                    "(request)")
    group.addoption("--syncrig-api", action="append", choices=list(CAMPAIGNS),
                    help="only this campaign (repeatable)")
    group.addoption("--syncrig-device", default="phone", help="device profile")
    group.addoption("--syncrig-hypothesis-profile", default="ci",
                    choices=list(HYPOTHESIS_PROFILES))
    group.addoption("--syncrig-examples", type=int, help="examples per campaign")
    group.addoption("--syncrig-read-only", action="store_true",
                    help="only non-mutating calls (a NAS in use)")
    group.addoption("--syncrig-mutant", action="append", default=[], metavar="NAME",
                    help="apply a mutant of the catalogue for the whole run (repeatable)")
    group.addoption("--syncrig-report", type=Path, metavar="DIR",
                    help="write each campaign's matrix and replay file here")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: a conformance campaign of the syncrig suite "
                            "(added by --syncrig-target)")
    if config.getoption("--syncrig-target") is None:
        return
    profile = config.getoption("--syncrig-profile")
    if profile not in PROFILE_CAMPAIGNS:
        raise pytest.UsageError(f"--syncrig-profile={profile}: the machines predict "
                                f"{', '.join(PROFILE_CAMPAIGNS)} only")
    config.stash[_OPTIONS] = _options(config)


_OPTIONS = pytest.StashKey[tuple[Options, list[str]]]()


def _options(config: pytest.Config) -> tuple[Options, list[str]]:
    import os

    target: str = config.getoption("--syncrig-target")
    overrides: dict[str, Any] = {"device": config.getoption("--syncrig-device"),
                                 "read_only": config.getoption("--syncrig-read-only")}
    if config.getoption("--syncrig-examples") is not None:
        overrides["examples"] = config.getoption("--syncrig-examples")
    apis = config.getoption("--syncrig-api") or list(CAMPAIGNS)
    if target.startswith("nas="):
        overrides |= {"nas": target[4:],
                      "nas_password": os.environ.get("SYNCRIG_NAS_PASSWORD", "")}
        apis = ["SYNO.CloudSync"]
    elif target.startswith("rpc="):

        try:
            rpc_address(target[4:])
        except ConfigError as exc:
            raise pytest.UsageError(f"--syncrig-target={target}: {exc.problem}") from None
        overrides["rpc"] = target[4:]
        apis = [api for api in apis if api in APIS]
    elif target != "reference":
        raise pytest.UsageError(f"--syncrig-target={target}: must be reference, "
                                "nas=http://HOST:PORT or rpc=HOST:PORT")
    profile = config.getoption("--syncrig-profile")
    overrides["profile"] = profile
    apis = [api for api in apis if api in PROFILE_CAMPAIGNS[profile]]
    return Options.for_profile(config.getoption("--syncrig-hypothesis-profile"),
                               **overrides), apis


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
            for mutant in _mutants(self.config):
                stack.enter_context(mutant.applied())
            self.outcome = run_campaign(self.campaign, self.options, Path(work),
                                        replays=report_dir / "replays" if report_dir else None)
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
        return "syncrig", 0, self.nodeid


def _mutants(config: pytest.Config) -> Iterator[Any]:

    for name in config.getoption("--syncrig-mutant"):
        if name not in BY_NAME:
            raise pytest.UsageError(f"--syncrig-mutant={name}: not in the catalogue")
        yield BY_NAME[name]


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    if _OPTIONS not in config.stash:
        return
    options, apis = config.stash[_OPTIONS]
    suite = Suite.from_parent(session, name="syncrig", nodeid="syncrig")
    for name in apis:
        items.append(CampaignItem.from_parent(suite, name=name, campaign=CAMPAIGNS[name],
                                              options=options))


class Suite(pytest.Collector):
    """The parent of the campaign items, so their ids read ``syncrig::<campaign>``."""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return []
