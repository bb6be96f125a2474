"""Sensor time → host time: every output here is on the host's monotonic clock (HOST_CLOCK).

ClockMapper: one sensor with timestamps (ours, Movesense, Polar) — offset and
drift fitted on the lower envelope of (host receive − sensor time), with
counter unwrap and reset on reboot; the link's connection events are
estimated from receive times (EventLattice) so that the fit runs on event
times, without the OS delay.  Dejitterer: a sensor without timestamps
(WitMotion) — sample times rebuilt from receive times and the nominal rate;
its floor is about one BLE connection interval.  simulate: a synthetic sensor
clock and BLE delivery model for tests and benchmarks/clock_sync.py.
"""

from ._dejitter import Dejitterer
from ._hull import envelope_line, lower_hull
from ._mapper import ClockMapper
from ._records import HOST_CLOCK, ClockFit, ClockReset, ResetReason, SyncState

__all__ = [
    "HOST_CLOCK",
    "ClockFit",
    "ClockMapper",
    "ClockReset",
    "Dejitterer",
    "ResetReason",
    "SyncState",
    "envelope_line",
    "lower_hull",
]
