"""The simulated device: battery, thermal, radios, storage and link in one SimPy environment.

The models are coupled the way a phone's are: whatever draws current (screen, CPU, a radio
moving bytes) drains the battery and heats the device; an empty battery powers the device off,
which takes its radios down and interrupts their transfers; a charger brings it back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

from sim.device.battery import Battery
from sim.device.link import Link
from sim.device.ports import (
    BatteryReading,
    NetworkReading,
    RadioReading,
    StorageReading,
    TemperatureReading,
    Unsubscribe,
)
from sim.device.profile import DeviceProfile
from sim.device.radio import RADIO_NAMES, NetworkType, Radio
from sim.device.storage import Storage
from sim.device.thermal import Thermal
from sim.trace import DeviceEvent, EventKind, Trace


class Device:
    """One simulated device, built from a :class:`~sim.device.profile.DeviceProfile`.

    Read conditions through :attr:`sensors`, change them through :attr:`controls`; the models
    (``battery``, ``thermal``, ``radios``, ``storage``, ``link``) are public for the reference
    APIs that run on the device.
    """

    EPOCH_MS = 1_767_225_600_000
    """UTC milliseconds at simulated time 0 (2026-01-01T00:00:00Z) unless a run sets another."""

    def __init__(self, profile: DeviceProfile, env: simpy.Environment | None = None,
                 epoch_ms: int = EPOCH_MS, *, measured: bool = False,
                 unavailable: dict[str, str] | None = None) -> None:
        """``measured``: battery level and temperature are a host's readings, set from
        outside (``sim.hil``), not integrated from the physics."""
        self.env = env if env is not None else simpy.Environment()
        self.epoch_ms = epoch_ms
        self.unavailable = dict(unavailable or {})
        """Sensors a measured device lacks (``battery``, ``temperature``), with the reason:
        recorded as such, never as a modelled value."""
        self.profile = profile
        self.trace = Trace(self.env)
        power = profile.power
        self.voltage_v = power.voltage_v
        self.screen_on = power.screen_on
        self.cpu = power.cpu
        self._drain: float | None = None
        self.powered = profile.battery is None or profile.battery.level_pct > 0
        self.radios: dict[str, Radio] = {}
        for name in RADIO_NAMES:
            radio_profile = getattr(profile.radios, name)
            if radio_profile is not None:
                self.radios[name] = Radio(name, radio_profile, self.trace,
                                          lambda: self.powered, self._radio_changed)
        self._online_waiters: list[simpy.Event] = []
        self.link = Link(self.env, self.trace, self.radios, self._load_changed)
        self.storage = Storage(profile.storage, self.trace)
        self.battery: Battery | None = None
        if profile.battery is not None:
            self.battery = Battery(self.env, profile.battery, self.trace, self.drain_ma,
                                   self._power_off, self._power_on, measured=measured)
        self.thermal = Thermal(self.env, profile.thermal, self.trace, self.heat_w,
                               measured=measured)
        self.sensors = SimulatedSensors(self)
        self.controls = SimulatedControls(self)
        extra = {"unavailable": self.unavailable} if self.unavailable else {}
        self.trace.emit(EventKind.START, device=profile.name,
                        overheat_c=profile.thermal.overheat_c,
                        capacity_bytes=profile.storage.capacity, **extra, **self.snapshot())

    # -- physics coupling -------------------------------------------------------------------

    def drain_ma(self) -> float:
        """Current the device draws now (mA at the nominal voltage).

        Cached: battery, thermal and samples all ask for it after every change, and every
        change of what it depends on (load, power, a radio's state or activity) goes through
        :meth:`_load_changed` or :meth:`_radio_changed`, which drop the cache first.
        """
        drain = self._drain
        if drain is None:
            drain = 0.0
            if self.powered:
                power = self.profile.power
                drain = power.baseline_ma + self.cpu * power.cpu_busy_ma
                if self.screen_on:
                    drain += power.screen_on_ma
                for radio in self.radios.values():
                    drain += radio.drain_ma()
            self._drain = drain
        return drain

    def heat_w(self) -> float:
        """Power dissipated as heat: the electrical draw plus the charger's conversion losses."""
        heat = self.drain_ma() * self.voltage_v / 1000.0
        battery = self.battery
        if battery is not None and battery.plugged:
            p = battery.profile
            heat += p.charge_ma * self.voltage_v / 1000.0 * (1 - p.charge_efficiency) \
                / p.charge_efficiency
        return heat

    def _load_changed(self) -> None:
        self._drain = None
        if self.battery is not None:
            self.battery.replan()
        self.thermal.replan()

    def _radio_changed(self, radio: Radio, carrier_lost: bool) -> None:
        self._drain = None
        self.link.radio_changed(radio, carrier_lost)
        self._load_changed()
        if self._online_waiters and self.internet:
            waiters, self._online_waiters = self._online_waiters, []
            for event in waiters:
                event.succeed()

    def utc_ms(self) -> int:
        """The device's wall clock, in UTC milliseconds, as APIs that return times see it."""
        return self.epoch_ms + round(self.env.now * 1000)

    def run(self, until: float | simpy.Event | None = None) -> Any:
        """Advance the simulation: to simulated time ``until``, or until an event — a
        :class:`~sim.ohos.common.Promise`, a transfer — settles, returning its value (or raising
        its error). This is how code outside SimPy waits for an asynchronous API call."""
        return self.env.run(until=until)

    def when_online(self) -> simpy.Event:
        """An event that fires as soon as some network is up (at once if one is)."""
        event = self.env.event()
        if self.internet:
            event.succeed()
        else:
            self._online_waiters.append(event)
        return event

    def _power_off(self) -> None:
        if self.powered:
            self._set_powered(False, "battery empty")

    def _power_on(self) -> None:
        if not self.powered and self.battery is not None and self.battery.plugged:
            self._set_powered(True, "charger")

    def _set_powered(self, on: bool, reason: str) -> None:
        was_up = {name: radio.up for name, radio in self.radios.items()}
        self.powered = on
        self._drain = None
        self.trace.emit(EventKind.POWER, on=on, reason=reason)
        for name, radio in self.radios.items():
            radio.power_changed(was_up[name])
        self._load_changed()

    def set_load(self, *, screen_on: bool | None = None, cpu: float | None = None) -> None:
        if cpu is not None and not 0 <= cpu <= 1:
            raise ValueError(f"cpu load must be within 0..1, got {cpu!r}")
        if screen_on is not None:
            self.screen_on = screen_on
        if cpu is not None:
            self.cpu = float(cpu)
        self._drain = None
        self.trace.emit(EventKind.LOAD, screen_on=self.screen_on, cpu=self.cpu,
                        drain_ma=self.drain_ma())
        self._load_changed()

    # -- network view -----------------------------------------------------------------------

    @property
    def internet(self) -> bool:
        return any(radio.up for radio in self.radios.values())

    @property
    def active_network(self) -> NetworkType:
        radio = self.link.active_radio()
        return radio.network_type if radio is not None else NetworkType.NONE

    # -- recording --------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The whole observable state, as recorded at the start and in samples."""
        battery = self.battery
        return {"battery_pct": battery.level if battery is not None else None,
                "celsius": None if "temperature" in self.unavailable else self.thermal.celsius,
                **self._discrete()}

    def _discrete(self) -> dict[str, Any]:
        """State that changes only together with a trace event (so samples can share it)."""
        battery = self.battery
        return {
            "ambient_c": None if "temperature" in self.unavailable else self.thermal.ambient_c,
            "charging": battery.charging if battery is not None else None,
            "powered": self.powered,
            "overheated": self.thermal.overheated,
            "radios": {name: radio.up for name, radio in self.radios.items()},
            "active": self.active_network.value,
            "free_bytes": self.storage.free,
            "drain_ma": self.drain_ma(),
        }

    def sample_every(self, interval: float) -> simpy.Process:
        """Record the state every ``interval`` simulated seconds (for plots and summaries)."""
        if interval <= 0:
            raise ValueError(f"sample interval must be > 0, got {interval!r}")
        env, trace, series = self.env, self.trace, self.trace.samples
        timeout = env.timeout
        thermal = None if "temperature" in self.unavailable else self.thermal
        battery = self.battery
        add_t, add_battery = series.t.append, series.battery.append
        add_thermal, add_state = series.thermal.append, series.state.append

        def sampler() -> Any:
            version = -1
            while True:
                if trace.version != version:
                    version = trace.version
                    series.states.append(self._discrete())
                add_t(env.now)
                add_battery(battery.segment if battery is not None else None)
                add_thermal(thermal.segment if thermal is not None else None)
                add_state(len(series.states) - 1)
                yield timeout(interval)

        return env.process(sampler())

    def finish(self) -> None:
        """Record the final state (the summary's last word)."""
        self.trace.emit(EventKind.END, **self.snapshot())


class SimulatedSensors:
    """The Sensors port over the device's models."""

    def __init__(self, device: Device) -> None:
        self._device = device

    def battery(self) -> BatteryReading:
        battery = self._device.battery
        if battery is None:
            return BatteryReading(None, None, unavailable="device has no battery (mains powered)")
        return BatteryReading(battery.level, battery.charging)

    def temperature(self) -> TemperatureReading:
        thermal = self._device.thermal
        return TemperatureReading(thermal.celsius, thermal.overheated)

    def network(self) -> NetworkReading:
        device = self._device
        radios = {
            name: RadioReading(name, radio.up, radio.metered, radio.roaming, radio.down_kbps,
                               radio.up_kbps, radio.latency_ms, radio.loss_pct)
            for name, radio in device.radios.items()
        }
        return NetworkReading(radios, device.internet, device.active_network)

    def storage(self) -> StorageReading:
        storage = self._device.storage
        return StorageReading(storage.capacity, storage.free)

    def subscribe(self, listener: Callable[[DeviceEvent], None]) -> Unsubscribe:
        return self._device.trace.subscribe(listener)

    def watch_battery(self, level: float) -> None:
        if self._device.battery is None:
            raise ValueError("device has no battery to watch")
        self._device.battery.watch(level)


class SimulatedControls:
    """The Controls port over the device's models. Invalid values raise ValueError."""

    def __init__(self, device: Device) -> None:
        self._device = device

    def _battery(self) -> Battery:
        if self._device.battery is None:
            raise ValueError(f"device {self._device.profile.name!r} has no battery")
        return self._device.battery

    def _radio(self, name: str) -> Radio:
        radio = self._device.radios.get(name)
        if radio is None:
            known = ", ".join(self._device.radios) or "none"
            raise ValueError(f"unknown radio {name!r} (this device has: {known})")
        return radio

    def set_battery_level(self, percent: float) -> None:
        self._battery().set_level(percent)

    def plug_charger(self) -> None:
        battery = self._battery()
        battery.set_plugged(True)
        if not self._device.powered and battery.level >= battery.profile.boot_level_pct:
            self._device._power_on()
        self._device._load_changed()

    def unplug_charger(self) -> None:
        self._battery().set_plugged(False)
        self._device._load_changed()

    def set_ambient(self, celsius: float) -> None:
        self._device.thermal.set_ambient(celsius)

    def set_radio(self, name: str, up: bool) -> None:
        self._radio(name).set_enabled(up)

    def configure_radio(self, name: str, *, preset: str | None = None,
                        down_kbps: float | None = None, up_kbps: float | None = None,
                        latency_ms: float | None = None, loss_pct: float | None = None,
                        metered: bool | None = None, roaming: bool | None = None) -> None:
        self._radio(name).configure(preset=preset, down_kbps=down_kbps, up_kbps=up_kbps,
                                    latency_ms=latency_ms, loss_pct=loss_pct, metered=metered,
                                    roaming=roaming)

    def set_load(self, *, screen_on: bool | None = None, cpu: float | None = None) -> None:
        self._device.set_load(screen_on=screen_on, cpu=cpu)

    def fill_storage(self, nbytes: int) -> int:
        return self._device.storage.fill(nbytes)

    def free_storage(self, nbytes: int) -> int:
        return self._device.storage.free_filler(nbytes)
