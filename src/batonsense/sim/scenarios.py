"""Named scenarios: drills, 4x100, drops, mixed rates and non-exchange activities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from batonsense.sim.arms import POSTURES
from batonsense.sim.build import NAMES, Builder
from batonsense.sim.exchange import ContactStyle, ExchangeSpec
from batonsense.sim.moves import stop, turn, walk_to

MIXED = (100.0, 200.0, 400.0, 416.0)
LANE = 0.35  # m, lateral offset giver-receiver so that the passing hands meet


def _other(side: str) -> str:
    return "left" if side == "right" else "right"


def _lateral(giver_side: str, receiver_side: str) -> float:
    """Giver's y minus receiver's y for the hands to meet."""
    if giver_side == receiver_side:
        return 0.0
    return LANE if giver_side == "right" else -LANE


def contact_style(rng: np.random.Generator) -> ContactStyle:
    """A random way for the hands to meet and part (see ContactStyle): soft to hard
    contacts (0.15-1.5 m/s), with or without the receiving hand's jolt at the release, and in half
    the passes the baton sliding 2-8 mm in the receiving hand during the overlap."""
    slip = None
    if rng.random() < 0.5:
        d = rng.normal(size=3)
        d *= rng.uniform(0.002, 0.008) / np.linalg.norm(d)
        slip = (float(rng.uniform(0.0, 1.0)), float(rng.uniform(0.02, 0.06)), tuple(map(float, d)))
    return ContactStyle(
        v_rel_mps=float(np.exp(rng.uniform(np.log(0.15), np.log(1.5)))),
        tau_c_s=float(rng.uniform(0.005, 0.03)),
        impulse_frac=float(rng.uniform(0.1, 0.5)),
        release_step_mps2=float(rng.choice([0.0, rng.uniform(1.0, 8.0)])),
        slip=slip,
    )


def _spec(b: Builder, giver: str, receiver: str, giver_side: str, kind: str = "normal",
          mismatch: bool = False) -> ExchangeSpec:
    rng = b.rng
    long_reach = kind == "long"
    if b.vary is not None:
        return ExchangeSpec(
            giver=giver, receiver=receiver, giver_side=giver_side,
            receiver_side=giver_side if mismatch else _other(giver_side),
            technique=str(b.vary.choice(["upsweep", "downsweep"])),
            reach_hold=b.vary.uniform(1.2, 2.0) if long_reach else b.vary.uniform(0.15, 0.6),
            overlap=b.vary.uniform(0.04, 0.4),
            drop=kind if kind in ("no_grip", "early_release") else None,
            contact=contact_style(b.vary),
        )
    return ExchangeSpec(
        giver=giver, receiver=receiver, giver_side=giver_side,
        receiver_side=giver_side if mismatch else _other(giver_side),
        technique=str(rng.choice(["upsweep", "downsweep"])),
        reach_hold=rng.uniform(1.2, 2.0) if long_reach else rng.uniform(0.18, 0.6),
        overlap=rng.uniform(0.05, 0.4) if kind != "no_grip" else rng.uniform(0.05, 0.15),
        drop=kind if kind in ("no_grip", "early_release") else None,
    )


def _drill(b: Builder, names: list[str], kinds: list[str], both: set[str] = frozenset(),
           mismatch_reps: set[int] = frozenset(), run_len: float = 28.0,
           walk_speed: tuple[float, float] = (2.4, 3.4), rest: tuple[float, float] = (2, 6),
           put_down_p: float = 0.3) -> float:
    """Reps of blind exchanges rotating through `names`; returns the end time."""
    rng = b.rng
    first_side = "right"
    # initial placement: giver at 0, receiver at run_len, others waiting aside
    b.athlete(names[0], 0.0, _lateral(first_side, "left"))
    b.athlete(names[1], run_len, 0.0)
    for k, n in enumerate(names[2:]):
        b.athlete(n, run_len, 3.0 + k)
    for n in names:
        sides = ("left", "right") if n in both else (None,)
        for s in sides:
            b.wrist(n, s or ("right" if n == names[0] else "left"))
    b.baton_sensor()
    b.hold((names[0], first_side))
    t = rng.uniform(3.0, 6.0)
    b.acts.append((0.0, t, "rest"))
    for rep, kind in enumerate(kinds):
        giver = names[rep % len(names)]
        receiver = names[(rep + 1) % len(names)]
        assert b.holder is not None and b.holder[0] == giver
        spec = _spec(b, giver, receiver, b.holder[1], kind, rep in mismatch_reps)
        _, t_stand = b.exchange(spec, t)
        if rep == len(kinds) - 1:
            return t_stand + 2.0
        # walk back: next giver (holder) to 0, next receiver to run_len
        nxt_g, nxt_r = receiver, names[(rep + 2) % len(names)]
        g_side = b.holder[1]
        r_side = _other(g_side)
        spd = rng.uniform(*walk_speed)
        y_r = 0.0
        t1 = walk_to(b.scene.athletes[nxt_g], t_stand, 0.0, spd,
                     y=y_r + _lateral(g_side, r_side), face=0.0)
        t2 = walk_to(b.scene.athletes[nxt_r], t_stand, run_len, spd, y=y_r, face=0.0)
        for n in names:
            if n not in (nxt_g, nxt_r):
                walk_to(b.scene.athletes[n], t_stand, run_len, 1.3, y=3.0, face=0.0)
        b.acts.append((t_stand, max(t1, t2), "walk_back"))
        t = max(t1, t2) + rng.uniform(*rest)
        if rng.random() < put_down_p:
            t = b.put_down_and_pick_up(t1 + 0.5, rng.uniform(2.0, 5.0)) + rng.uniform(1, 3)
        b.acts.append((max(t1, t2), t, "rest"))
    return t


def drill(seed: int, rate: float | None, n_reps: int = 8, loss: float = 0.0,
          kinds: list[str] | None = None, rates: tuple[float, ...] = (200.0,),
          **kw: Any) -> Builder:
    b = Builder(seed, rate_hz=rate, rates=rates, loss=loss)
    if kinds is None:
        kinds = ["long" if b.rng.random() < 0.12 else "normal" for _ in range(n_reps)]
    end = _drill(b, list(NAMES[:2]), kinds, **kw)
    b.end = end
    return b


def varied(seed: int, rate: float | None, n_reps: int = 8, **_: Any) -> Builder:
    """Drill reps whose contacts vary (`contact_style`): soft to hard, with and without
    a release jolt, baton sliding in the grip; overlaps 40-400 ms; 200-1000 Hz sensors."""
    b = Builder(seed, rate_hz=rate, rates=(200.0, 400.0, 1000.0))
    b.vary = np.random.default_rng([seed, 29])
    kinds = ["long" if b.rng.random() < 0.12 else "normal" for _ in range(n_reps)]
    b.end = _drill(b, list(NAMES[:2]), kinds)
    return b


def drops_long_reach(seed: int, rate: float | None, n_reps: int = 8, **_: Any) -> Builder:
    rng = np.random.default_rng([seed, 11])
    base = ["no_grip", "early_release", "long", "long"] + ["normal"] * max(n_reps - 4, 0)
    kinds = [base[i] for i in rng.permutation(len(base))][:n_reps]
    return drill(seed, rate, kinds=kinds, rates=(200.0,))


def mixed_rates(seed: int, rate: float | None, n_reps: int = 6, **_: Any) -> Builder:
    b = Builder(seed, rate_hz=rate, rates=MIXED)
    kinds = ["long" if b.rng.random() < 0.15 else "normal" for _ in range(n_reps)]
    b.end = _drill(b, list(NAMES[:3]), kinds, both={NAMES[0], NAMES[1]},
                   mismatch_reps={4} if n_reps > 4 else set())
    return b


def lossy(seed: int, rate: float | None, n_reps: int = 8, loss: float | None = None,
          **_: Any) -> Builder:
    b = drill(seed, rate, n_reps=n_reps, loss=0.05 if loss is None else loss, rates=MIXED)
    for s in b.scene.sensors:
        starts = b.rng.uniform(5.0, b.end - 5.0, size=int(b.rng.integers(1, 4)))
        b.gaps[s.info.id] = [(float(t), float(t + b.rng.uniform(0.05, 0.1))) for t in starts]
    return b


def relay_4x100(seed: int, rate: float | None, **_: Any) -> Builder:
    b = Builder(seed, rate_hz=rate, rates=MIXED)
    sides = ["right", "left", "right", "left"]
    y = [LANE, 0.0, LANE, 0.0]
    for k, n in enumerate(NAMES):
        b.athlete(n, 100.0 * k - (0.0 if k == 0 else 12.0), y[k])
    b.wrist(NAMES[0], "right")
    for n in NAMES[1:3]:
        b.wrist(n, "left")
        b.wrist(n, "right")
    b.wrist(NAMES[3], "left")
    b.baton_sensor()
    b.hold((NAMES[0], "right"))
    t = b.rng.uniform(3.0, 5.0)
    b.acts.append((0.0, t, "rest"))
    for k in range(3):
        spec = _spec(b, NAMES[k], NAMES[k + 1], sides[k])
        t_g, t_stand = b.exchange(spec, t, stop_receiver=(k == 2))
        t = t_g + 1.0
    b.end = t_stand + 2.0
    return b


def demo(seed: int, rate: float | None, n_reps: int = 3, **_: Any) -> Builder:
    kinds = ["normal"] * n_reps
    kinds[min(1, n_reps - 1)] = "long"
    return drill(seed, rate, kinds=kinds, walk_speed=(2.8, 3.4), rest=(1.0, 2.0), put_down_p=0.0)
