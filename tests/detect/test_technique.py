"""The technique (upsweep / downsweep) from the collision's direction against gravity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from batonsense.detect import detect_exchanges
from batonsense.detect.technique import classify_technique
from batonsense.evaluate import match
from batonsense.sim import simulate


@pytest.mark.parametrize(("sign", "expected"), [(-1.0, "upsweep"), (1.0, "downsweep")])
def test_impulse_against_gravity_in_a_turning_baton(sign: float, expected: str) -> None:
    # a baton turning steadily about x; gravity's reaction (+z up in the world) seen in
    # its own frame; at 1.0 s a 20 ms collision pushes it down (upsweep) or up
    fs = 400.0
    t = np.arange(0.0, 2.0, 1.0 / fs)
    w = np.array([3.0, 0.0, 0.0])  # rad/s
    world_to_body = Rotation.from_rotvec(np.outer(t, w)).inv()
    up_world = np.array([0.0, 0.0, 9.81])
    acc = world_to_body.apply(np.tile(up_world, (t.size, 1)))
    gyro = np.tile(w, (t.size, 1))
    rel = np.zeros_like(acc)
    on = (t >= 1.0) & (t < 1.02)
    rel[on] = world_to_body[on].apply(np.array([0.3, 0.0, sign * 40.0]))
    assert classify_technique(t, acc, gyro, rel, 1.0) == expected


def test_technique_on_simulated_passes() -> None:
    right = total = 0
    for scenario, seed in (("drill_200hz", 11), ("varied", 2)):
        sim = simulate(scenario, seed=seed, n_reps=4)
        found = detect_exchanges(sim.recording)
        for i, j in match(sim.truth, found):
            total += 1
            right += found[j].technique == sim.truth[i].technique
    assert total >= 7
    assert right >= 0.75 * total, (right, total)
