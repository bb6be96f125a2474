"""Scenario builder: athletes, sensors, baton hand-overs and activity labels."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from batonsense.model import Exchange, Hand, Role, SensorInfo
from batonsense.sim.arms import side_sign
from batonsense.sim.baton import HALF_LEN, Grip, Held
from batonsense.sim.exchange import ExchangeSpec, do_exchange, plan_run_up
from batonsense.sim.imu import ImuSpec
from batonsense.sim.kinematics import Athlete, Body
from batonsense.sim.moves import pick_up, put_down, stop, walk_to
from batonsense.sim.record import render
from batonsense.sim.rotations import random_rotation
from batonsense.sim.scene import Scene, SensorDef
from batonsense.sim.tracks import SpeedPlan

NAMES = ("ANA", "BEA", "CAT", "DEV")
Key = tuple[str, str]


@dataclass
class Builder:
    """Accumulates a scene, its truth and activity labels."""

    seed: int
    rate_hz: float | None = None  # forced nominal rate for all sensors; None = choose
    rates: tuple[float, ...] = (200.0,)
    loss: float = 0.0
    rng: np.random.Generator = field(init=False)
    scene: Scene = field(init=False)
    truth: list[Exchange] = field(default_factory=list)
    acts: list[tuple[float, float, str]] = field(default_factory=list)
    holder: Key | None = None
    grip: Grip | None = None
    _end: float = 1.0  # which baton end the next grip holds (+1/-1)
    gaps: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    end: float = 0.0  # s, where the scenario ends
    drop_stop_tau_s: float = 1.6  # receiver's stop after a drop (time constant, s)
    fetch_speed_mps: float = 1.4  # walking to a dropped baton, m/s
    vary: np.random.Generator | None = None  # draws the varied contacts (scenarios.varied)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.scene = Scene(athletes={}, arms={})

    def athlete(self, name: str, x: float, y: float, heading: float = 0.0) -> Athlete:
        ath = Athlete(Body.random(name, self.rng), SpeedPlan(x0=x))
        ath.heading.add(0.0, heading)
        ath.lateral.add(0.0, y)
        self.scene.athletes[name] = ath
        return ath

    def wrist(self, name: str, side: str) -> str:
        sid = f"w{sum(1 for s in self.scene.sensors if s.key is not None) + 1}"
        info = SensorInfo(sid, Role.WRIST, athlete=name, hand=Hand(side))
        mount_p = np.array([0.0, side_sign(side) * 0.025, 0.04])
        self.scene.sensors.append(SensorDef(info, (name, side), random_rotation(self.rng), mount_p))
        return sid

    def baton_sensor(self) -> None:
        info = SensorInfo("baton", Role.BATON)
        p = np.array([HALF_LEN - 0.012, 0.0, 0.0])
        self.scene.sensors.insert(0, SensorDef(info, None, random_rotation(self.rng), p))

    def new_grip(self) -> Grip:
        """A grip on the half of the baton not held by the previous holder."""
        self._end = -self._end
        return Grip.random(self.rng, self._end * self.rng.uniform(0.0, 0.08))

    def hold(self, key: Key, t: float = -10.0) -> None:
        """`key` holds the baton from t (first holder only)."""
        self.holder, self.grip = key, self.new_grip()
        self.scene.segments.append(Held(t, np.inf, key, self.grip))

    def exchange(self, spec: ExchangeSpec, t_start: float, stop_receiver: bool = True
                 ) -> tuple[float, float]:
        """Run-up from t_start and hand-off; returns (grab-ish time, time all stand)."""
        if self.holder != (spec.giver, spec.giver_side) or self.grip is None:
            raise RuntimeError(f"{spec.giver} {spec.giver_side} does not hold the baton")
        _, t_g = plan_run_up(self.scene, spec, t_start, self.rng)
        grip_r = self.new_grip()
        ex, t_after, grip = do_exchange(self.scene, spec, t_g, self.grip, grip_r, self.rng)
        ex = replace(ex, **{f: None if getattr(ex, f) is None else float(getattr(ex, f))
                            for f in ("reach_s", "grab_s", "release_s", "drop_s")})
        self.truth.append(ex)
        self.acts.append((t_start, ex.reach_s - 0.3, "sprint"))
        end_ex = (ex.release_s or t_g) + 0.3
        self.acts.append((ex.reach_s - 0.3, end_ex, "exchange"))
        self.holder, self.grip = (spec.receiver, spec.receiver_side), grip
        t_stand = t_g + 10.0
        if stop_receiver or spec.drop:
            t_stop = t_g + (0.6 if spec.drop else self.rng.uniform(1.5, 2.5))
            tau_s = self.drop_stop_tau_s if spec.drop else 1.6
            t_stand = stop(self.scene.athletes[spec.receiver], t_stop, tau_s)
            self.acts.append((end_ex, t_stand, "run_out"))
        if spec.drop:
            self.acts.append((ex.drop_s, t_after, "drop"))
            t_stand = self._fetch(spec.receiver, spec.receiver_side, t_stand, t_after)
        return t_g, max(t_stand, t_g + 7.5)

    def _fetch(self, name: str, side: str, t: float, t_rest: float) -> float:
        """`name` walks to the dropped baton and picks it up; returns when done."""
        seg = self.scene.segments[-1]
        pg, rg = seg.p, seg.r
        ath = self.scene.athletes[name]
        x_now, _ = ath.speed.state(t)
        face = 0.0 if pg[0] > x_now else np.pi
        fwd = np.cos(face)
        y_stand = pg[1] - side_sign(side) * 0.22 * fwd
        t_arr = walk_to(ath, t, pg[0] - 0.35 * fwd, self.fetch_speed_mps, y=y_stand, face=face)
        t_arr = max(t_arr, t_rest + 0.5)
        self.acts.append((t_rest, t_arr + 0.9, "baton_on_ground"))
        self.acts.append((t_arr, t_arr + 1.9, "pick_up"))
        self.grip = self.new_grip()
        return pick_up(self.scene, (name, side), t_arr, self.grip, pg, rg, self.rng)

    def put_down_and_pick_up(self, t: float, wait: float, picker: Key | None = None) -> float:
        """Holder lays the baton down at t; `picker` (default holder) picks it up."""
        assert self.holder is not None and self.grip is not None
        t_down, pg, rg = put_down(self.scene, self.holder, t, self.grip, self.rng)
        self.acts.append((t, t_down, "put_down"))
        key = picker or self.holder
        t_pick = t_down + wait
        if key[0] != self.holder[0]:
            ath = self.scene.athletes[key[0]]
            x_now, _ = ath.speed.state(t_pick)
            face = 0.0 if pg[0] > x_now else np.pi
            fwd = np.cos(face)
            t_pick = max(t_pick, walk_to(ath, t_down, pg[0] - 0.35 * fwd, 1.4,
                                         y=pg[1] - side_sign(key[1]) * 0.22 * fwd, face=face))
        self.acts.append((t_down, t_pick + 0.9, "baton_on_ground"))
        self.acts.append((t_pick, t_pick + 1.9, "pick_up"))
        self.holder, self.grip = key, self.new_grip()
        return pick_up(self.scene, key, t_pick, self.grip, pg, rg, self.rng)

    def finish(self, t_end: float):
        """Render everything up to t_end (s) into a SimResult."""
        from batonsense.sim import SimResult

        for ath in self.scene.athletes.values():
            ath.finalize(t_end + 1.0)
        specs = {}
        for s in self.scene.sensors:
            rate = self.rate_hz or float(self.rng.choice(self.rates))
            specs[s.info.id] = ImuSpec.random(self.rng, rate, self.loss)
        rec = render(self.scene, specs, t_end, self.seed, self.gaps)
        truth = tuple(sorted(self.truth, key=lambda e: e.time_s))
        acts = tuple(sorted((round(float(a), 4), round(float(b), 4), lab) for a, b, lab in self.acts if b > a))
        return SimResult(rec, truth, acts)
