"""Sample times for sensors that send no timestamps (WitMotion WT901BLE and kin)."""

from __future__ import annotations

import math

import numpy as np

from ._mapper import ClockMapper
from ._records import HOST_CLOCK, ClockFit


class Dejitterer:
    """Rebuilds sample times on the host monotonic clock from receive times alone.

    The sensor emits `samples_per_notification` samples per notification at a
    nominal `rate_hz` (its true rate differs by up to `rate_tolerance_ppm`).
    Notification k is complete at nominal time τ_k = (k + 1)·n/rate_hz of its
    own clock, and it cannot arrive before then: the same lower-envelope fit
    as ClockMapper, with the notification count standing in for a timestamp.

    Accuracy floor: about one BLE connection interval (7.5–50 ms).  Nothing
    in the data says when inside a connection interval a notification was
    made; when the sensor's rate is near a multiple of the connection rate
    (crystal against crystal, often) no notification ever shows a near-zero
    wait, and the whole mapping sits late by an unknown part of an interval.
    Notifications lost on the sensor are not numbered either: a receive gap
    longer than `gap_s` (and two periods) is filled with as many missed
    notifications as fit; shorter losses shift later samples by a period
    until the envelope's early-packet check resets the fit.  The rate error
    (per cent, not ppm: the MCU's oscillator) is fitted after
    drift_min_span_s, much sooner than ClockMapper's crystal drift.
    """

    clock = HOST_CLOCK

    def __init__(
        self,
        rate_hz: float,
        samples_per_notification: int = 1,
        *,
        rate_tolerance_ppm: float = 10_000.0,
        horizon_s: float = 60.0,
        drift_min_span_s: float = 3.0,
        gap_s: float = 0.25,
        latency_floor_s: float = 0.0,
    ) -> None:
        if not (rate_hz > 0 and samples_per_notification >= 1):
            raise ValueError("rate_hz must be > 0 and samples_per_notification >= 1")
        self.rate_hz = float(rate_hz)
        self.samples_per_notification = int(samples_per_notification)
        self.gap_s = gap_s
        self.n_inferred_lost = 0
        self._period_s = self.samples_per_notification / self.rate_hz
        self._offsets_s = (np.arange(self.samples_per_notification) + 1.0) / self.rate_hz
        self._k = -1
        self._mapper = ClockMapper(
            horizon_s=horizon_s,
            drift_bound_ppm=rate_tolerance_ppm,
            drift_min_span_s=drift_min_span_s,
            latency_floor_s=latency_floor_s,
            drift_sd_ppm=0.0,  # the "drift" is an oscillator's rate error: no crystal prior
        )

    @property
    def fit(self) -> ClockFit:
        """Mapping of nominal sensor time (notification count × period) to host time."""
        return self._mapper.fit

    @property
    def mapper(self) -> ClockMapper:
        return self._mapper

    def add(self, host_receive_s: float) -> np.ndarray:
        """One notification's receive time (s) → its samples' host times (s), oldest first."""
        k = self._k + 1
        if self._k >= 0 and math.isfinite(host_receive_s):
            k += self._missed(k, host_receive_s)
        self._k = k
        return self._mapper.map_block(k * self._period_s + self._offsets_s, host_receive_s)

    def _missed(self, k: int, host_receive_s: float) -> int:
        """Notifications lost before notification k, judged by how late it came."""
        expected_s = float(self._mapper.to_host_s((k + 1) * self._period_s))
        late_s = host_receive_s - expected_s
        if late_s <= max(self.gap_s, 2 * self._period_s):
            return 0
        typical_s = max(self._mapper.mean_delay_s, 0.0)
        missed = max(0, math.floor((late_s - typical_s) / self._period_s + 0.5))
        self.n_inferred_lost += missed
        return missed
