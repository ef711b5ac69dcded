"""Running a scenario on a simulated device: timeline, perturbations, sampling.

Every random choice comes from a generator seeded by the run's seed and the perturbation's
position in the file, so the same scenario, device and seed produce a byte-identical trace.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import simpy

from sim.device.device import Device
from sim.device.profile import DeviceProfile, load_profile
from sim.device.radio import Radio
from sim.errors import ConfigError, StorageFull, TransferInterrupted
from sim.scenario.model import AmbientDrift, RadioFlap, Scenario, Step, TransferAction
from sim.trace import EventKind

ProcessGen = Generator[simpy.Event, Any, None]


@dataclass
class RunResult:
    """What a finished run leaves: the device (with its trace) and how long it took."""

    scenario: Scenario
    device: Device
    seed: int
    until: float
    wall_seconds: float

    @property
    def events_processed(self) -> int:
        return _scheduled_events(self.device.env)


def _scheduled_events(env: simpy.Environment) -> int:
    """How many events the environment has scheduled (SimPy numbers them as it goes)."""
    counter = env._eid
    return int(repr(counter).split("(")[1].rstrip(")"))


class ScenarioRun:
    """A scenario bound to a device and a seed, ready to run."""

    def __init__(self, scenario: Scenario, profile: DeviceProfile, *, seed: int | None = None,
                 env: simpy.Environment | None = None, source: str | Path = "<scenario>",
                 sample_interval: float | None = None) -> None:
        self.scenario = scenario
        self.source = str(source)
        self.seed = scenario.seed if seed is None else seed
        self.device = Device(profile, env)
        self._check_against_device()
        self._ambient_base = self.device.thermal.ambient_c
        self._ambient_offset = 0.0
        env_ = self.device.env
        env_.process(self._timeline())
        for index, flap in enumerate(scenario.perturbations.radio_flaps):
            env_.process(self._flaps(index, flap))
        if scenario.perturbations.ambient_drift is not None:
            env_.process(self._drift(scenario.perturbations.ambient_drift))
        self.device.sample_every(sample_interval or scenario.sample_interval)

    # -- validation against the device -------------------------------------------------------

    def _check_against_device(self) -> None:
        device = self.device
        for i, step in enumerate(self.scenario.timeline):
            for key in step.actions():
                path = f"timeline[{i}].{key}"
                if key in ("ethernet", "wifi", "cellular") and key not in device.radios:
                    raise ConfigError(self.source, path, key,
                                      f"device {device.profile.name!r} has no {key} radio "
                                      f"(it has: {', '.join(device.radios) or 'none'})")
                if key in ("battery", "charger") and device.battery is None:
                    raise ConfigError(self.source, path, getattr(step, key),
                                      f"device {device.profile.name!r} has no battery")
            for key in ("ethernet", "wifi", "cellular"):
                change = getattr(step, key)
                if change is not None and change.preset is not None and key != "cellular":
                    raise ConfigError(self.source, f"timeline[{i}].{key}.preset", change.preset,
                                      "presets are cellular generations")
        for i, flap in enumerate(self.scenario.perturbations.radio_flaps):
            if flap.radio not in device.radios:
                raise ConfigError(self.source, f"perturbations.radio_flaps[{i}].radio",
                                  flap.radio, f"device {device.profile.name!r} has no "
                                  f"{flap.radio} radio")

    # -- processes ---------------------------------------------------------------------------

    def _timeline(self) -> ProcessGen:
        env = self.device.env
        steps = sorted(enumerate(self.scenario.timeline), key=lambda item: item[1].at)
        for index, step in steps:
            if step.at > env.now:
                yield env.timeout(step.at - env.now)
            self._apply(index, step)

    def _apply(self, index: int, step: Step) -> None:
        device = self.device
        controls = device.controls
        actions = step.actions()
        self.device.trace.emit(EventKind.SCENARIO, step=index, note=step.note,
                               actions=_describe(actions))
        for key, value in actions.items():
            try:
                if key in ("ethernet", "wifi", "cellular"):
                    settings = value.link_settings()
                    if settings:
                        controls.configure_radio(key, **settings)
                    if value.state is not None:
                        controls.set_radio(key, value.state == "up")
                elif key == "charger":
                    if value == "plugged":
                        controls.plug_charger()
                    else:
                        controls.unplug_charger()
                elif key == "battery":
                    controls.set_battery_level(value)
                elif key == "ambient":
                    self._ambient_base = value
                    self._set_ambient()
                elif key == "screen":
                    controls.set_load(screen_on=value)
                elif key == "cpu":
                    controls.set_load(cpu=value)
                elif key == "fill_storage":
                    controls.fill_storage(value)
                elif key == "free_storage":
                    controls.free_storage(value)
                elif key == "transfer":
                    label = value.label or f"step{index}"
                    device.env.process(self._transfer(value, label))
            except ValueError as exc:
                raise ConfigError(self.source, f"timeline[{index}].{key}", value, str(exc)) \
                    from None

    def _transfer(self, action: TransferAction, label: str) -> ProcessGen:
        """Background traffic. A download reserves its whole size up front (as download
        managers preallocate) and keeps the reservation across interruptions."""
        device = self.device
        reservation = None
        if action.direction == "down":
            try:
                reservation = device.storage.reserve(action.size)
            except StorageFull:
                return
        moved = 0
        while moved < action.size:
            yield device.when_online()
            transfer = device.link.transfer(action.size - moved, action.direction, label=label)
            try:
                yield transfer
                moved = action.size
            except TransferInterrupted as exc:
                moved += exc.bytes_done
                if not action.resume:
                    break
        if reservation is not None:
            reservation.commit(moved)

    def _rng(self, purpose: str) -> random.Random:
        return random.Random(f"syncrig:{self.seed}:{purpose}")

    def _flaps(self, index: int, flap: RadioFlap) -> ProcessGen:
        env = self.device.env
        radio: Radio = self.device.radios[flap.radio]
        rng = self._rng(f"flap:{index}")
        if flap.start > 0:
            yield env.timeout(flap.start)
        rate = flap.rate_per_hour / 3600.0
        low, high = flap.down_for
        while True:
            yield env.timeout(rng.expovariate(rate))
            if flap.end is not None and env.now >= flap.end:
                return
            outage = rng.uniform(low, high)
            if radio.up:
                radio.set_faulted(True)
                yield env.timeout(outage)
                radio.set_faulted(False)

    def _drift(self, drift: AmbientDrift) -> ProcessGen:
        env = self.device.env
        rng = self._rng("ambient")
        decay = math.exp(-drift.interval / drift.tau)
        spread = drift.sigma_c * math.sqrt(1.0 - decay * decay)
        while True:
            yield env.timeout(drift.interval)
            self._ambient_offset = self._ambient_offset * decay + rng.gauss(0.0, spread)
            self._set_ambient()

    def _set_ambient(self) -> None:
        value = min(70.0, max(-40.0, self._ambient_base + self._ambient_offset))
        self.device.controls.set_ambient(value)

    # -- running -----------------------------------------------------------------------------

    def run(self, until: float | None = None,
            on_progress: Callable[[float, float], None] | None = None,
            chunks: int = 200) -> RunResult:
        """Run to ``until`` (default: the scenario's duration) and record the final state.

        ``on_progress(now, until)`` is called between chunks of simulated time, for progress
        bars; without it the run goes in one stretch.
        """
        end = self.scenario.duration if until is None else until
        if end <= 0:
            raise ValueError(f"run length must be > 0, got {end!r}")
        env = self.device.env
        started = time.perf_counter()
        if on_progress is None:
            env.run(until=end)
        else:
            step = end / chunks
            for i in range(1, chunks + 1):
                env.run(until=end if i == chunks else step * i)
                on_progress(env.now, end)
        self.device.finish()
        return RunResult(self.scenario, self.device, self.seed, end,
                         time.perf_counter() - started)


def _describe(actions: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in actions.items():
        if hasattr(value, "model_dump"):
            out[key] = {k: v for k, v in value.model_dump().items() if v is not None}
        else:
            out[key] = value
    return out


def build_run(scenario: Scenario, source: str | Path, *, device: str | Path | None = None,
              seed: int | None = None, env: simpy.Environment | None = None,
              sample_interval: float | None = None) -> ScenarioRun:
    """Bind a scenario to its device profile (or the one given) and a seed."""
    profile = load_profile(device if device is not None else scenario.device)
    return ScenarioRun(scenario, profile, seed=seed, env=env, source=source,
                       sample_interval=sample_interval)
