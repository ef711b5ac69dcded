"""A device whose conditions are the host's: models driven by HostSensors, in real time.

The reference APIs run on the device's models (the link paces their transfers, the battery's
thresholds are events at exact instants), so on hardware the same models are kept and *driven*
by the host's readings instead of physics: battery level and temperature are measured
(:class:`~sim.device.battery.Battery` and :class:`~sim.device.thermal.Thermal` in measured
mode), radios go up and down with the interfaces, the storage's free bytes follow the sandbox's
filesystem. Every reading that changes goes through the same setters the simulator's Controls
use, so the trace, the threshold events and the APIs' reactions are the simulator's own.

Changes reach the SimPy process from two threads: a pyudev monitor (``power_supply``,
``thermal``, ``net`` uevents) and a poller for values that change without one (a fuel gauge's
percent, link state on machines without udev). Both take a :class:`Snapshot` and hand it over a
thread-safe queue; :class:`HostFeed`, a SimPy process on the device's RealtimeEnvironment,
applies the latest one.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from typing import Any

import pyudev
import simpy

from sim.device.device import Device
from sim.device.profile import (
    BatteryProfile,
    DeviceProfile,
    PowerProfile,
    RadioProfile,
    RadiosProfile,
    StorageProfile,
    load_profile,
)
from sim.device.radio import RADIO_NAMES
from sim.hil.sensors import HostSensors, Snapshot

SUBSYSTEMS = ("power_supply", "thermal", "hwmon", "net")
"""The uevents that can change a reading."""
PARTS = {"power_supply": "battery", "thermal": "temperature", "hwmon": "temperature",
         "net": "network"}
"""The reading a uevent of each subsystem can change."""

STORAGE_STEP = 1 << 20
"""Free space is followed in steps of this many bytes (it moves with every log line)."""


@dataclass(frozen=True, slots=True)
class Change:
    """A snapshot taken because of ``cause`` (a uevent ``action subsystem/name`` or a poll),
    stamped with ``time.monotonic()`` when the cause was seen."""

    snapshot: Snapshot
    cause: str
    seen: float


@dataclass
class HostWatcher:
    """The two threads that notice the host changing, fanning each change out to every
    subscribed queue (one per device fed: a conformance run makes a device per example)."""

    sensors: HostSensors
    poll_s: float = 1.0
    """How often values that change without a uevent are read; 0: never."""
    udev_source: str | None = None
    """pyudev monitor source: ``udev`` (where udevd runs, or under umockdev) or ``kernel``;
    None picks ``udev`` when ``/run/udev`` exists, else ``kernel``."""
    queues: list[queue.SimpleQueue[Change]] = field(default_factory=list)
    last: Snapshot | None = None
    uevents: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _observer: Any = None
    _poller: threading.Thread | None = None

    def start(self) -> HostWatcher:
        self.last = self.sensors.snapshot()
        source = self.udev_source
        if source is None:
            import os

            source = "udev" if os.path.isdir("/run/udev") or \
                "libumockdev-preload" in os.environ.get("LD_PRELOAD", "") else "kernel"
        try:
            monitor = pyudev.Monitor.from_netlink(self.sensors.context, source=source)
            for subsystem in SUBSYSTEMS:
                monitor.filter_by(subsystem)
            self._observer = pyudev.MonitorObserver(monitor, callback=self._uevent,
                                                    name="syncrig-udev")
            self._observer.start()
        except (OSError, ValueError):  # no netlink here: polling alone still sees changes
            self._observer = None
        if self.poll_s > 0:
            self._poller = threading.Thread(target=self._poll, name="syncrig-poll", daemon=True)
            self._poller.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.send_stop()
            self._observer = None
        if self._poller is not None:
            self._poller.join(timeout=5)
            self._poller = None

    def __enter__(self) -> HostWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def subscribe(self) -> queue.SimpleQueue[Change]:
        q: queue.SimpleQueue[Change] = queue.SimpleQueue()
        with self._lock:
            self.queues.append(q)
        return q

    def unsubscribe(self, q: queue.SimpleQueue[Change]) -> None:
        with self._lock:
            if q in self.queues:
                self.queues.remove(q)

    def _uevent(self, device: pyudev.Device) -> None:
        seen = time.monotonic()
        self.uevents += 1
        self._publish(f"{device.action} {device.subsystem}/{device.sys_name}", seen,
                      force=True, part=PARTS.get(device.subsystem))

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_s):
            self._publish("poll", time.monotonic())

    def _publish(self, cause: str, seen: float, force: bool = False,
                 part: str | None = None) -> None:
        with self._lock:
            last = self.last
            if part is not None and last is not None:  # re-read what the uevent is about
                snapshot = replace(last, **{part: getattr(self.sensors, part)()})
            else:
                snapshot = self.sensors.snapshot()
            if snapshot == self.last and not force:
                return
            self.last = snapshot
            change = Change(snapshot, cause, seen)
            for q in self.queues:
                q.put(change)


class HostFeed:
    """The SimPy side: every ``tick_s`` (real time, on a RealtimeEnvironment) take the newest
    change from the queue and apply it to the device's models."""

    def __init__(self, device: Device, watcher: HostWatcher, tick_s: float = 0.005) -> None:
        self.device = device
        self.watcher = watcher
        self.tick_s = tick_s
        self.queue = watcher.subscribe()
        self.applied: list[tuple[float, str, float]] = []
        """(seen, cause, applied) of each change, in ``time.monotonic()`` seconds; applied is
        -1 for a change a newer one superseded before the feed's next tick."""
        if watcher.last is not None:
            self.apply(watcher.last, "start")
        self.process = device.env.process(self._run())

    def close(self) -> None:
        self.watcher.unsubscribe(self.queue)

    def _run(self) -> Generator[simpy.Event, Any, None]:
        timeout = self.device.env.timeout
        q = self.queue
        while True:
            yield timeout(self.tick_s)
            change = None
            while True:
                try:
                    change = q.get_nowait()
                except queue.Empty:
                    break
                self.applied.append((change.seen, change.cause, -1.0))
            if change is not None:
                self.apply(change.snapshot, change.cause)
                done = time.monotonic()
                self.applied[-1] = (change.seen, change.cause, done)

    def apply(self, snap: Snapshot, cause: str) -> None:
        """Bring the models to ``snap`` through the setters Controls use."""
        device = self.device
        battery = device.battery
        reading = snap.battery
        if battery is not None and reading.percent is not None:
            if reading.charging is not None and reading.charging != battery.plugged:
                battery.set_plugged(reading.charging)
                device._load_changed()
            if abs(reading.percent - battery.level) > 1e-9:
                battery.set_level(reading.percent)
        temp = snap.temperature
        if temp.celsius is not None and abs(temp.celsius - device.thermal.celsius) > 1e-9:
            device.thermal.set_measured(temp.celsius)
        for name, radio in device.radios.items():
            seen = snap.network.radios.get(name)
            up = seen is not None and seen.up
            if up != radio.enabled:
                radio.set_measured(up)
        free = snap.storage.free_bytes
        if free is not None and abs(free - device.storage.free) >= STORAGE_STEP:
            device.storage.set_measured_free(free)


def host_profile(sensors: HostSensors, base: str = "phone") -> DeviceProfile:
    """The device as the host has it: the radios it has (link figures from ``base``, or the
    interface's speed), a battery only if it has one, no modelled power draw, its disk."""
    profile = load_profile(base)
    snap = sensors.snapshot()
    radios: dict[str, RadioProfile] = {}
    for name in RADIO_NAMES:
        seen = snap.network.radios.get(name)
        if seen is None:
            continue
        known = getattr(profile.radios, name)
        figures: dict[str, Any] = {"up": seen.up, "metered": seen.metered}
        if seen.down_kbps:
            figures.update(down_kbps=seen.down_kbps, up_kbps=seen.up_kbps)
        elif known is not None:
            figures.update({k: v for k, v in known.resolved(name).items()
                            if k in ("down_kbps", "up_kbps", "latency_ms", "loss_pct")})
        else:
            figures.update(down_kbps=1_000_000.0, up_kbps=1_000_000.0)
        radios[name] = RadioProfile(**figures)
    battery = None
    if snap.battery.percent is not None:
        battery = BatteryProfile(capacity_mah=(profile.battery.capacity_mah if profile.battery
                                               else 5000.0),
                                 charge_ma=profile.battery.charge_ma if profile.battery else 2000,
                                 level_pct=snap.battery.percent,
                                 charger_plugged=bool(snap.battery.charging))
    storage = snap.storage
    if storage.capacity_bytes is not None and storage.free_bytes is not None:
        storage_profile = StorageProfile(capacity=storage.capacity_bytes,
                                         used=storage.capacity_bytes - storage.free_bytes)
    else:
        storage_profile = profile.storage
    thermal = profile.thermal.model_copy(update={
        "initial_c": min(120.0, max(-40.0, snap.temperature.celsius))
        if snap.temperature.celsius is not None else profile.thermal.ambient_c,
        "overheat_c": sensors.overheat_limit()})
    return DeviceProfile(name=f"host ({profile.name} links)", kind=profile.kind,
                         description="this machine's sensors", battery=battery,
                         power=PowerProfile(voltage_v=profile.power.voltage_v), thermal=thermal,
                         radios=RadiosProfile(**radios), storage=storage_profile)


class HostDevice(Device):
    """A :class:`Device` on a RealtimeEnvironment whose models follow the host.

    ``device.sensors`` is the :class:`HostSensors` (live readings), ``device.controls`` is
    None: nothing here changes the machine. Close it to stop following."""

    controls: None  # type: ignore[assignment]

    def __init__(self, sensors: HostSensors, watcher: HostWatcher, base: str = "phone", *,
                 factor: float = 1.0, tick_s: float = 0.005) -> None:
        env = simpy.RealtimeEnvironment(factor=factor, strict=False)
        super().__init__(host_profile(sensors, base), env, measured=True,
                         epoch_ms=round(time.time() * 1000), unavailable=sensors.unavailable())
        self.sensors = sensors.bound(self)  # type: ignore[assignment]
        self.controls = None
        self.feed = HostFeed(self, watcher, tick_s)

    def close(self) -> None:
        self.feed.close()


class TimelineRecorder:
    """A bring-up's measured timeline: one more host device, sampled every ``interval_s``
    in its own thread for the whole run, whatever the campaigns' devices come and go."""

    def __init__(self, sensors: HostSensors, watcher: HostWatcher, base: str = "phone",
                 interval_s: float = 1.0) -> None:
        self.device = HostDevice(sensors, watcher, base)
        self.device.sample_every(interval_s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="syncrig-timeline", daemon=True)

    def _run(self) -> None:
        device = self.device
        while not self._stop.is_set():
            device.run(until=device.env.now + 0.25)

    def __enter__(self) -> TimelineRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.device.finish()
        self.device.close()
