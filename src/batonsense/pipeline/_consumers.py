"""Block consumers: the live exchange detector and a recorder of the mapped samples."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from batonsense.detect import DetectorConfig, ExchangeDetector
from batonsense.model import Exchange, Recording, SensorInfo, SensorStream
from batonsense.sync import HOST_CLOCK


class LiveDetector:
    """Pushes blocks into an ExchangeDetector and polls it every poll_every_s of data.

    Polling is driven by the data's own times (never the wall clock), so the
    same blocks in the same order give the same exchanges (replay is exact).
    One frame hop (20 ms) by default: a coarser poll adds up to its period to
    the release → phone latency.  The poll waits for the block that moves the
    *slowest* sensor past the poll time (the detector's watermark; a sensor
    silent for stale_s no longer counts): polling on the first sensor's block
    would leave the others a block behind.  Exchanges are relabelled to the host clock
    and passed to on_exchange.
    """

    def __init__(
        self,
        sensors: Sequence[SensorInfo],
        *,
        poll_every_s: float = 0.02,
        on_exchange: Callable[[Exchange], None] | None = None,
        config: DetectorConfig | None = None,
    ) -> None:
        self.detector = ExchangeDetector(sensors, config)
        self.poll_every_s = poll_every_s
        self.on_exchange = on_exchange
        self.exchanges: list[Exchange] = []
        self._next_poll_s = -np.inf
        self._last_s = {s.id: -np.inf for s in self.detector.sensors}

    def __call__(self, block: SensorStream) -> None:
        self.detector.push(block)
        if not len(block) or block.sensor_id not in self._last_s:
            return
        self._last_s[block.sensor_id] = float(block.t_s[-1])
        newest = max(self._last_s.values())
        live = [t for t in self._last_s.values() if t >= newest - self.detector.config.stale_s]
        front_s = min(live) if len(live) == len(self._last_s) else newest - self.detector.config.stale_s
        if front_s >= self._next_poll_s:
            self._next_poll_s = front_s + self.poll_every_s
            self._publish(self.detector.poll())

    def flush(self) -> list[Exchange]:
        """End of data: finish pending exchanges; returns all, sorted by time."""
        self._publish(self.detector.flush())
        self.exchanges.sort(key=lambda e: e.time_s)
        return list(self.exchanges)

    def _publish(self, found: list[Exchange]) -> None:
        for ex in found:
            ex = replace(ex, clock=HOST_CLOCK)
            self.exchanges.append(ex)
            if self.on_exchange is not None:
                self.on_exchange(ex)


class BlockRecorder:
    """Keeps every block; `recording()` joins them into a Recording on the host clock."""

    def __init__(self, sensors: Sequence[SensorInfo]) -> None:
        self.sensors = tuple(sensors)
        self._blocks: dict[str, list[SensorStream]] = {s.id: [] for s in self.sensors}

    def __call__(self, block: SensorStream) -> None:
        self._blocks.setdefault(block.sensor_id, []).append(block)

    def recording(self) -> Recording:
        streams = {}
        for s in self.sensors:
            parts = self._blocks.get(s.id, [])
            if parts:
                streams[s.id] = SensorStream(
                    s.id,
                    np.concatenate([b.t_s for b in parts]),
                    np.concatenate([b.acc_mps2 for b in parts]),
                    np.concatenate([b.gyro_radps for b in parts]),
                )
            else:
                streams[s.id] = SensorStream(s.id, np.empty(0), np.empty((0, 3)), np.empty((0, 3)))
        return Recording(self.sensors, streams, clock=HOST_CLOCK)
