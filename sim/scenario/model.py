"""Scenario files: a timeline of control actions plus seeded random perturbations.

```yaml
name: wifi-flap
device: phone
duration: 2h
seed: 7
timeline:
  - at: 0s
    battery: 60
    screen: on
  - at: 30m
    wifi: down              # shorthand for {state: down}
  - at: 45m
    cellular: {preset: umts, roaming: true}
    transfer: {size: 50MB, direction: up}
perturbations:
  radio_flaps:
    - {radio: wifi, rate_per_hour: 6, down_for: [5s, 90s]}
  ambient_drift: {sigma_c: 1.5, interval: 10m, tau: 2h}
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from sim.device.profile import resolve_fixture
from sim.loading import Duration, Size, Strict, load_model

RadioName = Literal["ethernet", "wifi", "cellular"]


def _radio_shorthand(value: object) -> object:
    if isinstance(value, str):
        if value in ("up", "down"):
            return {"state": value}
        raise ValueError("expected 'up', 'down' or a mapping of radio settings (state, preset, "
                         "down_kbps, up_kbps, latency_ms, loss_pct, metered, roaming)")
    return value


class RadioChange(Strict):
    """What a step does to one radio: its state and/or its link figures."""

    state: Literal["up", "down"] | None = None
    preset: str | None = None
    down_kbps: Annotated[float, Field(gt=0)] | None = None
    up_kbps: Annotated[float, Field(gt=0)] | None = None
    latency_ms: Annotated[float, Field(ge=0)] | None = None
    loss_pct: Annotated[float, Field(ge=0, lt=100)] | None = None
    metered: bool | None = None
    roaming: bool | None = None

    def link_settings(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if k != "state" and v is not None}


RadioField = Annotated[RadioChange, BeforeValidator(_radio_shorthand)]


def _on_off(value: object) -> object:
    # YAML 1.1 reads a bare on/off as a boolean; accept both spellings.
    if isinstance(value, bool):
        return value
    if value in ("on", "off"):
        return value == "on"
    raise ValueError("expected 'on' or 'off'")


OnOff = Annotated[bool, BeforeValidator(_on_off)]


class TransferAction(Strict):
    """Background traffic: ``size`` bytes over the active network.

    With ``resume`` (the default) an interrupted transfer waits for the network and continues
    with the bytes left, as a sync service does; without it the transfer is abandoned.
    """

    size: Annotated[Size, Field(gt=0)]
    direction: Literal["up", "down"]
    label: str | None = None
    resume: bool = True


class Step(Strict):
    """One timeline entry: at ``at`` (from the start), apply every action it names, in order."""

    at: Duration
    note: str | None = None
    ethernet: RadioField | None = None
    wifi: RadioField | None = None
    cellular: RadioField | None = None
    charger: Literal["plugged", "unplugged"] | None = None
    battery: Annotated[float, Field(ge=0, le=100)] | None = None
    ambient: Annotated[float, Field(ge=-40, le=70)] | None = None
    screen: OnOff | None = None
    cpu: Annotated[float, Field(ge=0, le=1)] | None = None
    fill_storage: Size | None = None
    free_storage: Size | None = None
    transfer: TransferAction | None = None

    @model_validator(mode="after")
    def _does_something(self) -> Step:
        if not self.actions():
            raise ValueError("a timeline step needs at least one action besides 'at' and 'note'")
        return self

    def actions(self) -> dict[str, Any]:
        """The actions named in this step, in the order they are applied."""
        return {k: v for k, v in self if k not in ("at", "note") and v is not None}


class RadioFlap(Strict):
    """Random outages of one radio: a Poisson process of ``rate_per_hour`` outages, each lasting
    a uniform time within ``down_for``, between ``start`` and ``end``."""

    radio: RadioName
    rate_per_hour: Annotated[float, Field(gt=0)]
    down_for: tuple[Duration, Duration]
    start: Duration = 0.0
    end: Duration | None = None

    @model_validator(mode="after")
    def _ordered(self) -> RadioFlap:
        low, high = self.down_for
        if low > high:
            raise ValueError(f"down_for is [min, max]; min {low}s exceeds max {high}s")
        return self


class AmbientDrift(Strict):
    """Ambient temperature wanders around the timeline's value (an Ornstein–Uhlenbeck process
    with stationary standard deviation ``sigma_c`` and reversion time ``tau``)."""

    sigma_c: Annotated[float, Field(gt=0, le=20)]
    interval: Annotated[Duration, Field(gt=0)] = 600.0
    tau: Annotated[Duration, Field(gt=0)] = 7200.0


class Perturbations(Strict):
    radio_flaps: list[RadioFlap] = Field(default_factory=list)
    ambient_drift: AmbientDrift | None = None


class Scenario(Strict):
    """A whole scenario file (``fixtures/scenarios/*.yaml``)."""

    name: str
    description: str = ""
    device: str = "phone"
    duration: Annotated[Duration, Field(gt=0)]
    seed: int = 0
    sample_interval: Annotated[Duration, Field(gt=0)] = 60.0
    timeline: list[Step] = Field(default_factory=list)
    perturbations: Perturbations = Perturbations()


def load_scenario(name_or_path: str | Path) -> tuple[Scenario, Path]:
    """Load a scenario by name (``day-in-the-life``) or path; returns it with its file."""
    path = resolve_fixture("scenarios", name_or_path)
    return load_model(Scenario, path), path
