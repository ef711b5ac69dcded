"""Scenarios: timelines of device conditions, run on a simulated device."""

from sim.scenario.model import Scenario, Step, load_scenario
from sim.scenario.runner import RunResult, ScenarioRun, build_run
from sim.scenario.summary import Summary, summarize

__all__ = [
    "RunResult",
    "Scenario",
    "ScenarioRun",
    "Step",
    "Summary",
    "build_run",
    "load_scenario",
    "summarize",
]
