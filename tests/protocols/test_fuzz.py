"""Arbitrary bytes never crash a decoder: they decode or raise DecodeError."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batonsense.errors import DecodeError
from batonsense.protocols import DecodedPacket, batonsense_v1, movesense, polar_pmd, witmotion

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(decode: Callable[[bytes], object], data: bytes) -> None:
    try:
        out = decode(data)
    except DecodeError as exc:
        assert str(exc)  # a clear message, never empty
        return
    if isinstance(out, DecodedPacket):
        n = len(out)
        assert n >= 1
        for a in (out.acc_mps2, out.gyro_radps):
            assert a is None or (a.shape == (n, 3) and np.all(np.isfinite(a)))
        assert out.t_sensor_us is None or out.t_sensor_us.shape == (n,)


DECODERS: dict[str, Callable[[bytes], object]] = {
    "batonsense_v1": batonsense_v1.decode_packet,
    "batonsense_v1.command": batonsense_v1.decode_command,
    "batonsense_v1.status": batonsense_v1.decode_status,
    "movesense": lambda b: movesense.decode_imu6(b, rate_hz=208),
    "polar_pmd": lambda b: polar_pmd.decode_frame(b, rate_hz=52, acc_factor=0.24),
    "witmotion": witmotion.decode_notification,
}


@FUZZ
@given(name=st.sampled_from(sorted(DECODERS)), data=st.binary(max_size=260))
def test_arbitrary_bytes(name: str, data: bytes) -> None:
    _check(DECODERS[name], data)


# Plausible prefixes reach deeper than uniform bytes do.
PREFIXES = {
    "batonsense_v1": [
        bytes.fromhex("01 00 00 00 00 00 00 00 00 00 00 00 88 13"),
        bytes.fromhex("02 00 00 00 00 00 00 00 00 00 ff ff 88 13"),  # v2, queue stamp
    ],
    "movesense": [b"\x02\x05", b"\x03\x05", b"\x01\x05"],
    "polar_pmd": [
        bytes([m]) + bytes(8) + bytes([t]) for m in (2, 5) for t in (0, 1, 2, 0x80, 0x81)
    ],
    "witmotion": [b"\x55\x61", b"\x55\x71"],
}


@FUZZ
@given(data=st.data())
def test_plausible_prefixes(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(PREFIXES)))
    prefix = data.draw(st.sampled_from(PREFIXES[name]))
    tail = data.draw(st.binary(max_size=240))
    _check(DECODERS[name], prefix + tail)


@FUZZ
@given(
    head=st.binary(min_size=6, max_size=6),
    widths=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 30)), max_size=6),
    noise=st.binary(max_size=200),
    measurement=st.sampled_from([2, 5]),
    frame_type=st.sampled_from([0x80, 0x81]),
)
def test_polar_delta_blocks(head, widths, noise, measurement, frame_type) -> None:
    body = bytearray(head)
    stream = iter(noise)
    for width, count in widths:
        body += bytes([width, count])
        body += bytes(next(stream, 0xA5) for _ in range((width * count * 3 + 7) // 8))
    frame = bytes([measurement]) + bytes(8) + bytes([frame_type]) + bytes(body)
    _check(lambda b: polar_pmd.decode_frame(b, rate_hz=52), frame)


@FUZZ
@given(first=st.binary(max_size=40), second=st.binary(max_size=40))
def test_movesense_join_never_crashes(first: bytes, second: bytes) -> None:
    _check(lambda _: movesense.decode_imu6(movesense.join_parts(first, second), rate_hz=52), b"")
