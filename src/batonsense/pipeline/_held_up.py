"""A clock fit that tells a packet held up on the host from a sensor clock jump.

After the host stalls (a frozen laptop, a process stopped, an event loop busy
for seconds) the notifications that waited come in a burst, each late by up
to the stall's length.  `ClockMapper` reads a run of late packets as the
sensor's clock jumping back and restarts its fit on the late receive times:
the whole catch-up is then misplaced by the stall (and exchanges in it are
lost).  Fitting them as ordinary late points also biases the fit (measured:
3-6 ms for ~40 s after a 20 s stall).  So a packet later than `HELD_UP_S`
after the time the current fit expects is mapped by the fit but not fitted,
for at most `MAX_HELD_UP_S` of sensor time in a row; a sensor still that
late after it has had its clock jump back, and the fit resets as before.

Mapping the held-up packets as they come extrapolates the fit from before the
stall: its drift error times the stall's length (measured 0.5-2.2 ms after a
15-20 s stall that began while the fit was young).  So the mapper says it is
`catching_up` from a held-up packet until `SETTLE_S` of fresh (fitted) data
have come after the last one; the pipeline keeps those samples back meanwhile
and maps them with the fit that has both sides of the gap.
"""

from __future__ import annotations

import math

from batonsense.sync import ClockMapper, ClockReset

#: later than this (s) after the fit's expectation: held up on the host, not by
#: the radio (a BLE packet waits at most a few connection intervals, < 0.2 s)
HELD_UP_S = 0.5
#: held up for longer than this (s of sensor time) in a row: the clock jumped
MAX_HELD_UP_S = 120.0
#: fresh data (s of sensor time) the fit needs after the last held-up packet before
#: the catch-up's samples are mapped: one packet pins the line after the gap only to
#: its own delay (up to a connection interval), a few seconds of them to the fastest's
#: (a 20 s demo stall replayed: 1 s left 0.82 ms against a quiet run, 3 s 0.70 ms)
SETTLE_S = 3.0


class HeldUpAwareMapper(ClockMapper):
    """A `ClockMapper` that leaves held-up packets out of its fit (module docstring);
    `held_up` counts them."""

    def __init__(self) -> None:
        super().__init__()
        self.held_up = 0
        self._held_since_s: float | None = None  # sensor s of the first in this run
        self._last_s: float | None = None
        self._settled_at_s: float | None = None  # sensor s the catch-up ends at

    @property
    def catching_up(self) -> bool:
        """A held-up packet came less than SETTLE_S (sensor time) of fitted data ago."""
        return self._settled_at_s is not None and (
            self._last_s is None or self._last_s < self._settled_at_s
        )

    def observe(
        self, sensor_time_s: float, host_receive_s: float, *, event_stamp: bool = False
    ) -> ClockReset | None:
        t_s, last_s = float(sensor_time_s), self._last_s
        self._last_s = t_s
        expected_s = float(self.to_host_s(t_s))
        onward = last_s is not None and 0.0 <= t_s - last_s < MAX_HELD_UP_S
        if onward and math.isfinite(expected_s) and host_receive_s - expected_s > HELD_UP_S:
            if self._held_since_s is None:
                self._held_since_s = t_s
            if t_s - self._held_since_s <= MAX_HELD_UP_S:
                self.held_up += 1
                self._settled_at_s = t_s + SETTLE_S
                return None
        else:
            self._held_since_s = None
        reset = super().observe(sensor_time_s, host_receive_s, event_stamp=event_stamp)
        if reset is not None:
            self._settled_at_s = None  # a new fit: nothing to wait for
        return reset
