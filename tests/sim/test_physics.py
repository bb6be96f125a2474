"""Physics checks of the simulator's kinematics and differentiation."""

from __future__ import annotations

import numpy as np
import pytest

from batonsense.model import GRAVITY_MPS2 as G
from batonsense.sim.kinematics import Athlete, Body, step_freq
from batonsense.sim.rotations import (accelerations, body_rates, exp_so3, log_so3,
                                      random_rotation, rot_z, unwrapped_log)
from batonsense.sim.scene import FS_INT, Scene
from batonsense.sim.tracks import SpeedPlan, minjerk


def test_body_rates_match_constant_rotation() -> None:
    rng = np.random.default_rng(1)
    w = np.array([3.0, -20.0, 7.0])  # rad/s, body frame
    t = np.arange(200) / FS_INT
    r = random_rotation(rng) @ exp_so3(t[:, None] * w)
    np.testing.assert_allclose(body_rates(r, 1 / FS_INT), np.broadcast_to(w, (198, 3)),
                               rtol=2e-4)


def test_rotating_then_stopped_object_reads_gravity_only() -> None:
    """Spin up and stop (min-jerk angle); afterwards ω = 0 and f = Rᵀ(0, 0, g)."""
    t = np.arange(4000) / FS_INT
    ang = 2.5 * minjerk(t / 1.0)  # stops at t = 1 s
    r = rot_z(ang) @ exp_so3(np.array([0.4, 0.0, 0.0]))[None]
    p = np.stack([0.2 * np.cos(ang), 0.2 * np.sin(ang), np.ones_like(t)], -1)
    w = body_rates(r, 1 / FS_INT)
    a = accelerations(p, 1 / FS_INT)
    a[:, 2] += G
    f = np.einsum("nji,nj->ni", r[1:-1], a)
    late = t[1:-1] > 1.01
    assert np.abs(w[late]).max() < 1e-9
    np.testing.assert_allclose(f[late], np.broadcast_to(r[-1].T @ [0, 0, G], f[late].shape),
                               atol=1e-6)
    mid = np.argmin(np.abs(t[1:-1] - 0.5))
    assert w[mid] @ (r[mid].T @ [0, 0, 1]) == pytest.approx(2.5 * 1.875, rel=1e-3)


def test_unwrapped_log_is_continuous_and_exact() -> None:
    t = np.linspace(0, 1, 500)
    r = exp_so3(np.outer(t, [0.0, 0.0, 5.0]))  # passes through π
    d = unwrapped_log(r)
    assert np.abs(np.diff(d[:, 2])).max() < 0.02
    np.testing.assert_allclose(exp_so3(d), r, atol=1e-9)
    assert np.linalg.norm(log_so3(r[-1])) <= np.pi


def _sprinter(v: float) -> Athlete:
    rng = np.random.default_rng(0)
    ath = Athlete(Body.random("ANA", rng), SpeedPlan(x0=0.0))
    ath.heading.add(0.0, 0.0)
    ath.lateral.add(0.0, 0.0)
    ath.speed.command(-30.0, v, 0.5)
    ath.finalize(12.0)
    return ath


def test_arm_swing_is_half_the_step_frequency() -> None:
    from batonsense.model import Role, SensorInfo
    from batonsense.sim.scene import SensorDef

    ath = _sprinter(9.5)
    scene = Scene(athletes={"ANA": ath}, arms={})
    info = SensorInfo("w1", Role.WRIST, "ANA")
    scene.sensors.append(SensorDef(info, ("ANA", "right"), np.eye(3), np.zeros(3)))
    _, w = scene.truth(int(2 * FS_INT), int(10 * FS_INT))["w1"]
    comp = w[:, np.argmax(w.var(axis=0))]
    spec = np.abs(np.fft.rfft(comp - comp.mean()))
    freqs = np.fft.rfftfreq(len(comp), 1 / FS_INT)
    f_step = float(step_freq(np.array([9.5]), ath.body.step_factor)[0])
    assert freqs[np.argmax(spec)] == pytest.approx(f_step / 2, abs=0.15)
    assert 4.2 <= f_step <= 4.8
    assert 5.0 < np.abs(w).max() < 35.0  # several hundred °/s, within ±2000 °/s


def test_trunk_vertical_acceleration_averages_to_zero_with_impacts() -> None:
    ath = _sprinter(9.5)
    t = np.arange(int(2 * FS_INT), int(10 * FS_INT)) / FS_INT
    p, _ = ath.trunk(t, ath.gait(t))
    az = accelerations(p, 1 / FS_INT)[:, 2]
    assert abs(az.mean()) < 0.3  # no net vertical drift
    assert az.min() > -G - 0.5  # flight: free fall at most
    assert az.max() > 1.5 * G  # ground contact peaks (~2-3.5 g at the CoM)
    assert 0.02 < np.ptp(p[:, 2]) < 0.08  # vertical oscillation of a few cm
