"""Shaping a real interface from a scenario's radio timeline (root, Linux).

The scenario runs first on the simulated device, in virtual time, and the active radio's
figures are read off its trace at every change: that is the link the device had, as a list of
:class:`LinkShape` steps. :class:`Shaper` then plays the steps in real time on an interface:

- rate: HTB on the interface's egress (uploads) and, through an IFB device the ingress is
  redirected to, on what it receives (downloads) — HTB because its rate changes in place;
- loss: an nftables rule dropping that share of packets *as they arrive* (a drop on the
  sender's side is reported back to TCP, which resends at once and shows no loss);
- link down and up: ``ip link set``;
- latency: netem where the kernel has it; where it has not, latency is reported as not
  applied rather than faked.

Everything is undone on exit, on an error and on SIGINT/SIGTERM.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sim.errors import ConfigError, ShapeError
from sim.scenario import build_run, load_scenario
from sim.trace import DeviceEvent, EventKind

NFT_TABLE = "syncrig_shape"
LINK_EVENTS = (EventKind.START, EventKind.RADIO, EventKind.RADIO_LINK, EventKind.POWER)


@dataclass(frozen=True, slots=True)
class LinkShape:
    """The link from ``t`` seconds on: the active radio and its figures, or no link."""

    t: float
    radio: str
    up: bool
    down_kbps: float = 0.0
    up_kbps: float = 0.0
    loss_pct: float = 0.0
    latency_ms: float = 0.0

    def same_link(self, other: LinkShape) -> bool:
        return replace(self, t=0.0) == replace(other, t=0.0)

    def describe(self) -> str:
        if not self.up:
            return "no network: link down"
        return (f"{self.radio}: down {self.down_kbps:g} kbit/s, up {self.up_kbps:g} kbit/s, "
                f"loss {self.loss_pct:g} %, latency {self.latency_ms:g} ms")


def link_timeline(scenario: str | Path, *, device: str | Path | None = None,
                  seed: int | None = None, until: float | None = None,
                  ) -> tuple[list[LinkShape], float]:
    """The scenario's link, step by step, from a run on the simulated device, and how long
    it lasts (``until``, else the scenario's duration)."""
    loaded, path = load_scenario(scenario)
    run = build_run(loaded, path, device=device, seed=seed)
    shapes: list[LinkShape] = []
    sensors = run.device.sensors

    def record(event: DeviceEvent | None = None) -> None:
        if event is not None and event.kind not in LINK_EVENTS:
            return
        net = sensors.network()
        radio = net.active_radio
        shape = LinkShape(run.device.env.now, "none", False) if radio is None else LinkShape(
            run.device.env.now, radio.name, True, radio.down_kbps or 0.0,
            radio.up_kbps or 0.0, radio.loss_pct or 0.0, radio.latency_ms or 0.0)
        if shapes and shapes[-1].same_link(shape):
            return
        if shapes and shapes[-1].t == shape.t:
            shapes[-1] = shape  # several changes at one instant: the last one holds
        else:
            shapes.append(shape)

    record()
    run.device.trace.subscribe(record)
    result = run.run(until=until)
    return shapes, result.until


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise ConfigError("shape", "", args[0], f"{args[0]} is not installed (iproute2, "
                          "nftables)") from None
    if check and done.returncode != 0:
        raise ShapeError(f"{' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done


class Shaper:
    """Applies :class:`LinkShape` s to ``dev``; use as a context manager to restore it."""

    def __init__(self, dev: str, ifb: str | None = None) -> None:
        self.dev = dev
        self.ifb = ifb or f"ifb-{dev}"[:15]
        self.netem = False
        self.notes: list[str] = []
        self._was_up = True
        self._applied: LinkShape | None = None

    def __enter__(self) -> Shaper:
        link = _run("ip", "-o", "link", "show", "dev", self.dev, check=False)
        if link.returncode != 0:
            raise ShapeError(f"no interface {self.dev!r}: {link.stderr.strip()}")
        self._was_up = ",UP" in link.stdout or "<UP" in link.stdout
        try:
            self._setup()
        except BaseException:
            self.restore()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def _setup(self) -> None:
        dev, ifb = self.dev, self.ifb
        # what a shaper killed outright (SIGKILL, power loss) may have left behind
        _run("ip", "link", "del", ifb, check=False)
        _run("nft", "delete", "table", "inet", NFT_TABLE, check=False)
        _run("tc", "qdisc", "replace", "dev", dev, "root", "handle", "1:", "htb", "default",
             "10")
        _run("tc", "class", "replace", "dev", dev, "parent", "1:", "classid", "1:10", "htb",
             "rate", "1000mbit")
        _run("ip", "link", "add", ifb, "type", "ifb")
        _run("ip", "link", "set", ifb, "up")
        _run("tc", "qdisc", "replace", "dev", ifb, "root", "handle", "1:", "htb", "default",
             "10")
        _run("tc", "class", "replace", "dev", ifb, "parent", "1:", "classid", "1:10", "htb",
             "rate", "1000mbit")
        _run("tc", "qdisc", "replace", "dev", dev, "handle", "ffff:", "ingress")
        _run("tc", "filter", "replace", "dev", dev, "parent", "ffff:", "protocol", "all",
             "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev",
             ifb)
        _run("nft", "add", "table", "inet", NFT_TABLE)
        _run("nft", "add", "chain", "inet", NFT_TABLE, "arrive",
             "{ type filter hook prerouting priority -300; }")

    def apply(self, shape: LinkShape) -> None:
        if shape.up:
            self._rate(self.dev, shape.up_kbps)
            self._rate(self.ifb, shape.down_kbps)
            self._loss(shape.loss_pct)
            if shape.latency_ms and "latency" not in " ".join(self.notes):
                self.notes.append(f"latency {shape.latency_ms:g} ms not applied: this kernel "
                                  "has no netem (rate and loss are)")
            _run("ip", "link", "set", self.dev, "up")
        else:
            _run("ip", "link", "set", self.dev, "down")
        self._applied = shape

    def _rate(self, dev: str, kbps: float) -> None:
        rate = f"{max(8, round(kbps))}kbit"
        _run("tc", "class", "change", "dev", dev, "parent", "1:", "classid", "1:10", "htb",
             "rate", rate, "ceil", rate)

    def _loss(self, pct: float) -> None:
        _run("nft", "flush", "chain", "inet", NFT_TABLE, "arrive")
        if pct > 0:
            _run("nft", "add", "rule", "inet", NFT_TABLE, "arrive", "iifname", self.dev,
                 "numgen", "random", "mod", "10000", "<", str(round(pct * 100)), "counter",
                 "drop")

    def restore(self) -> None:
        """Leave the interface as it was: no qdiscs, no IFB, no nft table, its link state."""
        _run("tc", "qdisc", "del", "dev", self.dev, "root", check=False)
        _run("tc", "qdisc", "del", "dev", self.dev, "ingress", check=False)
        _run("ip", "link", "del", self.ifb, check=False)
        _run("nft", "delete", "table", "inet", NFT_TABLE, check=False)
        _run("ip", "link", "set", self.dev, "up" if self._was_up else "down", check=False)


@contextmanager
def _terminated_as_interrupt() -> Iterator[None]:
    """SIGTERM ends a shaping run like Ctrl-C does: through the restore."""
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def play(shaper: Shaper, shapes: list[LinkShape], until: float, *, speed: float = 1.0,
         on_apply: Callable[[float, LinkShape], None] = lambda t, s: None,
         stop: threading.Event | None = None) -> None:
    """Apply each step at its time (scenario seconds / ``speed``) and hold the last one
    until ``until`` scenario seconds, or until ``stop`` is set (a bring-up that ends first;
    given one, this may run in a thread other than the main one)."""
    start = time.monotonic()
    stop = stop if stop is not None else threading.Event()
    with _terminated_as_interrupt() if threading.current_thread() is threading.main_thread() \
            else contextlib.nullcontext():
        for shape in shapes:
            if shape.t > until or stop.wait(max(0.0, start + shape.t / speed
                                                - time.monotonic())):
                return
            shaper.apply(shape)
            on_apply(time.monotonic() - start, shape)
        stop.wait(max(0.0, start + until / speed - time.monotonic()))
