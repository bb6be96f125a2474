"""Two-link arms (upper arm, forearm) plus hand, driven by joint angles.

Joint angles (rad): shoulder flexion (+ forward), abduction (+ away from body),
elbow flexion, forearm pronation (+ turns the palm backwards from the neutral
thumb-forward hanging posture) and wrist flexion.  Swing is sagittal at half the
step frequency, left and right in anti-phase; postures (reach back, give forward,
hold in front, gestures) blend in with min-jerk weights.

Link frames: the limb points along local -z from its proximal joint; with the arm
hanging and all angles 0, local x points forward (thumb) for both arms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from batonsense.sim.kinematics import Athlete
from batonsense.sim.rotations import rot_x, rot_y, rot_z
from batonsense.sim.tracks import minjerk, smooth_interp

SIDES = ("left", "right")
_D = np.radians

# posture library: (flexion, abduction, elbow, pronation, wrist flexion), degrees
POSTURES: dict[str, tuple[float, float, float, float, float]] = {
    "hang": (3, 6, 15, 10, 5),
    "hold": (15, 8, 75, 20, 10),
    "reach_up": (-60, 18, 12, 80, -10),  # upsweep: palm down/back
    "reach_down": (-55, 22, 15, -70, 15),  # downsweep: palm up
    "give": (70, -5, 20, 10, 15),
}


def side_sign(side: str) -> float:
    """+1 for the left arm (world +y side), -1 for the right arm."""
    return 1.0 if side == "left" else -1.0


@dataclass
class PoseEvent:
    """Blend a posture in over [t0, t1], hold, blend out over [t2, t3]."""

    t0: float
    t1: float
    t2: float
    t3: float
    angles: np.ndarray  # (5,) rad
    residual: float = 0.08  # fraction of the swing oscillation kept while posed

    def weight(self, t: np.ndarray) -> np.ndarray:
        up = minjerk((t - self.t0) / max(self.t1 - self.t0, 1e-9))
        return up * (1.0 - minjerk((t - self.t2) / max(self.t3 - self.t2, 1e-9)))


@dataclass
class ArmPlan:
    """All posture events of one arm."""

    events: list[PoseEvent] = field(default_factory=list)

    def add(self, t0: float, t1: float, t2: float, t3: float,
            angles_deg: tuple[float, ...] | np.ndarray, residual: float = 0.08) -> None:
        self.events.append(PoseEvent(t0, t1, t2, t3, _D(np.asarray(angles_deg, float)), residual))


def swing_angles(ath: Athlete, side: str, g: dict[str, np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Free arm swing: (mean joint angles, oscillation), each (N, 5) rad."""
    sp, m = np.abs(g["v"]), g["m"]
    th = np.pi * g["phi"] + (0.0 if side == "right" else np.pi)
    k = ath.body.swing_factor
    vv = [0, 1.5, 3.5, 6, 10]
    a_sh = _D(smooth_interp(sp, vv, [0, 18, 32, 45, 55])) * k * m
    a_el = _D(smooth_interp(sp, vv, [0, 5, 12, 15, 17])) * m
    mean = np.stack([
        _D(smooth_interp(sp, vv, [3, 3, 8, 8, 5])), _D(smooth_interp(sp, vv, [6, 8, 10, 12, 12])),
        _D(smooth_interp(sp, vv, [15, 22, 85, 85, 85])), np.full_like(sp, _D(10.0)),
        np.full_like(sp, _D(6.0))], -1)
    osc = np.stack([a_sh * np.sin(th), _D(4.0) * m * np.sin(th + 1.2),
                    a_el * np.sin(th + 0.3), _D(12.0) * m * np.sin(th + 0.5),
                    _D(7.0) * m * np.sin(th - 0.6)], -1)
    return mean, osc


def arm_angles(ath: Athlete, side: str, plan: ArmPlan, t: np.ndarray,
               g: dict[str, np.ndarray]) -> np.ndarray:
    """Joint angles (N, 5): swing blended with the plan's postures."""
    mean, osc = swing_angles(ath, side, g)
    out = mean + osc
    lo, hi = (float(t[0]), float(t[-1])) if len(t) else (0.0, -1.0)
    for ev in plan.events:
        if ev.t3 < lo or ev.t0 > hi:
            continue
        w = ev.weight(t)[:, None]
        out += w * (ev.angles + ev.residual * osc - out)
    return out


def arm_chain(ath: Athlete, side: str, p_trunk: np.ndarray, r_trunk: np.ndarray,
              ang: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forward kinematics.

    Returns (p_wrist (N,3), R_forearm (N,3,3), R_wrist (N,3,3)) where the hand
    frame is R_forearm @ R_wrist and the hand (grip) point is
    p_wrist + R_hand @ (0, 0, -l_hand).
    """
    b, s = ath.body, side_sign(side)
    sh = p_trunk + r_trunk @ np.array([0.0, s * b.shoulder_w, b.trunk_len])
    r_up = r_trunk @ rot_y(-ang[:, 0]) @ rot_x(s * ang[:, 1])
    elbow = sh + r_up @ np.array([0.0, 0.0, -b.l_upper])
    r_fo = r_up @ rot_y(-ang[:, 2]) @ rot_z(-s * ang[:, 3])
    wrist = elbow + r_fo @ np.array([0.0, 0.0, -b.l_fore])
    return wrist, r_fo, rot_y(-ang[:, 4])
