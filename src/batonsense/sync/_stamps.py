"""Do the sensor's sync times themselves fall on a connection-event lattice?

Protocol v3 firmware stamps each packet with the anchor of the connection
event it was handed over for (`firmware_notes/clock_sync.md`, "Protocol v3"):
its sync times step by whole connection intervals (n × 1.25 ms on the
central's clock, seen through the sensor's: ±100 ppm) and repeat exactly for
packets of one event.  Such a stamp already puts the event on the sensor's
clock, so the host's own event lattice (estimated from receive times, with an
error of a few hundred µs, `_lattice`) can only add error: the envelope of the
receive times is pinned by the packets the OS delivered fastest.

`StampLattice` watches the last `n_steps` + 1 distinct sync times and says
whether all of them lie, measured from the first, on whole multiples of one
legal interval (7.5 ms … `max_interval_s`) to within `tol_s` + 100 ppm of the
time since the first.  Random hand-offs (v2) fail at once, and so does an IMU
whose rate is off nominal by more than ~0.02 % (v1: its packet times slide
across any lattice); a crystal-timed IMU on protocol v1 whose packet
duration is a multiple of 1.25 ms (20 ms at 200 Hz) passes — its sync times
are on a lattice — and loses the host lattice, which cannot fix its phase
lock anyway.
"""

from __future__ import annotations

from collections import deque

import numpy as np

UNIT_S = 0.00125
MIN_INTERVAL_S = 0.0075
CLOCK_PPM = 100e-6  # sensor crystal vs the central's, generously


class StampLattice:
    """Streaming test: are the sync times connection-event stamps?  (`on_lattice`)"""

    def __init__(
        self,
        *,
        n_steps: int = 24,
        tol_s: float = 0.00008,
        max_interval_s: float = 0.1,
        wrap_period_s: float | None = None,
    ) -> None:
        self.n_steps = n_steps
        self.tol_s = tol_s
        self.wrap_period_s = wrap_period_s
        self._unwrap_s = 0.0
        self._candidates = np.arange(
            round(MIN_INTERVAL_S / UNIT_S), round(max_interval_s / UNIT_S) + 1
        ) * UNIT_S
        self._times: deque[float] = deque(maxlen=n_steps + 1)
        self._new = 0
        self.on_lattice = False

    def reset(self) -> None:
        self._times.clear()
        self._new = 0
        self._unwrap_s = 0.0
        self.on_lattice = False

    def push(self, sync_s: float) -> None:
        """Add a packet's raw sync time (s; a counter wrap is unwrapped, any other step
        back — a reboot — starts over)."""
        raw_s, sync_s = sync_s, sync_s + self._unwrap_s
        period = self.wrap_period_s
        if self._times and period is not None and self._times[-1] - sync_s > period / 2:
            self._unwrap_s += period
            sync_s += period
        if self._times and sync_s < self._times[-1]:
            self.reset()
            sync_s = raw_s
        if self._times and sync_s - self._times[-1] <= 1e-6:
            return  # a packet of the same event
        self._times.append(sync_s)
        self._new += 1
        if len(self._times) > self.n_steps and self._new >= self.n_steps // 2:
            self._new = 0
            self.on_lattice = self._fits_one_interval(np.fromiter(self._times, float))

    def _fits_one_interval(self, times: np.ndarray) -> bool:
        since = times[1:] - times[0]
        c = self._candidates[:, None]
        k = np.rint(since[None, :] / c)
        resid = np.abs(since[None, :] - k * c)
        return bool((resid <= self.tol_s + CLOCK_PPM * since[None, :]).all(axis=1).any())
