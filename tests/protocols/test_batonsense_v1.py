"""Our protocol: the worked example of firmware_notes/protocol.md, round trips, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from batonsense.errors import BatonsenseError, DecodeError
from batonsense.protocols import batonsense_v1 as v1

G = 9.80665
DEG = math.pi / 180

# The worked example in firmware_notes/protocol.md.
EXAMPLE = bytes.fromhex(
    "01 02 07 00 15 cd 5b 07 00 00 00 00 88 13 02 33"
    "00 00 00 00 00 08 00 00 00 00 00 00"
    "00 f8 00 00 00 00 a4 00 00 00 00 c0"
)


def test_worked_example_decodes_to_hand_computed_values() -> None:
    p = v1.decode_packet(EXAMPLE)
    assert p.protocol == "batonsense_v1"
    assert p.seq == 7
    assert p.notes == ("start",)
    assert p.period_us == 5000.0
    assert p.t_sensor_us.tolist() == [123_456_789.0, 123_461_789.0]
    np.testing.assert_allclose(p.acc_mps2, [[0, 0, G], [-G, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(
        p.gyro_radps, [[0, 0, 0], [164 * 2000 / 32768 * DEG, 0, -1000 * DEG]], atol=1e-12
    )
    assert p.gyro_radps[1, 0] == pytest.approx(0.1747, abs=1e-4)


def encode_worked_example(**stamp: int) -> bytes:
    """The packet of the protocol's worked example (firmware_notes/protocol.md); stamp:
    queued_us (v2) or event_us (v3), none for v1."""
    return v1.encode_counts(
        seq=7,
        t0_us=123_456_789,
        period_us=5000,
        acc_counts=np.array([[0, 0, 2048], [-2048, 0, 0]]),
        gyro_counts=np.array([[0, 0, 0], [164, 0, -16384]]),
        flags=v1.Flag.START,
        **stamp,
    )


def test_worked_example_is_what_the_encoder_writes() -> None:
    assert encode_worked_example() == EXAMPLE


def test_header_constants() -> None:
    assert v1.HEADER_SIZE == 16
    assert v1.MAX_SAMPLES_PER_PACKET == 19
    assert v1.HEADER_SIZE + 19 * v1.SAMPLE_SIZE <= 244 < v1.HEADER_SIZE + 20 * v1.SAMPLE_SIZE
    assert v1.NAME_PREFIX == "BSNS-"
    for u in (v1.SERVICE_UUID, v1.DATA_CHAR_UUID, v1.CONTROL_CHAR_UUID):
        assert u.endswith("-cc17-4782-81ad-6c3947f4b389")


def test_ranges_and_flags_in_header() -> None:
    data = v1.encode_counts(
        seq=65535,
        t0_us=2**64 - 1,
        period_us=2500,
        acc_counts=np.zeros((1, 3), int),
        gyro_counts=np.zeros((1, 3), int),
        acc_range_g=4,
        gyro_range_dps=500,
        flags=v1.Flag.BOOT | v1.Flag.OVERFLOW | v1.Flag.LOW_BATTERY,
    )
    h = v1.decode_header(data)
    assert (h.seq, h.t0_us, h.period_us, h.count) == (65535, 2**64 - 1, 2500, 1)
    assert (h.acc_range_g, h.gyro_range_dps) == (4, 500)
    assert data[15] == 0x11
    assert v1.decode_packet(data).notes == ("boot", "overflow", "low_battery")


def test_full_scale_counts() -> None:
    for acc_g, gyro_dps in zip(v1.ACC_RANGES_G, v1.GYRO_RANGES_DPS, strict=True):
        data = v1.encode_counts(
            seq=0,
            t0_us=0,
            period_us=10000,
            acc_counts=np.array([[-32768, 32767, 0]]),
            gyro_counts=np.array([[-32768, 32767, 0]]),
            acc_range_g=acc_g,
            gyro_range_dps=gyro_dps,
        )
        p = v1.decode_packet(data)
        assert p.acc_mps2[0, 0] == pytest.approx(-acc_g * G)
        assert p.gyro_radps[0, 0] == pytest.approx(-gyro_dps * DEG)


def test_encoder_saturates_like_the_imu() -> None:
    data = v1.encode_packet(
        seq=1,
        t0_us=10,
        period_us=5000,
        acc_mps2=np.array([[100 * G, -100 * G, 0.0]]),
        gyro_radps=np.array([[1e3, -1e3, 0.0]]),
    )
    p = v1.decode_packet(data)
    assert p.acc_mps2[0, 0] == pytest.approx(16 * G * 32767 / 32768)
    assert p.acc_mps2[0, 1] == pytest.approx(-16 * G)
    assert p.gyro_radps[0, 1] == pytest.approx(-2000 * DEG)


def test_encoder_rejects_what_the_protocol_cannot_carry() -> None:
    zeros = np.zeros((2, 3))
    ok = {"seq": 0, "t0_us": 0, "period_us": 5000, "acc_mps2": zeros, "gyro_radps": zeros}
    with pytest.raises(ValueError):
        v1.encode_packet(**{**ok, "acc_mps2": np.zeros((20, 3)), "gyro_radps": np.zeros((20, 3))})
    with pytest.raises(ValueError):
        v1.encode_packet(**{**ok, "gyro_radps": np.zeros((3, 3))})
    with pytest.raises(ValueError):
        v1.encode_packet(**ok, acc_range_g=3)
    with pytest.raises(ValueError):
        v1.encode_packet(**{**ok, "seq": 65536})
    with pytest.raises(ValueError):
        v1.encode_packet(**{**ok, "period_us": 0})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "need 16 bytes"),
        (EXAMPLE[:15], "need 16 bytes"),
        (b"\x04" + EXAMPLE[1:], "unsupported version 4"),
        (b"\x00" + EXAMPLE[1:], "unsupported version 0"),
        (EXAMPLE[:12] + b"\x00\x00" + EXAMPLE[14:], "period 0"),
        (EXAMPLE[:14] + b"\x00" + EXAMPLE[15:], "no samples"),
        (EXAMPLE[:15] + b"\x34" + EXAMPLE[16:], "range codes"),
        (EXAMPLE[:15] + b"\x43" + EXAMPLE[16:], "range codes"),
        (EXAMPLE[:-1], "need 40 bytes, got 39"),
        (EXAMPLE + b"\x00", "need 40 bytes, got 41"),
    ],
)
def test_malformed_packets_raise_decode_error(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        v1.decode_packet(data)
    assert issubclass(DecodeError, BatonsenseError)


def test_accepts_bytearray_and_memoryview_rejects_other_types() -> None:
    assert v1.decode_packet(bytearray(EXAMPLE)).seq == 7
    assert v1.decode_packet(memoryview(EXAMPLE)).seq == 7
    with pytest.raises(DecodeError):
        v1.decode_packet("01 02")  # type: ignore[arg-type]


samples = st.integers(1, v1.MAX_SAMPLES_PER_PACKET).flatmap(
    lambda n: st.tuples(hnp.arrays(np.int16, (n, 3)), hnp.arrays(np.int16, (n, 3)))
)


@settings(max_examples=150, deadline=None)
@given(
    counts=samples,
    seq=st.integers(0, 0xFFFF),
    t0_us=st.integers(0, 2**64 - 1),
    period_us=st.integers(1, 0xFFFF),
    acc_range_g=st.sampled_from(v1.ACC_RANGES_G),
    gyro_range_dps=st.sampled_from(v1.GYRO_RANGES_DPS),
    flags=st.integers(0, 0xFF),
)
def test_round_trip_counts(counts, seq, t0_us, period_us, acc_range_g, gyro_range_dps, flags):
    acc, gyro = counts
    data = v1.encode_counts(
        seq=seq,
        t0_us=t0_us,
        period_us=period_us,
        acc_counts=acc,
        gyro_counts=gyro,
        acc_range_g=acc_range_g,
        gyro_range_dps=gyro_range_dps,
        flags=flags,
    )
    assert len(data) == 16 + 12 * len(acc)
    h = v1.decode_header(data)
    assert (h.seq, h.t0_us, h.period_us, h.count, int(h.flags)) == (
        seq,
        t0_us,
        period_us,
        len(acc),
        flags,
    )
    p = v1.decode_packet(data)
    np.testing.assert_array_equal(np.rint(p.acc_mps2 / v1.acc_lsb_mps2(acc_range_g)), acc)
    np.testing.assert_array_equal(np.rint(p.gyro_radps / v1.gyro_lsb_radps(gyro_range_dps)), gyro)
    assert p.seq == seq and p.t_sensor_us.shape == (len(acc),)


@settings(max_examples=100, deadline=None)
@given(
    acc=hnp.arrays(np.float64, (8, 3), elements=st.floats(-15 * G, 15 * G)),
    gyro=hnp.arrays(np.float64, (8, 3), elements=st.floats(-34.0, 34.0)),
)
def test_round_trip_si_within_half_a_count(acc, gyro):
    data = v1.encode_packet(seq=3, t0_us=1000, period_us=2500, acc_mps2=acc, gyro_radps=gyro)
    p = v1.decode_packet(data)
    assert np.all(np.abs(p.acc_mps2 - acc) <= v1.acc_lsb_mps2(16) / 2 + 1e-12)
    assert np.all(np.abs(p.gyro_radps - gyro) <= v1.gyro_lsb_radps(2000) / 2 + 1e-12)
    np.testing.assert_array_equal(p.t_sensor_us, 1000 + 2500 * np.arange(8))


# ------------------------------------------------------------------ control


def test_start_command_bytes_and_decoding() -> None:
    assert v1.encode_start(400, 16, 2000, 0) == bytes([1, 2, 3, 3, 0])
    assert v1.encode_start(100, 2, 250, 19) == bytes([1, 0, 0, 0, 19])
    cmd = v1.decode_command(bytes([1, 1, 2, 1, 4]))
    assert (cmd.opcode, cmd.rate_hz, cmd.acc_range_g, cmd.gyro_range_dps) == (
        v1.Opcode.START,
        200,
        8,
        500,
    )
    assert cmd.samples_per_packet == 4
    assert v1.decode_command(v1.encode_stop()).opcode is v1.Opcode.STOP
    assert v1.decode_command(v1.encode_identify(7)).seconds == 7
    with pytest.raises(ValueError):
        v1.encode_start(300)


@pytest.mark.parametrize(
    ("data", "att"),
    [
        (b"", v1.AttError.INVALID_LENGTH),
        (b"\x09", v1.AttError.UNKNOWN_OPCODE),
        (b"\x01\x00\x00\x00", v1.AttError.INVALID_LENGTH),
        (b"\x02\x00", v1.AttError.INVALID_LENGTH),
        (b"\x01\x03\x00\x00\x00", v1.AttError.INVALID_PARAMETER),
        (b"\x01\x00\x04\x00\x00", v1.AttError.INVALID_PARAMETER),
        (b"\x01\x00\x00\x00\x14", v1.AttError.INVALID_PARAMETER),
    ],
)
def test_bad_commands_carry_the_att_error(data: bytes, att: v1.AttError) -> None:
    with pytest.raises(v1.CommandError) as info:
        v1.decode_command(data)
    assert info.value.att_error is att
    assert isinstance(info.value, DecodeError)


def test_status_round_trip() -> None:
    s = v1.Status(v1.State.STREAMING, 400, 16, 2000, 8, 0)
    data = v1.encode_status(s)
    assert data == bytes([1, 1, 2, 3, 3, 8, 0, 0])
    assert v1.decode_status(data) == s
    with pytest.raises(DecodeError):
        v1.decode_status(data[:7])


def test_auto_samples_per_packet_is_about_20_ms() -> None:
    assert [v1.auto_samples_per_packet(r) for r in v1.RATES_HZ] == [2, 4, 8]
