"""Radios: the device's network interfaces — Wi-Fi, cellular and (for a NAS) Ethernet.

Each has link figures, power draw and an up/down state. A radio is *up* when it is enabled (the
scenario or a control turned it on), not faulted (no random flap is holding it down) and the
device is powered. The active network is chosen in the platforms' order — Ethernet, then Wi-Fi,
then cellular (OpenHarmony's ``NetworkStatus::MapCapabilities``) — and cellular is metered
unless the profile says otherwise. "Radio" is used for the wired interface too: the link model
is the same.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from sim.device.presets import CELLULAR_PRESETS
from sim.device.profile import RadioProfile
from sim.trace import EventKind, Trace


class NetworkType(StrEnum):
    """The active network as the platforms classify it."""

    NONE = "none"
    ETHERNET = "ethernet"
    WIFI = "wifi"
    CELLULAR = "cellular"


RADIO_NAMES = ("ethernet", "wifi", "cellular")
"""Every interface a device can have, in the order the active network is chosen."""


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


class Radio:
    """One radio. ``on_change(radio, carrier_lost)`` tells the device to re-balance its link."""

    def __init__(self, name: str, profile: RadioProfile, trace: Trace,
                 powered: Callable[[], bool], on_change: Callable[[Radio, bool], None]) -> None:
        figures = profile.resolved(name)
        self.name = name
        self.network_type = NetworkType(name)
        self._trace = trace
        self._powered = powered
        self._on_change = on_change
        self.enabled = profile.up
        self.faulted = False
        self.preset = profile.preset
        self.down_kbps: float = figures["down_kbps"]
        self.up_kbps: float = figures["up_kbps"]
        self.latency_ms: float = figures["latency_ms"]
        self.loss_pct: float = figures["loss_pct"]
        self.metered: bool = figures["metered"]
        self.roaming = profile.roaming
        self.idle_ma = profile.idle_ma
        self.active_ma = profile.active_ma
        self.transferring = False

    @property
    def up(self) -> bool:
        return self.enabled and not self.faulted and self._powered()

    def drain_ma(self) -> float:
        if not self.up:
            return 0.0
        return self.active_ma if self.transferring else self.idle_ma

    def goodput_bps(self, direction: Direction) -> float:
        """Bytes per second a single transfer gets: bandwidth less the share lost to loss."""
        kbps = self.down_kbps if direction is Direction.DOWN else self.up_kbps
        return kbps * 1000.0 / 8.0 * (1.0 - self.loss_pct / 100.0)

    def snapshot(self) -> dict[str, object]:
        return {"up": self.up, "enabled": self.enabled, "faulted": self.faulted,
                "down_kbps": self.down_kbps, "up_kbps": self.up_kbps,
                "latency_ms": self.latency_ms, "loss_pct": self.loss_pct,
                "metered": self.metered, "roaming": self.roaming}

    def set_enabled(self, enabled: bool) -> None:
        self._set_state(enabled=enabled, faulted=self.faulted, cause="control")

    def set_measured(self, up: bool) -> None:
        """A host interface went up or down (hardware in the loop)."""
        self._set_state(enabled=up, faulted=self.faulted, cause="host")

    def set_faulted(self, faulted: bool) -> None:
        self._set_state(enabled=self.enabled, faulted=faulted, cause="flap")

    def power_changed(self, was_up: bool) -> None:
        """The device powered off or on; report the radio's resulting state."""
        if was_up != self.up:
            self._trace.emit(EventKind.RADIO, radio=self.name, up=self.up, cause="power")
            self._on_change(self, not self.up)

    def _set_state(self, *, enabled: bool, faulted: bool, cause: str) -> None:
        was_up = self.up
        self.enabled, self.faulted = enabled, faulted
        if was_up != self.up:
            self._trace.emit(EventKind.RADIO, radio=self.name, up=self.up, cause=cause)
            self._on_change(self, not self.up)

    def configure(self, *, preset: str | None = None, down_kbps: float | None = None,
                  up_kbps: float | None = None, latency_ms: float | None = None,
                  loss_pct: float | None = None, metered: bool | None = None,
                  roaming: bool | None = None) -> None:
        """Change link figures (a control); in-flight transfers continue at the new rate."""
        if preset is not None:
            if self.name != "cellular":
                raise ValueError(f"{self.name}: presets are cellular generations")
            if preset not in CELLULAR_PRESETS:
                known = ", ".join(CELLULAR_PRESETS)
                raise ValueError(f"unknown cellular preset {preset!r} (known: {known})")
            p = CELLULAR_PRESETS[preset]
            self.preset = preset
            self.down_kbps, self.up_kbps = p.down_kbps, p.up_kbps
            self.latency_ms, self.loss_pct = p.latency_ms, p.loss_pct
        for name, value, low in (("down_kbps", down_kbps, 0.0), ("up_kbps", up_kbps, 0.0)):
            if value is not None:
                if value <= low:
                    raise ValueError(f"{self.name}.{name} must be > 0, got {value!r}")
                setattr(self, name, float(value))
        if latency_ms is not None:
            if latency_ms < 0:
                raise ValueError(f"{self.name}.latency_ms must be >= 0, got {latency_ms!r}")
            self.latency_ms = float(latency_ms)
        if loss_pct is not None:
            if not 0 <= loss_pct < 100:
                raise ValueError(f"{self.name}.loss_pct must be within 0..100, got {loss_pct!r}")
            self.loss_pct = float(loss_pct)
        if metered is not None:
            self.metered = metered
        if roaming is not None:
            self.roaming = roaming
        self._trace.emit(EventKind.RADIO_LINK, radio=self.name, **self.snapshot())
        self._on_change(self, False)
