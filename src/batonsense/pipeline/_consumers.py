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
    *slowest* live sensor past the poll time (the front); polling on the first
    sensor's block would leave the others a block behind.

    A sensor is *silent* (it no longer holds the others back) once the newest
    data have moved on stale_s since its last block came; a sensor whose
    blocks keep coming is live however far behind its samples are — after a
    stall the sensors catch up at different speeds, and the detector must not
    take the slowest one for gone.  So each sensor's samples are handed to the
    detector only up to the front (and one sample past it, for interpolation):
    inside the detector no live sensor ever looks stale.  Exchanges are
    relabelled to the host clock and passed to on_exchange.
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
        ids = [s.id for s in self.detector.sensors]
        self._last_s = {sid: -np.inf for sid in ids}
        self._came_at_s = {sid: -np.inf for sid in ids}  # the newest data when its block came
        self._held: dict[str, list[SensorStream]] = {sid: [] for sid in ids}
        self._pushed_s = {sid: -np.inf for sid in ids}  # the last sample handed on

    def __call__(self, block: SensorStream) -> None:
        sid = block.sensor_id
        if not len(block) or sid not in self._last_s:
            self.detector.push(block)
            return
        self._held[sid].append(block)
        self._last_s[sid] = float(block.t_s[-1])
        newest = max(self._last_s.values())
        self._came_at_s[sid] = newest
        stale_s = self.detector.config.stale_s
        live = [self._last_s[k] for k, at in self._came_at_s.items() if at >= newest - stale_s]
        front_s = min(live)
        self._hand_on(front_s)
        if len(live) < len(self._last_s):
            front_s = min(front_s, newest - stale_s)
        if front_s >= self._next_poll_s:
            self._next_poll_s = front_s + self.poll_every_s
            self._publish(self.detector.poll())

    def _hand_on(self, front_s: float) -> None:
        """Push each sensor's held samples up to front_s and one past it."""
        for sid, held in self._held.items():
            if not held or self._pushed_s[sid] > front_s:
                continue
            whole = held[0] if len(held) == 1 else _join(sid, held)
            cut = int(np.searchsorted(whole.t_s, front_s, side="right")) + 1
            if cut >= len(whole):
                self.detector.push(whole)
                held.clear()
            else:
                self.detector.push(whole.between(-np.inf, float(whole.t_s[cut])))
                self._held[sid] = [whole.between(float(whole.t_s[cut]), np.inf)]
            self._pushed_s[sid] = float(whole.t_s[min(cut, len(whole)) - 1])

    def flush(self) -> list[Exchange]:
        """End of data: finish pending exchanges; returns all, sorted by time."""
        self._hand_on(np.inf)
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


def _join(sensor_id: str, blocks: list[SensorStream]) -> SensorStream:
    return SensorStream(
        sensor_id,
        np.concatenate([b.t_s for b in blocks]),
        np.concatenate([b.acc_mps2 for b in blocks]),
        np.concatenate([b.gyro_radps for b in blocks]),
    )
