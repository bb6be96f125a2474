"""Streaming sensor-clock → host-monotonic-clock mapping for one sensor."""

from __future__ import annotations

import math
import statistics

import numpy as np

from ._hull import envelope_line
from ._lattice import EventLattice
from ._records import HOST_CLOCK, ClockFit, ClockReset, ResetReason, SyncState
from ._window import EnvelopeWindow


_DRIFT_GRID = np.linspace(-4.0, 4.0, 49)  # prior standard deviations


class ClockMapper:
    """Maps one sensor's timestamps onto the host's monotonic clock, packet by packet.

    Feed it, for every packet, the sensor time (s) at which the packet was
    ready to leave — its stamp if the firmware sends one (our protocol v2:
    the sensor clock when the packet was handed to the BLE stack; v3: the
    anchor of the connection event it was handed over for), else
    the time of its *last* sample (a protocol that stamps the first sample
    adds (n − 1) / rate) — and the host's monotonic receive time (s).
    It fits host = offset + (1 + drift)·sensor on the lower envelope of
    (host − sensor) over the last `horizon_s` of sensor time: radio and OS
    only ever add delay, so the packets that came fastest pin the line and
    late ones (bursts, OS stalls) do not pull it.

    horizon_s: fitting window (sensor time);  drift_bound_ppm: |drift| limit;
    drift_min_span_s: below this span the envelope's own slope is not used —
    over a short span its few lucky packets make a worse slope than none
    (simulated at 15–50 ms intervals: 20 s beats 3–10 s) — and the mapping
    is averaged over drifts around the prior (0, or the last epoch's value
    after a reset: same crystal), see `_drift_averaged_line`;
    drift_sd_ppm: that prior's standard deviation (0: the drift is held at
    the prior and only the offset fitted);  averaged_until_s: from
    drift_min_span_s (the state is TRACKING) up to this span the mapping stays
    averaged over the drifts, unless the data's best drift lies on the grid's
    edge — then, and beyond this span, the envelope's own slope (on 36
    simulated v2 streams, 7.5–50 ms, ±10–45 ppm: p95 over 20–58 s 0.50 / 0.19 /
    0.32 / 0.46 ms with the envelope's slope from 20 s, 0.27 / 0.18 / 0.22 /
    0.30 ms averaged to 60 s; 10 s and 60 s figures unchanged);
    averaged_refit_s: that averaged fit is redone for a packet below the line,
    else at most this often (s of sensor time; every packet cost 45 µs);
    wrap_period_s: the raw counter's period (uint32 µs: 4294.967296; None: no
    wrap);  latency_floor_s: the delay no packet can beat (air time +
    controller-to-host transport), subtracted from the mapping if known, else
    it stays in the mapped times as a bias common to like sensors on one
    adapter;  max_delay_s: a packet later than this (and `late_run` in a row)
    means the clock jumped;  early_tolerance_s: a packet earlier than the fit
    by more than this (plus the drift bound over the window) means a jump;
    event_lattice: estimate the link's connection events from the receive
    times (`EventLattice`, available as `.lattice`) and fit each packet at
    its event instead of its receive time, which takes the OS delay out of
    the fit (no effect until the lattice locks, after a few seconds, nor
    below ~15 ms intervals; `n_event_timed` counts the packets it timed).
    The lattice is not used for a packet whose sync time is itself a
    connection-event stamp (protocol v3, `observe(..., event_stamp=True)`;
    the decoder marks such packets): the stamp already names the event, and
    the envelope of the receive times is tighter than the lattice's own error
    (benchmarks/clock_sync.py, v3 rows).  The caller says so: guessing it from
    the times mistook the regular times of de-jittered WitMotion notifications
    and of crystal-timed v1 IMUs for stamps and cost them their lattice.
    Receive times (`host_receive_s`) are what the caller always passes.
    """

    clock = HOST_CLOCK

    def __init__(
        self,
        *,
        horizon_s: float = 60.0,
        drift_bound_ppm: float = 200.0,
        drift_min_span_s: float = 20.0,
        wrap_period_s: float | None = None,
        latency_floor_s: float = 0.0,
        max_delay_s: float = 1.0,
        early_tolerance_s: float = 0.05,
        late_run: int = 3,
        block_s: float = 1.0,
        event_lattice: bool = True,
        drift_sd_ppm: float = 30.0,
        averaged_until_s: float = 60.0,
        averaged_refit_s: float = 0.25,
    ) -> None:
        if horizon_s <= 0 or block_s <= 0 or drift_bound_ppm < 0:
            raise ValueError("horizon_s and block_s must be > 0, drift_bound_ppm >= 0")
        self.horizon_s = horizon_s
        self.drift_bound = drift_bound_ppm * 1e-6
        self.drift_min_span_s = drift_min_span_s
        self.wrap_period_s = wrap_period_s
        self.latency_floor_s = latency_floor_s
        self.max_delay_s = max_delay_s
        self.early_tolerance_s = early_tolerance_s
        self.late_run = late_run
        self.block_s = block_s
        self.drift_sd = drift_sd_ppm * 1e-6
        self.averaged_until_s = averaged_until_s
        self.averaged_refit_s = averaged_refit_s
        self._u_averaged = -math.inf  # window time of the last drift-averaged fit
        self.resets: list[ClockReset] = []
        self.n_rejected = 0  # non-finite inputs, ignored
        self._epoch = -1
        self._drift_prior = 0.0
        self._late_count = 0
        self._window: EnvelopeWindow | None = None
        self.lattice: EventLattice | None = EventLattice() if event_lattice else None
        self.event_stamped = False  # the last packet's sync time was an event stamp (v3)
        self.n_event_timed = 0  # packets fitted at their estimated connection event

    # -- input ---------------------------------------------------------------

    def observe(
        self, sensor_time_s: float, host_receive_s: float, *, event_stamp: bool = False
    ) -> ClockReset | None:
        """Add one packet: raw sensor time (s) it was ready to leave, host receive time (s).

        The ready time is the packet's queue stamp when it has one, else its
        last sample's time (class docstring); event_stamp: it is the anchor of
        the connection event the packet was handed over for (protocol v3).
        Returns the reset it caused (also appended to `resets`), else None.
        """
        raw, host = float(sensor_time_s), float(host_receive_s)
        if not (math.isfinite(raw) and math.isfinite(host)):
            self.n_rejected += 1
            return None
        self.event_stamped = bool(event_stamp)
        if self.lattice is not None:
            self.lattice.push(host)
            event = None if event_stamp else self.lattice.event_time(host)
            if event is not None:
                host = event
                self.n_event_timed += 1
        if self._window is None:
            self._start_epoch(raw, host)
            return None
        reason = self._advance(raw, host)
        if reason is not None:
            return self._reset(raw, host, reason)
        return None

    def link_changed(self) -> None:
        """The link's connection events changed (a reconnect: a new connection, a new
        event phase): forget the event lattice, which re-acquires in a few seconds.
        The clock fit is about the sensor's clock and stays."""
        if self.lattice is not None:
            self.lattice.reset()

    def map_block(
        self,
        sensor_times_s: np.ndarray,
        host_receive_s: float,
        queued_sensor_s: float | None = None,
        *,
        event_stamp: bool = False,
    ) -> np.ndarray:
        """Observe a packet and return all its samples on the host clock.

        sensor_times_s: raw sample times of one packet in s, in order;
        queued_sensor_s: the packet's queue stamp (raw sensor s) if it has one
        — observed instead of the last sample's time; event_stamp: that stamp
        is a connection event's anchor (protocol v3).  Returns host monotonic
        times in s (float64, same shape as sensor_times_s).
        """
        t = np.asarray(sensor_times_s, dtype=np.float64)
        if queued_sensor_s is not None:
            self.observe(queued_sensor_s, host_receive_s, event_stamp=event_stamp)
        elif t.size:
            self.observe(float(t[-1]), host_receive_s)
        return self.to_host_s(t)

    # -- output --------------------------------------------------------------

    def to_host_s(self, sensor_time_s: np.ndarray | float) -> np.ndarray:
        """Host monotonic times (s) of raw sensor times (s) near the last packet's.

        Raw times are unwrapped to the one nearest the last packet (within half
        a wrap period).  NaN while nothing has been observed.
        """
        raw = np.asarray(sensor_time_s, dtype=np.float64)
        if self._window is None:
            return np.full(raw.shape, np.nan)
        unwrapped = self._unwrap_near(raw)
        u = unwrapped - self._u_ref
        return unwrapped + self._d_ref + self._intercept + self._slope * u - self.latency_floor_s

    @property
    def mean_delay_s(self) -> float:
        """Mean gap (s) of the window's packets above the envelope; NaN before any."""
        w = self._window
        if w is None or len(w) == 0:
            return math.nan
        return w.sum_d / w.n - (self._intercept + self._slope * w.sum_u / w.n)

    @property
    def fit(self) -> ClockFit:
        """The current mapping, with diagnostics.

        uncertainty_s is a heuristic: the median over the window's 1-s blocks
        of the lowest packet's gap above the line (how tightly the envelope is
        pinned), plus the drift's possible error carried over half the span
        (the full bound before drift is fitted).  It cannot see a bias no
        packet reveals (a latency floor, or packets that never leave just
        before a connection event).
        """
        w = self._window
        if w is None or len(w) == 0:
            return ClockFit(math.nan, 0.0, 0, 0.0, math.nan, math.inf, SyncState.EMPTY, self._epoch)
        span = w.u_last - w.u_first
        gaps = w.block_min_gaps(self._intercept, self._slope)
        pin = statistics.median(gaps)
        drift_err = self.drift_bound if self._state is SyncState.OFFSET_ONLY else 2 * pin / span
        offset = self._d_ref + self._intercept - self._slope * self._u_ref - self.latency_floor_s
        return ClockFit(
            offset_s=offset,
            drift_ppm=self._slope * 1e6,
            n_points=w.n,
            span_s=span,
            mean_delay_s=self.mean_delay_s,
            uncertainty_s=pin + drift_err * span / 2,
            state=self._state,
            epoch=self._epoch,
        )

    # -- internals -----------------------------------------------------------

    def _start_epoch(self, raw: float, host: float) -> None:
        self._epoch += 1
        self._wraps = 0
        self._raw_last = raw
        self._unwrapped_last = raw
        self._u_ref = raw
        self._d_ref = host - raw
        self._late_count = 0
        self._window = EnvelopeWindow(self.horizon_s, self.block_s)
        self._window.push(0.0, 0.0)
        self._intercept, self._slope = 0.0, self._drift_prior
        self._state = SyncState.OFFSET_ONLY
        self._u_averaged = -math.inf

    def _reset(self, raw: float, host: float, reason: ResetReason) -> ClockReset:
        if self._state is SyncState.TRACKING:
            self._drift_prior = self._slope
        self._start_epoch(raw, host)
        event = ClockReset(host, raw, reason, self._epoch)
        self.resets.append(event)
        return event

    def _advance(self, raw: float, host: float) -> ResetReason | None:
        """Unwrap, check plausibility, add the point and refit; a reason if the clock jumped."""
        unwrapped = self._unwrap_forward(raw, host)
        if unwrapped is None:
            return ResetReason.BACKWARDS
        u = unwrapped - self._u_ref
        d = host - unwrapped - self._d_ref
        gap = d - (self._intercept + self._slope * u)
        w = self._window
        assert w is not None
        # Before drift is fitted the envelope may rest on one stalled packet.
        base = self.early_tolerance_s if self._state is SyncState.TRACKING else self.max_delay_s
        if gap < -(base + self.drift_bound * max(u - w.u_first, 0.0)):
            return ResetReason.EARLY
        if gap > self.max_delay_s:
            self._late_count += 1
            if self._late_count >= self.late_run:
                return ResetReason.LATE
            return None  # a single stall: ignore the point
        self._late_count = 0
        self._raw_last, self._unwrapped_last = raw, unwrapped
        w.push(u, d)
        self._refit(below_line=gap < 0.0)
        return None

    def _unwrap_forward(self, raw: float, host: float) -> float | None:
        """Unwrapped time of a new raw time, or None if the counter went back (not a wrap)."""
        if raw >= self._raw_last:
            return self._unwrapped_last + (raw - self._raw_last)
        period = self.wrap_period_s
        if period is None or self._raw_last - raw < period / 2:
            return None
        candidate = self._unwrapped_last + (raw - self._raw_last) % period
        predicted = (
            candidate + self._d_ref + self._intercept + self._slope * (candidate - self._u_ref)
        )
        slack = self.max_delay_s + self.drift_bound * (candidate - self._unwrapped_last)
        if abs(host - predicted) > slack:
            return None
        return candidate

    def _unwrap_near(self, raw: np.ndarray) -> np.ndarray:
        delta = raw - self._raw_last
        period = self.wrap_period_s
        if period is not None:
            delta = (delta + period / 2) % period - period / 2
        return self._unwrapped_last + delta

    def _refit(self, below_line: bool = True) -> None:
        """Fit the line again.  The drift-averaged fit (the costly one: a drift grid
        times the hull) is redone for a point below the line, which moves the
        envelope, else at most every `averaged_refit_s` of sensor time: a point above
        the line only nudges the weights (benchmarks/ingest_capacity.py: sync was
        45 µs a packet refitting every one)."""
        w = self._window
        assert w is not None
        span = w.u_last - w.u_first
        tracking = span >= self.drift_min_span_s
        averaged = self.drift_sd > 0 and (not tracking or span < self.averaged_until_s)
        if averaged and not below_line and w.u_last - self._u_averaged < self.averaged_refit_s:
            return
        hx, hy = w.hull()
        self._state = SyncState.TRACKING if tracking else SyncState.OFFSET_ONLY
        if averaged and len(hx) >= 2:
            line = self._drift_averaged_line(np.asarray(hx), np.asarray(hy), inner_only=tracking)
            if line is not None:
                self._intercept, self._slope = line
                self._u_averaged = w.u_last
                return
        lo, hi = (-self.drift_bound, self.drift_bound) if tracking else (self._drift_prior,) * 2
        mean_u = w.sum_u / w.n
        self._intercept, self._slope = envelope_line(hx, hy, mean_u, lo, hi, self._drift_prior)

    def _drift_averaged_line(
        self, x: np.ndarray, y: np.ndarray, inner_only: bool = False
    ) -> tuple[float, float] | None:
        """(intercept, slope) while the span is too short for the envelope's own slope.

        For each drift b on a grid around the prior, the highest line of slope b
        below the hull; each is weighted by prior(b) · exp(−n · (its mean gap −
        the least mean gap) / σ) — the posterior of b when the gaps above the
        line are exponential with scale σ — and the mapping is the weighted mean
        of the lines' values at the newest point (and of their slopes).  σ is
        estimated from the data as twice the median of the 1-s blocks' lowest
        gap times the points per block: the depth of the envelope's lucky
        packets, not the mean delay (wait times are uniform over the interval,
        not exponential, and below ~15 ms intervals the OS delay adds to them).
        A slope too low puts the newest samples early by up to the error times
        the span, too high only makes fewer old packets count: averaging over
        the drifts the data cannot rule out keeps the first mistake small.
        """
        w = self._window
        assert w is not None
        b = self._drift_prior + self.drift_sd * _DRIFT_GRID
        inside = np.abs(b) <= self.drift_bound
        if inside.any():
            b = b[inside]
        a = np.min(y[None, :] - b[:, None] * x[None, :], axis=1)
        gap = w.sum_d / w.n - a - b * (w.sum_u / w.n)
        best = int(np.argmin(gap))
        if inner_only and best in (0, len(b) - 1):
            return None  # the data want a drift beyond the grid: the envelope's own slope
        mins = w.block_min_gaps(float(a[best]), float(b[best]))
        sigma = max(2.0 * statistics.median(mins) * w.n / len(mins), 1e-6)
        z = (b - self._drift_prior) / self.drift_sd
        logp = -w.n * (gap - gap[best]) / sigma - 0.5 * z**2
        p = np.exp(logp - logp.max())
        p /= p.sum()
        now = w.u_last
        slope = float(p @ b)
        return float(p @ (a + b * now)) - slope * now, slope
