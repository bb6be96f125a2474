"""Polar Verity Sense (and other PMD devices): ACC and GYRO data frames.

Frame on the PMD data characteristic (all little-endian):

    off size
      0   1  measurement type (low 6 bits): 2 = ACC, 5 = GYRO
      1   8  uint64 timestamp in ns of the LAST sample in the frame (sensor clock)
      9   1  frame type: bit 7 = delta-compressed, bits 0-6 = type number
     10   …  samples

Raw frames (not compressed) of ACC: type 0/1/2 = int8/int16/int24 x, y, z per
sample, in mG.  Compressed frames: one reference sample (3 channels of
ceil(bits/8) bytes, signed), then blocks of [uint8 delta bit width, uint8
sample count, count × 3 signed deltas of that width, packed least significant
bit first, the block padded to whole bytes]; each delta adds to the previous
sample.  Compressed ACC type 1 = 16-bit, × factor in mG; ACC type 0 = 16-bit,
× factor in g; GYRO type 0 = 16-bit, × factor in °/s; GYRO type 1 = 32-bit
float bit patterns, × factor in °/s.  The factor is the one the device reported
for the stream when it was started (1.0 when it reports none), so the caller
passes it in, together with the sample rate.
"""

from __future__ import annotations

import numpy as np

from ..errors import DecodeError
from ._packet import DEG_TO_RAD, GRAVITY_MPS2, DecodedPacket, as_bytes, need, unpack_from

PROTOCOL = "polar_pmd"
SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CONTROL_CHAR_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA_CHAR_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

ACC = 2
GYRO = 5
HEADER_SIZE = 10
COMPRESSED_BIT = 0x80
CHANNELS = 3
MAX_SAMPLES = 100_000  # far above any real frame; bounds the work on garbage input

# (measurement, compressed, frame type) -> (bits per value, unit scale to SI, float bits)
_MG = 1e-3 * GRAVITY_MPS2
_LAYOUTS: dict[tuple[int, bool, int], tuple[int, float, bool]] = {
    (ACC, False, 0): (8, _MG, False),
    (ACC, False, 1): (16, _MG, False),
    (ACC, False, 2): (24, _MG, False),
    (ACC, True, 0): (16, GRAVITY_MPS2, False),
    (ACC, True, 1): (16, _MG, False),
    (GYRO, True, 0): (16, DEG_TO_RAD, False),
    (GYRO, True, 1): (32, DEG_TO_RAD, True),
}


def decode_frame(
    data: bytes,
    *,
    rate_hz: float,
    acc_factor: float = 1.0,
    gyro_factor: float = 1.0,
    previous_timestamp_ns: int | None = None,
) -> DecodedPacket:
    """One PMD ACC or GYRO frame -> samples in SI units on the sensor's clock.

    Raw frames ignore the factor (their unit is fixed).  Sample times: the last
    is the frame's timestamp; the others are spaced by 1e9/rate_hz ns, or, when
    previous_timestamp_ns (the last sample of the previous frame of the same
    stream) is given and earlier, by the measured (timestamp - previous)/n.
    An ACC frame has gyro_radps None and a GYRO frame acc_mps2 None.
    """
    data = as_bytes(data, PROTOCOL)
    need(data, HEADER_SIZE, f"{PROTOCOL} header")
    measurement = data[0] & 0x3F
    (timestamp_ns,) = unpack_from("<Q", data, 1, f"{PROTOCOL} timestamp")
    compressed = bool(data[9] & COMPRESSED_BIT)
    frame_type = data[9] & 0x7F
    layout = _LAYOUTS.get((measurement, compressed, frame_type))
    if layout is None:
        kind = "compressed" if compressed else "raw"
        raise DecodeError(
            f"{PROTOCOL}: unsupported measurement {measurement} {kind} frame type {frame_type}"
        )
    bits, unit, is_float = layout
    body = data[HEADER_SIZE:]
    values = _delta_decode(body, bits) if compressed else _raw_decode(body, bits)
    factor = (acc_factor if measurement == ACC else gyro_factor) if compressed else 1.0
    with np.errstate(all="ignore"):  # NaN patterns and overflow are rejected below
        if is_float:
            values = values.astype("<u4").view("<f4")
        si = np.asarray(values, dtype=np.float64) * (factor * unit)
    if not np.all(np.isfinite(si)):
        raise DecodeError(f"{PROTOCOL}: non-finite sample value")
    t_us = _times_us(timestamp_ns, len(si), rate_hz, previous_timestamp_ns)
    return DecodedPacket(
        protocol=PROTOCOL,
        t_sensor_us=t_us,
        acc_mps2=si if measurement == ACC else None,
        gyro_radps=si if measurement == GYRO else None,
        period_us=float(np.diff(t_us).mean()) if len(t_us) > 1 else 1e6 / rate_hz,
        notes=("compressed",) if compressed else (),
    )


def _times_us(last_ns: int, n: int, rate_hz: float, previous_ns: int | None) -> np.ndarray:
    if not rate_hz > 0:
        raise DecodeError(f"{PROTOCOL}: rate_hz must be positive, got {rate_hz}")
    step_ns = 1e9 / rate_hz
    if previous_ns is not None and 0 < previous_ns < last_ns:
        step_ns = (last_ns - previous_ns) / n
    return (last_ns - step_ns * np.arange(n - 1, -1, -1)) / 1000.0


def _raw_decode(body: bytes, bits: int) -> np.ndarray:
    """Raw frame: (n, 3) signed little-endian integers of `bits` bits."""
    width = bits // 8
    if not body or len(body) % (CHANNELS * width):
        raise DecodeError(
            f"{PROTOCOL}: raw body of {len(body)} bytes is not whole {CHANNELS * width}-byte samples"
        )
    raw = np.frombuffer(body, dtype=np.uint8).reshape(-1, width).astype(np.int64)
    value = (raw << (8 * np.arange(width))).sum(axis=1)
    value -= (value >> (bits - 1) & 1) << bits  # sign
    return value.reshape(-1, CHANNELS)


def _delta_decode(body: bytes, bits: int) -> np.ndarray:
    """Compressed frame: (n, 3) integers (two's complement for `bits` < 32,
    raw 32-bit patterns for bits == 32)."""
    ref_bytes = (bits + 7) // 8
    need(body, CHANNELS * ref_bytes, f"{PROTOCOL} reference sample")
    ref = _raw_decode(body[: CHANNELS * ref_bytes], ref_bytes * 8)[0]
    if bits == 32:
        ref = ref & 0xFFFFFFFF
    deltas = [np.zeros(CHANNELS, dtype=np.int64)]
    offset, total = CHANNELS * ref_bytes, 1
    while offset < len(body):
        if offset + 2 > len(body):
            raise DecodeError(f"{PROTOCOL}: delta block header cut off at byte {offset}")
        width, count = body[offset], body[offset + 1]
        offset += 2
        if width > 32:
            raise DecodeError(f"{PROTOCOL}: delta width {width} bits > 32")
        n_bytes = (width * count * CHANNELS + 7) // 8
        if offset + n_bytes > len(body):
            raise DecodeError(
                f"{PROTOCOL}: delta block of {count} samples × {width} bits needs {n_bytes} "
                f"bytes, {len(body) - offset} left"
            )
        total += count
        if total > MAX_SAMPLES:
            raise DecodeError(f"{PROTOCOL}: more than {MAX_SAMPLES} samples in one frame")
        deltas.append(_unpack_signed(body[offset : offset + n_bytes], width, count * CHANNELS))
        offset += n_bytes
    values = ref + np.cumsum(np.concatenate(deltas).reshape(-1, CHANNELS), axis=0)
    if bits == 32:
        return values & 0xFFFFFFFF
    return values


def _unpack_signed(block: bytes, width: int, n: int) -> np.ndarray:
    """n signed integers of `width` bits, packed least significant bit first."""
    if width == 0 or n == 0:
        return np.zeros(n, dtype=np.int64)
    bits = np.unpackbits(np.frombuffer(block, dtype=np.uint8), bitorder="little")
    bits = bits[: n * width].reshape(n, width).astype(np.int64)
    value = bits @ (np.int64(1) << np.arange(width, dtype=np.int64))
    return value - (bits[:, -1] << width)


def encode_compressed(
    measurement: int,
    frame_type: int,
    timestamp_ns: int,
    reference: tuple[int, int, int],
    blocks: list[tuple[int, list[tuple[int, int, int]]]],
) -> bytes:
    """A compressed frame from a reference sample and [(width, [deltas...]), ...]
    (16-bit types only; for tests and virtual sensors)."""
    out = bytearray([measurement, *timestamp_ns.to_bytes(8, "little"), COMPRESSED_BIT | frame_type])
    out += np.array(reference, dtype="<i2").tobytes()
    for width, samples in blocks:
        flat = [v for sample in samples for v in sample]
        half = (1 << width) // 2  # 0 for width 0: only zero deltas fit
        if any(not -half <= v < max(half, 1) for v in flat):
            raise ValueError(f"delta does not fit in {width} bits")
        acc = sum((v & ((1 << width) - 1)) << (i * width) for i, v in enumerate(flat))
        out += bytes([width, len(samples)])
        out += acc.to_bytes((width * len(flat) + 7) // 8, "little")
    return bytes(out)
