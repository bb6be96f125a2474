"""Ground-truth records and packet assembly for the virtual sensors (pure, no radio)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np


@dataclass(frozen=True, slots=True)
class SensorClock:
    """The sensor's clock: µs since boot, running at (1 + drift_ppm·1e-6) × host rate.

    sensor_s = offset_s + (host_s - boot_host_s) · (1 + drift_ppm·1e-6), where
    boot_host_s is the host time (`time.monotonic()`, s) of the sensor's boot
    and offset_s the sensor time at that moment (0 for a fresh boot).
    """

    offset_s: float = 0.0
    drift_ppm: float = 0.0

    def sensor_us(self, host_s: float, boot_host_s: float) -> int:
        sensor_s = self.offset_s + (host_s - boot_host_s) * (1.0 + self.drift_ppm * 1e-6)
        return max(0, round(sensor_s * 1e6))


class Fate(str, Enum):
    SENT = "sent"  # notified to the subscriber
    LOST = "lost"  # injected radio loss: its seq is missing on the host


@dataclass(frozen=True, slots=True)
class PacketRecord:
    """Ground truth for one packet assembled by a virtual sensor.

    seq: as sent (wrapped to uint16); first, count: samples [first, first+count)
    of the sensor's SensorStream; sample0_host_s: true host time of the first
    sample (s, `time.monotonic()`); t0_us: its sensor time; notify_host_s: host
    time of the notify call (None if lost); flags: the protocol flags sent.
    """

    seq: int
    first: int
    count: int
    sample0_host_s: float
    t0_us: int
    notify_host_s: float | None
    fate: Fate
    flags: int


class Packetizer:
    """Cuts a stream's samples into packets of <= samples_per_packet evenly spaced samples.

    Sample i is taken at host time origin_host_s + (t_s[i] - t_s[0]).  A gap in
    t_s (> 1.5 median periods) starts a new packet, since a packet carries one
    start time and a fixed period.  `skip_to(host_s)` drops samples taken
    before host_s (the IMU was not running).
    """

    def __init__(self, t_s: np.ndarray, samples_per_packet: int, origin_host_s: float) -> None:
        self.rel_s = t_s - t_s[0] if len(t_s) else t_s
        self.spp = samples_per_packet
        self.origin_host_s = origin_host_s
        n = len(t_s)
        starts = [0]
        if n > 1:
            dt = np.diff(t_s)
            starts += (np.flatnonzero(dt > 1.5 * np.median(dt)) + 1).tolist()
        self._run_ends = np.array(starts[1:] + [n], dtype=np.int64)
        self.next = 0

    @property
    def done(self) -> bool:
        return self.next >= len(self.rel_s)

    def host_s(self, i: int) -> float:
        return self.origin_host_s + float(self.rel_s[i])

    def skip_to(self, host_s: float) -> None:
        target = int(np.searchsorted(self.rel_s, host_s - self.origin_host_s, side="left"))
        self.next = max(self.next, target)

    def take_ready(self, now_host_s: float) -> tuple[int, int] | None:
        """The next packet (first, end) if its last sample is taken by now_host_s."""
        if self.done:
            return None
        first = self.next
        run_end = int(self._run_ends[np.searchsorted(self._run_ends, first, side="right")])
        end = min(first + self.spp, run_end)
        if self.host_s(end - 1) > now_host_s:
            return None
        self.next = end
        return first, end
