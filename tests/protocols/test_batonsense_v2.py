"""Protocol version 2 (queue stamp): the worked example of firmware_notes/protocol.md,
byte vectors and v1 still decoding (round trips and fuzz: test_batonsense_stamped.py)."""

from __future__ import annotations

import numpy as np
import pytest

from batonsense.errors import DecodeError
from batonsense.protocols import batonsense_v1 as v1

from .test_batonsense_v1 import EXAMPLE as EXAMPLE_V1

# The version 2 worked example in firmware_notes/protocol.md: the v1 example's
# packet, handed to the BLE stack 3217 µs after its last sample.
EXAMPLE = bytes.fromhex(
    "02 02 07 00 15 cd 5b 07 00 00 91 0c 88 13 02 33"
    "00 00 00 00 00 08 00 00 00 00 00 00"
    "00 f8 00 00 00 00 a4 00 00 00 00 c0"
)


def test_worked_example_header() -> None:
    """Decoding and encoding the example: test_batonsense_stamped.py, with version 3's."""
    h = v1.decode_header(EXAMPLE)
    assert (h.version, h.queued_us, h.t_last_us) == (2, 3217, 123_461_789)


def test_v1_bytes_still_decode_without_a_queue_stamp() -> None:
    p = v1.decode_packet(EXAMPLE_V1)
    assert p.t_queued_us is None and v1.decode_header(EXAMPLE_V1).queued_us is None


def test_t0_is_48_bits_split_low_uint32_high_uint16() -> None:
    one = (np.zeros((1, 3), int), np.zeros((1, 3), int))
    data = v1.encode_counts(
        seq=0x0102,
        t0_us=0x0123_4567_89AB,
        period_us=2500,
        acc_counts=one[0],
        gyro_counts=one[1],
        flags=v1.Flag.BOOT,
        queued_us=0xFFFF,
    )
    assert data[:16] == bytes.fromhex("02 01 02 01 ab 89 67 45 23 01 ff ff c4 09 01 33")
    p = v1.decode_packet(data)
    assert p.t_sensor_us[0] == 0x0123_4567_89AB
    assert p.t_queued_us == 0x0123_4567_89AB + 0xFFFF  # one sample: last = first
    assert p.notes == ("boot",)


def test_encoder_rejects_what_version_2_cannot_carry() -> None:
    z = np.zeros((2, 3))
    ok = {"seq": 0, "t0_us": 0, "period_us": 5000, "acc_mps2": z, "gyro_radps": z}
    v1.encode_packet(**ok, queued_us=0)
    v1.encode_packet(**{**ok, "t0_us": 2**48 - 1}, queued_us=65535)
    v1.encode_packet(**{**ok, "t0_us": 2**48})  # fits version 1
    for bad in ({"t0_us": 2**48}, {"queued_us": 65536}, {"queued_us": -1}):
        with pytest.raises(ValueError):
            v1.encode_packet(**{**ok, "queued_us": 0, **bad})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (EXAMPLE[:15], "need 16 bytes"),
        (EXAMPLE[:12] + b"\x00\x00" + EXAMPLE[14:], "period 0"),
        (EXAMPLE[:14] + b"\x00" + EXAMPLE[15:], "no samples"),
        (EXAMPLE[:15] + b"\x34" + EXAMPLE[16:], "range codes"),
        (EXAMPLE[:-1], "need 40 bytes, got 39"),
        (EXAMPLE + b"\x00" * 12, "need 40 bytes, got 52"),
    ],
)
def test_malformed_v2_packets_raise_decode_error(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        v1.decode_packet(data)
