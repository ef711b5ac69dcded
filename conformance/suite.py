"""The conformance suite: one campaign per API, each a machine, the world it runs in and how
its coverage becomes a matrix.

The registry every entry point reads (the command line, the pytest plugin, the mutant
catalogue, replay files), so a campaign is named and built the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.coverage import Coverage, combined, items_matrix, matrix
from conformance.machines import cloudsync_paths, twodevice
from conformance.machines.base import RecordedMachine
from conformance.machines.cloudsync import CloudSyncMachine
from conformance.machines.device import DeviceMachine
from conformance.machines.request import RequestMachine
from conformance.machines.synology import SynologyMachine
from conformance.worlds import Environment, cloudsync_world, device_world, nas_world, request_world
from sim.spec import ohos_cloudsync, ohos_request, synology


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


def _device_matrix(cov: Coverage) -> dict[str, Any]:
    return combined("device (cloudSync + request + SYNO.CloudSync)",
                    matrix(ohos_cloudsync.SPEC, cov, ohos_cloudsync.UNREACHABLE_BY_PROFILE[
                        DeviceMachine.fidelity.name]),
                    items_matrix("@ohos.request", ohos_request.DOCUMENT,
                                 ohos_request.documented_items(), cov,
                                 ohos_request.UNREACHABLE),
                    matrix(synology.SPEC, cov, synology.UNREACHABLE | DeviceMachine.unreachable))


PROFILE_CAMPAIGNS = {"documented": ("cloudSync", "request", "SYNO.CloudSync", "device",
                                    "cloudSync-paths", "cloudSync-twodevice"),
                     "ohos-4.1": ("cloudSync",), "ohos-head": ("cloudSync", "request"),
                     "ohos-3.2": ("request",),
                     "page-kb": ("request",)}
"""The fidelity profiles the machines predict, and the campaigns each applies to (a release
profile belongs to one API)."""

CAMPAIGNS: dict[str, Campaign] = {c.name: c for c in (
    Campaign("cloudSync", CloudSyncMachine, cloudsync_world,
             lambda cov: matrix(ohos_cloudsync.SPEC, cov, CloudSyncMachine.hardware_excused
                                | ohos_cloudsync.UNREACHABLE_BY_PROFILE[
                                    CloudSyncMachine.fidelity.name])),
    Campaign("request", RequestMachine, request_world,
             lambda cov: items_matrix("@ohos.request", ohos_request.DOCUMENT,
                                      ohos_request.documented_items(), cov,
                                      RequestMachine.hardware_excused
                                      | ohos_request.UNREACHABLE_BY_PROFILE[
                                          RequestMachine.request_fidelity.name])),
    Campaign("SYNO.CloudSync", SynologyMachine, nas_world,
             lambda cov: matrix(synology.SPEC, cov,
                                synology.UNREACHABLE | SynologyMachine.unreachable),
             examples_factor=0.5),
    Campaign("device", DeviceMachine, device_world, _device_matrix, examples_factor=0.5),
    # reference-only: the path attacks need the target's real folders, and two phones one
    # simulated account; few examples each, their tours do each hazard once
    Campaign("cloudSync-paths", cloudsync_paths.CloudSyncPathMachine,
             cloudsync_paths.campaign_world, cloudsync_paths.campaign_matrix,
             examples_factor=0.4),
    Campaign("cloudSync-twodevice", twodevice.TwoDeviceMachine, twodevice.campaign_world,
             twodevice.campaign_matrix),
)}

