"""What the device says about whether a sync may start or go on (research §2.3–2.7).

The device decides every failure of a sync: these read its conditions through its Sensors
port, as on hardware, and name the refusal (``start()``'s code) or the fault (a run's
ErrorType). Kept apart from the run so that the order and thresholds of the checks are read in
one place.
"""

from __future__ import annotations

from sim.cloud import Drive
from sim.device.device import Device
from sim.device.radio import NetworkType
from sim.ohos.cloudsync import constants as K
from sim.ohos.cloudsync.constants import ErrorType
from sim.ohos.cloudsync.fidelity import CloudSyncFidelity


def online(device: Device) -> bool:
    return device.sensors.network().internet


def battery_below(device: Device, limit: float) -> bool:
    """Discharging below ``limit`` percent (a device without a battery never is)."""
    battery = device.sensors.battery()
    return battery.percent is not None and not battery.charging \
        and battery.percent < limit


def start_refusal(device: Device, drive: Drive, bundle: str) -> int:
    """``start()``'s preconditions in the platform's order (research §2.3): 0 or a code."""
    if not online(device):
        return K.NETWORK_UNAVAILABLE
    if not drive.ready(bundle):
        return K.CLOUD_NOT_READY
    if battery_below(device, K.STOP_CAPACITY_LIMIT):
        return K.BATTERY_LOW
    return 0


def file_fault(device: Device, fidelity: CloudSyncFidelity) -> ErrorType | None:
    """What stops a run before its next file: no network, heat."""
    if not online(device):
        return ErrorType.NETWORK_UNAVAILABLE
    if fidelity.temperature_reported and device.sensors.temperature().overheated:
        return ErrorType.DEVICE_TEMPERATURE_TOO_HIGH
    return None


def battery_fault(device: Device, fidelity: CloudSyncFidelity) -> ErrorType | None:
    """What stops uploads before a batch of new records: the battery (research §2.4). A
    forced sync goes on down to 10 %."""
    if battery_below(device, K.STOP_CAPACITY_LIMIT):
        return ErrorType.BATTERY_LEVEL_LOW
    if battery_below(device, K.PAUSE_CAPACITY_LIMIT) and not fidelity.app_starts_forced:
        return ErrorType.BATTERY_LEVEL_WARNING if fidelity.battery_warning \
            else ErrorType.BATTERY_LEVEL_LOW
    return None


def uploads_allowed(device: Device, fidelity: CloudSyncFidelity, bundle: str,
                    gallery_mobile_data: bool) -> bool:
    """Whether the active network may carry the app's uploads: Wi-Fi always, Ethernet unless
    the profile wants Wi-Fi for every app, cellular for the Gallery only with its "use mobile
    data" setting."""
    net = device.sensors.network().active
    if net is NetworkType.WIFI:
        return True
    if fidelity.uploads_need_wifi_for_all:
        return False
    if net is NetworkType.ETHERNET:
        return True
    if bundle == K.GALLERY_BUNDLE:
        return gallery_mobile_data
    return True
