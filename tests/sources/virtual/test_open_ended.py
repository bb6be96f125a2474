"""Open-ended streams: Packetizer.extend/trim and VirtualSensor.extend (no radio traffic)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from batonsense.model import SensorStream
from batonsense.sources.virtual import Packetizer, VirtualRadio, VirtualSensor

PERIOD_S = 0.005


def _stream(n0: int, n: int) -> SensorStream:
    t = (n0 + np.arange(n)) * PERIOD_S
    return SensorStream("s", t, np.zeros((n, 3)), np.zeros((n, 3)))


def test_extend_continues_packets_across_the_join() -> None:
    p = Packetizer(_stream(0, 10).t_s, 4, origin_host_s=100.0)
    p.extend(_stream(10, 10).t_s)
    got = []
    while (b := p.take_ready(1e9)) is not None:
        got.append(b)
    assert got == [(0, 4), (4, 8), (8, 12), (12, 16), (16, 20)]
    assert p.host_s(19) == pytest.approx(100.0 + 19 * PERIOD_S)


def test_extend_after_a_gap_starts_a_new_packet() -> None:
    p = Packetizer(_stream(0, 6).t_s, 4, origin_host_s=0.0)
    p.extend(_stream(20, 6).t_s)
    got = [p.take_ready(1e9) for _ in range(4)]
    assert got == [(0, 4), (4, 6), (6, 10), (10, 12)]


def test_trim_keeps_absolute_indices_and_host_times() -> None:
    p = Packetizer(_stream(0, 12).t_s, 4, origin_host_s=5.0)
    assert p.take_ready(1e9) == (0, 4)
    p.trim(10)  # clamped to the next sample not taken
    assert p.base == 4 and len(p.rel_s) == 8
    p.extend(_stream(12, 4).t_s)
    assert p.take_ready(1e9) == (4, 8)
    assert p.host_s(15) == pytest.approx(5.0 + 15 * PERIOD_S)


def test_virtual_sensor_extend_drops_what_cannot_be_played() -> None:
    async def body() -> None:
        clock = [0.0]
        v = VirtualSensor(
            VirtualRadio(), _stream(0, 400), now=lambda: clock[0], open_ended=True, packet_log=3
        )
        v.origin_host_s = 10.0  # as after start(origin_host_s=10.0)
        clock[0] = 11.0  # 1 s (200 samples) taken while nobody streamed
        v.extend(_stream(400, 200))
        assert v._first_index == 200 and len(v.stream) == 400
        assert v.stream.t_s[0] == pytest.approx(1.0)
        with pytest.raises(ValueError):
            v.extend(_stream(10, 5))  # not after the last sample
        assert len(v.packets) == 0 and v.packets.maxlen == 3  # type: ignore[union-attr]
        closed = VirtualSensor(VirtualRadio(), _stream(0, 10))
        with pytest.raises(RuntimeError):
            closed.extend(_stream(10, 10))

    asyncio.run(body())
