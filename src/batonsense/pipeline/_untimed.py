"""Sensors without timestamps (WitMotion): bytes → frames → de-jittered receive times → blocks.

`Route` says which path a sensor takes in the `Pipeline`: our protocol
(`SensorPipeline`, sensor timestamps + `sync.ClockMapper`) or WitMotion
(`DejitteredSensorPipeline`, `sync.Dejitterer` on the receive times).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from batonsense.model import SensorStream
from batonsense.protocols import DecodedPacket
from batonsense.protocols import batonsense_v1 as v1
from batonsense.protocols import witmotion as wm
from batonsense.sync import Dejitterer

from ._sensor import Decoder, _Notifications
from ._stats import SensorStats, with_fit

#: SensorStats.timing of a de-jittered sensor: its accuracy floor is about
#: one BLE connection interval (7.5–50 ms), not the ~0.5 ms of a timestamped one.
TIMING_DEJITTERED = "receive-time de-jittered"
PROTOCOLS = (v1.PROTOCOL, wm.PROTOCOL)
DEJITTER_WARMUP_S = 4.0


@dataclass(frozen=True, slots=True)
class Route:
    """How one sensor's notifications are decoded and timed.

    protocol: "batonsense_v1" (default) or "witmotion"; rate_hz: the nominal
    output rate, required for WitMotion (the frames carry neither time nor
    rate: it is what the host configured, e.g. `witmotion_commands.rate_setup`).
    """

    protocol: str = v1.PROTOCOL
    rate_hz: float | None = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {self.protocol!r} (one of {', '.join(PROTOCOLS)})")
        if self.protocol == wm.PROTOCOL and not (self.rate_hz and self.rate_hz > 0):
            raise ValueError("a witmotion sensor needs its output rate_hz (> 0)")


class DejitteredSensorPipeline(_Notifications):
    """One timestamp-less sensor's notifications → SensorStream blocks on the host clock.

    Same interface as `SensorPipeline`.  Each notification's samples are
    placed on a nominal grid at `rate_hz` (the notification count × the
    samples per notification, taken from the first notification), and the
    grid is mapped to the host clock by a `Dejitterer` fitted on the receive
    times.  Accuracy floor: about one connection interval (stats say so:
    `timing == "receive-time de-jittered"`).  Lost notifications are not
    numbered: `lost_packets` counts those the Dejitterer infers from receive
    gaps.  A notification with more samples than the first one overlaps the
    next on the grid: its extra samples come out of order and are dropped
    (counted in `dropped_samples`).  The first `warmup_s` of every fit epoch
    is held back and mapped once the fit has that much data.
    """

    def __init__(
        self,
        sensor_id: str,
        *,
        rate_hz: float,
        decode: Decoder = wm.decode_notification,
        warmup_s: float = 2.0,
        protocol: str = wm.PROTOCOL,
    ) -> None:
        if not rate_hz > 0:
            raise ValueError("rate_hz must be > 0")
        self.sensor_id = sensor_id
        self.rate_hz = float(rate_hz)
        # Held back until the Dejitterer has fitted the rate error (after its
        # drift_min_span_s, 3 s): the offset-only fit before it is off by the
        # oscillator's error (per cent: 10 ms per s), and the step when the rate
        # is fitted would put later samples before earlier ones.
        self.warmup_s = max(warmup_s, DEJITTER_WARMUP_S)
        self._decode = decode
        self._stats = SensorStats(sensor_id, protocol=protocol, timing=TIMING_DEJITTERED)
        self._dejitter: Dejitterer | None = None
        self._k = -1  # grid index of the last notification
        self._held: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._epoch_start_s: float | None = None
        self._last_host_s = -math.inf

    def feed_packet(self, host_s: float, packet: DecodedPacket) -> SensorStream | None:
        st = self._stats
        n = len(packet)
        if packet.acc_mps2 is None or packet.gyro_radps is None or n == 0:
            st.decode_errors += 1
            return None
        st.packets += 1
        st.samples += n
        if self._dejitter is None:
            self._dejitter = Dejitterer(self.rate_hz, n)
        dj = self._dejitter
        lost_before, resets_before = dj.n_inferred_lost, len(dj.mapper.resets)
        dj.add(host_s)
        self._k += 1 + dj.n_inferred_lost - lost_before
        st.lost_packets = dj.n_inferred_lost
        if len(dj.mapper.resets) > resets_before:
            self._on_clock_reset()
        period_s = dj.samples_per_notification / self.rate_hz
        t_grid = self._k * period_s + (np.arange(n) + 1.0) / self.rate_hz
        if self._epoch_start_s is None:
            self._epoch_start_s = float(t_grid[0])
        self._held.append((t_grid, packet.acc_mps2, packet.gyro_radps))
        if float(t_grid[-1]) - self._epoch_start_s < self.warmup_s:
            return None
        return self._release()

    def flush(self) -> SensorStream | None:
        return self._release()

    @property
    def stats(self) -> SensorStats:
        if self._dejitter is None:
            return replace(self._stats)
        fit = self._dejitter.fit
        finite = math.isfinite(fit.offset_s)
        rate_hz = self.rate_hz / (1.0 + fit.drift_ppm * 1e-6) if finite else None
        return with_fit(self._stats, fit, rate_hz)

    def _on_clock_reset(self) -> None:
        """The fit restarted (a receive-time jump): held samples of the old fit are dropped."""
        self._stats.clock_resets += 1
        self._stats.dropped_samples += sum(len(h[0]) for h in self._held)
        self._held.clear()
        self._epoch_start_s = None

    def _release(self) -> SensorStream | None:
        if not self._held or self._dejitter is None:
            return None
        t_grid = np.concatenate([h[0] for h in self._held])
        acc = np.concatenate([h[1] for h in self._held])
        gyro = np.concatenate([h[2] for h in self._held])
        self._held.clear()
        t_host = self._dejitter.mapper.to_host_s(t_grid)
        keep = t_host > np.maximum.accumulate(np.concatenate([[self._last_host_s], t_host]))[:-1]
        if not keep.all():
            self._stats.dropped_samples += int((~keep).sum())
            t_host, acc, gyro = t_host[keep], acc[keep], gyro[keep]
        if not len(t_host):
            return None
        self._last_host_s = float(t_host[-1])
        return SensorStream(self.sensor_id, t_host, acc, gyro)
