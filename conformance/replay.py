"""Replay files: a failure's shortest trace saved with the campaign and the options that built
its world, and played again on a fresh world of the same options.

A file written on one machine replays on another (``syncrig replay``): it holds nothing of the
machine it was found on, and a bad file names its field before any world is built.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from conformance.machines.base import RecordedMachine, Step
from conformance.options import HYPOTHESIS_PROFILES, Options, nas_address, rpc_address
from conformance.outcome import Outcome
from conformance.play import Inapplicable, play, step_marks
from conformance.suite import CAMPAIGNS, PROFILE_CAMPAIGNS, Campaign
from sim.device import load_profile
from sim.errors import ConfigError

REPLAY_FORMAT = "syncrig-replay/1"


def save_replay(path: Path, outcome: Outcome, options: Options) -> Path:
    """A replay file: the campaign, the options that built its world, the broken rule and
    the shrunk steps — everything ``syncrig replay`` needs, nothing from this machine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "format": REPLAY_FORMAT, "campaign": outcome.campaign, "options": options.to_json(),
        "failure": outcome.failure, "steps": [s.to_json() for s in outcome.steps]},
        indent=2) + "\n")
    return path


@dataclass
class Replay:
    """A replayed trace: whether it broke the same rule as when it was saved."""

    campaign: str
    recorded: dict[str, Any] | None
    observed: dict[str, Any] | None
    steps: list[Step]
    plot: Path | None = None

    @property
    def reproduced(self) -> bool:
        if self.recorded is None or self.observed is None:
            return self.recorded is self.observed
        return (self.recorded.get("kind"), self.recorded.get("rule")) == \
            (self.observed.get("kind"), self.observed.get("rule"))


def load_replay(path: Path) -> tuple[Campaign, Options, dict[str, Any] | None, list[Step]]:
    """Read and check a replay file; bad files raise :class:`ConfigError` naming the field."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(str(path), "", "", exc.strerror or "cannot be read") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(str(path), "", "", f"is not JSON ({exc.msg}, line {exc.lineno})") \
            from None
    if not isinstance(data, dict) or data.get("format") != REPLAY_FORMAT:
        raise ConfigError(str(path), "format", data.get("format") if isinstance(data, dict)
                          else data, f"must be {REPLAY_FORMAT!r}")
    if data.get("campaign") not in CAMPAIGNS:
        raise ConfigError(str(path), "campaign", data.get("campaign"),
                          f"must be one of {', '.join(CAMPAIGNS)}")
    known = set(Options.__dataclass_fields__)
    raw = data.get("options", {})
    if not isinstance(raw, dict) or set(raw) - known:
        raise ConfigError(str(path), "options", raw, f"keys must be among {sorted(known)}")
    steps_raw = data.get("steps")
    if not isinstance(steps_raw, list):
        raise ConfigError(str(path), "steps", steps_raw, "must be a list")
    campaign = CAMPAIGNS[data["campaign"]]
    options = _checked_options(path, data["campaign"], raw)
    steps = []
    for i, item in enumerate(steps_raw):
        if not isinstance(item, dict) or not callable(getattr(campaign.machine,
                                                              str(item.get("rule")), None)):
            raise ConfigError(str(path), f"steps[{i}].rule", item.get("rule") if
                              isinstance(item, dict) else item,
                              f"is not a rule of {campaign.machine.__name__}")
        steps.append(Step.from_json(item))
    return campaign, options, data.get("failure"), steps


def _checked_options(path: Path, campaign: str, raw: dict[str, Any]) -> Options:
    """A replay file's options, each value checked as the command line checks it: a bad one
    names its field instead of failing deep inside the world it would build."""
    mutants = raw.get("mutants", [])
    if not isinstance(mutants, list) or not all(isinstance(m, str) for m in mutants):
        raise ConfigError(str(path), "options.mutants", mutants, "must be a list of names")
    options = replace(Options(), **{**raw, "mutants": tuple(mutants)})
    for name in ("examples", "steps"):
        value = getattr(options, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(str(path), f"options.{name}", value, "must be an integer >= 1")
    if options.hypothesis_profile not in HYPOTHESIS_PROFILES:
        raise ConfigError(str(path), "options.hypothesis_profile", options.hypothesis_profile,
                          f"must be one of {', '.join(HYPOTHESIS_PROFILES)}")
    if campaign not in PROFILE_CAMPAIGNS.get(options.profile, ()):
        raise ConfigError(str(path), "options.profile", options.profile, "must be a profile "
                          f"of the {campaign} campaign")
    if not isinstance(options.device, str):
        raise ConfigError(str(path), "options.device", options.device, "must be a name")
    load_profile(options.device)
    if not isinstance(options.read_only, bool):
        raise ConfigError(str(path), "options.read_only", options.read_only, "must be a boolean")
    if options.nas is not None:
        nas_address(str(options.nas))
    if options.rpc is not None:
        rpc_address(str(options.rpc))
    return options


def replay(path: Path, plot: Path | None = None) -> Replay:
    """Re-run a replay file's steps in order, checking the invariants after each, as the
    campaign did; ``plot`` renders the device timeline the steps produced."""
    campaign, options, recorded, steps = load_replay(path)
    plotted: list[Path] = []
    timed: list[Step] = []

    def draw(machine: RecordedMachine) -> None:
        device = getattr(machine, "device", None)
        if plot is not None and device is not None:
            from sim.plot import plot_trace  # matplotlib loads only when a replay is plotted

            plotted.append(plot_trace(device.trace.timeline(), plot,
                                      title=f"replay of {path.name}: {campaign.name}",
                                      marks=step_marks(timed)))

    work = Path(tempfile.mkdtemp(prefix="syncrig-replay-"))
    try:
        with campaign.environment(work, options):
            try:
                observed = play(campaign.machine, steps, after=draw, timed=timed)
            except Inapplicable as exc:
                raise ConfigError(str(path), "steps", str(exc), "a step's precondition does "
                                  "not hold: the file was edited or is for another version") \
                    from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Replay(campaign.name, recorded, observed, steps, plotted[0] if plotted else None)
