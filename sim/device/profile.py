"""Device profiles: the documented parameters of a simulated device, loaded from YAML.

A profile (``fixtures/devices/phone.yaml``) fixes the physics of one device class: battery
capacity and currents, the thermal constants, each radio's link figures and power, and the
storage volume. Units are part of every key name so a file reads without a manual.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from sim.device.presets import CELLULAR_PRESETS
from sim.errors import ConfigError
from sim.loading import Size, Strict, load_model

Percent = Annotated[float, Field(ge=0, le=100)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]


class BatteryProfile(Strict):
    """Battery figures. Currents are at the nominal voltage of the power section."""

    capacity_mah: Positive
    level_pct: Percent = 100.0
    charger_plugged: bool = False
    charge_ma: Positive = Field(description="charger current before the taper")
    taper_start_pct: Annotated[float, Field(gt=0, lt=100)] = 80.0
    charge_efficiency: Annotated[float, Field(gt=0, le=1)] = 0.9
    boot_level_pct: Annotated[float, Field(gt=0, lt=100)] = 3.0


class PowerProfile(Strict):
    """What the device draws: a baseline, plus the screen and the CPU as the scenario sets them.

    Radios add their own idle and active currents (see the radio sections).
    """

    voltage_v: Positive = 3.85
    baseline_ma: NonNegative = Field(default=0.0, description="idle drain, screen off")
    screen_on_ma: NonNegative = 0.0
    cpu_busy_ma: NonNegative = 0.0
    screen_on: bool = False
    cpu: Annotated[float, Field(ge=0, le=1)] = 0.0


class ThermalProfile(Strict):
    """First-order thermal model: ``dT/dt = (T_ambient + R·P − T) / τ``."""

    ambient_c: Annotated[float, Field(ge=-40, le=70)] = 25.0
    initial_c: Annotated[float, Field(ge=-40, le=120)] | None = None
    resistance_c_per_w: Positive = Field(description="steady-state rise per watt dissipated")
    time_constant_s: Positive
    overheat_c: Annotated[float, Field(ge=0, le=150)]
    hysteresis_c: Positive = 3.0


class RadioProfile(Strict):
    """One radio's link figures and power. ``preset`` (cellular only) supplies the link figures."""

    up: bool = True
    preset: str | None = None
    down_kbps: Positive | None = None
    up_kbps: Positive | None = None
    latency_ms: NonNegative | None = None
    loss_pct: Annotated[float, Field(ge=0, lt=100)] | None = None
    metered: bool | None = None
    roaming: bool = False
    idle_ma: NonNegative = 0.0
    active_ma: NonNegative = 0.0

    @model_validator(mode="after")
    def _known_preset(self) -> RadioProfile:
        if self.preset is not None and self.preset not in CELLULAR_PRESETS:
            known = ", ".join(CELLULAR_PRESETS)
            raise ValueError(f"unknown cellular preset {self.preset!r} (known: {known})")
        return self

    def resolved(self, name: str) -> dict[str, Any]:
        """Link figures with the preset filled in; explicit keys win over the preset."""
        base: dict[str, Any] = {"latency_ms": 0.0, "loss_pct": 0.0}
        if self.preset is not None:
            p = CELLULAR_PRESETS[self.preset]
            base.update(down_kbps=p.down_kbps, up_kbps=p.up_kbps, latency_ms=p.latency_ms,
                        loss_pct=p.loss_pct)
        for key in ("down_kbps", "up_kbps", "latency_ms", "loss_pct"):
            if getattr(self, key) is not None:
                base[key] = getattr(self, key)
        base["metered"] = self.metered if self.metered is not None else name == "cellular"
        return base


class RadiosProfile(Strict):
    """The device's network interfaces; leave out the ones it does not have."""

    ethernet: RadioProfile | None = None
    wifi: RadioProfile | None = None
    cellular: RadioProfile | None = None

    @model_validator(mode="after")
    def _complete(self) -> RadiosProfile:
        for name in ("ethernet", "wifi", "cellular"):
            radio = getattr(self, name)
            if radio is None:
                continue
            if name != "cellular" and radio.preset is not None:
                raise ValueError(f"{name}.preset: presets are cellular generations; give "
                                 f"{name}'s down_kbps and up_kbps instead")
            figures = radio.resolved(name)
            for key in ("down_kbps", "up_kbps"):
                if key not in figures:
                    raise ValueError(f"{name}.{key} is required when no preset is given")
        return self


class StorageProfile(Strict):
    """The local volume the device writes to."""

    capacity: Annotated[Size, Field(gt=0)]
    used: Size = 0

    @model_validator(mode="after")
    def _fits(self) -> StorageProfile:
        if self.used > self.capacity:
            raise ValueError(f"used ({self.used} bytes) exceeds capacity ({self.capacity} bytes)")
        return self


class DeviceProfile(Strict):
    """A whole device class, as in ``fixtures/devices/*.yaml``."""

    name: str
    kind: Literal["phone", "tablet", "nas", "other"] = "other"
    description: str = ""
    battery: BatteryProfile | None = None
    power: PowerProfile = PowerProfile()
    thermal: ThermalProfile
    radios: RadiosProfile
    storage: StorageProfile


def fixtures_dir() -> Path:
    """The fixtures folder: ``$SYNCRIG_FIXTURES``, else the one an installed wheel carries
    (``sim/fixtures``, the repository's ``fixtures/`` shipped as package data), else the
    repository's own (a checkout or an editable install)."""
    env = os.environ.get("SYNCRIG_FIXTURES")
    if env:
        return Path(env)
    shipped = Path(__file__).resolve().parents[1] / "fixtures"
    if shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[2] / "fixtures"


def looks_like_path(name_or_path: str | Path) -> bool:
    """Whether a fixture is given by path: a :class:`~pathlib.Path`, or text with a ``/`` or
    a ``.yaml``/``.yml`` suffix. Anything else is a built-in fixture's name, whatever the
    working folder holds (``--data nas`` makes a ``./nas`` folder; ``nas`` is still the
    built-in profile)."""
    if isinstance(name_or_path, Path):
        return True
    return "/" in name_or_path or Path(name_or_path).suffix in (".yaml", ".yml")


def resolve_fixture(kind: str, name_or_path: str | Path) -> Path:
    """A fixture given by name (``phone``: the built-in one) or by path (``./my-phone.yaml``,
    ``fixtures/x``); see :func:`looks_like_path`."""
    candidate = Path(name_or_path)
    if looks_like_path(name_or_path):
        if not candidate.exists():
            raise ConfigError(candidate, "", str(name_or_path), "no such file")
        return candidate
    folder = fixtures_dir() / kind
    path = folder / f"{name_or_path}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
        raise ConfigError(folder, "", str(name_or_path),
                          f"unknown {kind[:-1]} (known: {', '.join(known) or 'none'})")
    return path


_PROFILES: dict[tuple[Path, int, int], DeviceProfile] = {}


def load_profile(name_or_path: str | Path) -> DeviceProfile:
    """Load a device profile by name (``phone``, ``tablet``, ``nas``) or path.

    Conformance campaigns build a device per example; a parsed profile is kept per file
    (until the file changes) and each caller gets its own copy.
    """
    path = resolve_fixture("devices", name_or_path).resolve()
    try:
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
    except OSError:
        return load_model(DeviceProfile, path)  # load_model names the problem
    if key not in _PROFILES:
        _PROFILES[key] = load_model(DeviceProfile, path)
    return _PROFILES[key].model_copy(deep=True)
