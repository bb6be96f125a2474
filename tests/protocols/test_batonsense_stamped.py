"""What protocol versions 2 (queue stamp) and 3 (connection-event stamp) share:
round trips through the encoder and decoder, arbitrary bytes after the version
byte, and the status characteristic naming the version."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from batonsense.errors import DecodeError
from batonsense.protocols import batonsense_v1 as v1

from .test_batonsense_v1 import EXAMPLE as EXAMPLE_V1
from .test_batonsense_v1 import encode_worked_example
from .test_batonsense_v2 import EXAMPLE as EXAMPLE_V2
from .test_batonsense_v3 import EXAMPLE as EXAMPLE_V3

# version byte -> the encoder's keyword for its stamp
STAMP = {2: "queued_us", 3: "event_us"}
# version byte -> the worked example of firmware_notes/protocol.md (the v1 example's
# packet with a stamp), its stamp (µs after the last sample) and the decoder's notes
WORKED = {
    2: (EXAMPLE_V2, 3217, ("start",)),
    3: (EXAMPLE_V3, 8342, ("start", "event_stamp")),
}


@pytest.mark.parametrize("version", sorted(WORKED))
def test_worked_example_decodes_to_hand_computed_values(version: int) -> None:
    example, stamp_us, notes = WORKED[version]
    p = v1.decode_packet(example)
    assert p.protocol == "batonsense_v1" and p.seq == 7 and p.notes == notes
    assert p.t_sensor_us.tolist() == [123_456_789.0, 123_461_789.0]
    assert p.t_queued_us == 123_461_789 + stamp_us  # the clock fit's sync time
    assert getattr(v1.decode_header(example), STAMP[version]) == stamp_us
    # samples are the same bytes as in v1, and decode the same
    q = v1.decode_packet(EXAMPLE_V1)
    np.testing.assert_array_equal(p.acc_mps2, q.acc_mps2)
    np.testing.assert_array_equal(p.gyro_radps, q.gyro_radps)


@pytest.mark.parametrize("version", sorted(WORKED))
def test_worked_example_is_what_the_encoder_writes(version: int) -> None:
    example, stamp_us, _ = WORKED[version]
    data = encode_worked_example(**{STAMP[version]: stamp_us})
    assert data == example
    assert len(data) == len(EXAMPLE_V1)  # stamped packets are no bigger

samples = st.integers(1, v1.MAX_SAMPLES_PER_PACKET).flatmap(
    lambda n: st.tuples(hnp.arrays(np.int16, (n, 3)), hnp.arrays(np.int16, (n, 3)))
)


@pytest.mark.parametrize("version", sorted(STAMP))
@settings(max_examples=150, deadline=None)
@given(
    counts=samples,
    seq=st.integers(0, 0xFFFF),
    t0_us=st.integers(0, 2**48 - 1),
    period_us=st.integers(1, 0xFFFF),
    stamp_us=st.integers(0, 0xFFFF),
    flags=st.integers(0, 0xFF),
)
def test_round_trip(version, counts, seq, t0_us, period_us, stamp_us, flags) -> None:
    acc, gyro = counts
    data = v1.encode_counts(
        seq=seq,
        t0_us=t0_us,
        period_us=period_us,
        acc_counts=acc,
        gyro_counts=gyro,
        flags=flags,
        **{STAMP[version]: stamp_us},
    )
    assert len(data) == 16 + 12 * len(acc) and data[0] == version
    h = v1.decode_header(data)
    assert (h.seq, h.t0_us, h.period_us, h.count, int(h.flags)) == (
        seq, t0_us, period_us, len(acc), flags,
    )
    assert getattr(h, STAMP[version]) == stamp_us
    p = v1.decode_packet(data)
    np.testing.assert_array_equal(np.rint(p.acc_mps2 / v1.acc_lsb_mps2(16)), acc)
    np.testing.assert_array_equal(np.rint(p.gyro_radps / v1.gyro_lsb_radps(2000)), gyro)
    assert p.t_queued_us == t0_us + (len(acc) - 1) * period_us + stamp_us
    assert p.t_queued_us >= p.t_sensor_us[-1]
    assert ("event_stamp" in p.notes) == (version == 3)


@pytest.mark.parametrize("version", sorted(STAMP))
@settings(max_examples=300, deadline=None)
@given(data=st.binary(min_size=0, max_size=260))
def test_arbitrary_bytes_decode_or_raise_decode_error(version: int, data: bytes) -> None:
    data = bytes([version]) + data
    try:
        p = v1.decode_packet(data)
    except DecodeError as exc:
        assert str(exc)
        return
    n = len(p)
    assert 1 <= n <= 0xFF and len(data) == 16 + 12 * n
    assert p.t_queued_us is not None and p.t_queued_us >= p.t_sensor_us[-1]
    assert np.all(np.isfinite(p.acc_mps2)) and np.all(np.isfinite(p.gyro_radps))


@pytest.mark.parametrize("version", sorted(STAMP))
def test_status_reports_the_packet_version(version: int) -> None:
    s = v1.Status(v1.State.STREAMING, 200, 16, 2000, 4, 0, version=version)
    data = v1.encode_status(s)
    assert data == bytes([version, 1, 1, 3, 3, 4, 0, 0])
    assert v1.decode_status(data) == s
    with pytest.raises(DecodeError):
        v1.decode_status(bytes([4]) + data[1:])
