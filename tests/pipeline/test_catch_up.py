"""The live detector after a stall: the sensors' data come late and catch up at
different speeds, or one sensor falls silent for longer than the detector keeps;
every exchange is still found, exactly as with timely data, and nothing raises."""

from __future__ import annotations

import numpy as np
import pytest

from batonsense.model import Exchange, SensorStream
from batonsense.pipeline import LiveDetector
from batonsense.sim.live import demo_live

BLOCK_S = 0.02


@pytest.fixture(scope="module")
def drill():  # type: ignore[no-untyped-def]
    return demo_live(1, 200.0, n_reps=4)  # ~80 s, 4 exchanges


def _blocks(stream: SensorStream) -> list[SensorStream]:
    edges = np.arange(stream.t_s[0], stream.t_s[-1] + BLOCK_S, BLOCK_S)
    parts = [stream.between(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return [p for p in parts if len(p)]


def _live(drill, arrival) -> list[Exchange]:  # type: ignore[no-untyped-def]
    """Feed every sensor's blocks in the order of arrival(sensor index, block end s)."""
    items = []
    for k, s in enumerate(drill.recording.sensors):
        for b in _blocks(drill.recording.streams[s.id]):
            items.append((arrival(k, float(b.t_s[-1])), k, b))
    items.sort(key=lambda x: (x[0], x[1]))
    live = LiveDetector(drill.recording.sensors)
    for _, _, b in items:
        live(b)
    return live.flush()


def _same(a: list[Exchange], b: list[Exchange]) -> None:
    assert len(a) == len(b) >= 3
    for x, y in zip(a, b, strict=True):
        assert (x.giver, x.receiver, x.outcome) == (y.giver, y.receiver, y.outcome)
        for k in ("grab_s", "release_s", "drop_s"):
            u, v = getattr(x, k), getattr(y, k)
            assert (u is None) == (v is None) and (u is None or abs(u - v) < 1e-3), k


def test_sensors_catching_up_at_different_speeds_lose_nothing(drill) -> None:  # type: ignore[no-untyped-def]
    timely = _live(drill, lambda _k, t: t)

    def after_stall(k: int, t: float) -> float:
        # a 30 s stall from 10 s; then sensor k works its backlog off at its own pace
        # (2.5x to 6x real time): for a while they are seconds apart
        if t < 10.0:
            return t
        return max(t, 40.0 + (t - 10.0) * (0.15 + 0.06 * k))

    _same(_live(drill, after_stall), timely)


def test_a_sensor_silent_longer_than_the_detector_keeps_raises_nothing(drill) -> None:  # type: ignore[no-untyped-def]
    # one wrist's data from 20 s on arrive only at the end (a long drop-out whose
    # backlog is delivered late): the detector trimmed its buffer meanwhile
    def late_wrist(k: int, t: float) -> float:
        return 1000.0 + t if k == 2 and t >= 20.0 else t

    found = _live(drill, late_wrist)  # raised IndexError (detector last_s) before
    assert len(found) >= 2
