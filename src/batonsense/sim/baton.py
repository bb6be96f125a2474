"""The baton: grips, what holds it when (segments), and free fall to the ground.

The baton is a rigid 0.29 m tube (0.05 kg).  Baton frame: origin at the tube's
centre, x along the tube.  A grip maps the holding hand's frame (grip point,
hand axes) to the baton frame: R_b = R_h R_g, p_b = p_h + R_h p_g.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from batonsense.model import GRAVITY_MPS2 as G
from batonsense.sim.rotations import exp_so3, log_so3, rot_x, rot_y, rot_z, slerp
from batonsense.sim.tracks import minjerk

HALF_LEN = 0.145  # m
RADIUS = 0.019  # m
Pose = tuple[np.ndarray, np.ndarray]  # (p (N,3), R (N,3,3))


@dataclass(frozen=True)
class Grip:
    """Hand-to-baton transform: rotation (3,3) and baton-centre offset in hand axes (m)."""

    r: np.ndarray
    p: np.ndarray

    @staticmethod
    def random(rng: np.random.Generator, u_grip: float) -> Grip:
        """Baton axis ≈ the fist's thumb axis (hand x), tilted ±20°; grip at u_grip (m)."""
        r = rot_z(rng.uniform(-0.35, 0.35)) @ rot_y(rng.uniform(-0.35, 0.35)) @ rot_x(
            rng.uniform(-np.pi, np.pi))
        return Grip(r=r, p=r @ np.array([-u_grip, 0.0, 0.0]) + np.array([0.01, 0.0, 0.0]))

    def apply(self, hand: Pose) -> Pose:
        """Baton pose from hand pose."""
        p, r = hand
        return p + r @ self.p, r @ self.r

    def invert(self, baton: Pose) -> Pose:
        """Hand pose from baton pose."""
        p, r = baton
        rh = r @ self.r.T
        return p - rh @ self.p, rh


class Context(Protocol):
    """What a segment may read while the scene is being evaluated."""

    t: np.ndarray
    i: np.ndarray
    hands: dict[tuple[str, str], Pose]
    natural: dict[tuple[str, str], Pose]


@dataclass
class Segment:
    """The baton's pose source over [t0, t1) s."""

    t0: float
    t1: float

    def pose(self, ctx: Context, m: np.ndarray) -> Pose:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class Held(Segment):
    """Held by one hand (athlete, side) with a grip."""

    key: tuple[str, str]
    grip: Grip

    def pose(self, ctx: Context, m: np.ndarray) -> Pose:
        p, r = ctx.hands[self.key]
        return self.grip.apply((p[m], r[m]))


@dataclass
class Ground(Segment):
    """Lying still on the ground."""

    p: np.ndarray
    r: np.ndarray

    def pose(self, ctx: Context, m: np.ndarray) -> Pose:
        n = int(m.sum())
        return np.broadcast_to(self.p, (n, 3)).copy(), np.broadcast_to(self.r, (n, 3, 3)).copy()


@dataclass
class Track(Segment):
    """Precomputed trajectory on the global internal grid, starting at index i0."""

    i0: int
    p: np.ndarray
    r: np.ndarray

    def pose(self, ctx: Context, m: np.ndarray) -> Pose:
        k = np.clip(ctx.i[m] - self.i0, 0, len(self.p) - 1)
        return self.p[k], self.r[k]


@dataclass
class GroundToHand(Segment):
    """Picked up (or put down if reverse): ground pose <-> hand grip over [t0, t0 + dur]."""

    p: np.ndarray
    r: np.ndarray
    key: tuple[str, str]
    grip: Grip
    dur: float
    reverse: bool = False  # True: put down (hand -> ground)

    def pose(self, ctx: Context, m: np.ndarray) -> Pose:
        p, r = ctx.hands[self.key]
        ph, rh = self.grip.apply((p[m], r[m]))
        w = minjerk((ctx.t[m] - self.t0) / self.dur)
        if self.reverse:
            w = 1.0 - w
        n = len(w)
        r0 = np.broadcast_to(self.r, (n, 3, 3))
        return self.p + (ph - self.p) * w[:, None], slerp(r0, rh, w)


def simulate_fall(p0: np.ndarray, v0: np.ndarray, r0: np.ndarray, w0: np.ndarray,
                  t0: float, fs: float, rng: np.random.Generator,
                  ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Free fall, ground impacts (spring-damper contact, restitution ~0.3), sliding, rest.

    p0, v0: world position (m) and velocity (m/s) of the baton centre at t0;
    r0: orientation; w0: body angular velocity (rad/s) at release.  Tumbling is a
    constant body rate (w0 plus a random spin, at most 2.8 rad/s, so the end-cap
    sensor's centripetal reading stays below ~1.1 m/s²).  Returns positions (n,3) and
    rotations (n,3,3) on the grid t0 + k/fs, the first impact time and rest time (s).
    """
    sub = 8
    dt = 1.0 / (fs * sub)
    w_fly = w0 + rng.normal(size=3) * 1.5
    w_fly *= min(1.0, rng.uniform(1.5, 2.8) / max(float(np.linalg.norm(w_fly)), 1e-9))
    w_bounce = rng.normal(size=3) * 4.0
    settle = rng.uniform(0.35, 0.7)
    mass, tc, rest_e = 0.05, 0.004, rng.uniform(0.2, 0.35)
    k = mass * (math.pi / tc) ** 2
    ln_e = math.log(rest_e)
    c = 2 * mass * (math.pi / tc) * (-ln_e / math.sqrt(math.pi**2 + ln_e**2))
    mu = rng.uniform(0.4, 0.6)
    x, y, z = (float(v) for v in p0)
    vx, vy, vz = (float(v) for v in v0)
    t_imp: float | None = None
    az_imp = 0.0
    pos, still, n = [], 0, 0
    max_steps = int(20.0 / dt)
    az_fly = (r0 @ exp_so3(np.arange(int(2.0 / dt))[:, None] * dt * w_fly))[:, 2, 0].tolist()
    while n < max_steps:
        tau = n * dt
        if t_imp is None:
            az = az_fly[min(n, len(az_fly) - 1)]
        else:
            az = az_imp * (1.0 - float(minjerk((tau - t_imp) / settle)))
        z_low = z - (HALF_LEN * abs(az) + RADIUS * math.sqrt(max(0.0, 1 - az * az)))
        fz = 0.0
        if z_low < 0:
            if t_imp is None:
                t_imp, az_imp = tau, az
            fz = max(0.0, -k * z_low - c * vz)
        ax = ay = 0.0
        vh = math.hypot(vx, vy)
        if fz > 0 and vh > 1e-6:
            dec = min(mu * fz / mass, vh / dt)
            ax, ay = -dec * vx / vh, -dec * vy / vh
        vx, vy, vz = vx + ax * dt, vy + ay * dt, vz + (fz / mass - G) * dt
        x, y, z = x + vx * dt, y + vy * dt, z + vz * dt
        if n % sub == 0:
            pos.append((x, y, z))
        n += 1
        settled = t_imp is not None and tau > t_imp + settle
        still = still + 1 if settled and math.hypot(vx, vy) < 1e-3 and abs(vz) < 1e-3 else 0
        if still > 0.05 / dt and n % sub == 0:
            break
    p = np.array(pos)
    tk = np.arange(len(p)) / fs
    t_imp = float(t_imp if t_imp is not None else tk[-1])
    r_fly = r0 @ exp_so3(np.minimum(tk, t_imp)[:, None] * w_fly)
    r_imp = r0 @ exp_so3(w_fly * t_imp)
    # rest: tube horizontal, yaw and roll as close as possible to the impact attitude
    yaw = float(np.arctan2(r_imp[1, 0], r_imp[0, 0])) + rng.uniform(-0.4, 0.4)
    rolls = [rot_z(yaw) @ rot_x(a) for a in np.linspace(-np.pi, np.pi, 72, endpoint=False)]
    r_rest = min(rolls, key=lambda rr: float(np.linalg.norm(log_so3(r_imp.T @ rr))))
    d_rest = log_so3(r_imp.T @ r_rest)
    after = np.maximum(tk - t_imp, 0.0)
    w = minjerk(after / settle)[:, None]
    r_b = r_imp @ exp_so3((1 - w) * after[:, None] * w_bounce + w * d_rest)
    r = np.where((tk <= t_imp)[:, None, None], r_fly, r_b)
    return p, r, t0 + t_imp, t0 + tk[-1]
