"""The one output type of every decoder, and the helpers decoders share."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import DecodeError

GRAVITY_MPS2 = 9.80665
DEG_TO_RAD = float(np.pi / 180.0)


@dataclass(frozen=True, slots=True, eq=False)
class DecodedPacket:
    """Samples from one notification, in SI units, on the sensor's own clock.

    protocol: which decoder produced it ("batonsense_v1", "movesense", "polar_pmd",
    "witmotion").
    t_sensor_us: (N,) float64 sample times in µs on the sensor's clock (not the
    host's), or None when the protocol carries no timestamp (WitMotion).
    acc_mps2: (N, 3) specific force in m/s², or None if the packet has no
    accelerometer data (a Polar GYRO frame).
    gyro_radps: (N, 3) angular velocity in rad/s, or None if the packet has no
    gyroscope data (a Polar ACC frame).
    seq: the packet's sequence number if the protocol has one (ours: uint16, wraps).
    period_us: nominal sample period in µs if the packet or the caller states it.
    notes: short machine-readable remarks, e.g. "boot", "overflow", "compressed",
    "event_stamp" (t_queued_us is a connection event's anchor: our version 3).
    extra: protocol-specific arrays, e.g. WitMotion's "angles_rad" (N, 3).
    t_queued_us: the sensor time in µs the host's clock sync fits on instead of
    the last sample's time, or None if the packet has none: our protocol
    version 2's queue stamp (when the sensor handed the packet to its BLE
    stack) or version 3's event stamp (the anchor of the connection event it
    was handed over for) — either way no later than the packet could leave.
    """

    protocol: str
    t_sensor_us: np.ndarray | None
    acc_mps2: np.ndarray | None
    gyro_radps: np.ndarray | None
    seq: int | None = None
    period_us: float | None = None
    notes: tuple[str, ...] = ()
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)
    t_queued_us: float | None = None

    def __len__(self) -> int:
        for a in (self.acc_mps2, self.gyro_radps, self.t_sensor_us):
            if a is not None:
                return int(a.shape[0])
        return 0


def need(data: bytes, n: int, what: str) -> None:
    """Raise DecodeError unless `data` holds at least `n` bytes for `what`."""
    if len(data) < n:
        raise DecodeError(f"{what}: need {n} bytes, got {len(data)}")


def as_bytes(data: object, what: str) -> bytes:
    """Accept bytes, bytearray or memoryview; anything else is a DecodeError."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise DecodeError(f"{what}: expected bytes, got {type(data).__name__}")


def unpack_from(fmt: str, data: bytes, offset: int, what: str) -> tuple:
    """struct.unpack_from that raises DecodeError (never struct.error)."""
    try:
        return struct.unpack_from(fmt, data, offset)
    except struct.error as exc:
        raise DecodeError(f"{what}: {exc}") from None
