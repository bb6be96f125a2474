"""The benchmark baseline detector (benchmarks/baseline.py) on hand-built recordings."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ruptures")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from baseline import detect_baseline  # noqa: E402

from batonsense.model import (  # noqa: E402
    GRAVITY_MPS2,
    Hand,
    Outcome,
    Recording,
    Role,
    SensorInfo,
    SensorStream,
)


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


class Swing:
    """A smooth random 3-axis angular velocity, evaluable at any time (rad/s)."""

    def __init__(self, rng: np.random.Generator, n: int = 12) -> None:
        self.f = rng.uniform(0.5, 6.0, size=(n, 3))
        self.a = rng.uniform(0.5, 3.0, size=(n, 3))
        self.ph = rng.uniform(0, 2 * np.pi, size=(n, 3))

    def __call__(self, t: np.ndarray) -> np.ndarray:
        arg = 2 * np.pi * self.f[None] * t[:, None, None] + self.ph[None]
        return (self.a[None] * np.sin(arg)).sum(axis=1)


def _recording(
    t_change: float,
    duration: float = 10.0,
    baton_hz: float = 200.0,
    wrist_hz: tuple[float, float] = (100.0, 150.0),
    freefall: tuple[float, float] | None = None,
    seed: int = 1,
) -> Recording:
    rng = np.random.default_rng(seed)
    swing_a, swing_b = Swing(rng), Swing(rng)
    rot_a, rot_b = _rotation(rng), _rotation(rng)
    sensors = (
        SensorInfo("bat", Role.BATON),
        SensorInfo("wa", Role.WRIST, athlete="Ann", hand=Hand.RIGHT),
        SensorInfo("wb", Role.WRIST, athlete="Bea", hand=Hand.LEFT),
    )

    def stream(sid: str, rate: float, gyro_fn, t_off: float) -> SensorStream:
        t = t_off + np.arange(0.0, duration, 1.0 / rate)
        g = gyro_fn(t) + rng.normal(scale=0.05, size=(len(t), 3))
        acc = np.tile([0.0, 0.0, GRAVITY_MPS2], (len(t), 1)) + rng.normal(scale=0.5, size=(len(t), 3))
        if sid == "bat" and freefall is not None:
            m = (t >= freefall[0]) & (t < freefall[1])
            acc[m] = rng.normal(scale=0.3, size=(m.sum(), 3))
        return SensorStream(sid, t, acc, g)

    def baton_gyro(t: np.ndarray) -> np.ndarray:
        ga = swing_a(t) @ rot_a.T
        gb = swing_b(t) @ rot_b.T
        return np.where((t < t_change)[:, None], ga, gb)

    streams = {
        "bat": stream("bat", baton_hz, baton_gyro, 0.0),
        "wa": stream("wa", wrist_hz[0], swing_a, 0.003),
        "wb": stream("wb", wrist_hz[1], swing_b, 0.001),
    }
    return Recording(sensors, streams)


@pytest.mark.parametrize("t_change", [4.0, 5.237, 6.51])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_finds_handover_within_50ms(t_change: float, seed: int) -> None:
    rec = _recording(t_change, seed=seed)
    found = detect_baseline(rec)
    assert len(found) == 1, found
    x = found[0]
    assert (x.giver, x.receiver) == ("Ann", "Bea")
    assert (x.giver_hand, x.receiver_hand) == (Hand.RIGHT, Hand.LEFT)
    assert x.outcome is Outcome.COMPLETED
    assert x.reach_s is None
    assert abs(x.grab_s - t_change) < 0.050
    assert abs(x.release_s - t_change) < 0.050


def test_no_change_no_exchange() -> None:
    rec = _recording(t_change=1e9)  # baton follows Ann throughout
    assert detect_baseline(rec) == []


def test_drop_during_exchange_marks_it_dropped() -> None:
    rec = _recording(t_change=5.0, freefall=(4.9, 5.2))
    found = detect_baseline(rec)
    assert len(found) == 1
    assert found[0].outcome is Outcome.DROPPED
    assert abs(found[0].drop_s - 4.9) < 0.02


def test_lone_drop_is_reported() -> None:
    rec = _recording(t_change=1e9, freefall=(6.0, 6.35))
    found = detect_baseline(rec)
    assert len(found) == 1
    x = found[0]
    assert x.outcome is Outcome.DROPPED and x.giver == "Ann" and x.receiver is None
    assert abs(x.drop_s - 6.0) < 0.02


def test_short_freefall_is_not_a_drop() -> None:
    rec = _recording(t_change=1e9, freefall=(6.0, 6.06))
    assert detect_baseline(rec) == []
