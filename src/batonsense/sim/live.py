"""An endless drill for `batonsense demo`: one rep per segment, joined at standstill.

Four athletes take turns, ANA (right hand) → BEA (left) → CAT (right) → DEV
(left) → ANA …, so each always gives and takes with the hand wearing its wrist
sensor, and the page shows four different giver → receiver pairs.  Each rep
is a long reach with probability `P_LONG` (1 in 5) and a dropped baton with
probability `P_DROP` (1 in 8, "no_grip" or "early_release"); the rest are
normal blind hand-offs.  Seeded: `LiveDrill(seed)` always plays the same drill.

Why one rep per segment: a segment is simulated as its own scene (that keeps
memory and CPU per segment constant, however long the drill runs), and the
only moment a scene can end and the next one begin without a trace in the
sensor data is when everybody stands still.  The join carries over what
an IMU can see at standstill:
- the same bodies, sensor mounts and IMU imperfections (`Cast`, drawn once);
- the holder and the baton's grip in the holder's hand (`JoinState`);
- the standing sway phases (trunk sway is a function of time: each segment's
  bodies get their phases advanced to the segment's global start time).
World position and heading are not visible to an IMU, so each segment
places the athletes afresh (giver at 0 m, receiver `RUN_LEN_M` ahead, the
other two aside): no walk-back, which keeps reps ~15-25 s apart.
Sample times are global: sample n of a sensor is at t_first + n·period on
the drill's clock (s), whichever segment renders it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from batonsense.model import Exchange, Hand, Recording, Role, SensorInfo, SensorStream
from batonsense.sim.arms import side_sign
from batonsense.sim.baton import HALF_LEN, Grip, Held
from batonsense.sim.build import NAMES, Builder
from batonsense.sim.imu import ImuSpec
from batonsense.sim.kinematics import Athlete, Body
from batonsense.sim.moves import stop
from batonsense.sim.record import render
from batonsense.sim.rotations import random_rotation
from batonsense.sim.scenarios import _lateral, _spec
from batonsense.sim.scene import SensorDef
from batonsense.sim.tracks import SpeedPlan

HANDS = ("right", "left", "right", "left")  # per athlete in NAMES: the hand with the sensor
RUN_LEN_M = 28.0  # receiver's start ahead of the giver, m
P_LONG, P_DROP = 0.2, 0.125
REST_S = (1.0, 3.0)  # standing before the run-up, s
QUIET_S = 0.6  # standstill kept at the end of a segment, s
STILL_MPS = 0.03  # |v| below which an athlete counts as standing, m/s
GIVER_BRAKE_S, GIVER_BRAKE_TAU_S = 1.5, 0.9  # giver brakes harder this long after release
DROP_STOP_TAU_S, FETCH_MPS = 0.8, 2.2  # after a drop: the receiver stops short and jogs back
SWAY_HZ = (0.21, 0.17, 0.13, 0.19, 0.11)  # standing sway frequencies of Athlete.trunk


@dataclass(frozen=True)
class Cast:
    """What stays the same for the whole drill: bodies, sensor mounts, IMU specs
    (spec.t_first_s is on the drill's global clock; loss 0: the radio models loss)."""

    bodies: tuple[Body, ...]
    sensors: tuple[SensorDef, ...]
    specs: dict[str, ImuSpec]

    @staticmethod
    def random(seed: int, rate_hz: float = 200.0) -> Cast:
        rng = np.random.default_rng([seed, 4242])
        bodies = tuple(Body.random(n, rng) for n in NAMES)
        baton = SensorDef(SensorInfo("baton", Role.BATON), None, random_rotation(rng),
                          np.array([HALF_LEN - 0.012, 0.0, 0.0]))
        sensors = [baton]
        for k, (name, side) in enumerate(zip(NAMES, HANDS, strict=True)):
            info = SensorInfo(f"w{k + 1}", Role.WRIST, athlete=name, hand=Hand(side))
            mount_p = np.array([0.0, side_sign(side) * 0.025, 0.04])
            sensors.append(SensorDef(info, (name, side), random_rotation(rng), mount_p))
        specs = {s.info.id: ImuSpec.random(rng, rate_hz, 0.0) for s in sensors}
        return Cast(bodies, tuple(sensors), specs)

    @property
    def infos(self) -> tuple[SensorInfo, ...]:
        return tuple(s.info for s in self.sensors)


@dataclass(frozen=True)
class JoinState:
    """Where one segment hands over to the next: rep number (who gives), global
    start time (s), and the holder's grip (None: a fresh grip, first segment)."""

    rep: int = 0
    start_s: float = 0.0
    grip: Grip | None = None
    grip_end: float = 1.0  # Builder._end: which baton half the grip holds


@dataclass(frozen=True)
class LiveSegment:
    """One simulated rep on the drill's global clock (s).

    streams: per sensor id, the samples with start_s <= true time < end_s;
    truth: the rep's exchange; kinds: "normal", "long", "no_grip" or
    "early_release"; activities: (start_s, end_s, label)."""

    index: int
    start_s: float
    end_s: float
    streams: dict[str, SensorStream]
    truth: tuple[Exchange, ...]
    kind: str
    activities: tuple[tuple[float, float, str], ...]


def _kind(rng: np.random.Generator) -> str:
    u = rng.random()
    if u < P_LONG:
        return "long"
    if u < P_LONG + P_DROP:
        return str(rng.choice(["no_grip", "early_release"]))
    return "normal"


def _swayed(body: Body, t_s: float) -> Body:
    """The body with its standing-sway phases advanced by t_s (s) of global time."""
    ph = list(body.sway_phase)
    for i, f_hz in enumerate(SWAY_HZ):
        ph[i] = float((ph[i] + 2 * np.pi * f_hz * t_s) % (2 * np.pi))
    return replace(body, sway_phase=tuple(ph))


def _place(b: Builder, cast: Cast, state: JoinState) -> tuple[str, str, str]:
    """Athletes at their marks, sensors, baton in the giver's hand; (giver, receiver, side)."""
    n = len(NAMES)
    gi, ri = state.rep % n, (state.rep + 1) % n
    giver, receiver, side = NAMES[gi], NAMES[ri], HANDS[gi]
    others = [k for k in range(n) if k not in (gi, ri)]
    marks = {gi: (0.0, _lateral(side, HANDS[ri])), ri: (RUN_LEN_M, 0.0)}
    marks.update({k: (RUN_LEN_M + j, 3.0 + j) for j, k in enumerate(others)})
    for k, body in enumerate(cast.bodies):
        ath = Athlete(_swayed(body, state.start_s), SpeedPlan(x0=marks[k][0]))
        ath.heading.add(0.0, 0.0)
        ath.lateral.add(0.0, marks[k][1])
        b.scene.athletes[body.name] = ath
    b.scene.sensors = list(cast.sensors)
    if state.grip is None:
        b.hold((giver, side))
    else:
        b.holder, b.grip, b._end = (giver, side), state.grip, state.grip_end
        b.scene.segments.append(Held(-10.0, np.inf, (giver, side), state.grip))
    return giver, receiver, side


def _still_from(b: Builder, t_s: float) -> float:
    """First time (s) after which every planned move is over and everyone stands."""
    sc = b.scene
    ends = [t_s]
    ends += [ev.t3 for plan in sc.arms.values() for ev in plan.events]
    ends += [ss.t3 for ss in sc.static_slaves] + [bs.t_off for bs in sc.baton_slaves]
    ends += [(p.i0 + len(p.d)) / sc.fs for p in sc.perturbs]
    ends += [seg.t1 for seg in sc.segments if np.isfinite(seg.t1)]
    for ath in sc.athletes.values():
        ends += ath.heading.times + ath.lateral.times + [w[3] for w in ath.bend.spans]
        ts = np.arange(t_s, t_s + 120.0, 0.05)
        moving = np.flatnonzero(np.abs(ath.speed.evaluate(ts)[1]) >= STILL_MPS)
        ends.append(float(ts[moving[-1] + 1]) if moving.size else t_s)
    return max(ends)


def _rep(b: Builder, giver: str, receiver: str, side: str) -> tuple[str, float]:
    """Plan one exchange; returns (kind, segment length s)."""
    t = b.rng.uniform(*REST_S)
    b.acts.append((0.0, t, "rest"))
    kind = _kind(b.rng)
    _, t_stand = b.exchange(_spec(b, giver, receiver, side, kind), t)
    rel = b.truth[-1].release_s
    assert rel is not None
    stop(b.scene.athletes[giver], rel + GIVER_BRAKE_S, GIVER_BRAKE_TAU_S)
    end_s = _still_from(b, t_stand) + QUIET_S
    b.acts.append((t_stand, end_s, "rest"))
    return kind, end_s


def _global_samples(spec: ImuSpec, start_s: float, end_s: float) -> tuple[int, int]:
    """Global sample indices [n0, n1) whose true times fall in [start_s, end_s)."""
    n0 = int(np.ceil((start_s - spec.t_first_s) / spec.period_s - 1e-9))
    n1 = int(np.ceil((end_s - spec.t_first_s) / spec.period_s - 1e-9))
    return max(n0, 0), max(n1, 0)


def _render(b: Builder, cast: Cast, start_s: float, length_s: float, seed: int
            ) -> dict[str, SensorStream]:
    """Each sensor's samples for true global times [start_s, start_s + length_s)."""
    for ath in b.scene.athletes.values():
        ath.finalize(length_s + 1.0)
    span = {sid: _global_samples(sp, start_s, start_s + length_s) for sid, sp in cast.specs.items()}
    local = {sid: replace(sp, t_first_s=sp.t_first_s + span[sid][0] * sp.period_s - start_s)
             for sid, sp in cast.specs.items()}
    pad_s = 2.0 * max(sp.period_s for sp in local.values())
    rec = render(b.scene, local, length_s + pad_s, seed)
    out = {}
    for sid, sp in cast.specs.items():
        n0, n1 = span[sid]
        s = rec.streams[sid]
        t_s = sp.t_first_s + np.arange(n0, n1) * sp.period_s + sp.clock_err_s
        out[sid] = SensorStream(sid, t_s, s.acc_mps2[: n1 - n0], s.gyro_radps[: n1 - n0])
    return out


class LiveDrill:
    """Endless drill: `next_segment()` simulates the next rep (~0.5-1 s of CPU for
    ~15-25 s of drill).  Not thread-safe: call it from one thread at a time."""

    def __init__(self, seed: int = 0, rate_hz: float = 200.0) -> None:
        self.seed = seed
        self.cast = Cast.random(seed, rate_hz)
        self.state = JoinState()

    @property
    def sensors(self) -> tuple[SensorInfo, ...]:
        return self.cast.infos

    def next_segment(self) -> LiveSegment:
        st = self.state
        seed = int(np.random.SeedSequence([self.seed, st.rep]).generate_state(1)[0])
        b = Builder(seed, drop_stop_tau_s=DROP_STOP_TAU_S, fetch_speed_mps=FETCH_MPS)
        giver, receiver, side = _place(b, self.cast, st)
        kind, length_s = _rep(b, giver, receiver, side)
        streams = _render(b, self.cast, st.start_s, length_s, seed)
        end_s = st.start_s + length_s
        self.state = JoinState(st.rep + 1, end_s, b.grip, b._end)
        truth = tuple(e.shifted(st.start_s) for e in b.truth)
        acts = tuple((st.start_s + a, st.start_s + c, lab) for a, c, lab in b.acts if c > a)
        return LiveSegment(st.rep, st.start_s, end_s, streams, truth, kind, acts)


def stitch(segments: list[LiveSegment], sensors: tuple[SensorInfo, ...]):
    """One SimResult from consecutive segments (global clock)."""
    from batonsense.sim import SimResult

    streams = {}
    for s in sensors:
        parts = [seg.streams[s.id] for seg in segments]
        streams[s.id] = SensorStream(
            s.id,
            np.concatenate([p.t_s for p in parts]),
            np.concatenate([p.acc_mps2 for p in parts]),
            np.concatenate([p.gyro_radps for p in parts]),
        )
    truth = tuple(e for seg in segments for e in seg.truth)
    acts = tuple(a for seg in segments for a in seg.activities)
    return SimResult(Recording(sensors, streams), truth, acts)


def demo_live(seed: int, rate: float | None, n_reps: int = 6):
    """The first n_reps segments of `LiveDrill(seed)` as one SimResult."""
    drill = LiveDrill(seed, rate or 200.0)
    return stitch([drill.next_segment() for _ in range(n_reps)], drill.sensors)
