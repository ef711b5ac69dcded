"""The worlds campaigns run in: per the options, the target each machine tests (the reference
in-process, an rpc server, a NAS or the emulator from its seed, this machine's sensors) and the
servers it needs, bound to the machine for the campaign and undone after it.

A replay builds its world from the options saved with it, so it runs where the campaign ran.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from conformance.coverage import Coverage, documented
from conformance.machines.base import RecordedMachine
from conformance.machines.cloudsync import CloudSyncMachine
from conformance.machines.device import DeviceMachine
from conformance.machines.request import RequestMachine
from conformance.machines.synology import SynologyMachine
from conformance.options import (
    EMULATOR_PASSWORD,
    EMULATOR_USER,
    Options,
    nas_address,
    nas_verify,
    rpc_address,
)
from conformance.play import play
from conformance.targets.nas import MUTATING, NasTarget
from conformance.targets.reference import ReferenceCloudSync, ReferenceRequest
from conformance.targets.rpc import RpcTarget
from sim.device.profile import fixtures_dir
from sim.hil.device import HostDevice, HostWatcher
from sim.hil.sensors import HostSensors
from sim.ohos.cloudsync.fidelity import PROFILES as CLOUDSYNC_PROFILES
from sim.ohos.request.fidelity import PROFILES as REQUEST_PROFILES
from sim.servers import FixtureHTTPServer
from sim.spec import ohos_cloudsync, ohos_request, synology
from sim.synology import Nas, NasServer, load_seed

SEED_FILE = fixtures_dir() / "nas" / "default.yaml"

Environment = Callable[[Path, Options], contextlib.AbstractContextManager[None]]
"""A world: given a work folder and the options, the campaign's machine bound to its target
while the context lasts."""

HIL_LONGEST_WAIT_S = 5.0
"""On hardware a rule letting time pass waits real seconds: at most this many."""


@contextlib.contextmanager
def _hardware(work: Path, options: Options) -> Iterator[Callable[[], Any] | None]:
    """With ``--hil``: the machine's sensors, watched for the whole campaign, and a maker of
    a device that follows them (one per example, as simulated devices are)."""
    if not options.hil:
        yield None
        return
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
    return HostSensors().unavailable()


@contextlib.contextmanager
def cloudsync_world(work: Path, options: Options) -> Iterator[None]:
    saved = CloudSyncMachine.target_factory, CloudSyncMachine.fidelity
    saved_excused = CloudSyncMachine.hardware_excused
    fidelity = CLOUDSYNC_PROFILES[options.profile]
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
        rpc = rpc_address(options.rpc)
        CloudSyncMachine.target_factory = staticmethod(
            lambda: RpcTarget(rpc.host, rpc.port, "cloudSync", options.device, options.profile))
    else:
        CloudSyncMachine.target_factory = staticmethod(
            lambda: ReferenceCloudSync(options.device, fidelity))
    try:
        yield
    finally:
        CloudSyncMachine.target_factory, CloudSyncMachine.fidelity = saved


@contextlib.contextmanager
def request_world(work: Path, options: Options) -> Iterator[None]:
    www = work / "www"
    www.mkdir(parents=True, exist_ok=True)
    (www / "small.bin").write_bytes(random.Random(0).randbytes(300_000))
    (www / "big.bin").write_bytes(random.Random(1).randbytes(20_000_000))
    fidelity = REQUEST_PROFILES.get(options.profile, REQUEST_PROFILES["documented"])
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
            rpc = rpc_address(options.rpc)
            RequestMachine.request_target_factory = staticmethod(
                lambda: RpcTarget(rpc.host, rpc.port, "request", options.device,
                                  options.profile))
        try:
            yield
        finally:
            RequestMachine.server = None
            RequestMachine.request_fidelity = REQUEST_PROFILES["documented"]
            RequestMachine.request_target_factory = None
            RequestMachine.hardware_excused = {}


@contextlib.contextmanager
def device_world(work: Path, options: Options) -> Iterator[None]:
    # the device machine inherits both phone worlds' bindings (target, fidelity, server); the
    # NAS each example makes runs on that example's device
    with cloudsync_world(work, options), request_world(work, options):
        DeviceMachine.nas_seed = load_seed(SEED_FILE)
        DeviceMachine.nas_login = (EMULATOR_USER, EMULATOR_PASSWORD)
        DeviceMachine.unreachable = {}
        try:
            yield
        finally:
            DeviceMachine.nas_seed = None


@contextlib.contextmanager
def nas_world(work: Path, options: Options) -> Iterator[None]:
    excused: dict[Any, str] = {}
    if options.nas is not None:
        excused[("error", "CloudSync", "unlink_connection", "0")] = \
            "not run on a NAS in use: it deletes a cloud connection (the emulator runs it)"
    if options.read_only:
        excused |= {("error", "CloudSync", name, "0"): "a --read-only run makes no "
                    "changing call" for name in MUTATING}
        excused |= {t.item: "a --read-only run makes no changing call: no pause or resume "
                    "moves the tray status" for t in synology.TRANSITIONS}
    SynologyMachine.unreachable = excused
    if options.nas is not None:
        nas = nas_address(options.nas)
        SynologyMachine.nas_factory = staticmethod(lambda: NasTarget(
            nas.host, nas.port, options.nas_user, options.nas_password,
            read_only=options.read_only, secure=nas.secure, verify=nas_verify(options)))
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
