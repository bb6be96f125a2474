"""Records shared by every stage: sensors, sample streams, recordings, exchanges.

Units: time in s (`_s`) or ms (`_ms`), specific force in m/s² (`acc_mps2`),
angular velocity in rad/s (`gyro_radps`), all in the sensor's own frame.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import numpy as np

GRAVITY_MPS2 = 9.80665


class Role(str, Enum):
    BATON = "baton"
    WRIST = "wrist"


class Hand(str, Enum):
    LEFT = "left"
    RIGHT = "right"


class Outcome(str, Enum):
    COMPLETED = "completed"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """One sensor as named in the sensors file."""

    id: str
    role: Role
    athlete: str | None = None
    hand: Hand | None = None


@dataclass(frozen=True, slots=True, eq=False)
class SensorStream:
    """Samples of one sensor, in time order, on the recording's clock.

    t_s: (N,) sample times in s; acc_mps2: (N, 3) specific force in m/s²;
    gyro_radps: (N, 3) angular velocity in rad/s.  Sensor frame, unknown mount.
    """

    sensor_id: str
    t_s: np.ndarray
    acc_mps2: np.ndarray
    gyro_radps: np.ndarray

    def __post_init__(self) -> None:
        n = self.t_s.shape[0]
        if self.t_s.ndim != 1 or self.acc_mps2.shape != (n, 3) or self.gyro_radps.shape != (n, 3):
            raise ValueError(f"sensor {self.sensor_id!r}: arrays must be (N,), (N,3), (N,3)")

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @property
    def rate_hz(self) -> float:
        """Median sample rate (robust to lost packets); 0 for fewer than 2 samples."""
        if len(self) < 2:
            return 0.0
        return float(1.0 / np.median(np.diff(self.t_s)))

    def after_us(self, last_us: float = -np.inf) -> tuple[SensorStream, float]:
        """The samples later, at 1 µs, than last_us (µs) and than every sample before
        them, so time strictly increases whatever the blocks' order; and the newest
        time seen (µs) to pass as last_us with the next block.  Returns self when
        nothing is dropped."""
        us = np.round(np.asarray(self.t_s, dtype=np.float64) * 1e6)
        if not len(us):
            return self, last_us
        keep = us > np.maximum.accumulate(np.concatenate(([last_us], us[:-1])))
        newest = max(last_us, float(us.max()))
        if keep.all():
            return self, newest
        kept = SensorStream(
            self.sensor_id, self.t_s[keep], self.acc_mps2[keep], self.gyro_radps[keep]
        )
        return kept, newest

    def between(self, start_s: float, end_s: float) -> SensorStream:
        """Samples with start_s <= t < end_s (views, no copy)."""
        i0, i1 = np.searchsorted(self.t_s, [start_s, end_s])
        return SensorStream(
            self.sensor_id, self.t_s[i0:i1], self.acc_mps2[i0:i1], self.gyro_radps[i0:i1]
        )


@dataclass(frozen=True, slots=True)
class Recording:
    """All sensors' samples on one clock (`clock` names it)."""

    sensors: tuple[SensorInfo, ...]
    streams: Mapping[str, SensorStream]
    clock: str = "recording"

    @property
    def baton(self) -> SensorInfo:
        return next(s for s in self.sensors if s.role is Role.BATON)

    @property
    def wrists(self) -> tuple[SensorInfo, ...]:
        return tuple(s for s in self.sensors if s.role is Role.WRIST)

    @property
    def start_s(self) -> float:
        return min((float(s.t_s[0]) for s in self.streams.values() if len(s)), default=0.0)

    @property
    def end_s(self) -> float:
        return max((float(s.t_s[-1]) for s in self.streams.values() if len(s)), default=0.0)


def _unsensed_extra(v: Any) -> dict[str, Any]:
    """`hands_without_sensor` of an exchange object → Exchange.extra (checked)."""
    if not v:
        return {}
    if not isinstance(v, list) or not set(v) <= {"giver", "receiver"}:
        raise ValueError(f'hands_without_sensor must be a list of "giver"/"receiver", got {v!r}')
    return {"unsensed_hands": list(v)}


def _pm_extra(d: Mapping[str, Any]) -> dict[str, float]:
    """`grab_pm_ms` / `release_pm_ms` of an exchange object → Exchange.extra (checked)."""
    out = {}
    for key in ("grab_pm_ms", "release_pm_ms"):
        v = d.get(key)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ValueError(f"{key} must be a non-negative number of ms, got {v!r}")
        out[key] = float(v)
    return out


def _ms(later_s: float | None, earlier_s: float | None) -> float | None:
    if later_s is None or earlier_s is None:
        return None
    return round((later_s - earlier_s) * 1000.0, 1)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One baton exchange.  Times are on the clock named by `clock`; None = unknown.

    reach_s: receiver's arm starts moving back; grab_s: first contact of the
    receiver's hand; release_s: giver's hand leaves the baton; drop_s: the baton
    starts falling free (dropped exchanges only).  confidence: 0-1, lowered when an
    event's timing is uncertain; `grab_pm_ms` / `release_pm_ms` say by how much (±).
    """

    giver: str | None
    receiver: str | None
    reach_s: float | None
    grab_s: float | None
    release_s: float | None
    outcome: Outcome = Outcome.COMPLETED
    giver_hand: Hand | None = None
    receiver_hand: Hand | None = None
    drop_s: float | None = None
    confidence: float | None = None
    technique: str | None = None
    clock: str = "recording"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def overlap_ms(self) -> float | None:
        return _ms(self.release_s, self.grab_s)

    @property
    def reach_ms(self) -> float | None:
        return _ms(self.grab_s, self.reach_s)

    @property
    def hand_mismatch(self) -> bool | None:
        """True for a right-to-right or left-to-left pass (runners in each other's path)."""
        if self.giver_hand is None or self.receiver_hand is None:
            return None
        return self.giver_hand == self.receiver_hand

    @property
    def hands_without_sensor(self) -> tuple[str, ...]:
        """Roles ("giver", "receiver") whose holding hand wears no sensor: that hand's
        events are not timed (release for the giver; grab and reach for the receiver)."""
        return tuple(self.extra.get("unsensed_hands", ()))

    @property
    def grab_pm_ms(self) -> float | None:
        """How uncertain grab_s is (± ms), as the detector judged its evidence."""
        return self.extra.get("grab_pm_ms")

    @property
    def release_pm_ms(self) -> float | None:
        """How uncertain release_s is (± ms), as the detector judged its evidence."""
        return self.extra.get("release_pm_ms")

    @property
    def time_s(self) -> float:
        """A representative time for sorting: the first known event."""
        for t in (self.grab_s, self.release_s, self.drop_s, self.reach_s):
            if t is not None:
                return t
        return math.inf

    def shifted(self, offset_s: float, clock: str | None = None) -> Exchange:
        """The same exchange with every time moved by offset_s (onto another clock)."""

        def m(t: float | None) -> float | None:
            return None if t is None else t + offset_s

        return replace(
            self,
            reach_s=m(self.reach_s),
            grab_s=m(self.grab_s),
            release_s=m(self.release_s),
            drop_s=m(self.drop_s),
            clock=self.clock if clock is None else clock,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON output contract (times in s rounded to 0.1 ms, durations in ms)."""

        def r(t: float | None) -> float | None:
            return None if t is None else round(t, 4)

        return {
            "giver": self.giver,
            "receiver": self.receiver,
            "reach_s": r(self.reach_s),
            "grab_s": r(self.grab_s),
            "release_s": r(self.release_s),
            "overlap_ms": self.overlap_ms,
            "reach_ms": self.reach_ms,
            "outcome": self.outcome.value,
            "drop_s": r(self.drop_s),
            "giver_hand": None if self.giver_hand is None else self.giver_hand.value,
            "receiver_hand": None if self.receiver_hand is None else self.receiver_hand.value,
            "hand_mismatch": self.hand_mismatch,
            "technique": self.technique,
            "confidence": None if self.confidence is None else round(self.confidence, 3),
            "grab_pm_ms": self.grab_pm_ms,
            "release_pm_ms": self.release_pm_ms,
            "hands_without_sensor": list(self.hands_without_sensor),
            "clock": self.clock,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Exchange:
        """Inverse of to_dict (derived fields are ignored)."""

        def hand(v: Any) -> Hand | None:
            return None if v is None else Hand(v)

        return cls(
            giver=d.get("giver"),
            receiver=d.get("receiver"),
            reach_s=d.get("reach_s"),
            grab_s=d.get("grab_s"),
            release_s=d.get("release_s"),
            outcome=Outcome(d.get("outcome", "completed")),
            giver_hand=hand(d.get("giver_hand")),
            receiver_hand=hand(d.get("receiver_hand")),
            drop_s=d.get("drop_s"),
            confidence=d.get("confidence"),
            technique=d.get("technique"),
            clock=d.get("clock", "recording"),
            extra=_unsensed_extra(d.get("hands_without_sensor")) | _pm_extra(d),
        )
