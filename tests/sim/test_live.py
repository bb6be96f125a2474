"""The endless demo drill (sim.live): cadence, rep kinds, joins at standstill."""

from __future__ import annotations

import numpy as np
import pytest

from batonsense.sim import SimResult, simulate
from batonsense.sim.live import P_DROP, P_LONG, LiveDrill, _kind

N_REPS = 6


@pytest.fixture(scope="module")
def res() -> SimResult:
    return simulate("demo_live", seed=2, n_reps=N_REPS)


def test_reps_every_25_s_with_pairs_taking_turns(res: SimResult) -> None:
    assert len(res.truth) == N_REPS
    releases = [e.release_s for e in res.truth]
    assert np.diff(releases).max() <= 25.0
    pairs = [(e.giver, e.receiver) for e in res.truth]
    assert pairs[:4] == [("ANA", "BEA"), ("BEA", "CAT"), ("CAT", "DEV"), ("DEV", "ANA")]
    for e in res.truth:
        assert not e.hand_mismatch
        wrists = {s.athlete: s.hand for s in res.recording.wrists}
        assert wrists[e.giver] == e.giver_hand and wrists[e.receiver] == e.receiver_hand


def test_rep_kinds_have_the_demo_frequencies() -> None:
    rng = np.random.default_rng(0)
    kinds = [_kind(rng) for _ in range(20_000)]
    assert abs(kinds.count("long") / len(kinds) - P_LONG) < 0.01
    drops = sum(k in ("no_grip", "early_release") for k in kinds)
    assert abs(drops / len(kinds) - P_DROP) < 0.01


def test_one_sample_grid_across_joins(res: SimResult) -> None:
    for s in res.recording.streams.values():
        dt = np.diff(s.t_s)
        assert np.ptp(dt) < 1e-9 and abs(dt.mean() - 0.005) < 0.005 * 0.006


def test_joins_leave_no_trace(res: SimResult) -> None:
    """The mean signal over 0.3 s either side of a join changes no more than over
    two neighbouring 0.3 s windows of standing just before it."""
    drill = LiveDrill(2)
    joins = [drill.next_segment().end_s for _ in range(3)][:-1]
    for s in res.recording.streams.values():
        for j in joins:
            k = int(np.searchsorted(s.t_s, j))
            w = 60
            for x in (s.acc_mps2, s.gyro_radps):
                step = np.linalg.norm(x[k : k + w].mean(0) - x[k - w : k].mean(0))
                control = np.linalg.norm(x[k - w : k].mean(0) - x[k - 3 * w : k - 2 * w].mean(0))
                noise = x[k - 3 * w : k].std(0).max()
                assert step < max(2.5 * control, noise / 2), (s.sensor_id, j)


def test_same_seed_same_drill() -> None:
    a, b = LiveDrill(7).next_segment(), LiveDrill(7).next_segment()
    assert a.truth == b.truth
    np.testing.assert_array_equal(a.streams["baton"].acc_mps2, b.streams["baton"].acc_mps2)
