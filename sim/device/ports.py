"""The device's two ports: Sensors (read side) and Controls (write side).

Everything above the device — reference APIs, state machines, reports — reads conditions only
through :class:`Sensors` and changes them only through :class:`Controls`. In simulation both are
backed by the models (:class:`~sim.device.device.SimulatedSensors`,
:class:`~sim.device.device.SimulatedControls`); on hardware a host implementation of Sensors
reads the machine and there are no Controls, so code that needs them must check for them.

A reading the source cannot provide carries ``unavailable`` (the reason) and ``None`` values —
never a made-up number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sim.device.radio import NetworkType
from sim.trace import DeviceEvent


@dataclass(frozen=True, slots=True)
class BatteryReading:
    percent: float | None
    charging: bool | None
    unavailable: str | None = None


@dataclass(frozen=True, slots=True)
class TemperatureReading:
    celsius: float | None
    overheated: bool | None
    unavailable: str | None = None


@dataclass(frozen=True, slots=True)
class RadioReading:
    name: str
    up: bool
    metered: bool
    roaming: bool
    down_kbps: float | None = None
    up_kbps: float | None = None
    latency_ms: float | None = None
    loss_pct: float | None = None


@dataclass(frozen=True, slots=True)
class NetworkReading:
    radios: dict[str, RadioReading]
    internet: bool
    active: NetworkType

    @property
    def active_radio(self) -> RadioReading | None:
        return self.radios.get(self.active.value) if self.active is not NetworkType.NONE else None


@dataclass(frozen=True, slots=True)
class StorageReading:
    capacity_bytes: int | None
    free_bytes: int | None
    unavailable: str | None = None


Unsubscribe = Callable[[], None]


@runtime_checkable
class Sensors(Protocol):
    """What the device can tell about its conditions, now and as they change."""

    def battery(self) -> BatteryReading: ...

    def temperature(self) -> TemperatureReading: ...

    def network(self) -> NetworkReading: ...

    def storage(self) -> StorageReading: ...

    def subscribe(self, listener: Callable[[DeviceEvent], None]) -> Unsubscribe:
        """Call ``listener`` with every later device event."""
        ...

    def watch_battery(self, level: float) -> None:
        """Report crossings of ``level`` percent as events (besides 15, 10 and 0)."""
        ...


@runtime_checkable
class Controls(Protocol):
    """How a test changes the device's conditions. Simulation only."""

    def set_battery_level(self, percent: float) -> None: ...

    def plug_charger(self) -> None: ...

    def unplug_charger(self) -> None: ...

    def set_ambient(self, celsius: float) -> None: ...

    def set_radio(self, name: str, up: bool) -> None: ...

    def configure_radio(self, name: str, *, preset: str | None = None,
                        down_kbps: float | None = None, up_kbps: float | None = None,
                        latency_ms: float | None = None, loss_pct: float | None = None,
                        metered: bool | None = None, roaming: bool | None = None) -> None: ...

    def set_load(self, *, screen_on: bool | None = None, cpu: float | None = None) -> None: ...

    def fill_storage(self, nbytes: int) -> int: ...

    def free_storage(self, nbytes: int) -> int: ...
