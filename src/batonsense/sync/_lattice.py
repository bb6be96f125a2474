"""Connection-event lattice estimated from receive times alone (host side).

A BLE link moves notifications only at connection events, every connection
interval C (n × 1.25 ms, n ≥ 6), timed by the adapter's crystal: on the host
clock the events are E_j = φ + j·C' with C' = C·(1 + a few tens of ppm).  A
notification sent in event j is received at h = E_j + air + HCI + OS delay;
the OS part (BlueZ, D-Bus, the event loop) is ≥ 0 and often well below a
millisecond.  Over many packets the lower edge of h modulo C' is sharp, so
(φ, C') can be estimated from receive times, and each packet's receive time
replaced by its *event time* Ê = the latest lattice point ≤ h: the OS delay
leaves the clock fit and only the sensor-side wait for the event remains.

Safety.  Ê may only be later than the true event (that keeps the lower
envelope valid), never earlier.  Ê is used only when h − Ê < guard_s, with
guard_s below the shortest legal interval (7.5 ms): if the lattice were a
multiple of the true interval (a sensor that happened to use only every other
event), a packet from an event off the lattice would be ≥ 7.5 ms behind its
lattice point and falls back to its receive time.  A lattice that stops
fitting (parameter update, adapter reset) is dropped and re-acquired.
"""

from __future__ import annotations

import itertools
import math
from collections import deque

import numpy as np

UNIT_S = 0.00125  # connection intervals are multiples of 1.25 ms
MIN_INTERVAL_S = 0.0075
DENSE_S = 0.0002  # the lowest residues of a block gather closer than this (OS delay)


class EventLattice:
    """Streaming estimate of the connection-event times of one link, on the host clock.

    acquire_s / acquire_n: receive time and packets collected before the
    interval is chosen; max_interval_s: longest interval searched;
    window_s: receive times kept for the edge fit; refit_s: refit period;
    guard_s: largest receive − event gap accepted (see the module docstring);
    min_coherence: the circular concentration a lattice must reach.
    """

    def __init__(
        self,
        *,
        acquire_s: float = 3.0,
        acquire_n: int = 60,
        max_interval_s: float = 0.2,
        window_s: float = 20.0,
        refit_s: float = 0.5,
        guard_s: float = 0.006,
        min_coherence: float = 0.7,
        outlier_s: float = 0.0003,
        edge_rank: int = 3,
        retry_s: float = 5.0,
        acquire_max_n: int = 256,
        release_gap_s: float = 0.00005,
    ) -> None:
        self.acquire_s = acquire_s
        self.acquire_n = acquire_n
        self.max_interval_s = max_interval_s
        self.window_s = window_s
        self.refit_s = refit_s
        self.guard_s = guard_s
        self.min_coherence = min_coherence
        self.outlier_s = outlier_s
        self.edge_rank = edge_rank
        self.retry_s = retry_s
        self.acquire_max_n = acquire_max_n
        self.release_gap_s = release_gap_s
        self._h: deque[float] = deque()
        self.interval_s = math.nan  # C' on the host clock; NaN: not locked
        self.nominal_s = math.nan
        self._phase = math.nan  # host time of one lattice point (the edge)
        self._next_fit = -math.inf
        self.n_locks = 0

    @property
    def locked(self) -> bool:
        return math.isfinite(self.interval_s)

    def reset(self) -> None:
        self._h.clear()
        self.interval_s = self.nominal_s = self._phase = math.nan
        self._next_fit = -math.inf

    def push(self, host_s: float) -> None:
        """Add one receive time (non-decreasing)."""
        self._h.append(host_s)
        while self._h and self._h[0] < host_s - self.window_s:
            self._h.popleft()
        if host_s >= self._next_fit:
            self._fit(host_s)

    def event_time(self, host_s: float) -> float | None:
        """Estimated edge time (event + the fastest delivery) of a packet received at host_s.

        None when not locked or the packet is too far behind its lattice point.
        """
        if not self.locked:
            return None
        c = self.interval_s
        e = self._phase + math.floor((host_s - self._phase) / c) * c
        if host_s - e >= self.guard_s:
            return None
        return e

    # -- fitting -------------------------------------------------------------

    def _fit(self, now: float) -> None:
        h = np.fromiter(self._h, dtype=np.float64)
        if self.release_gap_s > 0 and h.size >= 2:
            # a packet read right after another (an event-loop stall released them
            # together) says when the loop woke, not when its event was; the first of
            # such a run is kept — it may be an event's own — and if it is a stall
            # release it is an isolated early residue (_lower_edge drops those)
            h = h[np.r_[True, np.diff(h) >= self.release_gap_s]]
        if not self.locked:
            if h.size < self.acquire_n or h[-1] - h[0] < self.acquire_s:
                return
            if not self._acquire(h[-self.acquire_max_n :]):
                self._next_fit = now + self.retry_s  # not a BLE-like rhythm (yet): back off
                return
        if not self._refine(h):
            self.interval_s = self.nominal_s = self._phase = math.nan
        self._next_fit = now + self.refit_s

    def _acquire(self, h: np.ndarray) -> bool:
        """Choose the nominal interval: the shortest with near-best coherence of h mod C."""
        n = np.arange(round(MIN_INTERVAL_S / UNIT_S), round(self.max_interval_s / UNIT_S) + 1)
        cands = n * UNIT_S
        x = (h - h[0])[None, :] / cands[:, None]
        coh = np.abs(np.exp(2j * np.pi * x).mean(axis=1))
        best = float(coh.max())
        if best < self.min_coherence:
            return False
        k = int(np.flatnonzero(coh >= 0.9 * best)[0])
        self.nominal_s = self.interval_s = float(cands[k])
        ang = np.angle(np.exp(2j * np.pi * x[k]).mean())
        # start the phase a quarter interval before the circular mean: the edge is found next
        self._phase = h[0] + (ang / (2 * np.pi) - 0.25) * self.interval_s
        self.n_locks += 1
        return True

    def _refine(self, h: np.ndarray) -> bool:
        """Refit phase and interval on the lower edge of the residues; False if it no longer fits."""
        c, phi = self.interval_s, self._phase

        def resid(phi: float, c: float) -> tuple[np.ndarray, np.ndarray]:
            # residues in [-c/4, 3c/4): the edge sits near 0 without wrapping
            j = np.floor((h - phi + 0.25 * c) / c)
            return j, h - phi - j * c

        for _ in range(2):
            _, r = resid(phi, c)
            phi += float(np.quantile(r, 0.02))  # coarse: the edge near 0
            j, r = resid(phi, c)
            fit = _robust_edge_line(j, r, c)
            if fit is None:
                return False
            slope, icpt = fit
            c, phi = c + slope, phi + icpt
            if abs(c / self.nominal_s - 1.0) > 300e-6:
                return False
        _, r = resid(phi, c)
        # the exact edge, after dropping isolated early points (stall releases)
        keep = r > -self.outlier_s
        if keep.sum() < 0.5 * r.size:
            return False
        kept = r[keep]
        # robust to a few early stall releases
        r_min = _lower_edge(kept, self.edge_rank, DENSE_S)[-1]
        phi += r_min
        if np.mean(r[keep] - r_min < min(0.25 * c, 0.01)) < 0.5:
            return False  # residues no longer gather at one edge
        self.interval_s = c
        self._phase = phi + math.floor((h[-1] - phi) / c) * c
        return True


def _lower_edge(r: np.ndarray, n: int, gap_s: float) -> list[float]:
    """The n lowest residues after dropping the isolated early ones (sorted).

    A packet released by an event-loop stall is received at a time unrelated
    to its event, now and then just before an edge; such packets come one at a
    time, while the edge's own packets gather (OS delays near their minimum):
    a lowest residue more than gap_s below the next is dropped (twice at most).
    """
    rr = np.sort(r)
    i = 0
    while i < 2 and rr.size - i > n and rr[i + 1] - rr[i] > gap_s:
        i += 1
    return [float(x) for x in rr[i : i + n]]


def _robust_edge_line(j: np.ndarray, r: np.ndarray, c: float) -> tuple[float, float] | None:
    """(slope per event, intercept at j = 0) of the lower edge of residues r over event index j.

    Per block of about 1 s the second-lowest residue (one early outlier per
    block does not count), then a Theil–Sen line through the blocks.
    """
    span = j[-1] - j[0]
    if span <= 0:
        return 0.0, float(np.partition(r, min(1, r.size - 1))[min(1, r.size - 1)])
    n_blocks = int(max(2, min(20, span * c / 1.0)))
    edges = np.linspace(j[0], j[-1] + 1e-9, n_blocks + 1)
    xs, ys = [], []
    for a, b in itertools.pairwise(edges):
        m = (j >= a) & (j < b)
        if m.sum() >= 4:
            xs.append(float(np.mean(j[m])))
            ys.append(_lower_edge(r[m], 2, DENSE_S)[-1])
    if len(xs) < 2:
        return None
    x, y = np.asarray(xs), np.asarray(ys)
    # Theil–Sen slope, then the intercept from the median offset of the block edges
    if x.size >= 3:
        ii, kk = np.triu_indices(x.size, 1)
        slope = float(np.median((y[kk] - y[ii]) / (x[kk] - x[ii])))
    else:
        slope = float((y[1] - y[0]) / (x[1] - x[0]))
    return slope, float(np.median(y - slope * x))
