"""The conformance suite: one campaign per API, each a machine plus the world it runs in.

The command line (``syncrig conformance``, ``replay``, ``mutants``) and the pytest plugin all
run campaigns through :func:`run_campaign`, so a failure found anywhere carries the same
structured record and replay file, and a replay builds exactly the world the campaign had.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Flaky
from hypothesis.stateful import RULE_MARKER, run_state_machine_as_test

from conformance.coverage import Coverage, combined, documented, items_matrix, matrix
from conformance.machines import cloudsync_paths, twodevice
from conformance.machines.base import (
    DEVICE_EVENTS,
    BudgetSpent,
    ConformanceFailure,
    RecordedMachine,
    Statistics,
    Step,
)
from conformance.machines.cloudsync import CloudSyncMachine
from conformance.machines.request import RequestMachine
from conformance.machines.synology import SynologyMachine
from conformance.targets.nas import NasTarget
from conformance.targets.reference import ReferenceCloudSync, ReferenceRequest
from sim.device.profile import fixtures_dir
from sim.errors import ConfigError
from sim.servers import FixtureHTTPServer
from sim.spec import ohos_cloudsync, ohos_request, synology

REPLAY_FORMAT = "syncrig-replay/1"
SEED_FILE = fixtures_dir() / "nas" / "default.yaml"
EMULATOR_USER, EMULATOR_PASSWORD = "admin", "Admin-Pass-1"
"""The administrator ``fixtures/nas/default.yaml`` seeds the emulator with."""

HYPOTHESIS_PROFILES = {
    # name: (examples per campaign, derandomized, example database)
    "ci": (50, True, False),
    "explore": (500, False, True),
    "nightly": (5000, False, True),
}


@dataclass(frozen=True)
class Options:
    """How a run is made: the same options rebuild the same world for a replay."""

    examples: int = 50
    steps: int = 25
    device: str = "phone"
    hypothesis_profile: str = "ci"
    nas: str | None = None
    """``http://host:port`` of a SYNO.CloudSync endpoint; ``None``: the emulator."""
    profile: str = "documented"
    """The fidelity profile the target runs and the machines predict (cloudSync:
    ``documented`` or ``ohos-4.1``)."""
    rpc: str | None = None
    """``host:port`` of a syncrig-rpc/1 server for the cloudSync and request campaigns;
    ``None``: the references in-process."""
    nas_user: str = EMULATOR_USER
    nas_password: str = EMULATOR_PASSWORD
    read_only: bool = False
    timeout_s: float | None = None
    """Wall-clock limit of one campaign; past it the campaign ends as a harness error (a hung
    server or target), not as a finding about the implementation."""
    seed: int | None = None
    """Hypothesis's seed for the random examples of a profile that is not derandomized
    (``None`` there: one is drawn and recorded); derandomized profiles ignore it."""
    hil: bool = False
    """Hardware in the loop: the references run on this machine's sensors in real time
    (``device`` then only gives link figures), with no Controls."""
    duration_s: float | None = None
    """Time for a campaign's random examples (a bring-up's duration): no example starts
    after it, and the campaign ends with what it found — unlike ``timeout_s``."""
    poll_s: float = 1.0
    """Hardware in the loop: how often readings that change without a uevent are read."""

    def to_json(self) -> dict[str, Any]:
        # the password stays out of reports and replay files
        return {"examples": self.examples, "steps": self.steps, "device": self.device,
                "hypothesis_profile": self.hypothesis_profile, "nas": self.nas,
                "nas_user": self.nas_user, "read_only": self.read_only, "rpc": self.rpc,
                "profile": self.profile, "seed": self.seed, "timeout_s": self.timeout_s,
                "hil": self.hil, "duration_s": self.duration_s, "poll_s": self.poll_s}

    @property
    def derandomized(self) -> bool:
        return HYPOTHESIS_PROFILES.get(self.hypothesis_profile, HYPOTHESIS_PROFILES["ci"])[1]

    @property
    def target(self) -> str:
        """The target as the command line names it."""
        return f"nas={self.nas}" if self.nas else f"rpc={self.rpc}" if self.rpc else \
            "reference --hil" if self.hil else "reference"

    @classmethod
    def for_profile(cls, name: str, **overrides: Any) -> Options:
        if name not in HYPOTHESIS_PROFILES:
            raise ConfigError("--hypothesis-profile", "", name,
                              f"must be one of {', '.join(HYPOTHESIS_PROFILES)}")
        examples = HYPOTHESIS_PROFILES[name][0]
        return cls(**{"examples": examples, "hypothesis_profile": name, **overrides})


Environment = Callable[[Path, Options], contextlib.AbstractContextManager[None]]


@dataclass(frozen=True)
class Campaign:
    """One API's machine, the world it needs, and how its coverage becomes a matrix."""

    name: str
    machine: type[RecordedMachine]
    environment: Environment
    matrix: Callable[[Coverage], dict[str, Any]]
    examples_factor: float = 1.0
    """SYNO calls are HTTP round trips with a login each example: half the examples."""
    gate: bool = True
    """A documented item neither reached nor excused fails the run. Off while a machine does
    not yet drive every documented item; its report says so."""


HIL_LONGEST_WAIT_S = 5.0
"""On hardware a rule letting time pass waits real seconds: at most this many."""


@contextlib.contextmanager
def _hardware(work: Path, options: Options) -> Iterator[Callable[[], Any] | None]:
    """With ``--hil``: the machine's sensors, watched for the whole campaign, and a maker of
    a device that follows them (one per example, as simulated devices are)."""
    if not options.hil:
        yield None
        return
    from sim.hil.device import HostDevice, HostWatcher
    from sim.hil.sensors import HostSensors

    work.mkdir(parents=True, exist_ok=True)
    sensors = HostSensors(work)
    saved = RecordedMachine.longest_wait_s
    with HostWatcher(sensors, poll_s=options.poll_s) as watcher:
        RecordedMachine.longest_wait_s = HIL_LONGEST_WAIT_S
        try:
            yield lambda: HostDevice(sensors, watcher, options.device)
        finally:
            RecordedMachine.longest_wait_s = saved


def hardware_unreachable(machine: type[RecordedMachine], spec_items: set[Any],
                         make: Callable[[], Any], attribute: str) -> dict[Any, str]:
    """The items a machine's tour reaches on the simulated reference only through rules
    that change the device's conditions: played again with those rules left out (the
    machine's factory ``attribute`` gives a target, or a device, that has no Controls), what it
    no longer reaches cannot be reached on hardware."""
    saved_factory, saved_coverage = getattr(machine, attribute), machine.coverage

    def without_controls() -> Any:
        made = make()
        if hasattr(made, "has_controls"):
            made.has_controls = False
        else:
            made.controls = None
        return made

    setattr(machine, attribute, staticmethod(without_controls))
    machine.coverage = Coverage()
    try:
        play(machine, machine.tour(), skip_inapplicable=True)
        reached = machine.coverage.reached
    finally:
        setattr(machine, attribute, saved_factory)
        machine.coverage = saved_coverage
    missing = _missing_sensors()
    excused = {}
    for item in spec_items - reached:
        reason = "not reachable on hardware: only rules that change the device's conditions " \
                 "reach it"
        sensor = _sensor_of(item)
        if sensor in missing:
            reason += f"; and this machine has no {sensor} sensor ({missing[sensor]})"
        excused[item] = reason
    return excused


def _sensor_of(item: Any) -> str | None:
    """The sensor a documented item is about, if any (battery or temperature)."""
    text = " ".join(item).upper()
    if "BATTERY" in text or item[3] == str(ohos_cloudsync.BATTERY_LOW):
        return "battery"
    if "TEMPERATURE" in text:
        return "temperature"
    return None


def _missing_sensors() -> dict[str, str]:
    from sim.hil.sensors import HostSensors

    return HostSensors().unavailable()


@contextlib.contextmanager
def _cloudsync_world(work: Path, options: Options) -> Iterator[None]:
    from sim.ohos.cloudsync.fidelity import PROFILES

    saved = CloudSyncMachine.target_factory, CloudSyncMachine.fidelity
    saved_excused = CloudSyncMachine.hardware_excused
    fidelity = PROFILES[options.profile]
    CloudSyncMachine.fidelity = fidelity
    if options.hil:
        CloudSyncMachine.hardware_excused = hardware_unreachable(
            CloudSyncMachine, documented(ohos_cloudsync.SPEC),
            lambda: ReferenceCloudSync(options.device, fidelity), "target_factory")
        with _hardware(work, options) as host_device:
            assert host_device is not None
            CloudSyncMachine.target_factory = staticmethod(
                lambda: ReferenceCloudSync(options.device, fidelity, device=host_device()))
            try:
                yield
            finally:
                CloudSyncMachine.target_factory, CloudSyncMachine.fidelity = saved
                CloudSyncMachine.hardware_excused = saved_excused
        return
    if options.rpc is not None:
        from conformance.targets.rpc import RpcTarget

        host, port = rpc_address(options.rpc)
        CloudSyncMachine.target_factory = staticmethod(
            lambda: RpcTarget(host, port, "cloudSync", options.device, options.profile))
    else:
        CloudSyncMachine.target_factory = staticmethod(
            lambda: ReferenceCloudSync(options.device, fidelity))
    try:
        yield
    finally:
        CloudSyncMachine.target_factory, CloudSyncMachine.fidelity = saved


@contextlib.contextmanager
def _request_world(work: Path, options: Options) -> Iterator[None]:
    www = work / "www"
    www.mkdir(parents=True, exist_ok=True)
    (www / "small.bin").write_bytes(random.Random(0).randbytes(300_000))
    (www / "big.bin").write_bytes(random.Random(1).randbytes(20_000_000))
    from sim.ohos.request.fidelity import PROFILES

    fidelity = PROFILES.get(options.profile, PROFILES["documented"])
    with FixtureHTTPServer(www) as server, _hardware(work, options) as host_device:
        RequestMachine.server = server
        RequestMachine.device_profile = options.device
        RequestMachine.request_fidelity = fidelity
        if host_device is not None:
            RequestMachine.hardware_excused = hardware_unreachable(
                RequestMachine, ohos_request.documented_items(),
                lambda: ReferenceRequest(options.device, fidelity), "request_target_factory")
            RequestMachine.request_target_factory = staticmethod(
                lambda: ReferenceRequest(options.device, fidelity, device=host_device()))
        elif options.rpc is not None:
            from conformance.targets.rpc import RpcTarget

            host, port = rpc_address(options.rpc)
            RequestMachine.request_target_factory = staticmethod(
                lambda: RpcTarget(host, port, "request", options.device, options.profile))
        try:
            yield
        finally:
            RequestMachine.server = None
            RequestMachine.request_fidelity = PROFILES["documented"]
            RequestMachine.request_target_factory = None
            RequestMachine.hardware_excused = {}


@contextlib.contextmanager
def _device_world(work: Path, options: Options) -> Iterator[None]:
    # the device machine inherits both phone worlds' bindings (target, fidelity, server); the
    # NAS each example makes runs on that example's device
    from conformance.machines.device import DeviceMachine
    from sim.synology import load_seed

    with _cloudsync_world(work, options), _request_world(work, options):
        DeviceMachine.nas_seed = load_seed(SEED_FILE)
        DeviceMachine.nas_login = (EMULATOR_USER, EMULATOR_PASSWORD)
        DeviceMachine.unreachable = {}
        try:
            yield
        finally:
            DeviceMachine.nas_seed = None


def _device_matrix(cov: Coverage) -> dict[str, Any]:
    from conformance.machines.device import DeviceMachine

    return combined("device (cloudSync + request + SYNO.CloudSync)",
                    matrix(ohos_cloudsync.SPEC, cov, ohos_cloudsync.UNREACHABLE_BY_PROFILE[
                        DeviceMachine.fidelity.name]),
                    items_matrix("@ohos.request", ohos_request.DOCUMENT,
                                 ohos_request.documented_items(), cov,
                                 ohos_request.UNREACHABLE),
                    matrix(synology.SPEC, cov, DeviceMachine.unreachable))


@contextlib.contextmanager
def _nas_world(work: Path, options: Options) -> Iterator[None]:
    from sim.synology import Nas, NasServer, load_seed

    excused: dict[Any, str] = {}
    if options.nas is not None:
        excused[("error", "CloudSync", "unlink_connection", "0")] = \
            "not run on a NAS in use: it deletes a cloud connection (the emulator runs it)"
    if options.read_only:
        from conformance.targets.nas import MUTATING

        excused |= {("error", "CloudSync", name, "0"): "a --read-only run makes no "
                    "changing call" for name in MUTATING}
    SynologyMachine.unreachable = excused
    if options.nas is not None:
        host, port = _host_port(options.nas)
        SynologyMachine.nas_factory = staticmethod(lambda: NasTarget(
            host, port, options.nas_user, options.nas_password, read_only=options.read_only))
        try:
            yield
        finally:
            SynologyMachine.nas_factory = None
        return
    seed = load_seed(SEED_FILE)
    work.mkdir(parents=True, exist_ok=True)
    with _hardware(work, options) as host_device:

        def fresh() -> NasTarget:
            """An emulator from the seed for each example, so a shortest trace replays on
            the state it was found on; on hardware it runs on this machine's device, its
            clock the wall clock."""
            folder = Path(tempfile.mkdtemp(prefix="nas-", dir=work))
            nas = Nas(folder, seed, device=host_device() if host_device is not None else None)
            server = NasServer(nas, test_control=host_device is None)

            def closed() -> None:
                try:
                    server.stop()
                finally:
                    nas.store.close()
                    close = getattr(nas.device, "close", None)
                    if close is not None:
                        close()
                    shutil.rmtree(folder, ignore_errors=True)
            try:
                server.start()
                return NasTarget("127.0.0.1", server.port, EMULATOR_USER, EMULATOR_PASSWORD,
                                 read_only=options.read_only, disposable=True,
                                 test_clock=host_device is None, on_close=closed)
            except BaseException:
                closed()
                raise

        SynologyMachine.nas_factory = staticmethod(fresh)
        try:
            yield
        finally:
            SynologyMachine.nas_factory = None


def rpc_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` of an rpc target."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("--target", "rpc", text, "must be rpc=HOST:PORT")
    return host, int(port)


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.port is None:
        raise ConfigError("--target", "nas", url, "must be nas=http://HOST:PORT")
    return parts.hostname, parts.port


def _device_machine() -> type[RecordedMachine]:
    from conformance.machines.device import DeviceMachine

    return DeviceMachine


PROFILE_CAMPAIGNS = {"documented": ("cloudSync", "request", "SYNO.CloudSync", "device",
                                    "cloudSync-paths", "cloudSync-twodevice"),
                     "ohos-4.1": ("cloudSync",), "ohos-3.2": ("request",),
                     "page-kb": ("request",)}
"""The fidelity profiles the machines predict, and the campaigns each applies to (a release
profile belongs to one API)."""

CAMPAIGNS: dict[str, Campaign] = {c.name: c for c in (
    Campaign("cloudSync", CloudSyncMachine, _cloudsync_world,
             lambda cov: matrix(ohos_cloudsync.SPEC, cov, CloudSyncMachine.hardware_excused
                                | ohos_cloudsync.UNREACHABLE_BY_PROFILE[
                                    CloudSyncMachine.fidelity.name])),
    Campaign("request", RequestMachine, _request_world,
             lambda cov: items_matrix("@ohos.request", ohos_request.DOCUMENT,
                                      ohos_request.documented_items(), cov,
                                      RequestMachine.hardware_excused
                                      | ohos_request.UNREACHABLE_BY_PROFILE[
                                          RequestMachine.request_fidelity.name])),
    Campaign("SYNO.CloudSync", SynologyMachine, _nas_world,
             lambda cov: matrix(synology.SPEC, cov, SynologyMachine.unreachable),
             examples_factor=0.5),
    Campaign("device", _device_machine(), _device_world, _device_matrix, examples_factor=0.5),
    # reference-only: the path attacks need the target's real folders, and two phones one
    # simulated account; few examples each, their tours do each hazard once
    Campaign("cloudSync-paths", cloudsync_paths.CloudSyncPathMachine,
             cloudsync_paths.campaign_world, cloudsync_paths.campaign_matrix,
             examples_factor=0.4),
    Campaign("cloudSync-twodevice", twodevice.TwoDeviceMachine, twodevice.campaign_world,
             twodevice.campaign_matrix),
)}


@dataclass
class Outcome:
    """What one campaign found: its matrix, and its failure if it had one."""

    campaign: str
    matrix: dict[str, Any]
    seconds: float
    failure: dict[str, Any] | None = None
    steps: list[Step] = field(default_factory=list)
    replay: Path | None = None
    gate: bool = True
    statistics: dict[str, Any] = field(default_factory=dict)
    journal: list[tuple[Step, list[Any]]] = field(default_factory=list)
    """The tour's steps with the documented items each reached (or, after a failure, the
    shrunk trace's)."""
    evidence: dict[str, Any] = field(default_factory=dict)
    """A failure's replayed evidence: ``timeline`` (PNG path), ``exchanges`` (HTTP requests
    and responses of an HTTP target)."""

    @property
    def ok(self) -> bool:
        """No broken rule, and (where the campaign gates on it) no documented item left
        unreached without a reason."""
        return self.failure is None and not (self.gate and self.matrix["unreached"])

    def to_json(self, base: Path | None = None) -> dict[str, Any]:
        """As JSON; paths relative to ``base`` (the run directory), so a run directory can be
        moved and read on another machine."""

        def where(path: Any) -> Any:
            if not isinstance(path, Path):
                return path
            if base is not None and path.is_relative_to(base):
                return path.relative_to(base).as_posix()
            return str(path)

        return {"campaign": self.campaign, "ok": self.ok, "coverage_gate": self.gate,
                "seconds": round(self.seconds, 3),
                "failure": self.failure, "steps": [s.to_json() for s in self.steps],
                "replay": where(self.replay), "statistics": self.statistics,
                "journal": [{"step": step.to_json(), "device_event": step.rule in DEVICE_EVENTS,
                             "reached": [list(i) for i in items]}
                            for step, items in self.journal],
                "evidence": {k: where(v) for k, v in self.evidence.items()}}

    def describe(self) -> str:
        """The failure as a person reads it: the rule, then the shrunk steps."""
        if self.failure is None:
            if self.ok:
                return f"{self.campaign}: conforms"
            items = "; ".join(" ".join(i).strip() for i in self.matrix["unreached"])
            return f"{self.campaign}: documented items not reached: {items}"
        lines = [f"{self.campaign}: {self.failure['message']}"]
        lines += [f"  {i}. {step}" for i, step in enumerate(self.steps, 1)]
        if self.replay is not None:
            lines.append(f"  replay: syncrig replay {self.replay}")
        return "\n".join(lines)


PRODUCT_KINDS = ("violation", "crash")
"""Failure kinds that mean the implementation failed; the others (harness, flaky) mean the
run could not judge it."""
_ROOT = Path(__file__).resolve().parents[1]
IMPLEMENTATIONS = ("sim/ohos/", "sim/synology/")
"""Where the reference implementations live: an exception raised there is a crash of the
implementation under test; one raised in the simulator, the machines or a client library is
the harness's own error."""


def _failure(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, ConformanceFailure):
        return {"kind": "violation", "message": str(exc), **exc.to_json()}
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    if _implementation_raised(exc, frames):
        # the documents promise an error code, never a traceback
        return {"kind": "crash", "message": f"{type(exc).__name__}: {exc}", "rule":
                "no call ends in an exception the documents do not list", "section": "",
                "expected": "a documented result",
                "observed": f"{type(exc).__name__} at {where}"}
    return {"kind": "harness", "message": f"{type(exc).__name__}: {exc}", "rule":
            "the harness runs (device simulator, servers, clients, machines)", "section": "",
            "expected": "no harness error", "observed": f"{type(exc).__name__} at {where}"}


def _implementation_raised(exc: BaseException, frames: traceback.StackSummary) -> bool:
    from conformance.rpc import RemoteError

    if isinstance(exc, RemoteError):
        return True  # raised by the implementation behind an rpc target
    for frame in reversed(frames):  # the innermost frame of this project decides
        try:
            rel = Path(frame.filename).resolve().relative_to(_ROOT).as_posix()
        except ValueError:
            continue
        return rel.startswith(IMPLEMENTATIONS)
    return False


def _settings(options: Options, campaign: Campaign) -> settings:
    examples = max(1, round(options.examples * campaign.examples_factor))
    _, derandomize, database = HYPOTHESIS_PROFILES.get(options.hypothesis_profile,
                                                       HYPOTHESIS_PROFILES["ci"])
    extra: dict[str, Any] = {} if database else {"database": None}
    return settings(max_examples=examples, stateful_step_count=options.steps, deadline=None,
                    derandomize=derandomize, report_multiple_bugs=False,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # see minimize()
                    suppress_health_check=[HealthCheck.too_slow],
                    **extra)


def run_campaign(campaign: Campaign, options: Options, work: Path,
                 replays: Path | None = None) -> Outcome:
    """Run one campaign; on failure keep the shortest steps that still break the same rule
    and, given ``replays``, save them there as a replay file with the evidence of one more
    replay of them (the device timeline as PNG, an HTTP target's exchanges)."""
    machine = campaign.machine
    machine.coverage = Coverage()
    machine.last_steps = []
    RecordedMachine.recent.clear()
    RecordedMachine.failing = False
    statistics = Statistics()
    started = time.perf_counter()
    failure: dict[str, Any] | None = None
    steps: list[Step] = []
    journal: list[tuple[Step, list[Any]]] = []
    evidence: dict[str, Any] = {}
    table: dict[str, Any] | None = None
    try:
        with _time_limit(options.timeout_s), campaign.environment(work, options), \
                _seeded(machine, options):
            machine.statistics = statistics
            if options.duration_s is not None:
                RecordedMachine.until = time.monotonic() + options.duration_s
            try:
                run_state_machine_as_test(  # type: ignore[no-untyped-call]
                    machine, settings=_settings(options, campaign))
            except BudgetSpent:
                pass  # the duration is over: the examples so far are the campaign's
            except Flaky as exc:
                failure = {"kind": "flaky", "message": f"not reproducible: {exc}", "rule": "",
                           "section": "", "expected": "", "observed": ""}
            except Exception as exc:
                failure = _failure(exc)
            finally:
                statistics.close()
                machine.statistics = None
                RecordedMachine.until = None
            candidates = [list(machine.last_steps)]
            if failure is not None and failure["kind"] == "flaky":
                # Hypothesis's own re-run did not fail alike (the target keeps state between
                # examples): a recent example that fails when replayed on its own still is a
                # finding, with a trace that reproduces
                for recent in list(reversed(RecordedMachine.recent)):
                    try:
                        again = play(machine, list(recent))
                    except _Inapplicable:  # the example's steps need the state it began in
                        continue
                    if again is not None:
                        failure, candidates = again, [list(recent)]
                        break
            tour = machine.tour()
            inapplicable_skipped = failure is None
            if failure is None:
                machine.coverage.journal = journal
                try:
                    failure = play(machine, tour, skip_inapplicable=True)
                finally:
                    machine.coverage.journal = None
                if failure is not None:
                    steps = minimize(machine, tour, failure, skip_inapplicable=True)
            elif failure["kind"] != "flaky":
                steps = minimize(machine, candidates[0], failure)
            if failure is not None and failure["kind"] != "flaky":
                journal, evidence = _evidence(campaign, steps, replays, inapplicable_skipped)
            table = campaign.matrix(machine.coverage)  # in the world: excuses depend on it
    except CampaignTimeout as exc:
        failure = {"kind": "harness", "message": str(exc), "rule": "the campaign ends within "
                   "its time limit", "section": "", "expected": f"< {options.timeout_s} s",
                   "observed": "still running"}
        steps = list(machine.last_steps)
    except Exception as exc:  # the world itself failed: a server that did not start, say
        failure = _failure(exc)
        failure["kind"] = "harness"
    if table is None:
        table = campaign.matrix(machine.coverage)
    outcome = Outcome(campaign.name, table, time.perf_counter() - started, failure, steps,
                      gate=campaign.gate, journal=journal, evidence=evidence,
                      statistics=statistics.to_json()
                      | {"seed": None if options.derandomized else options.seed})
    if failure is not None and replays is not None:
        outcome.replay = save_replay(replays / f"{_slug(campaign.name)}.json", outcome, options)
    return outcome


class CampaignTimeout(BaseException):
    """A campaign past its time limit. Not an ``Exception``: Hypothesis must not take it for
    a failing example and replay it."""


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`CampaignTimeout` in this thread after ``seconds`` (main thread only:
    it is a SIGALRM timer)."""
    import signal
    import threading

    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise CampaignTimeout(f"timeout: the campaign ran past {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _seeded(machine: type[RecordedMachine], options: Options) -> Iterator[None]:
    """Hypothesis's ``@seed`` for the campaign's random examples (it reads the attribute
    from the machine class); derandomized profiles need none."""
    if options.derandomized or options.seed is None:
        yield
        return
    machine._hypothesis_internal_use_seed = options.seed
    try:
        yield
    finally:
        del machine._hypothesis_internal_use_seed  # type: ignore[attr-defined]


def _evidence(campaign: Campaign, steps: list[Step], folder: Path | None,
              skip_inapplicable: bool) -> tuple[list[tuple[Step, list[Any]]], dict[str, Any]]:
    """Replay the shrunk steps once more, recording which documented items each reached,
    the HTTP exchanges of an HTTP target and — given a folder — the device timeline PNG."""
    machine = campaign.machine
    journal: list[tuple[Step, list[Any]]] = []
    evidence: dict[str, Any] = {}

    def collect(m: RecordedMachine) -> None:
        exchanges = getattr(getattr(m, "nas", None), "exchanges", None)
        if exchanges:
            evidence["exchanges"] = exchanges[-40:]  # the last ones lead to the failure
        device = getattr(m, "device", None)
        if folder is not None and device is not None:
            from sim.plot import plot_trace

            png = folder / f"{_slug(campaign.name)}-timeline.png"
            folder.mkdir(parents=True, exist_ok=True)
            evidence["timeline"] = plot_trace(device.trace.timeline(), png,
                                              title=f"{campaign.name}: shortest failing trace")

    saved = machine.coverage
    machine.coverage = Coverage(journal=journal)
    NasTarget.exchanges_kept = True
    try:
        play(machine, steps, after=collect, skip_inapplicable=skip_inapplicable)
    except _Inapplicable:
        pass
    finally:
        NasTarget.exchanges_kept = False
        machine.coverage = saved
    return journal, evidence


class _Inapplicable(Exception):
    """A step whose rule's precondition does not hold where a shorter trace puts it."""


def play(machine_class: type[RecordedMachine], steps: list[Step],
         after: Callable[[RecordedMachine], None] | None = None,
         skip_inapplicable: bool = False) -> dict[str, Any] | None:
    """Run ``steps`` on a fresh machine as Hypothesis would (invariants after each step,
    teardown at the end); the failure they produce, or ``None``. ``after`` sees the machine
    once it is torn down (to plot its device, say)."""
    machine = machine_class()
    observed: dict[str, Any] | None = None
    try:
        _check_invariants(machine)
        for step in steps:
            bound = getattr(machine, step.rule)
            marker = getattr(bound, RULE_MARKER)
            if not all(pre(machine) for pre in marker.preconditions):
                if skip_inapplicable:
                    continue
                raise _Inapplicable(step.rule)
            machine.coverage.begin(step)
            bound(**step.args)
            _check_invariants(machine)
    except _Inapplicable:
        raise
    except Exception as exc:
        observed = _failure(exc)
    finally:
        try:
            machine.teardown()  # type: ignore[no-untyped-call]
        except Exception as exc:
            observed = observed or _failure(exc)
    if after is not None:
        after(machine)
    return observed


def _same(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    return a is not None and b is not None and (a["kind"], a["rule"]) == (b["kind"], b["rule"])


def minimize(machine_class: type[RecordedMachine], steps: list[Step],
             failure: dict[str, Any], budget: int = 400,
             skip_inapplicable: bool = False) -> list[Step]:
    """The shortest sub-trace of ``steps`` found that breaks the same rule: chunks, then
    single steps, are dropped while the failure stays (delta debugging; at most ``budget``
    replays). Hypothesis's own shrinker is off: on a state machine it spends minutes where
    this spends a second, and this result is checked to replay."""
    try:
        if not _same(play(machine_class, steps, skip_inapplicable=skip_inapplicable), failure):
            return steps  # not deterministic enough to shrink: keep what failed
    except _Inapplicable:
        return steps
    runs = 0
    size = max(1, len(steps) // 2)
    while runs < budget:
        changed = False
        i = len(steps) - size
        while i >= 0 and runs < budget:
            candidate = steps[:i] + steps[i + size:]
            runs += 1
            try:
                kept = _same(play(machine_class, candidate,
                                  skip_inapplicable=skip_inapplicable), failure)
            except _Inapplicable:
                kept = False
            if kept:
                steps, changed = candidate, True
            i = min(i, len(steps)) - size
        if size > 1:
            size = max(1, size // 2)
        elif not changed:
            break
    return steps


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-").lower()


def save_replay(path: Path, outcome: Outcome, options: Options) -> Path:
    """A replay file: the campaign, the options that built its world, the broken rule and
    the shrunk steps — everything ``syncrig replay`` needs, nothing from this machine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "format": REPLAY_FORMAT, "campaign": outcome.campaign, "options": options.to_json(),
        "failure": outcome.failure, "steps": [s.to_json() for s in outcome.steps]},
        indent=2) + "\n")
    return path


@dataclass
class Replay:
    """A replayed trace: whether it broke the same rule as when it was saved."""

    campaign: str
    recorded: dict[str, Any] | None
    observed: dict[str, Any] | None
    steps: list[Step]
    plot: Path | None = None

    @property
    def reproduced(self) -> bool:
        if self.recorded is None or self.observed is None:
            return self.recorded is self.observed
        return (self.recorded.get("kind"), self.recorded.get("rule")) == \
            (self.observed.get("kind"), self.observed.get("rule"))


def load_replay(path: Path) -> tuple[Campaign, Options, dict[str, Any] | None, list[Step]]:
    """Read and check a replay file; bad files raise :class:`ConfigError` naming the field."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(str(path), "", "", exc.strerror or "cannot be read") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(str(path), "", "", f"is not JSON ({exc.msg}, line {exc.lineno})") \
            from None
    if not isinstance(data, dict) or data.get("format") != REPLAY_FORMAT:
        raise ConfigError(str(path), "format", data.get("format") if isinstance(data, dict)
                          else data, f"must be {REPLAY_FORMAT!r}")
    if data.get("campaign") not in CAMPAIGNS:
        raise ConfigError(str(path), "campaign", data.get("campaign"),
                          f"must be one of {', '.join(CAMPAIGNS)}")
    known = set(Options.__dataclass_fields__)
    raw = data.get("options", {})
    if not isinstance(raw, dict) or set(raw) - known:
        raise ConfigError(str(path), "options", raw, f"keys must be among {sorted(known)}")
    steps_raw = data.get("steps")
    if not isinstance(steps_raw, list):
        raise ConfigError(str(path), "steps", steps_raw, "must be a list")
    campaign = CAMPAIGNS[data["campaign"]]
    options = _checked_options(path, data["campaign"], raw)
    steps = []
    for i, item in enumerate(steps_raw):
        if not isinstance(item, dict) or not callable(getattr(campaign.machine,
                                                              str(item.get("rule")), None)):
            raise ConfigError(str(path), f"steps[{i}].rule", item.get("rule") if
                              isinstance(item, dict) else item,
                              f"is not a rule of {campaign.machine.__name__}")
        steps.append(Step.from_json(item))
    return campaign, options, data.get("failure"), steps


def _checked_options(path: Path, campaign: str, raw: dict[str, Any]) -> Options:
    """A replay file's options, each value checked as the command line checks it: a bad one
    names its field instead of failing deep inside the world it would build."""
    from sim.device import load_profile

    options = replace(Options(), **raw)
    for name in ("examples", "steps"):
        value = getattr(options, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(str(path), f"options.{name}", value, "must be an integer >= 1")
    if options.hypothesis_profile not in HYPOTHESIS_PROFILES:
        raise ConfigError(str(path), "options.hypothesis_profile", options.hypothesis_profile,
                          f"must be one of {', '.join(HYPOTHESIS_PROFILES)}")
    if campaign not in PROFILE_CAMPAIGNS.get(options.profile, ()):
        raise ConfigError(str(path), "options.profile", options.profile, "must be a profile "
                          f"of the {campaign} campaign")
    if not isinstance(options.device, str):
        raise ConfigError(str(path), "options.device", options.device, "must be a name")
    load_profile(options.device)
    if not isinstance(options.read_only, bool):
        raise ConfigError(str(path), "options.read_only", options.read_only, "must be a boolean")
    if options.nas is not None:
        _host_port(str(options.nas))
    if options.rpc is not None:
        rpc_address(str(options.rpc))
    return options


def replay(path: Path, plot: Path | None = None) -> Replay:
    """Re-run a replay file's steps in order, checking the invariants after each, as the
    campaign did; ``plot`` renders the device timeline the steps produced."""
    campaign, options, recorded, steps = load_replay(path)
    plotted: list[Path] = []

    def draw(machine: RecordedMachine) -> None:
        device = getattr(machine, "device", None)
        if plot is not None and device is not None:
            from sim.plot import plot_trace

            plotted.append(plot_trace(device.trace.timeline(), plot,
                                      title=f"replay of {path.name}: {campaign.name}"))

    work = Path(tempfile.mkdtemp(prefix="syncrig-replay-"))
    try:
        with campaign.environment(work, options):
            try:
                observed = play(campaign.machine, steps, after=draw)
            except _Inapplicable as exc:
                raise ConfigError(str(path), "steps", str(exc), "a step's precondition does "
                                  "not hold: the file was edited or is for another version") \
                    from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Replay(campaign.name, recorded, observed, steps, plotted[0] if plotted else None)


def _check_invariants(machine: RecordedMachine) -> None:
    for inv in machine.setup_state().invariants:  # type: ignore[no-untyped-call]
        if all(pre(machine) for pre in inv.preconditions):
            inv.function(machine)
