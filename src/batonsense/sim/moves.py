"""Everyday moves between exchanges: walk to a place, turn, put the baton down,
pick it up.  Each move appends to an athlete's plan and returns when it ends (s)."""

from __future__ import annotations

import numpy as np

from batonsense.sim.arms import side_sign
from batonsense.sim.baton import RADIUS, Grip, Ground, GroundToHand
from batonsense.sim.kinematics import Athlete
from batonsense.sim.rotations import rot_x, rot_z
from batonsense.sim.scene import Scene, StaticSlave

WALK_TAU = 0.8  # s
STOP_TAU = 0.6  # s


def turn(ath: Athlete, t: float, heading: float, dur: float = 1.1) -> float:
    """Turn on the spot to `heading` (rad) starting at t; returns end time."""
    ath.heading.add(t, ath.heading.last())
    ath.heading.add(t + dur, heading)
    return t + dur


def stop(ath: Athlete, t: float, tau: float = 1.8) -> float:
    """Decelerate to standstill from t; returns the time it is (nearly) stopped."""
    ath.speed.command(t, 0.0, tau)
    return t + 4.5 * tau


def walk_to(ath: Athlete, t: float, x: float, speed: float = 1.5,
            y: float | None = None, face: float | None = None) -> float:
    """Walk from standstill at t to pelvis x (m), optionally moving sideways to y
    and ending facing `face` (rad).  Returns the time of arrival (standing)."""
    x_now, _ = ath.speed.state(t)
    d = x - x_now
    if abs(d) < 0.05:
        return t
    direction = 0.0 if d > 0 else np.pi
    if abs(np.angle(np.exp(1j * (ath.heading.last() - direction)))) > 0.3:
        t = turn(ath, t, direction)
    ath.speed.command(t, np.sign(d) * speed, WALK_TAU)
    lo, hi = t, t + abs(d) / speed * 1.5 + 5.0
    for _ in range(50):  # stopping at t_s ends at x(t_s) + v(t_s) * STOP_TAU
        mid = 0.5 * (lo + hi)
        xm, vm = ath.speed.state(mid)
        if np.sign(d) * (xm + vm * STOP_TAU - x) < 0:
            lo = mid
        else:
            hi = mid
    ath.speed.command(lo, 0.0, STOP_TAU)
    t_end = lo + 5 * STOP_TAU
    if y is not None:
        ath.lateral.add(t, ath.lateral.last())
        ath.lateral.add(max(t + 0.5, lo), y)
    if face is not None and abs(face - direction) > 0.3:
        t_end = turn(ath, t_end, face)
    return t_end


def _hand_down_pose(ath: Athlete, t: float, side: str,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A hand pose at the ground in front of the athlete's `side` hand at time t."""
    psi = float(ath.heading(np.array([t]))[0])
    x, _ = ath.speed.state(t)
    y = float(ath.lateral(np.array([t]))[0])
    fwd = np.array([np.cos(psi), np.sin(psi), 0.0])
    left = np.array([-np.sin(psi), np.cos(psi), 0.0])
    p = np.array([x, y, 0.0]) + 0.35 * fwd + side_sign(side) * 0.22 * left
    a = psi + rng.uniform(-0.5, 0.5)
    r = rot_z(a) @ rot_x(rng.uniform(-0.3, 0.3))  # forearm vertical, thumb axis horizontal
    p[2] = RADIUS + 0.02
    return p, r


def put_down(scene: Scene, key: tuple[str, str], t: float, grip: Grip,
             rng: np.random.Generator) -> tuple[float, np.ndarray, np.ndarray]:
    """Crouch and lay the baton (held in `key` with `grip`) on the ground from t.

    Returns (time the baton lies still, its ground position, rotation)."""
    ath = scene.athletes[key[0]]
    ath.bend.add(t, t + 0.8, t + 1.2, t + 1.9)
    ph, rh = _hand_down_pose(ath, t, key[1], rng)
    scene.static_slaves.append(StaticSlave(key, ph, rh, t + 0.15, t + 0.9, t + 1.15, t + 1.9))
    pb, rb = grip.apply((ph, rh))
    axis = rb[:, 0] * np.array([1.0, 1.0, 0.0])
    yaw = float(np.arctan2(axis[1], axis[0]))
    rg = rot_z(yaw) @ rot_x(rng.uniform(-np.pi, np.pi))
    pg = pb.copy()
    pg[2] = RADIUS
    _end_previous(scene, t + 0.9)
    seg = GroundToHand(t + 0.9, t + 1.15, pg, rg, key, grip, 0.25, reverse=True)
    scene.segments.append(seg)
    scene.segments.append(Ground(t + 1.15, np.inf, pg, rg))
    return t + 1.15, pg, rg


def pick_up(scene: Scene, key: tuple[str, str], t: float, grip: Grip, pg: np.ndarray,
            rg: np.ndarray, rng: np.random.Generator) -> float:
    """Crouch and pick the baton lying at (pg, rg) up into `key` from t (the athlete
    stands next to it).  Returns the time the hand is back to its own motion."""
    ath = scene.athletes[key[0]]
    ath.bend.add(t, t + 0.8, t + 1.2, t + 1.9)
    psi = float(ath.heading(np.array([t]))[0])
    rh = rot_z(psi + rng.uniform(-0.3, 0.3))
    ph = pg - rh @ grip.p
    ph[2] = max(ph[2], RADIUS)
    scene.static_slaves.append(StaticSlave(key, ph, rh, t + 0.15, t + 0.9, t + 1.15, t + 1.9))
    _end_previous(scene, t + 0.9)
    scene.segments.append(GroundToHand(t + 0.9, np.inf, pg, rg, key, grip, 0.25))
    return t + 1.9


def _end_previous(scene: Scene, t: float) -> None:
    """Cut the open-ended last baton segment at t."""
    if scene.segments:
        scene.segments[-1].t1 = min(scene.segments[-1].t1, t)
