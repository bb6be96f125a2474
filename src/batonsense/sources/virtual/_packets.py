"""Ground-truth records and packet assembly for the virtual sensors (pure, no radio)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

import numpy as np

from batonsense.protocols.batonsense_v1 import QUEUED_MAX_US


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
    time of the notify call (None if lost); flags: the protocol flags sent;
    handoff_host_s: true host time at which the firmware handed the packet to
    its BLE stack (after the send hold; v3: at the ACTIVE signal before its
    event; None if not recorded); queued_us: the queue stamp sent (protocol
    v2, µs after the last sample's sensor time), else None; event_us: the
    connection-event stamp sent (protocol v3, µs after the last sample's
    sensor time), else None.
    """

    seq: int
    first: int
    count: int
    sample0_host_s: float
    t0_us: int
    notify_host_s: float | None
    fate: Fate
    flags: int
    handoff_host_s: float | None = None
    queued_us: int | None = None
    event_us: int | None = None


class Packetizer:
    """Cuts a stream's samples into packets of <= samples_per_packet evenly spaced samples.

    Sample i is taken at host time origin_host_s + (t_s[i] - t0_s), t0_s the
    first sample's time (default t_s[0]).  A gap in t_s (> 1.5 median
    periods) starts a new packet, since a packet carries one start time and
    a fixed period.  `skip_to(host_s)` drops samples taken before host_s (the
    IMU was not running).  Indices are absolute: `first_index` is the index
    of t_s[0] (a packetizer made on a trimmed stream), `extend(t_s)` appends
    later samples (an endless stream) and `trim(index)` forgets samples
    before index (already played: memory stays bounded).
    """

    def __init__(
        self,
        t_s: np.ndarray,
        samples_per_packet: int,
        origin_host_s: float,
        *,
        t0_s: float | None = None,
        first_index: int = 0,
    ) -> None:
        self.t0_s = float(t_s[0]) if t0_s is None and len(t_s) else (t0_s or 0.0)
        self.rel_s = np.asarray(t_s, dtype=np.float64) - self.t0_s
        self.spp = samples_per_packet
        self.origin_host_s = origin_host_s
        self.base = first_index
        dt = np.diff(t_s)
        self._gap_s = 1.5 * float(np.median(dt)) if len(dt) else np.inf
        self._breaks = (np.flatnonzero(dt > self._gap_s) + 1 + first_index).astype(np.int64)
        self.next = first_index

    @property
    def end(self) -> int:
        """One past the absolute index of the last sample known."""
        return self.base + len(self.rel_s)

    @property
    def done(self) -> bool:
        return self.next >= self.end

    def host_s(self, i: int) -> float:
        return self.origin_host_s + float(self.rel_s[i - self.base])

    def skip_to(self, host_s: float) -> None:
        target = int(np.searchsorted(self.rel_s, host_s - self.origin_host_s, side="left"))
        self.next = max(self.next, self.base + target)

    def extend(self, t_s: np.ndarray) -> None:
        """Append samples taken after the last one (s, same clock as t_s)."""
        if not len(t_s):
            return
        rel = np.asarray(t_s, dtype=np.float64) - self.t0_s
        joined = np.concatenate([self.rel_s[-1:], rel])
        dt = np.diff(joined)
        if not np.isfinite(self._gap_s) and len(dt):
            self._gap_s = 1.5 * float(np.median(dt))
        new = np.flatnonzero(dt > self._gap_s) + self.end
        self._breaks = np.concatenate([self._breaks, new.astype(np.int64)])
        self.rel_s = np.concatenate([self.rel_s, rel])

    def trim(self, index: int) -> None:
        """Forget samples before absolute `index` (clamped to those not yet taken)."""
        index = min(index, self.next, self.end - 1)
        if index <= self.base:
            return
        self.rel_s = self.rel_s[index - self.base :]
        self.base = index
        self._breaks = self._breaks[self._breaks > index]

    def take_ready(self, now_host_s: float, hold_s: float = 0.0) -> tuple[int, int] | None:
        """The next packet (first, end) if its last sample is taken by now_host_s − hold_s.

        hold_s: how long (s) the firmware holds this packet after its last
        sample before handing it to the BLE stack (protocol v2's send hold);
        the caller keeps the same hold until the packet is taken.
        """
        if self.done:
            return None
        first = self.next
        k = int(np.searchsorted(self._breaks, first, side="right"))
        run_end = int(self._breaks[k]) if k < len(self._breaks) else self.end
        end = min(first + self.spp, run_end)
        if self.host_s(end - 1) + hold_s > now_host_s:
            return None
        self.next = end
        return first, end


class SendHold:
    """Protocol v2 firmware's random send hold and queue stamp (pure, seeded).

    Each packet is held uniformly 0 … bound after its last sample, then
    handed to the BLE stack; bound = min(packet duration, connection
    interval) — the least hold that spreads hand-offs over every phase of the
    interval whatever the sample rate (`firmware_notes/clock_sync.md`) — or
    `max_s` if given.  Version 1 firmware (enabled False) never holds.  The
    hold of the packet now waiting is `hold_s` (s); `next()` draws the
    following packet's.
    """

    def __init__(self, seed: int, *, enabled: bool = True, max_s: float | None = None) -> None:
        self._rng = random.Random(f"send-hold-{seed}")  # apart from loss/jitter draws
        self.enabled = enabled
        self.max_s = max_s
        self.hold_s = 0.0

    def bound_s(self, packet_s: float, connection_interval_s: float) -> float:
        """Upper bound (s) of the hold for packets of packet_s seconds of samples."""
        if not self.enabled:
            return 0.0
        return self.max_s if self.max_s is not None else min(packet_s, connection_interval_s)

    def next(self, bound_s: float) -> None:
        """Draw the hold (s) of the next packet, uniform on [0, bound_s)."""
        self.hold_s = self._rng.uniform(0.0, bound_s) if bound_s > 0 else 0.0

    @staticmethod
    def queued_us(handoff_sensor_us: int, t_last_us: int) -> int:
        """The v2 stamp: sensor µs from the last sample to the hand-off, in 0..65535."""
        return min(max(handoff_sensor_us - t_last_us, 0), QUEUED_MAX_US)
