"""Movesense IMU6 over the GATT sensor-data service (gatt_sensordata_app).

Commands (written to WRITE_CHAR_UUID): `[1, ref] + b"/Meas/IMU6/<rate>"`
subscribes, `[2, ref]` unsubscribes.  Data arrive on NOTIFY_CHAR_UUID as

    [2, ref, uint32 LE timestamp ms, n × 3 float32 acc m/s², n × 3 float32 gyro °/s]

all accelerometer samples first, then all gyroscope samples.  The timestamp is
the sensor's millisecond clock at the first sample.  A message longer than one
notification continues in a type-3 packet `[3, ref, rest...]`; `join_parts`
glues the two (the caller keeps the first part until the second arrives).
Type-1 packets are command results, not data.
"""

from __future__ import annotations

import numpy as np

from ..errors import DecodeError
from ._packet import DEG_TO_RAD, DecodedPacket, as_bytes, unpack_from

PROTOCOL = "movesense"
SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
WRITE_CHAR_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"
NOTIFY_CHAR_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"

TYPE_COMMAND_RESULT = 1
TYPE_DATA = 2
TYPE_DATA_PART2 = 3
RATES_HZ = (13, 26, 52, 104, 208, 416, 833, 1666)
HEADER_SIZE = 6  # type, ref, uint32 timestamp
BYTES_PER_SAMPLE = 24  # 3 float32 acc + 3 float32 gyro


def subscribe_command(ref: int, rate_hz: int = 208) -> bytes:
    """The write that subscribes IMU6 at rate_hz under reference number ref."""
    if rate_hz not in RATES_HZ or not 0 <= ref <= 255:
        raise ValueError(f"rate_hz must be one of {RATES_HZ} and ref 0..255")
    return bytes([1, ref]) + f"/Meas/IMU6/{rate_hz}".encode("ascii")


def unsubscribe_command(ref: int) -> bytes:
    if not 0 <= ref <= 255:
        raise ValueError("ref must be 0..255")
    return bytes([2, ref])


def packet_type(data: bytes) -> tuple[int, int]:
    """(type, ref) of a notification; DecodeError if shorter than 2 bytes."""
    data = as_bytes(data, PROTOCOL)
    if len(data) < 2:
        raise DecodeError(f"{PROTOCOL}: notification of {len(data)} bytes has no type and ref")
    return data[0], data[1]


def join_parts(first: bytes, second: bytes) -> bytes:
    """A type-2 packet and its type-3 continuation (same ref) -> one type-2 message."""
    t1, r1 = packet_type(first)
    t2, r2 = packet_type(second)
    if t1 != TYPE_DATA or t2 != TYPE_DATA_PART2:
        raise DecodeError(f"{PROTOCOL}: cannot join packet types {t1} and {t2} (need 2 then 3)")
    if r1 != r2:
        raise DecodeError(f"{PROTOCOL}: continuation for ref {r2} follows ref {r1}")
    return as_bytes(first, PROTOCOL) + as_bytes(second, PROTOCOL)[2:]


def decode_imu6(data: bytes, *, rate_hz: float) -> DecodedPacket:
    """A complete IMU6 data message -> samples in SI units on the sensor's clock.

    rate_hz: the subscribed rate (the packet does not carry it); sample i is at
    timestamp_ms·1000 + i·1e6/rate_hz µs.  Raises DecodeError for a command
    result, a continuation on its own, or a length that is not 6 + 24·n.
    """
    kind, ref = packet_type(data)
    data = as_bytes(data, PROTOCOL)
    if kind != TYPE_DATA:
        raise DecodeError(f"{PROTOCOL}: packet type {kind} (ref {ref}) is not an IMU6 data message")
    if not rate_hz > 0:
        raise DecodeError(f"{PROTOCOL}: rate_hz must be positive, got {rate_hz}")
    (timestamp_ms,) = unpack_from("<I", data, 2, f"{PROTOCOL} timestamp")
    body = len(data) - HEADER_SIZE
    if body <= 0 or body % BYTES_PER_SAMPLE:
        raise DecodeError(
            f"{PROTOCOL}: IMU6 body of {body} bytes is not a whole number of "
            f"{BYTES_PER_SAMPLE}-byte samples (a continuation missing?)"
        )
    n = body // BYTES_PER_SAMPLE
    with np.errstate(all="ignore"):  # signalling NaNs warn on the cast; rejected below
        values = np.frombuffer(data, dtype="<f4", offset=HEADER_SIZE).astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise DecodeError(f"{PROTOCOL}: non-finite sample value")
    acc = values[: 3 * n].reshape(n, 3)
    gyro = values[3 * n :].reshape(n, 3) * DEG_TO_RAD
    t = timestamp_ms * 1000.0 + np.arange(n) * (1e6 / rate_hz)
    return DecodedPacket(
        protocol=PROTOCOL,
        t_sensor_us=t,
        acc_mps2=acc,
        gyro_radps=gyro,
        period_us=1e6 / rate_hz,
        notes=(f"ref={ref}",),
    )


def encode_imu6(ref: int, timestamp_ms: int, acc_mps2: np.ndarray, gyro_dps: np.ndarray) -> bytes:
    """A complete type-2 IMU6 message (for tests and virtual sensors; not split)."""
    acc = np.asarray(acc_mps2, dtype="<f4").reshape(-1, 3)
    gyro = np.asarray(gyro_dps, dtype="<f4").reshape(-1, 3)
    if acc.shape != gyro.shape:
        raise ValueError("acc and gyro need the same number of samples")
    head = bytes([TYPE_DATA, ref]) + int(timestamp_ms).to_bytes(4, "little")
    return head + acc.tobytes() + gyro.tobytes()


def split_message(message: bytes, max_notification_bytes: int) -> list[bytes]:
    """Split a type-2 message as the sensor does: the rest goes into a type-3 packet."""
    if len(message) <= max_notification_bytes:
        return [message]
    first = message[:max_notification_bytes]
    return [first, bytes([TYPE_DATA_PART2, message[1]]) + message[max_notification_bytes:]]
