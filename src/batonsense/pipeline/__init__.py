"""One pipeline, many sources: notifications → decode → clock sync → sample blocks.

Live (BLE via `sources.ble.Ingestor`, real or virtual) and replay (a raw file,
`sources.raw`) feed the same `Pipeline`: per sensor, `SensorPipeline` decodes
each notification, counts sequence gaps and reboots, maps the sensor's
timestamps onto the host monotonic clock (`sync.ClockMapper`) and emits
`SensorStream` blocks to consumers — the live `ExchangeDetector`
(`LiveDetector`) and a `BlockRecorder` (for export to the recording CSV).
`SensorStats` is each sensor's health (loss, decode errors, reboots, offset,
drift, rate, battery, last seen).
"""

from ._consumers import BlockRecorder, LiveDetector
from ._pipeline import BlockSink, Notification, Pipeline
from ._replay import ReplayResult, read_aliases, replay_raw
from ._sensor import Decoder, SensorPipeline
from ._stats import SensorStats

__all__ = [
    "BlockRecorder",
    "BlockSink",
    "Decoder",
    "LiveDetector",
    "Notification",
    "Pipeline",
    "ReplayResult",
    "SensorPipeline",
    "SensorStats",
    "read_aliases",
    "replay_raw",
]
