"""WitMotion WT901BLE / BWT901BLECL: 20-byte 0x55 0x61 frames (no timestamp).

A frame is `55 61` followed by nine int16 LE: ax, ay, az (×16 g/32768),
wx, wy, wz (×2000 °/s/32768), roll, pitch, yaw (×180°/32768).  A notification
holds one frame or several back to back.  Frames `55 71` (replies to register
reads: magnetometer, quaternion, battery, ...) are skipped and counted in the
notes.  There is no sensor timestamp: `t_sensor_us` is None, and the host can
only de-jitter its receive times.
"""

from __future__ import annotations

import numpy as np

from ..errors import DecodeError
from ._packet import DEG_TO_RAD, GRAVITY_MPS2, DecodedPacket, as_bytes

PROTOCOL = "witmotion"
SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9b34fb"
NOTIFY_CHAR_UUID = "0000ffe4-0000-1000-8000-00805f9b34fb"
WRITE_CHAR_UUID = "0000ffe9-0000-1000-8000-00805f9b34fb"

FRAME_SIZE = 20
HEADER = 0x55
FLAG_DATA = 0x61
FLAG_REGISTER = 0x71

ACC_LSB_MPS2 = 16 * GRAVITY_MPS2 / 32768
GYRO_LSB_RADPS = 2000 * DEG_TO_RAD / 32768
ANGLE_LSB_RAD = 180 * DEG_TO_RAD / 32768


def decode_notification(data: bytes) -> DecodedPacket:
    """One notification (one or more 20-byte frames) -> its 0x61 samples in SI units.

    acc in m/s², gyro in rad/s, extra["angles_rad"] = (roll, pitch, yaw) in rad.
    Raises DecodeError if the length is not a multiple of 20, a frame does not
    start with 0x55, a frame type is unknown, or no frame carries samples.
    """
    data = as_bytes(data, PROTOCOL)
    if not data or len(data) % FRAME_SIZE:
        raise DecodeError(f"{PROTOCOL}: length {len(data)} is not a multiple of {FRAME_SIZE}")
    frames = np.frombuffer(data, dtype=np.uint8).reshape(-1, FRAME_SIZE)
    if np.any(frames[:, 0] != HEADER):
        raise DecodeError(f"{PROTOCOL}: frame does not start with 0x55")
    kinds = frames[:, 1]
    unknown = set(kinds.tolist()) - {FLAG_DATA, FLAG_REGISTER}
    if unknown:
        raise DecodeError(f"{PROTOCOL}: unknown frame type 0x{min(unknown):02x}")
    is_data = kinds == FLAG_DATA
    if not np.any(is_data):
        raise DecodeError(f"{PROTOCOL}: no 0x61 data frame (register replies only)")
    values = frames[is_data, 2:].copy().view("<i2").astype(np.float64)
    skipped = int(np.count_nonzero(~is_data))
    return DecodedPacket(
        protocol=PROTOCOL,
        t_sensor_us=None,
        acc_mps2=values[:, 0:3] * ACC_LSB_MPS2,
        gyro_radps=values[:, 3:6] * GYRO_LSB_RADPS,
        notes=(f"skipped_register_frames={skipped}",) if skipped else (),
        extra={"angles_rad": values[:, 6:9] * ANGLE_LSB_RAD},
    )


def encode_frame(
    acc_counts: tuple[int, int, int],
    gyro_counts: tuple[int, int, int],
    angle_counts: tuple[int, int, int] = (0, 0, 0),
) -> bytes:
    """A 0x61 frame from raw int16 counts (for tests and virtual sensors)."""
    counts = np.array([*acc_counts, *gyro_counts, *angle_counts], dtype="<i2")
    return bytes([HEADER, FLAG_DATA]) + counts.tobytes()
