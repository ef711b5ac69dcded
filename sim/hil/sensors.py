"""HostSensors: the Sensors port over the machine's own battery, thermal, network and disk.

psutil gives the readings; pyudev fills what psutil cannot see: a charger whose adapter is not
named ``AC``/``AC0`` (psutil only looks there), a battery when psutil finds none, thermal zones
when psutil has no hwmon reading, and an interface's kind from its ``DEVTYPE`` (``wlan``,
``wwan``). A sensor the machine does not have is reported as unavailable, with the reason —
never as a made-up value.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pyudev

from sim.device.ports import (
    BatteryReading,
    NetworkReading,
    RadioReading,
    StorageReading,
    TemperatureReading,
    Unsubscribe,
)
from sim.device.radio import RADIO_NAMES, NetworkType
from sim.trace import DeviceEvent

if TYPE_CHECKING:
    from sim.device.device import Device

ADAPTER_TYPES = frozenset({"Mains", "USB", "USB_C", "USB_PD", "USB_DCP", "USB_CDP", "Wireless"})
"""``power_supply`` types that charge the battery when ``online``."""

WIFI_PREFIXES = ("wlan", "wl", "ath", "mlan")
CELLULAR_PREFIXES = ("wwan", "rmnet", "ccmni", "rev_rmnet", "usb", "ppp")
ETHERNET_PREFIXES = ("eth", "en", "lan")
NO_RADIO_PREFIXES = ("lo", "ifb", "docker", "br-", "virbr", "veth", "tun", "tap", "dummy")


@dataclass(frozen=True, slots=True)
class Interface:
    """One network interface of the host and the radio kind it stands for."""

    name: str
    kind: str
    up: bool
    speed_mbps: int
    why: str
    """How the kind was decided (udev DEVTYPE, sysfs ``wireless``, the name)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every reading at one moment; two snapshots compare equal when nothing changed."""

    battery: BatteryReading
    temperature: TemperatureReading
    network: NetworkReading
    storage: StorageReading


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """One line of a bring-up's sensor list: what was found, where, and what it reads."""

    name: str
    found: bool
    source: str
    reading: str
    """For people: the values in a phrase, or why the sensor is missing."""
    values: dict[str, float | int | bool | str | None] = field(default_factory=dict)
    """For programs: the same values as numbers, each field named with its unit."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class HostSensors:
    """The machine's sensors through the Sensors port.

    ``storage_path`` is the filesystem the device's APIs write to (the sandbox); the
    temperature limit is the hottest sensor's own ``high``/``critical`` mark when it has one,
    else ``overheat_c``. Events: a :class:`~sim.hil.device.HostFeed` applies changes to a
    device's models, whose trace :meth:`subscribe` listeners hear.
    """

    def __init__(self, storage_path: str | Path = ".", *, overheat_c: float = 45.0,
                 context: pyudev.Context | None = None) -> None:
        self.storage_path = Path(storage_path)
        self.overheat_c = overheat_c
        self.context = context if context is not None else pyudev.Context()
        self.device: Device | None = None
        """The device whose events :meth:`subscribe` hears (see :meth:`bound`)."""

    def bound(self, device: Device) -> HostSensors:
        """These sensors as ``device``'s port: the same readings, and its events. A copy, so
        devices made one after another (one per example) never share the binding."""
        view = copy.copy(self)
        view.device = device
        return view

    def unavailable(self) -> dict[str, str]:
        """The sensors this machine lacks (``battery``, ``temperature``) and why."""
        return {name: reason for name, reason in (("battery", self.battery().unavailable),
                                                  ("temperature",
                                                   self.temperature().unavailable)) if reason}

    # -- battery ---------------------------------------------------------------------------

    def _power_supplies(self) -> list[pyudev.Device]:
        try:
            return sorted(self.context.list_devices(subsystem="power_supply"),
                          key=lambda d: d.sys_name)
        except OSError:
            return []

    def _adapter_online(self) -> tuple[bool | None, str]:
        for dev in self._power_supplies():
            if _attr(dev, "type") in ADAPTER_TYPES:
                online = _attr(dev, "online")
                if online is not None:
                    return online == "1", f"udev power_supply/{dev.sys_name}"
        return None, ""

    def battery(self) -> BatteryReading:
        return self._battery()[0]

    def _battery(self) -> tuple[BatteryReading, str]:
        try:
            status = psutil.sensors_battery()
        except OSError:  # no /sys/class/power_supply at all (containers, empty testbeds)
            status = None
        adapter, adapter_source = self._adapter_online()
        if status is not None:
            plugged = status.power_plugged
            source = "psutil.sensors_battery()"
            if adapter and not plugged:
                # psutil reads AC/AC0 only; an adapter by another name (ADP1, ACAD) is udev's
                plugged, source = adapter, f"{source} + {adapter_source}"
            return BatteryReading(float(status.percent), bool(plugged)), source
        for dev in self._power_supplies():
            if _attr(dev, "type") != "Battery" or _attr(dev, "present") == "0":
                continue
            capacity = _attr(dev, "capacity")
            if capacity is None or not capacity.isdigit():
                continue
            status_text = (_attr(dev, "status") or "").lower()
            charging = adapter if adapter is not None else status_text in ("charging", "full")
            return (BatteryReading(float(capacity), charging),
                    f"udev power_supply/{dev.sys_name}")
        return BatteryReading(None, None, unavailable="no battery: /sys/class/power_supply has "
                              "no Battery device (psutil.sensors_battery() is None)"), ""

    # -- temperature -----------------------------------------------------------------------

    def temperature(self) -> TemperatureReading:
        return self._temperature()[0]

    def overheat_limit(self) -> float:
        """The hottest sensor's own high/critical mark, else ``overheat_c``."""
        return self._temperature()[2]

    def _temperature(self) -> tuple[TemperatureReading, str, float]:
        try:
            groups = psutil.sensors_temperatures()
        except OSError:
            groups = {}
        best: tuple[float, float | None, str] | None = None
        for chip, entries in sorted(groups.items()):
            for entry in entries:
                limit = entry.high if entry.high else entry.critical if entry.critical else None
                label = f"{chip}/{entry.label}" if entry.label else chip
                if best is None or entry.current > best[0]:
                    best = (float(entry.current), limit,
                            f"psutil.sensors_temperatures() {label}")
        if best is None:
            for dev in sorted(self.context.list_devices(subsystem="thermal"),
                              key=lambda d: d.sys_name):
                temp = _attr(dev, "temp")
                if temp is None or not temp.lstrip("-").isdigit():
                    continue
                celsius = int(temp) / 1000.0
                limit = _trip(dev)
                if best is None or celsius > best[0]:
                    best = (celsius, limit, f"udev thermal/{dev.sys_name} ({_attr(dev, 'type')})")
        if best is None:
            return TemperatureReading(None, None, unavailable="no temperature sensor: no hwmon "
                                      "temp*_input and no thermal_zone*/temp"), "", \
                self.overheat_c
        celsius, limit, source = best
        limit = limit or self.overheat_c
        return TemperatureReading(celsius, celsius >= limit), source, limit

    # -- network ---------------------------------------------------------------------------

    def interfaces(self) -> list[Interface]:
        """The host's interfaces that stand for a radio (loopback and virtual plumbing such
        as ifb, bridges and tunnels are left out unless named or typed as a radio)."""
        out = []
        try:
            stats = psutil.net_if_stats()
        except OSError:
            stats = {}
        for name, st in sorted(stats.items()):
            kind, why = self._kind(name)
            if kind is None:
                continue
            out.append(Interface(name, kind, st.isup and _operstate(name) != "down",
                                 st.speed, why))
        return out

    def _kind(self, name: str) -> tuple[str | None, str]:
        devtype = ""
        try:
            dev = pyudev.Devices.from_name(self.context, "net", name)
            devtype = dev.properties.get("DEVTYPE", "") or ""
        except (pyudev.DeviceNotFoundError, OSError, ValueError):
            dev = None
        if devtype == "wlan":
            return "wifi", "udev DEVTYPE=wlan"
        if devtype == "wwan":
            return "cellular", "udev DEVTYPE=wwan"
        if Path("/sys/class/net", name, "wireless").exists():
            return "wifi", "sysfs wireless/"
        if name.startswith(WIFI_PREFIXES):
            return "wifi", f"name {name}"
        if name.startswith(CELLULAR_PREFIXES):
            return "cellular", f"name {name}"
        if name.startswith(NO_RADIO_PREFIXES):
            return None, ""
        if name.startswith(ETHERNET_PREFIXES):
            return "ethernet", f"name {name}"
        if dev is not None and "/virtual/" not in (dev.sys_path or ""):
            return "ethernet", "udev net device (not virtual)"
        return None, ""

    def network(self) -> NetworkReading:
        radios: dict[str, RadioReading] = {}
        for iface in self.interfaces():
            kbps = float(iface.speed_mbps * 1000) if iface.speed_mbps > 0 else None
            was = radios.get(iface.kind)
            if was is not None and (was.up or not iface.up):
                continue  # one radio per kind: the first interface that is up
            radios[iface.kind] = RadioReading(iface.kind, iface.up,
                                              metered=iface.kind == "cellular", roaming=False,
                                              down_kbps=kbps, up_kbps=kbps)
        active = next((NetworkType(name) for name in RADIO_NAMES
                       if name in radios and radios[name].up), NetworkType.NONE)
        return NetworkReading(radios, active is not NetworkType.NONE, active)

    # -- storage ---------------------------------------------------------------------------

    def storage(self) -> StorageReading:
        try:
            usage = psutil.disk_usage(str(self.storage_path))
        except OSError as exc:
            return StorageReading(None, None, unavailable=f"no filesystem at "
                                  f"{self.storage_path}: {exc.strerror or exc}")
        return StorageReading(int(usage.total), int(usage.free))

    # -- all at once -----------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        return Snapshot(self.battery(), self.temperature(), self.network(), self.storage())

    def inventory(self) -> list[SensorInfo]:
        """What a bring-up lists: each sensor, found or not, its source and its reading."""
        battery, battery_source = self._battery()
        temp, temp_source, limit = self._temperature()
        storage = self.storage()
        out = [
            SensorInfo("battery", battery.unavailable is None, battery_source,
                       battery.unavailable or f"{battery.percent:.0f} %, "
                       f"{'charging' if battery.charging else 'discharging'}",
                       {} if battery.unavailable else
                       {"percent": battery.percent, "charging": battery.charging}),
            SensorInfo("temperature", temp.unavailable is None, temp_source,
                       temp.unavailable or f"{temp.celsius:.1f} °C (limit {limit:.0f} °C)"
                       f"{', overheated' if temp.overheated else ''}",
                       {} if temp.unavailable else
                       {"celsius": temp.celsius, "limit_celsius": limit,
                        "overheated": temp.overheated}),
        ]
        interfaces = self.interfaces()
        for kind in RADIO_NAMES:
            mine = [i for i in interfaces if i.kind == kind]
            if not mine:
                out.append(SensorInfo(kind, False, "", f"no {kind} interface"))
            for iface in mine:
                speed = f", {iface.speed_mbps} Mbit/s" if iface.speed_mbps > 0 else ""
                out.append(SensorInfo(kind, True, f"psutil.net_if_stats() {iface.name} "
                                      f"({iface.why})", f"{'up' if iface.up else 'down'}{speed}",
                                      {"interface": iface.name, "up": iface.up,
                                       "speed_mbps": iface.speed_mbps}))
        out.append(SensorInfo("storage", storage.unavailable is None,
                              f"psutil.disk_usage({str(self.storage_path)!r})",
                              storage.unavailable or f"{_gb(storage.free_bytes)} free of "
                              f"{_gb(storage.capacity_bytes)}",
                              {} if storage.unavailable else
                              {"free_bytes": storage.free_bytes,
                               "capacity_bytes": storage.capacity_bytes}))
        return out

    # -- events ----------------------------------------------------------------------------

    def _fed(self) -> Device:
        if self.device is None:
            raise RuntimeError("these sensors are no device's port: use HostSensors.bound()")
        return self.device

    def subscribe(self, listener: Callable[[DeviceEvent], None]) -> Unsubscribe:
        return self._fed().trace.subscribe(listener)

    def watch_battery(self, level: float) -> None:
        battery = self._fed().battery
        if battery is None:
            raise ValueError(self.battery().unavailable or "the host has no battery to watch")
        battery.watch(level)


def _attr(dev: pyudev.Device, name: str) -> str | None:
    try:
        value: str = dev.attributes.asstring(name)
    except (KeyError, OSError, UnicodeDecodeError):
        return None
    return value.strip()


def _trip(dev: pyudev.Device) -> float | None:
    for n in range(16):
        kind = _attr(dev, f"trip_point_{n}_type")
        if kind is None:
            return None
        if kind in ("critical", "hot", "high"):
            temp = _attr(dev, f"trip_point_{n}_temp")
            if temp is not None and temp.lstrip("-").isdigit():
                return int(temp) / 1000.0
    return None


def _operstate(name: str) -> str:
    try:
        return Path("/sys/class/net", name, "operstate").read_text().strip()
    except OSError:
        return "unknown"


def _gb(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e9:.1f} GB"


def host_description() -> str:
    """The machine, for reports: host name and kernel."""
    u = os.uname()
    return f"{u.nodename} ({u.sysname} {u.release})"
