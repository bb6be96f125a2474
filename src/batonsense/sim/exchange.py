"""Blind hand-off choreography: run-up, go mark, call, reach, contact, overlap,
release (or drop), and the truth times they define.

Truth conventions (true time, s):
  reach_s   = start of the receiver's arm movement from its swing towards the
              extended-back posture (min-jerk blend onset);
  grab_s    = first contact: the instant the baton reaches the receiver's palm and
              the contact impulse (half-sine, 5-15 ms) begins;
  release_s = the giver's hand leaves the baton: its constraint to the baton ends
              and it separates with a small acceleration step;
  drop_s    = the baton starts to fall free.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from batonsense.model import Exchange, Hand, Outcome
from batonsense.sim.arms import POSTURES, ArmPlan
from batonsense.sim.baton import Ground, Grip, Pose, Segment, Track, simulate_fall
from batonsense.sim.rotations import exp_so3, log_so3, rot_x, rot_z, slerp
from batonsense.sim.scene import BatonSlave, Ctx, Perturb, Scene
from batonsense.sim.tracks import minjerk


# The giver's aim hands over to the receiving hand itself over the push's last 0.1 s
# (0.15 and 0.2 s let more of a late reach's swing into the baton: measured peaks
# 366 and 412 m/s² against 288 on 18 pushes).
AIM_HANDOVER_S = 0.1


@dataclass
class ExchangeSeg(Segment):
    """Baton from the giver's hand (t0) to the receiver's palm (contact at t_g)."""

    giver: tuple[str, str]
    grip_g: Grip
    receiver: tuple[str, str]
    grip_r: Grip
    t_be: float  # end of the blend from the giver's hand to the approach path
    t_g: float  # (planned) first contact
    v_rel: float  # m/s, approach speed relative to the palm
    n_hand: np.ndarray  # approach direction in the receiver's hand frame
    tau_c: float  # s, contact duration
    delta: np.ndarray  # rotation vector from giver's to receiver's baton pose at contact
    # Where the giver aims before t_be: the receiver's palm as it will be held at t_be,
    # carried along by the receiver's pelvis.  The giver cannot follow the receiving
    # hand's own swing back (tracking it pushed the baton at up to 60 g).
    aim_hand: Pose | None = None  # receiver's hand at t_be: position (3,) m, rotation (3,3)
    aim_pelvis: np.ndarray | None = None  # receiver's pelvis at t_be (m)
    receiver_body: Any = None  # the receiver's Athlete (pelvis track)
    # The baton sliding in the receiver's grip during the overlap: (start s, duration s,
    # displacement (3,) m in the receiver's hand frame), None for a grip that holds.
    slip: tuple[float, float, np.ndarray] | None = None

    def slip_m(self, t: np.ndarray) -> np.ndarray:
        """Slide of the baton in the receiver's hand so far (N,3) m, hand frame."""
        if self.slip is None:
            return np.zeros((len(t), 3))
        t0, dur, d = self.slip
        return minjerk((t - t0) / dur)[:, None] * d

    def s(self, t: np.ndarray) -> np.ndarray:
        """Distance (m) of the baton from the contact point along the approach."""
        d = t - self.t_g
        dc = np.clip(d, 0.0, self.tau_c)
        inside = -self.v_rel * (dc / 2 + self.tau_c / (2 * np.pi) * np.sin(np.pi * dc / self.tau_c))
        return np.where(d < 0, -self.v_rel * d, inside)

    def held_grip(self) -> Grip:
        """The receiver's grip once the contact impulse (and any slide) is over."""
        slid = np.zeros(3) if self.slip is None else self.slip[2]
        return Grip(self.grip_r.r, self.grip_r.p + self.n_hand * self.v_rel * self.tau_c / 2 + slid)

    def pose(self, ctx: Ctx, m: np.ndarray) -> Pose:
        t = ctx.t[m]
        if t[0] > self.t_g + self.tau_c:  # plain holding by the receiver
            ph, rh = ctx.hands[self.receiver]
            held = self.held_grip()
            if self.slip is None:
                return held.apply((ph[m], rh[m]))
            p, r = Grip(held.r, held.p - self.slip[2]).apply((ph[m], rh[m]))
            return p + np.einsum("nij,nj->ni", rh[m], self.slip_m(t)), r
        pg, rg = self.grip_g.apply(tuple(a[m] for a in ctx.natural[self.giver]))
        ph, rh = ctx.hands[self.receiver]
        pr, rr = self.grip_r.apply((ph[m], rh[m]))
        n_world = rh[m] @ self.n_hand
        before = t < self.t_be
        if self.aim_hand is not None and before.any():
            ath = self.receiver_body
            pelvis = ath.trunk(t[before], ath.gait(t[before]))[0]
            # the aim hands over to the hand itself over the blend's last AIM_HANDOVER_S
            u = minjerk((t[before] - self.t_be) / AIM_HANDOVER_S + 1.0)
            pr, rr, n_world = pr.copy(), rr.copy(), n_world.copy()
            aim_p, aim_r = self.grip_r.apply(self.aim_hand)
            aim = aim_p + pelvis - self.aim_pelvis
            pr[before] = aim + (pr[before] - aim) * u[:, None]
            rr[before] = slerp(np.broadcast_to(aim_r, rr[before].shape), rr[before], u)
            n_aim = self.aim_hand[1] @ self.n_hand
            n_world[before] = n_aim + (n_world[before] - n_aim) * u[:, None]
        pr = pr - n_world * self.s(t)[:, None] + np.einsum("nij,nj->ni", rh[m], self.slip_m(t))
        w = minjerk((t - self.t0) / (self.t_be - self.t0))
        # rotate by w * (delta + eps): delta is the (constant) giver-to-receiver grip
        # rotation at contact, eps the small relative hand motion -> no flips near π
        eps = log_so3(exp_so3(-self.delta) @ np.swapaxes(rg, -1, -2) @ rr)
        r = rg @ exp_so3(w[:, None] * self.delta) @ exp_so3(w[:, None] * eps)
        return pg + (pr - pg) * w[:, None], r


@dataclass
class ExchangeSpec:
    """What to do in one exchange (all durations in s)."""

    giver: str
    receiver: str
    giver_side: str
    receiver_side: str
    technique: str  # "upsweep" | "downsweep"
    reach_hold: float  # grab - reach
    overlap: float  # release - grab
    drop: str | None = None  # None | "no_grip" | "early_release"
    contact: ContactStyle | None = None  # None: the standard hand-off's random draws


@dataclass(frozen=True)
class ContactStyle:
    """How the hands meet and part, for simulations that vary what the detector must
    not depend on (domain randomisation; `scenarios.varied_contact`).

    v_rel_mps: approach speed of the baton into the palm (soft 0.15 to hard 1.5 m/s);
    tau_c_s: contact duration; impulse_frac: share of the approach momentum the
    receiving hand takes up; release_step_mps2: the receiving hand's jolt when the
    giver lets go (0: none); slip: the baton slides in the receiving hand during the
    overlap, (start as a fraction of the overlap, duration s, displacement (3,) m in
    the hand frame) or None.
    """

    v_rel_mps: float
    tau_c_s: float
    impulse_frac: float
    release_step_mps2: float
    slip: tuple[float, float, tuple[float, float, float]] | None = None


def _hand_response(fs: float, n: int, pulses: list[tuple[int, np.ndarray, float, str]]
                   ) -> np.ndarray:
    """Hand displacement (n,3) m of a stiff arm (6 Hz, ζ 0.7) to acceleration inputs.

    pulses: (start index, vector, duration s, kind) with kind "impulse" (half-sine
    of area |vector| m/s) or "step" (vector m/s² decaying with time constant).
    """
    sub = 4
    dt = 1.0 / (fs * sub)
    tt = np.arange(n * sub) * dt
    u = np.zeros((n * sub, 3))
    for i0, vec, dur, kind in pulses:
        d = tt - i0 / fs
        if kind == "impulse":
            on = (d >= 0) & (d < dur)
            u[on] += (np.pi / (2 * dur) * np.sin(np.pi * d[on] / dur))[:, None] * vec
        else:
            on = d >= 0
            u[on] += np.exp(-d[on] / dur)[:, None] * vec
    w0, z = 2 * np.pi * 6.0, 0.7
    e, v = np.zeros(3), np.zeros(3)
    out = np.empty((n * sub, 3))
    for k in range(n * sub):
        v = v + (u[k] - w0 * w0 * e - 2 * z * w0 * v) * dt
        e = e + v * dt
        out[k] = e
    taper = 1.0 - minjerk((tt - (tt[-1] - 0.3)) / 0.3)  # ends exactly at rest
    return (out * taper[:, None])[::sub]


def _closest_grip(r_giver: np.ndarray, r_hand: np.ndarray, grip: Grip) -> Grip:
    """Roll (and if needed flip) the receiver's grip about the baton axis so the
    baton turns as little as possible from the giver's hand into the receiver's."""
    best, best_ang = grip, np.inf
    for flip in (0.0, np.pi):
        for roll in np.linspace(0, 2 * np.pi, 48, endpoint=False):
            rg = grip.r @ rot_z(flip) @ rot_x(roll)
            ang = np.linalg.norm(log_so3(r_giver.T @ r_hand @ rg))
            if ang < best_ang - (0.3 if flip else 0.0):
                best, best_ang = Grip(rg, grip.p), ang
    return best


def plan_run_up(scene: Scene, spec: ExchangeSpec, t_start: float, rng: np.random.Generator
                ) -> tuple[float, float]:
    """Giver sprints from standstill at t_start; the receiver goes at the go mark.

    Returns (t_go, t_grab).  The giver's speed is chosen so that the pair closes to
    the hand-off distance ~2 s (longer for long reaches) after the receiver's go.
    """
    g, r = scene.athletes[spec.giver], scene.athletes[spec.receiver]
    x_g0, _ = g.speed.state(t_start)
    x_r0, _ = r.speed.state(t_start)
    d_go = rng.uniform(6.0, 9.0)
    tau_r = rng.uniform(0.9, 1.25)
    v_r = r.body.vmax * rng.uniform(0.9, 1.0)
    gap = rng.uniform(0.95, 1.15)
    big_t = max(rng.uniform(1.9, 2.6), spec.reach_hold + 0.8)
    x_rt = v_r * big_t - v_r * tau_r * (1 - np.exp(-big_t / tau_r))
    v_g = float(np.clip((d_go - gap + x_rt) / big_t, 7.0, 11.5))
    g.speed.command(t_start, v_g, rng.uniform(1.0, 1.3))
    t_go = g.speed.time_to_reach(x_r0 - d_go, t_start, t_start + 30.0)
    if t_go is None:
        raise RuntimeError("giver never reaches the go mark")
    r.speed.command(t_go, v_r, tau_r)
    ts = np.arange(t_go + 0.5, t_go + 8.0, 0.001)
    diff = r.speed.evaluate(ts)[0] - g.speed.evaluate(ts)[0] - gap
    hit = np.nonzero(diff <= 0)[0]
    t_g = float(ts[hit[0]]) if hit.size else t_go + big_t
    return t_go, t_g


def do_exchange(scene: Scene, spec: ExchangeSpec, t_g: float, grip_g: Grip, grip_r: Grip,
                rng: np.random.Generator) -> tuple[Exchange, float, Grip]:
    """Choreograph the hand-off around planned contact time t_g (s).

    The baton must be held by the giver's `giver_side` hand with grip_g before.
    Returns (truth, time when the baton has come to rest or the receiver holds it,
    the receiver's grip afterwards).
    """
    gk, rk = (spec.giver, spec.giver_side), (spec.receiver, spec.receiver_side)
    fs = scene.fs
    t_reach = t_g - spec.reach_hold
    dur_reach = min(rng.uniform(0.15, 0.25), max(0.15, spec.reach_hold - 0.03))
    pose = np.array(POSTURES["reach_up" if spec.technique == "upsweep" else "reach_down"], float)
    pose += rng.normal(0, [4, 3, 4, 8, 5])
    pose[0] = -rng.uniform(50, 70)
    early = spec.drop == "early_release"
    t_rel = t_g - rng.uniform(0.04, 0.12) if early else t_g + spec.overlap
    t_back = t_rel + rng.uniform(0.25, 0.45) + (0.4 if spec.drop else 0.0)
    scene.arms.setdefault(rk, ArmPlan()).add(t_reach, t_reach + dur_reach, max(t_g + 0.03, t_rel - 0.1), t_back, pose)
    give = np.array(POSTURES["give"], float) + rng.normal(0, [6, 3, 5, 8, 5])
    if spec.technique == "upsweep":
        give[0] -= 20
    t_give = min(t_reach, t_g - 0.5)
    scene.arms.setdefault(gk, ArmPlan()).add(t_give, t_give + 0.25, t_rel, t_rel + 0.35, give)
    # the giver's push into the hand takes 0.22-0.32 s whatever the receiver does (tied
    # to the end of a late reach it had shrunk to 30 ms: a 0.6 m jump at > 16 g)
    t_a = t_g - rng.uniform(0.22, 0.32)
    if early:
        t_a = min(t_a, t_rel - 0.06)
    vert = 1.0 if spec.technique == "upsweep" else -1.0
    n_world = np.array([rng.uniform(0.3, 0.8), rng.normal(0, 0.15), vert])
    n_world /= np.linalg.norm(n_world)
    for ath in scene.athletes.values():
        ath.finalize(t_g + 5.0)
    ctx = scene.evaluate(int(round(t_g * fs)), int(round(t_g * fs)) + 1)
    n_hand = ctx.hands[rk][1][0].T @ n_world
    grip_r = _closest_grip(grip_g.apply(tuple(a[0] for a in ctx.natural[gk]))[1],
                           ctx.hands[rk][1][0], grip_r)
    style = spec.contact
    if style is None:
        v_rel, tau_c = rng.uniform(0.3, 1.5), rng.uniform(0.005, 0.015)
    else:
        v_rel, tau_c = style.v_rel_mps, style.tau_c_s
    r_g0 = grip_g.apply(tuple(a[0] for a in ctx.natural[gk]))[1]
    delta = log_so3(r_g0.T @ ctx.hands[rk][1][0] @ grip_r.r)
    t_be = t_g - 0.03
    i_be = int(round(t_be * fs))
    ctx_be = scene.evaluate(i_be, i_be + 1)
    aim_hand = (ctx_be.hands[rk][0][0], ctx_be.hands[rk][1][0])
    r_ath = scene.athletes[spec.receiver]
    aim_pelvis = r_ath.trunk(ctx_be.t, r_ath.gait(ctx_be.t))[0][0]
    slip = None
    if style is not None and style.slip is not None and not early:
        frac, dur, disp = style.slip
        slip = (t_g + tau_c + frac * max(t_rel - t_g - tau_c - dur, 0.0), dur, np.array(disp))
    seg = ExchangeSeg(t_a, np.inf, gk, grip_g, rk, grip_r, t_be, t_g, v_rel, n_hand, tau_c,
                      delta, aim_hand, aim_pelvis, r_ath, slip)
    scene.segments[-1].t1 = min(scene.segments[-1].t1, t_a)
    scene.segments.append(seg)
    sep = np.array([-rng.uniform(4, 12), rng.normal(0, 2), -rng.uniform(2, 6)])
    slave = BatonSlave(gk, grip_g, seg, t_a, t_rel, t_rel + 0.3, sep)
    slave.prepare(scene)
    scene.baton_slaves.append(slave)
    i_g = int(round(t_g * fs)) - 10
    pulses = []
    if spec.drop is None:
        step = rng.uniform(2, 6) if style is None else style.release_step_mps2
        pulses.append((10 + int(round(spec.overlap * fs)), np.array([step, 0, 0]), 0.04, "step"))
    if not early:
        frac = rng.uniform(0.3, 0.5) if style is None else style.impulse_frac
        pulses.append((10, n_world * v_rel * frac, tau_c, "impulse"))
        scene.perturbs.append(Perturb(rk, i_g, _hand_response(fs, int((1.2 + spec.overlap) * fs), pulses)))
    g_ath = scene.athletes[spec.giver]
    g_ath.speed.command(t_rel + 0.3, 0.0, rng.uniform(1.8, 2.6))
    truth = Exchange(
        giver=spec.giver, receiver=spec.receiver, reach_s=t_reach,
        grab_s=None if early else t_g, release_s=t_rel,
        giver_hand=Hand(spec.giver_side), receiver_hand=Hand(spec.receiver_side),
        technique=spec.technique,
    )
    if spec.drop is None:
        return truth, t_rel + 0.5, seg.held_grip()
    t_drop = t_rel if early else t_rel + rng.uniform(0.0, 0.03)
    t_rest = drop_baton(scene, t_drop, rng)
    return replace(truth, outcome=Outcome.DROPPED, drop_s=t_drop), t_rest, grip_r


def drop_baton(scene: Scene, t_drop: float, rng: np.random.Generator) -> float:
    """Let the baton fall free from t_drop (s); returns the time it lies still."""
    for ath in scene.athletes.values():
        ath.finalize(t_drop + 5.0)
    (p0, r0), v0, w0 = scene.state_at(t_drop)
    i0 = int(round(t_drop * scene.fs))
    p, r, _t_imp, t_rest = simulate_fall(p0, v0, r0, w0, i0 / scene.fs, scene.fs, rng)
    scene.segments[-1].t1 = min(scene.segments[-1].t1, i0 / scene.fs)
    t_end = (i0 + len(p)) / scene.fs
    scene.segments.append(Track(i0 / scene.fs, t_end, i0, p, r))
    scene.segments.append(Ground(t_end, np.inf, p[-1].copy(), r[-1].copy()))
    return t_rest
