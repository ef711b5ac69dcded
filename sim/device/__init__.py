"""The simulated device and its ports."""

from sim.device.battery import Battery
from sim.device.device import Device, SimulatedControls, SimulatedSensors
from sim.device.link import Link, Transfer, TransferResult
from sim.device.ports import (
    BatteryReading,
    Controls,
    NetworkReading,
    RadioReading,
    Sensors,
    StorageReading,
    TemperatureReading,
)
from sim.device.presets import CELLULAR_PRESETS, CellularPreset
from sim.device.profile import DeviceProfile, load_profile
from sim.device.radio import Direction, NetworkType, Radio
from sim.device.storage import Reservation, Storage
from sim.device.thermal import Thermal

__all__ = [
    "CELLULAR_PRESETS",
    "Battery",
    "BatteryReading",
    "CellularPreset",
    "Controls",
    "Device",
    "DeviceProfile",
    "Direction",
    "Link",
    "NetworkReading",
    "NetworkType",
    "Radio",
    "RadioReading",
    "Reservation",
    "Sensors",
    "SimulatedControls",
    "SimulatedSensors",
    "Storage",
    "StorageReading",
    "TemperatureReading",
    "Thermal",
    "Transfer",
    "TransferResult",
    "load_profile",
]
