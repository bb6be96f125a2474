"""Scenarios without exchanges: carrying, ground handling, reach practice, standing.

Truth is empty in all of them; activity labels say what happens when.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from batonsense.sim.arms import POSTURES, ArmPlan
from batonsense.sim.build import NAMES, Builder
from batonsense.sim.kinematics import Athlete
from batonsense.sim.moves import stop, turn, walk_to

_MODES = {"walk": (1.3, 1.6), "jog": (3.0, 4.0), "sprint": (8.5, 10.5)}


def _roam(b: Builder, ath: Athlete, t: float, t_end: float, label: str | None,
          p: dict[str, float]) -> None:
    """Random walk/jog/sprint/stand segments along x from t to t_end (turns at ±50 m)."""
    rng = b.rng
    direction = 1.0
    while t < t_end - 5.0:
        mode = str(rng.choice(list(p), p=list(p.values())))
        if mode == "stand":
            dur = rng.uniform(4.0, 15.0)
            if label:
                b.acts.append((t, t + dur, "rest"))
            t += dur
            continue
        x, _ = ath.speed.state(t)
        if direction * x > 45.0:
            direction = -direction
            t = turn(ath, t, 0.0 if direction > 0 else np.pi)
        v = rng.uniform(*_MODES[mode]) * direction
        dur = rng.uniform(3.0, 5.0) if mode == "sprint" else rng.uniform(8.0, 25.0)
        dur = min(dur, max(1.0, (50.0 - direction * x) / abs(v)))
        ath.speed.command(t, v, 1.1 if mode == "sprint" else 0.8)
        t_stop = stop(ath, t + dur, 1.5 if mode == "sprint" else 0.7)
        if label:
            b.acts.append((t, t_stop, f"{label}_{mode}"))
        t = t_stop + rng.uniform(0.5, 2.0)


def carry(seed: int, rate: float | None, duration_s: float = 60.0, **_: Any) -> Builder:
    b = Builder(seed, rate_hz=rate)
    ana = b.athlete(NAMES[0], 0.0, 0.0)
    bea = b.athlete(NAMES[1], 5.0, 2.0)
    b.wrist(NAMES[0], "right")
    b.wrist(NAMES[1], "left")
    b.baton_sensor()
    b.hold((NAMES[0], "right"))
    _roam(b, ana, 2.0, duration_s, "carry", {"walk": 0.35, "jog": 0.3, "sprint": 0.2,
                                              "stand": 0.15})
    _roam(b, bea, 3.0, duration_s, None, {"walk": 0.4, "jog": 0.4, "stand": 0.2})
    b.end = duration_s
    return b


def ground(seed: int, rate: float | None, duration_s: float = 90.0, **_: Any) -> Builder:
    b = Builder(seed, rate_hz=rate)
    b.athlete(NAMES[0], 0.0, 0.0)
    b.athlete(NAMES[1], 3.0, 1.5)
    b.wrist(NAMES[0], "right")
    b.wrist(NAMES[1], "left")
    b.baton_sensor()
    b.hold((NAMES[0], "right"))
    rng, t = b.rng, 3.0
    while t < duration_s - 20.0:
        holder = b.holder
        assert holder is not None
        ath = b.scene.athletes[holder[0]]
        x, _ = ath.speed.state(t)
        t = walk_to(ath, t, x + rng.uniform(-8, 8), rng.uniform(1.2, 1.6), face=0.0)
        picker = holder
        if rng.random() < 0.4:
            other = NAMES[1] if holder[0] == NAMES[0] else NAMES[0]
            picker = (other, "left" if other == NAMES[1] else "right")
        t = b.put_down_and_pick_up(t + 0.5, rng.uniform(2.0, 8.0), picker) + rng.uniform(2, 5)
    b.end = max(duration_s, t + 2.0)
    return b


def practice(seed: int, rate: float | None, duration_s: float = 60.0, n_reps: int = 12,
             **_: Any) -> Builder:
    b = Builder(seed, rate_hz=rate)
    bea = b.athlete(NAMES[1], 0.0, 0.0)
    ana = b.athlete(NAMES[0], 0.0, 4.0)
    b.wrist(NAMES[1], "left")
    b.wrist(NAMES[1], "right")
    b.wrist(NAMES[0], "right")
    b.baton_sensor()
    b.hold((NAMES[0], "right"))
    _roam(b, ana, 2.0, duration_s, None, {"jog": 0.8, "stand": 0.2})
    rng, t = b.rng, 2.0
    gap = (duration_s - 6.0) / max(n_reps, 1)
    bea.speed.command(t, rng.uniform(1.5, 3.5), 0.8)
    for _k in range(n_reps):
        t0 = t + rng.uniform(0.5, max(0.6, gap - 2.5))
        hold = rng.uniform(0.2, 1.5)
        side = str(rng.choice(["left", "right"]))
        pose = np.array(POSTURES[str(rng.choice(["reach_up", "reach_down"]))]) + rng.normal(
            0, [5, 3, 4, 8, 5])
        b.scene.arms.setdefault((NAMES[1], side), ArmPlan()).add(
            t0, t0 + 0.2, t0 + 0.2 + hold, t0 + 0.55 + hold, pose)
        b.acts.append((t0, t0 + 0.55 + hold, "reach_practice"))
        t += gap
    stop(bea, duration_s - 4.0, 0.8)
    b.end = duration_s
    return b


def stand(seed: int, rate: float | None, duration_s: float = 60.0, **_: Any) -> Builder:
    b = Builder(seed, rate_hz=rate)
    for k, n in enumerate(NAMES[:3]):
        b.athlete(n, 0.8 * np.cos(2.1 * k), 0.8 * np.sin(2.1 * k), heading=2.1 * k + np.pi)
        b.wrist(n, "right" if k != 1 else "left")
    b.baton_sensor()
    b.hold((NAMES[0], "right"))
    rng = b.rng
    b.scene.arms.setdefault((NAMES[0], "right"), ArmPlan()).add(
        -1.0, 0.0, duration_s + 5, duration_s + 6, POSTURES["hold"])
    for n in NAMES[:3]:
        t = rng.uniform(0.5, 4.0)
        while t < duration_s - 3.0:
            side = str(rng.choice(["left", "right"]))
            ang = np.array([rng.uniform(10, 50), rng.uniform(5, 30), rng.uniform(40, 110),
                            rng.uniform(-30, 60), rng.uniform(-20, 30)])
            dur = rng.uniform(0.6, 2.5)
            b.scene.arms.setdefault((n, side), ArmPlan()).add(
                t, t + 0.4, t + 0.4 + dur, t + 0.9 + dur, ang, residual=0.0)
            t += dur + rng.uniform(2.0, 8.0)
    b.acts.append((0.0, duration_s, "stand"))
    b.end = duration_s
    return b
