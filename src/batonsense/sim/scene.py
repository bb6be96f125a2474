"""A scene: athletes, arm plans, baton segments and hand constraints, evaluated in
chunks of the internal high-rate grid (FS_INT) to give each sensor's true specific
force and body angular velocity.

Evaluation order per chunk: natural arm kinematics -> hand perturbations (contact
impulses) -> hands slaved to fixed targets (pick up / put down) -> baton pose ->
hands slaved to the baton (giver during an exchange) -> forearms from hands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from batonsense.model import GRAVITY_MPS2 as G
from batonsense.model import SensorInfo
from batonsense.sim.arms import SIDES, ArmPlan, arm_angles, arm_chain
from batonsense.sim.baton import Grip, Pose, Segment
from batonsense.sim.kinematics import Athlete
from batonsense.sim.rotations import accelerations, body_rates, exp_so3, slerp, unwrapped_log
from batonsense.sim.tracks import minjerk

FS_INT = 2000.0  # Hz, internal truth rate
Key = tuple[str, str]


class BatonPath(Protocol):
    def pose(self, ctx: Ctx, m: np.ndarray) -> Pose: ...


@dataclass
class StaticSlave:
    """Hand moves to a fixed world pose over [t0, t1], stays, returns over [t2, t3]."""

    key: Key
    p: np.ndarray
    r: np.ndarray
    t0: float
    t1: float
    t2: float
    t3: float


@dataclass
class BatonSlave:
    """Hand follows a baton path through a grip from t_on; after t_rel it separates
    (acceleration step `sep_acc` m/s² decaying with `sep_tau` s) and returns to its
    own motion by t_off."""

    key: Key
    grip: Grip
    path: BatonPath
    t_on: float
    t_rel: float
    t_off: float
    sep_acc: np.ndarray
    sep_tau: float = 0.05
    i_rel: int = 0  # grid index of t_rel
    delta: np.ndarray | None = None  # unwrapped rotation natural -> target from i_rel

    def prepare(self, scene: Scene) -> None:
        """Precompute the rotation path used while the hand returns to its own motion."""
        self.i_rel = int(np.floor(self.t_rel * scene.fs))
        ctx = scene.evaluate(self.i_rel, int(np.ceil(self.t_off * scene.fs)) + 2)
        m = np.ones(len(ctx.t), bool)
        _, tr = self.grip.invert(self.path.pose(ctx, m))
        self.delta = unwrapped_log(np.swapaxes(ctx.natural[self.key][1], -1, -2) @ tr)


@dataclass
class Perturb:
    """Additive hand displacement (n,3) m on the global grid from index i0."""

    key: Key
    i0: int
    d: np.ndarray


@dataclass
class SensorDef:
    """Where a sensor sits: on a forearm (key) or in the baton's end cap (key None)."""

    info: SensorInfo
    key: Key | None
    mount_r: np.ndarray
    mount_p: np.ndarray


@dataclass
class Ctx:
    t: np.ndarray
    i: np.ndarray
    natural: dict[Key, Pose] = field(default_factory=dict)
    hands: dict[Key, Pose] = field(default_factory=dict)
    wrist_r: dict[Key, np.ndarray] = field(default_factory=dict)
    forearms: dict[Key, Pose] = field(default_factory=dict)
    baton: Pose | None = None


def _blend(a: Pose, b: Pose, w: np.ndarray) -> Pose:
    return a[0] + (b[0] - a[0]) * w[:, None], slerp(a[1], b[1], w)


@dataclass
class Scene:
    athletes: dict[str, Athlete]
    arms: dict[Key, ArmPlan]
    segments: list[Segment] = field(default_factory=list)
    static_slaves: list[StaticSlave] = field(default_factory=list)
    baton_slaves: list[BatonSlave] = field(default_factory=list)
    perturbs: list[Perturb] = field(default_factory=list)
    sensors: list[SensorDef] = field(default_factory=list)
    fs: float = FS_INT

    def evaluate(self, i0: int, i1: int) -> Ctx:
        """All poses at global grid indices i0 <= i < i1."""
        idx = np.arange(i0, i1)
        ctx = Ctx(t=idx / self.fs, i=idx)
        t = ctx.t
        for name, ath in self.athletes.items():
            # every athlete has both hands: simulate them all, whether or not they
            # carry a sensor (the sensor list only decides what is recorded)
            g = ath.gait(t)
            pt, rt = ath.trunk(t, g)
            for side in SIDES:
                key = (name, side)
                ang = arm_angles(ath, side, self.arms.setdefault(key, ArmPlan()), t, g)
                wrist, r_fo, r_w = arm_chain(ath, side, pt, rt, ang)
                rh = r_fo @ r_w
                ctx.wrist_r[key] = r_w
                ctx.natural[key] = (wrist + rh @ np.array([0, 0, -ath.body.l_hand]), rh)
        ctx.hands = {k: (v[0].copy(), v[1]) for k, v in ctx.natural.items()}
        for pb in self.perturbs:
            k = idx - pb.i0
            m = (k >= 0) & (k < len(pb.d))
            if m.any():
                ctx.hands[pb.key][0][m] += pb.d[k[m]]
        for ss in self.static_slaves:
            self._apply_static(ctx, ss)
        ctx.baton = self._baton(ctx)
        for bs in self.baton_slaves:
            self._apply_baton_slave(ctx, bs)
        for key, (ph, rh) in ctx.hands.items():
            lh = self.athletes[key[0]].body.l_hand
            ctx.forearms[key] = (ph - rh @ np.array([0, 0, -lh]),
                                 rh @ np.swapaxes(ctx.wrist_r[key], -1, -2))
        return ctx

    def _apply_static(self, ctx: Ctx, ss: StaticSlave) -> None:
        t = ctx.t
        m = (t >= ss.t0) & (t <= ss.t3)
        if not m.any():
            return
        w = (minjerk((t[m] - ss.t0) / (ss.t1 - ss.t0))
             * (1 - minjerk((t[m] - ss.t2) / (ss.t3 - ss.t2))))
        p, r = ctx.hands[ss.key]
        n = int(m.sum())
        tgt = (np.broadcast_to(ss.p, (n, 3)), np.broadcast_to(ss.r, (n, 3, 3)))
        p[m], r_new = _blend((p[m], r[m]), tgt, w)
        r = r.copy()
        r[m] = r_new
        ctx.hands[ss.key] = (p, r)

    def _apply_baton_slave(self, ctx: Ctx, bs: BatonSlave) -> None:
        t = ctx.t
        m = (t >= bs.t_on) & (t <= bs.t_off)
        if not m.any():
            return
        tp, tr = bs.grip.invert(bs.path.pose(ctx, m))
        d = np.maximum(t[m] - bs.t_rel, 0.0) / bs.sep_tau
        sep = (bs.sep_tau**2 * (d - 1.0 + np.exp(-d)))[:, None] * bs.sep_acc
        w = 1.0 - minjerk((t[m] - bs.t_rel) / (bs.t_off - bs.t_rel))
        p, r = ctx.hands[bs.key]
        p, r = p.copy(), r.copy()
        p[m] = p[m] + (tp + sep - p[m]) * w[:, None]
        after = ctx.i[m] >= bs.i_rel
        r_m = tr.copy()
        if after.any() and bs.delta is not None:
            k = np.clip(ctx.i[m][after] - bs.i_rel, 0, len(bs.delta) - 1)
            r_m[after] = r[m][after] @ exp_so3(w[after, None] * bs.delta[k])
        r[m] = r_m
        ctx.hands[bs.key] = (p, r)

    def _baton(self, ctx: Ctx) -> Pose:
        n = len(ctx.t)
        p, r = np.zeros((n, 3)), np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
        for seg in self.segments:
            m = (ctx.t >= seg.t0) & (ctx.t < seg.t1)
            if m.any():
                p[m], r[m] = seg.pose(ctx, m)
        return p, r

    def sensor_poses(self, ctx: Ctx) -> dict[str, Pose]:
        """World pose of every sensor."""
        out = {}
        for s in self.sensors:
            p, r = ctx.baton if s.key is None else ctx.forearms[s.key]
            out[s.info.id] = (p + r @ s.mount_p, r @ s.mount_r)
        return out

    def truth(self, i0: int, i1: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """True specific force (m/s²) and body rate (rad/s), (n,3) each, for i0 <= i < i1."""
        ctx = self.evaluate(i0 - 1, i1 + 1)
        dt = 1.0 / self.fs
        out = {}
        for sid, (p, r) in self.sensor_poses(ctx).items():
            a = accelerations(p, dt)
            a[:, 2] += G
            f = np.einsum("nji,nj->ni", r[1:-1], a)
            out[sid] = (f, body_rates(r, dt))
        return out

    def state_at(self, t: float, sid: str | None = None) -> tuple[Pose, np.ndarray, np.ndarray]:
        """Baton pose, world velocity (m/s) and body rate (rad/s) at grid time nearest t."""
        i = int(round(t * self.fs))
        ctx = self.evaluate(i - 1, i + 2)
        p, r = ctx.baton
        v = (p[2] - p[0]) * self.fs / 2
        w = body_rates(r, 1.0 / self.fs)[0]
        return (p[1], r[1]), v, w
