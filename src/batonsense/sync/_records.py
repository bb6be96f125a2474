"""What the clock mappers report: the fit, its state, and clock resets."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

#: The clock every output of this package is on: the host's monotonic clock
#: (``time.monotonic()`` at notification receipt), in s.
HOST_CLOCK = "host_monotonic"


class SyncState(str, Enum):
    """How much of the mapping is estimated."""

    EMPTY = "empty"  # no point yet: nothing can be mapped
    OFFSET_ONLY = "offset_only"  # span too short for the envelope's slope: drift from the prior
    TRACKING = "tracking"  # offset and drift fitted on the lower envelope


class ResetReason(str, Enum):
    """Why a mapper threw its fit away and started a new epoch."""

    BACKWARDS = "backwards"  # sensor time went back (reboot), not a counter wrap
    EARLY = "early"  # a packet arrived before the fit says it was made (clock jumped forward)
    LATE = "late"  # several packets in a row arrived implausibly late (clock jumped back)


@dataclass(frozen=True, slots=True)
class ClockReset:
    """A discontinuity of the sensor clock; samples before and after are on different epochs.

    host_receive_s: receive time of the first packet of the new epoch;
    sensor_time_s: its raw sensor time; epoch: the new epoch's number.
    """

    host_receive_s: float
    sensor_time_s: float
    reason: ResetReason
    epoch: int


@dataclass(frozen=True, slots=True)
class ClockFit:
    """Current mapping host_s = offset_s + (1 + drift_ppm·1e-6) · sensor_s.

    sensor_s is the *unwrapped* sensor time of the current epoch (equal to the
    raw time until the counter first wraps); the result is on `clock`.
    n_points: packets in the fitting window; span_s: sensor time they cover;
    mean_delay_s: mean gap of those packets above the envelope (the typical
    radio + OS latency beyond the floor); uncertainty_s: heuristic size of
    the mapping error (see ClockMapper.fit); epoch: counts resets.
    """

    offset_s: float
    drift_ppm: float
    n_points: int
    span_s: float
    mean_delay_s: float
    uncertainty_s: float
    state: SyncState
    epoch: int
    clock: str = HOST_CLOCK

    def to_host_s(self, sensor_s: float) -> float:
        """Host time in s of one unwrapped sensor time in s."""
        return self.offset_s + (1.0 + self.drift_ppm * 1e-6) * sensor_s
