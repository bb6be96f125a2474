"""Clock offsets between sensors move event times by about the offset, no more.

Each sensor's clock is mapped onto the host clock on its own, off by its radio
delivery floor and its filter's delay: 1-3 ms between sensors on one host is
common.  Issue 12: "a fixed offset of up to 3 ms between two sensors changes any
event time by at most the offset + 1 ms".  Before session 8 the release moved by
one 2.5 ms grid step for a fraction of a millisecond, and by 10-90 ms when the
offset tipped the choice between two steps of the residual.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from batonsense.detect import detect_exchanges
from batonsense.detect.align import hold_lag_s, on_baton_clock
from batonsense.detect.timing import step_position
from batonsense.model import Recording, SensorStream
from batonsense.sim import simulate


def _moved(rec: Recording, offsets_s: dict[str, float]) -> Recording:
    return replace(rec, streams={
        k: SensorStream(v.sensor_id, v.t_s + offsets_s.get(k, 0.0), v.acc_mps2, v.gyro_radps)
        for k, v in rec.streams.items()
    })  # fmt: skip


def _shifts(scenario: str, seed: int, event: str) -> list[tuple[float, float]]:
    """(how far `event` moved, the spread of the offsets), ms, for every pass of a
    simulated recording under two random sets of offsets within ±1.5 ms."""
    rec = simulate(scenario, seed=seed, n_reps=4).recording
    base = detect_exchanges(rec)
    assert len(base) == 4
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(2):
        offsets = {k: float(rng.uniform(-1.5e-3, 1.5e-3)) for k in rec.streams}
        spread_ms = 1e3 * (max(offsets.values()) - min(offsets.values()))
        got = detect_exchanges(_moved(rec, offsets))
        assert len(got) == len(base)
        for b, g in zip(base, got, strict=True):
            out.append((1e3 * (getattr(g, event) - getattr(b, event)), spread_ms))
    return out


# Seeds never used to choose anything in the detector (its tuning used 1-30).  On
# the detector before session 8 the releases moved by more than the offsets + 1 ms
# on each: by 1.7, 1.8, 32.5 and 32.4 ms more.
RELEASE_CASES = [("drill_200hz", 44), ("drill_100hz", 45), ("drill_400hz", 46), ("varied", 47)]


@pytest.mark.parametrize(("scenario", "seed"), RELEASE_CASES)
def test_an_offset_between_sensors_moves_the_release_by_about_it(scenario: str, seed: int) -> None:
    for moved_ms, spread_ms in _shifts(scenario, seed, "release_s"):
        assert abs(moved_ms) <= spread_ms + 1.0, (moved_ms, spread_ms)


@pytest.mark.xfail(
    strict=True,
    reason="issue 12, still open: the grab's candidates start 30 ms before the step of "
    "the receiver's residual; an offset that moves that step by one grid sample lets a "
    "spike at the window's edge in (lossy 43: 82 ms, and its release, searched after "
    "the grab, with it)",
)
def test_an_offset_between_sensors_moves_the_grab_by_about_it() -> None:
    for scenario, seed in (("drill_200hz", 41), ("lossy", 43)):
        for moved_ms, spread_ms in _shifts(scenario, seed, "grab_s"):
            assert abs(moved_ms) <= spread_ms + 1.0, (scenario, seed, moved_ms, spread_ms)


def _arm_gyro(t: np.ndarray) -> np.ndarray:
    """A swinging arm (2.2 Hz, a few rad/s) with a shock at each foot strike (4.4 Hz) ringing at 20 Hz."""
    w = np.stack([4.0 * np.sin(2 * np.pi * 2.2 * t), 1.5 * np.sin(2 * np.pi * 2.2 * t + 0.7),
                  0.8 * np.cos(2 * np.pi * 4.4 * t)], axis=1)  # fmt: skip
    phase = (t * 4.4) % 1.0
    w[:, 0] += 3.0 * (phase / 0.02) * np.exp(1.0 - phase / 0.02) * np.sin(2 * np.pi * 20 * t)
    return w


@pytest.mark.parametrize("lag_ms", [-4.0, -1.3, 0.0, 0.7, 3.0])
def test_the_hold_shows_the_wrist_clocks_lag(lag_ms: float) -> None:
    fs = 400.0
    t = np.arange(0.0, 2.0, 1.0 / fs)
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    gyro_b = _arm_gyro(t) @ rot.T
    gyro_w = _arm_gyro(t - lag_ms * 1e-3)  # the wrist's stamps run late by lag_ms
    gyro_w += np.random.default_rng(1).normal(0.0, 0.01, gyro_w.shape)
    found = hold_lag_s(t, gyro_b, gyro_w, 0.2, 1.8)
    assert abs(1e3 * found - lag_ms) < 0.3
    acc = np.zeros_like(gyro_w)
    _, on_baton, ok = on_baton_clock(t, (acc, gyro_w, np.ones(t.shape, bool)), found)
    inside = (t > 0.1) & (t < 1.9)
    before = np.sqrt(np.mean((gyro_w[inside] @ rot.T - gyro_b[inside]) ** 2))
    after = np.sqrt(np.mean((on_baton[inside] @ rot.T - gyro_b[inside]) ** 2))
    assert after < 0.03 + 0.2 * before, (before, after)
    assert ok[inside].all()


def test_a_still_hold_shows_no_lag() -> None:
    fs = 400.0
    t = np.arange(0.0, 2.0, 1.0 / fs)
    still = np.random.default_rng(2).normal(0.0, 0.01, (t.size, 3))
    assert hold_lag_s(t, still, np.roll(still, 2, axis=0), 0.2, 1.8) == 0.0


def test_a_step_moves_by_the_fraction_of_a_sample_the_data_move() -> None:
    n = np.arange(60.0)
    found = []
    for frac in np.linspace(0.0, 1.0, 11):
        # a trace that rises over 4 samples from 1 to 20, starting at sample 30 + frac
        x = 1.0 + 19.0 * np.clip((n - 30.0 - frac) / 4.0, 0.0, 1.0)
        found.append(step_position(x, 0.1, rising=True, corr_n=4))
    moved = np.diff(found)
    # in steps of about a tenth (the log of a linear rise is not linear), never a jump
    assert np.all(moved > 0.0) and np.all(moved < 0.25), moved
    assert abs(found[-1] - found[0] - 1.0) < 0.1
