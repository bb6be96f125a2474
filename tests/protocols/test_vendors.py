"""Vendor decoders against byte vectors written by hand from the published layouts."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from batonsense.errors import DecodeError
from batonsense.protocols import movesense, polar_pmd, witmotion

G = 9.80665
DEG = math.pi / 180
MG = G / 1000


# ------------------------------------------------------------------ Polar PMD

TS_1E12 = "00 10 a5 d4 e8 00 00 00"  # 10**12 ns, uint64 LE


def test_polar_raw_acc_int16_frame() -> None:
    frame = bytes.fromhex(
        "02" + TS_1E12 + "01"  # ACC, timestamp, raw frame type 1 (int16, mG)
        "e8 03 00 00 18 fc"  # (1000, 0, -1000) mG
        "ff ff 02 00 00 00"  # (-1, 2, 0) mG
    )
    p = polar_pmd.decode_frame(frame, rate_hz=50, acc_factor=123.0)  # raw ignores the factor
    assert p.gyro_radps is None and p.notes == ()
    np.testing.assert_allclose(p.acc_mps2, np.array([[1000, 0, -1000], [-1, 2, 0]]) * MG)
    # The timestamp belongs to the last sample; the one before is 1/50 s earlier.
    assert p.t_sensor_us.tolist() == [1e9 - 20_000, 1e9]


def test_polar_delta_compressed_acc_frame() -> None:
    frame = bytes.fromhex(
        "02" + TS_1E12 + "81"  # ACC, compressed bit | type 1
        "64 00 38 ff e8 03"  # reference (100, -200, 1000)
        "04 02 f1 87 20"  # 4-bit deltas, 2 samples: (1, -1, 7), (-8, 0, 2)
        "02 01 25"  # 2-bit deltas, 1 sample: (1, 1, -2)
    )
    # f1 = 0b1111_0001: low nibble 1, high nibble 0xF = -1;  87: 7, 8 = -8;  20: 0, 2.
    # 25 = 0b00_10_01_01: 1, 1, 0b10 = -2.
    p = polar_pmd.decode_frame(frame, rate_hz=52, acc_factor=0.5)
    expected_counts = [[100, -200, 1000], [101, -201, 1007], [93, -201, 1009], [94, -200, 1007]]
    np.testing.assert_allclose(p.acc_mps2, np.array(expected_counts) * 0.5 * MG)
    assert p.notes == ("compressed",)
    assert p.t_sensor_us[-1] == 1e9
    np.testing.assert_allclose(np.diff(p.t_sensor_us), 1e6 / 52)


def test_polar_compressed_gyro_frame_with_factor_and_previous_timestamp() -> None:
    frame = bytes.fromhex(
        "05" + TS_1E12 + "80"  # GYRO, compressed type 0
        "0a 00 f6 ff 00 00"  # reference (10, -10, 0)
        "03 01 e3 01"  # 3-bit deltas, 1 sample: 0b111_100_011 = (3, -4, -1)
    )
    p = polar_pmd.decode_frame(
        frame, rate_hz=52, gyro_factor=0.1, previous_timestamp_ns=10**12 - 30_000
    )
    assert p.acc_mps2 is None
    np.testing.assert_allclose(p.gyro_radps, np.array([[1.0, -1.0, 0.0], [1.3, -1.4, -0.1]]) * DEG)
    # Spacing measured from the previous frame: 30 µs over 2 samples.
    np.testing.assert_allclose(p.t_sensor_us, [1e9 - 15.0, 1e9])


def test_polar_compressed_float_gyro_frame() -> None:
    ref = struct.pack("<3f", 1.5, -2.0, 0.0)
    frame = bytes.fromhex("05" + TS_1E12 + "81") + ref + bytes([8, 1, 1, 0, 0])
    p = polar_pmd.decode_frame(frame, rate_hz=100)
    next_after = float(np.nextafter(np.float32(1.5), np.float32(2)))
    np.testing.assert_allclose(p.gyro_radps, np.array([[1.5, -2, 0], [next_after, -2, 0]]) * DEG)


def test_polar_encoder_matches_hand_written_bytes() -> None:
    frame = polar_pmd.encode_compressed(
        polar_pmd.ACC,
        1,
        10**12,
        (100, -200, 1000),
        [(4, [(1, -1, 7), (-8, 0, 2)]), (2, [(1, 1, -2)])],
    )
    assert frame.hex(" ") == (
        "02 00 10 a5 d4 e8 00 00 00 81 64 00 38 ff e8 03 04 02 f1 87 20 02 01 25"
    )


def test_polar_float_gyro_nan_pattern_is_a_decode_error() -> None:
    frame = bytes.fromhex("05" + TS_1E12 + "81" + "0000a07f" + "00000000" * 2)
    with pytest.raises(DecodeError, match="non-finite"):
        polar_pmd.decode_frame(frame, rate_hz=52)


def test_polar_zero_width_block_repeats_the_previous_sample() -> None:
    frame = polar_pmd.encode_compressed(
        polar_pmd.GYRO, 0, 10**12, (1, 2, 3), [(0, [(0, 0, 0)] * 2)]
    )
    p = polar_pmd.decode_frame(frame, rate_hz=52)
    np.testing.assert_allclose(p.gyro_radps, np.array([[1, 2, 3]] * 3) * DEG)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (bytes(9), "need 10 bytes"),
        (bytes.fromhex("00" + TS_1E12 + "00") + bytes(6), "unsupported measurement 0"),
        (bytes.fromhex("05" + TS_1E12 + "00") + bytes(6), "raw frame type 0"),
        (bytes.fromhex("02" + TS_1E12 + "01") + bytes(5), "not whole 6-byte samples"),
        (bytes.fromhex("02" + TS_1E12 + "01"), "not whole"),
        (bytes.fromhex("02" + TS_1E12 + "81") + bytes(5), "reference sample"),
        (bytes.fromhex("02" + TS_1E12 + "81") + bytes(6) + b"\x04", "cut off"),
        (bytes.fromhex("02" + TS_1E12 + "81") + bytes(6) + b"\x04\x02\x00", "needs 3 bytes"),
        (bytes.fromhex("02" + TS_1E12 + "81") + bytes(6) + b"\x21\x01" + bytes(13), "> 32"),
    ],
)
def test_polar_malformed_frames(frame: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        polar_pmd.decode_frame(frame, rate_hz=52)


# ------------------------------------------------------------------ Movesense

MOVESENSE_ONE_SAMPLE = bytes.fromhex(
    "02 05 e8 03 00 00"  # DATA, ref 5, timestamp 1000 ms
    "00 00 00 00 00 00 00 00 c3 f5 1c 41"  # acc (0, 0, 9.81) m/s² as float32
    "00 00 b4 42 00 00 00 00 00 00 00 00"  # gyro (90, 0, 0) °/s
)


def test_movesense_one_sample_message() -> None:
    p = movesense.decode_imu6(MOVESENSE_ONE_SAMPLE, rate_hz=208)
    assert p.t_sensor_us.tolist() == [1_000_000.0]
    np.testing.assert_allclose(p.acc_mps2, [[0, 0, 9.81]], rtol=1e-7)
    np.testing.assert_allclose(p.gyro_radps, [[math.pi / 2, 0, 0]], rtol=1e-7)
    assert p.notes == ("ref=5",) and p.seq is None


def test_movesense_split_message_joins_back() -> None:
    acc = np.arange(24, dtype=float).reshape(8, 3)
    gyro = -np.arange(24, dtype=float).reshape(8, 3)
    message = movesense.encode_imu6(9, 4_000_000_000, acc, gyro)
    assert message[:6].hex(" ") == "02 09 00 28 6b ee"
    assert len(message) == 6 + 8 * 24
    first, second = movesense.split_message(message, 155)
    assert second[:2] == bytes([3, 9])
    with pytest.raises(DecodeError, match="continuation missing"):
        movesense.decode_imu6(first, rate_hz=104)
    p = movesense.decode_imu6(movesense.join_parts(first, second), rate_hz=104)
    np.testing.assert_allclose(p.acc_mps2, acc)
    np.testing.assert_allclose(p.gyro_radps, gyro * DEG)
    np.testing.assert_allclose(p.t_sensor_us, 4e12 + np.arange(8) * 1e6 / 104)  # ms -> µs


def test_movesense_commands() -> None:
    assert movesense.subscribe_command(5, 208) == b"\x01\x05/Meas/IMU6/208"
    assert movesense.unsubscribe_command(5) == b"\x02\x05"
    with pytest.raises(ValueError):
        movesense.subscribe_command(5, 200)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x02", "no type and ref"),
        (b"\x01\x05\xc8\x00", "type 1"),
        (b"\x03\x05" + bytes(24), "type 3"),
        (b"\x02\x05\x00\x00", "timestamp"),
        (b"\x02\x05\x00\x00\x00\x00", "0 bytes"),
        (MOVESENSE_ONE_SAMPLE[:-1], "23 bytes"),
        (MOVESENSE_ONE_SAMPLE[:6] + struct.pack("<6f", 0, 0, float("nan"), 0, 0, 0), "non-finite"),
        # A signalling NaN (0x7fa00000) makes numpy warn on the float32 -> float64 cast.
        (MOVESENSE_ONE_SAMPLE[:6] + bytes.fromhex("0000a07f") + bytes(20), "non-finite"),
    ],
)
def test_movesense_malformed(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        movesense.decode_imu6(data, rate_hz=208)


def test_movesense_join_rejects_mismatches() -> None:
    with pytest.raises(DecodeError, match="ref"):
        movesense.join_parts(b"\x02\x05abcd", b"\x03\x06ef")
    with pytest.raises(DecodeError, match="need 2 then 3"):
        movesense.join_parts(b"\x03\x05abcd", b"\x02\x05ef")


# ------------------------------------------------------------------ WitMotion

WIT_FRAME = bytes.fromhex(
    "55 61"
    "00 08 00 00 00 f8"  # acc (2048, 0, -2048) -> (1, 0, -1) g
    "00 40 00 00 00 c0"  # gyro (16384, 0, -16384) -> (1000, 0, -1000) °/s
    "00 00 00 40 00 80"  # angles (0, 16384, -32768) -> (0, 90, -180)°
)


def test_witmotion_frame() -> None:
    p = witmotion.decode_notification(WIT_FRAME)
    assert p.t_sensor_us is None and p.seq is None
    np.testing.assert_allclose(p.acc_mps2, [[G, 0, -G]])
    np.testing.assert_allclose(p.gyro_radps, [[1000 * DEG, 0, -1000 * DEG]])
    np.testing.assert_allclose(p.extra["angles_rad"], [[0, math.pi / 2, -math.pi]])
    assert (
        witmotion.encode_frame((2048, 0, -2048), (16384, 0, -16384), (0, 16384, -32768))
        == WIT_FRAME
    )


def test_witmotion_several_frames_and_register_replies() -> None:
    reply = bytes.fromhex("55 71") + bytes(18)
    p = witmotion.decode_notification(WIT_FRAME + reply + WIT_FRAME)
    assert len(p) == 2
    assert p.notes == ("skipped_register_frames=1",)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "multiple of 20"),
        (WIT_FRAME[:19], "multiple of 20"),
        (b"\x54" + WIT_FRAME[1:], "0x55"),
        (b"\x55\x62" + WIT_FRAME[2:], "unknown frame type 0x62"),
        (b"\x55\x71" + WIT_FRAME[2:], "register replies only"),
    ],
)
def test_witmotion_malformed(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        witmotion.decode_notification(data)
