"""The device timeline: every state change as a typed event, exportable as JSON lines.

The trace is the single record of a run. Summaries and plots are computed from it (not from the
live models), so a trace file saved in CI can be re-plotted and compared later, and two runs from
the same seed can be compared byte for byte.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Protocol

import simpy


class EventKind(StrEnum):
    """What happened. The values are the ``kind`` field of the JSON lines."""

    START = "device.start"
    SAMPLE = "sample"
    BATTERY_THRESHOLD = "battery.threshold"
    BATTERY_SET = "battery.set"
    CHARGER = "battery.charger"
    POWER = "device.power"
    LOAD = "device.load"
    AMBIENT = "thermal.ambient"
    OVERHEAT = "thermal.overheat"
    RADIO = "radio.state"
    RADIO_LINK = "radio.link"
    STORAGE = "storage.change"
    STORAGE_FULL = "storage.full"
    TRANSFER_START = "transfer.start"
    TRANSFER_DONE = "transfer.done"
    TRANSFER_INTERRUPTED = "transfer.interrupted"
    SCENARIO = "scenario.action"
    API = "api.event"
    END = "device.end"


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """One entry of the timeline: simulated time in seconds, kind, and kind-specific fields."""

    t: float
    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """One JSON line, with floats rounded to the microsecond / micro-unit for stable bytes."""
        record: dict[str, Any] = {"t": round(self.t, 6), "kind": self.kind.value}
        record.update({k: _round(v) for k, v in self.data.items()})
        return json.dumps(record, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> DeviceEvent:
        record = json.loads(line)
        t = float(record.pop("t"))
        kind = EventKind(record.pop("kind"))
        return cls(t, kind, record)


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_round(v) for v in value]
    return value


Listener = Callable[[DeviceEvent], None]


class Curve(Protocol):
    """A stretch of a continuous quantity: anything that can give its value at a time."""

    def value(self, t: float) -> float: ...


class SampleSeries:
    """Periodic readings, stored as columns: per sample its time, the battery and temperature
    curves in force (evaluated only on export), and an index into the list of discrete states
    (which change only together with an event, so each is stored once).

    Storing references instead of an event object per sample keeps sampling about as cheap as
    the SimPy timeout that drives it; :meth:`Trace.timeline` turns samples into events on demand.
    """

    def __init__(self) -> None:
        self.t = array("d")
        self.battery: list[Curve | None] = []
        self.thermal: list[Curve | None] = []
        self.state = array("l")
        self.states: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.t)

    def events(self) -> Iterator[DeviceEvent]:
        states = self.states
        for t, battery, thermal, state in zip(self.t, self.battery, self.thermal, self.state,
                                              strict=True):
            data = {"battery_pct": battery.value(t) if battery is not None else None,
                    "celsius": thermal.value(t) if thermal is not None else None}
            data.update(states[state])
            yield DeviceEvent(t, EventKind.SAMPLE, data)


class Trace:
    """Records events at the environment's current time and fans them out to listeners."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.events: list[DeviceEvent] = []
        """Every event but the periodic samples, in the order they happened."""
        self.samples = SampleSeries()
        self._listeners: list[Listener] = []
        self.version = 0
        """Bumped by every event: state that only changes with an event can be cached on it."""

    def emit(self, kind: EventKind, **data: Any) -> DeviceEvent:
        event = DeviceEvent(self.env.now, kind, data)
        self.events.append(event)
        self.version += 1
        for listener in tuple(self._listeners):
            listener(event)
        return event

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` for every later event; returns the function that unsubscribes."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def of_kind(self, *kinds: EventKind) -> list[DeviceEvent]:
        return [e for e in self.events if e.kind in kinds]

    def timeline(self) -> list[DeviceEvent]:
        """Events and samples merged in time order (at equal times, events first)."""
        return list(heapq.merge(self.events, self.samples.events(), key=lambda e: e.t))

    def lines(self) -> Iterator[str]:
        for event in self.timeline():
            yield event.to_json()

    def write(self, out: IO[str]) -> None:
        for line in self.lines():
            out.write(line)
            out.write("\n")

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            self.write(out)

    def digest(self) -> str:
        """SHA-256 of the JSON-lines export: equal digests mean byte-identical traces."""
        h = hashlib.sha256()
        for line in self.lines():
            h.update(line.encode())
            h.update(b"\n")
        return h.hexdigest()


def read_trace(path: Path) -> list[DeviceEvent]:
    """Events from a JSON-lines trace file, as written by :meth:`Trace.save`."""
    with path.open(encoding="utf-8") as f:
        return [DeviceEvent.from_json(line) for line in f if line.strip()]


def iter_kind(events: Iterable[DeviceEvent], kind: EventKind) -> Iterator[DeviceEvent]:
    return (e for e in events if e.kind is kind)
