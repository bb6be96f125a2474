"""Protocol version 3 (connection-event stamp): the worked example of
firmware_notes/protocol.md, byte vectors, v1/v2 still decoding (round trips
and fuzz: test_batonsense_stamped.py)."""

from __future__ import annotations

import numpy as np
import pytest

from batonsense.errors import DecodeError
from batonsense.protocols import batonsense_v1 as v1

from .test_batonsense_v1 import EXAMPLE as EXAMPLE_V1
from .test_batonsense_v2 import EXAMPLE as EXAMPLE_V2

# The version 3 worked example in firmware_notes/protocol.md: the v1 example's
# packet, handed over for the connection event whose anchor is 8342 µs after
# its last sample.
EXAMPLE = bytes.fromhex(
    "03 02 07 00 15 cd 5b 07 00 00 96 20 88 13 02 33"
    "00 00 00 00 00 08 00 00 00 00 00 00"
    "00 f8 00 00 00 00 a4 00 00 00 00 c0"
)


def test_worked_example_header() -> None:
    """Decoding and encoding the example: test_batonsense_stamped.py, with version 2's."""
    h = v1.decode_header(EXAMPLE)
    assert (h.version, h.event_us, h.queued_us) == (3, 8342, None)
    assert h.sync_after_last_us == 8342


def test_versions_1_and_2_still_decode_as_before() -> None:
    h1, h2 = v1.decode_header(EXAMPLE_V1), v1.decode_header(EXAMPLE_V2)
    assert (h1.version, h1.queued_us, h1.event_us, h1.sync_after_last_us) == (1, None, None, None)
    assert (h2.version, h2.queued_us, h2.event_us, h2.sync_after_last_us) == (2, 3217, None, 3217)
    assert v1.decode_packet(EXAMPLE_V1).t_queued_us is None
    assert v1.decode_packet(EXAMPLE_V2).t_queued_us == 123_461_789 + 3217
    # v3 differs from v2 only in the version byte and the stamp's meaning
    assert EXAMPLE_V2[1:10] == EXAMPLE[1:10] and EXAMPLE_V2[12:] == EXAMPLE[12:]


def test_encoder_rejects_what_version_3_cannot_carry() -> None:
    z = np.zeros((2, 3))
    ok = {"seq": 0, "t0_us": 0, "period_us": 5000, "acc_mps2": z, "gyro_radps": z}
    assert v1.encode_packet(**ok, event_us=0)[0] == 3
    assert v1.encode_packet(**{**ok, "t0_us": 2**48 - 1}, event_us=65535)[0] == 3
    for bad in ({"t0_us": 2**48}, {"event_us": 65536}, {"event_us": -1}, {"queued_us": 5}):
        with pytest.raises(ValueError):
            v1.encode_packet(**{**ok, "event_us": 0, **bad})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (EXAMPLE[:15], "need 16 bytes"),
        (EXAMPLE[:12] + b"\x00\x00" + EXAMPLE[14:], "period 0"),
        (EXAMPLE[:14] + b"\x00" + EXAMPLE[15:], "no samples"),
        (EXAMPLE[:15] + b"\x34" + EXAMPLE[16:], "range codes"),
        (EXAMPLE[:-1], "need 40 bytes, got 39"),
        (EXAMPLE + b"\x00" * 12, "need 40 bytes, got 52"),
        (b"\x04" + EXAMPLE[1:], "unsupported version 4"),
    ],
)
def test_malformed_v3_packets_raise_decode_error(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        v1.decode_packet(data)
