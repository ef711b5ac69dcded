"""Link: moving bytes over the device's active radio in simulated time.

A transfer takes ``latency + nbytes / goodput`` of simulated time when it has the radio to
itself; concurrent transfers in the same direction on one radio share its goodput equally
(a fluid model of TCP fair sharing), and a bandwidth change mid-transfer takes effect at once.
While any transfer runs, the radio draws its active current, which drains the battery and heats
the device. When the carrying radio goes down, every transfer on it fails with
:class:`~sim.errors.TransferInterrupted` carrying the bytes moved so far.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import simpy

from sim.device.radio import RADIO_NAMES, Direction, Radio
from sim.errors import TransferInterrupted
from sim.trace import EventKind, Trace


@dataclass(frozen=True)
class TransferResult:
    """A completed transfer: all ``nbytes`` moved over ``radio`` between ``started`` and
    ``finished`` (simulated seconds)."""

    nbytes: int
    radio: str
    direction: Direction
    started: float
    finished: float


class Transfer(simpy.Event):
    """A transfer in flight; ``yield`` it to get a :class:`TransferResult`.

    Read :attr:`bytes_done` at any time for live progress. A failure (radio lost, cancelled) is
    defused: a transfer nobody waits on does not stop the simulation, it is only traced.
    """

    def __init__(self, link: Link, nbytes: int, direction: Direction, radio: Radio | None,
                 label: str | None) -> None:
        super().__init__(link.env)
        self.link = link
        self.nbytes = nbytes
        self.direction = direction
        self.radio = radio
        self.label = label
        self.started = link.env.now
        latency = radio.latency_ms / 1000.0 if radio is not None else 0.0
        self.data_start = self.started + latency
        self.in_data_phase = False
        self._done = 0.0
        self._settled_at = self.data_start
        self.rate = 0.0
        self._gen = 0
        self._waiters: list[tuple[int, simpy.Event]] = []
        self._wgen = 0

    @property
    def bytes_done(self) -> int:
        """Bytes moved so far (whole bytes; the last one counts when it has fully arrived)."""
        if self.triggered:
            return int(self._done)
        done = self._done
        if self.in_data_phase:
            done += self.rate * (self.env.now - self._settled_at)
        return min(self.nbytes, math.floor(done + 1e-6))

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the transfer; it fails with :class:`TransferInterrupted` and ``reason``."""
        if not self.triggered:
            self.link._interrupt(self, reason)

    def finish(self) -> None:
        """End the transfer now as complete with the bytes moved so far — for a body whose
        length was not known in advance and whose sender has closed it."""
        if not self.triggered:
            self.link._finish_early(self)

    def reached(self, nbytes: int) -> simpy.Event:
        """An event that fires (with the byte count) at the simulated instant ``nbytes`` have
        moved, or fails with :class:`TransferInterrupted` if the transfer stops first.

        This is how real bytes are paced: a reference API receives a chunk over real HTTP, then
        waits until the simulated link has carried that many bytes.
        """
        event = simpy.Event(self.env)
        if self.triggered and not self.ok:
            event.fail(self._failure())
            event.defused = True
            return event
        self._waiters.append((nbytes, event))
        self._check_waiters()
        return event

    def _failure(self) -> Exception:
        error = self.value
        assert isinstance(error, Exception)
        return error

    def _check_waiters(self) -> None:
        if not self._waiters:
            return
        done = self.bytes_done
        if self.triggered:
            done = self.nbytes if self.ok else done
        keep = []
        for target, event in self._waiters:
            if done >= target or (self.triggered and self.ok):
                event.succeed(done)
            elif self.triggered:
                event.fail(self._failure())
                event.defused = True
            else:
                keep.append((target, event))
        self._waiters = keep
        if not keep or self.triggered or not self.in_data_phase or self.rate <= 0:
            return
        exact = self._done + self.rate * (self.env.now - self._settled_at)
        target = min(t for t, _ in keep)
        delay = max(0.0, (target - exact) / self.rate)
        self._wgen += 1
        gen = self._wgen
        self.link._at(delay if delay > 1e-9 else 1e-9,
                      lambda: self._check_waiters() if gen == self._wgen else None)

    def _settle(self) -> None:
        if self.in_data_phase:
            now = self.env.now
            self._done = min(float(self.nbytes), self._done + self.rate * (now - self._settled_at))
            self._settled_at = now


class Link:
    """The device's network path; one per device."""

    def __init__(self, env: simpy.Environment, trace: Trace, radios: dict[str, Radio],
                 on_activity: Callable[[], None]) -> None:
        self.env = env
        self._trace = trace
        self._radios = radios
        self._on_activity = on_activity
        self._flows: dict[str, list[Transfer]] = {name: [] for name in radios}
        self.bytes_moved = {Direction.UP: 0, Direction.DOWN: 0}

    def active_radio(self) -> Radio | None:
        """The first interface that is up, in :data:`RADIO_NAMES` order, or None."""
        for name in RADIO_NAMES:
            radio = self._radios.get(name)
            if radio is not None and radio.up:
                return radio
        return None

    def transfers(self) -> list[Transfer]:
        return [t for flows in self._flows.values() for t in flows]

    def transfer(self, nbytes: int, direction: Direction | str, *,
                 label: str | None = None) -> Transfer:
        """Start moving ``nbytes`` over the active radio; fails at once if there is none."""
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0, got {nbytes!r}")
        direction = Direction(direction)
        radio = self.active_radio()
        if radio is None:
            lost = Transfer(self, nbytes, direction, None, label)
            self._trace.emit(EventKind.TRANSFER_INTERRUPTED, label=label, nbytes=nbytes,
                             bytes_done=0, direction=direction.value, radio=None,
                             reason="no network")
            lost.fail(TransferInterrupted(nbytes, 0, None, "no network"))
            lost.defused = True
            return lost
        flow = Transfer(self, nbytes, direction, radio, label)
        flows = self._flows[radio.name]
        flows.append(flow)
        self._trace.emit(EventKind.TRANSFER_START, label=label, nbytes=nbytes,
                         direction=direction.value, radio=radio.name)
        if not radio.transferring:
            radio.transferring = True
            self._on_activity()
        self._at(self.data_start_delay(flow), lambda: self._enter_data_phase(flow))
        return flow

    def _at(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` after ``delay`` simulated seconds (a bare timer, no process)."""
        timer = self.env.timeout(delay)
        callbacks = timer.callbacks
        assert callbacks is not None
        callbacks.append(lambda _event: action())

    @staticmethod
    def _carrier(flow: Transfer) -> Radio:
        radio = flow.radio
        assert radio is not None, "only transfers with a radio are in flight"
        return radio

    @staticmethod
    def data_start_delay(flow: Transfer) -> float:
        return max(0.0, flow.data_start - flow.env.now)

    def radio_changed(self, radio: Radio, carrier_lost: bool) -> None:
        """Called by the device when a radio goes down or its figures change."""
        if carrier_lost:
            for flow in list(self._flows[radio.name]):
                self._interrupt(flow, "radio down")
        else:
            self._rebalance(radio, Direction.UP)
            self._rebalance(radio, Direction.DOWN)

    def _enter_data_phase(self, flow: Transfer) -> None:
        if flow.triggered:
            return
        flow.in_data_phase = True
        flow._settled_at = self.env.now
        self._rebalance(self._carrier(flow), flow.direction)

    def _rebalance(self, radio: Radio, direction: Direction) -> None:
        active = [f for f in self._flows[radio.name]
                  if f.direction is direction and f.in_data_phase]
        if not active:
            return
        share = radio.goodput_bps(direction) / len(active)
        for flow in active:
            flow._settle()
            flow.rate = share
            flow._check_waiters()
            flow._gen += 1
            remaining = flow.nbytes - flow._done
            delay = remaining / share if share > 0 else math.inf
            if delay == math.inf:
                continue
            self._at(max(0.0, delay), partial(self._complete, flow, flow._gen))

    def _complete(self, flow: Transfer, gen: int) -> None:
        if flow.triggered or gen != flow._gen:
            return
        radio = self._carrier(flow)
        flow._settle()
        flow._done = float(flow.nbytes)
        self._remove(flow)
        self.bytes_moved[flow.direction] += flow.nbytes
        self._trace.emit(EventKind.TRANSFER_DONE, label=flow.label, nbytes=flow.nbytes,
                         direction=flow.direction.value, radio=radio.name,
                         seconds=self.env.now - flow.started)
        flow.succeed(TransferResult(flow.nbytes, radio.name, flow.direction, flow.started,
                                    self.env.now))
        flow._check_waiters()
        self._rebalance(radio, flow.direction)

    def _finish_early(self, flow: Transfer) -> None:
        flow._settle()
        flow.nbytes = math.floor(flow._done + 1e-6)
        flow._gen += 1
        self._complete(flow, flow._gen)

    def _interrupt(self, flow: Transfer, reason: str) -> None:
        radio = self._carrier(flow)
        flow._settle()
        done = math.floor(flow._done + 1e-6)
        flow._done = float(done)
        self._remove(flow)
        self.bytes_moved[flow.direction] += done
        self._trace.emit(EventKind.TRANSFER_INTERRUPTED, label=flow.label, nbytes=flow.nbytes,
                         bytes_done=done, direction=flow.direction.value,
                         radio=radio.name, reason=reason)
        flow.fail(TransferInterrupted(flow.nbytes, done, radio.name, reason))
        flow.defused = True
        flow._check_waiters()
        self._rebalance(radio, flow.direction)

    def _remove(self, flow: Transfer) -> None:
        radio = self._carrier(flow)
        flows = self._flows[radio.name]
        flows.remove(flow)
        if not flows and radio.transferring:
            radio.transferring = False
            self._on_activity()
