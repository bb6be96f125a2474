"""One pipeline, many sources: notifications → decode → clock sync → sample blocks.

Live (BLE via `sources.ble.Ingestor`, real or virtual) and replay (a raw file,
`sources.raw`) feed the same `Pipeline`: per sensor, `SensorPipeline` decodes
each notification, counts sequence gaps and reboots, maps the sensor's
timestamps onto the host monotonic clock (`sync.ClockMapper`) and emits
`SensorStream` blocks to consumers — the live `ExchangeDetector`
(`LiveDetector`) and a `BlockRecorder` (for export to the recording CSV).
Sensors without timestamps (WitMotion) are routed (`Route`) to a
`DejitteredSensorPipeline` (receive times de-jittered, ~1 connection
interval).  `SensorStats` is each sensor's health (loss, decode errors, reboots, offset,
drift, rate, battery, last seen).
"""

from ._consumers import BlockRecorder, LiveDetector
from ._pipeline import BlockSink, Notification, Pipeline
from ._replay import ReplayResult, read_aliases, read_routes, replay_raw
from ._sensor import Decoder, SensorPipeline
from ._stats import SensorStats
from ._untimed import TIMING_DEJITTERED, DejitteredSensorPipeline, Route

__all__ = [
    "TIMING_DEJITTERED",
    "BlockRecorder",
    "BlockSink",
    "Decoder",
    "DejitteredSensorPipeline",
    "LiveDetector",
    "Notification",
    "Pipeline",
    "ReplayResult",
    "Route",
    "SensorPipeline",
    "SensorStats",
    "read_aliases",
    "read_routes",
    "replay_raw",
]
