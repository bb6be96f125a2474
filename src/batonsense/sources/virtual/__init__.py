"""Virtual BLE sensors: bumble peripherals on an in-process radio, no hardware needed."""

from batonsense.sources.virtual._packets import Fate, Packetizer, PacketRecord, SensorClock
from batonsense.sources.virtual.clock import VirtualTimeLoop
from batonsense.sources.virtual.radio import VirtualRadio
from batonsense.sources.virtual.sensor import VirtualSensor, advertising_data
from batonsense.sources.virtual.witmotion import VirtualWitMotion

__all__ = [
    "Fate",
    "PacketRecord",
    "Packetizer",
    "SensorClock",
    "VirtualRadio",
    "VirtualSensor",
    "VirtualTimeLoop",
    "VirtualWitMotion",
    "advertising_data",
]
