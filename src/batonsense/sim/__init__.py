"""Physically grounded simulator of relay exchanges.

`simulate(scenario, seed, **overrides)` builds athletes (speed plans, gait with
step impacts, trunk motion, two-link arms), a baton (held, handed over with a
contact impulse, dropped with free fall and ground impacts, put down/picked up),
samples every sensor like a real IMU and returns the recording, the ground-truth
exchanges and activity labels.  Same seed -> identical arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batonsense.model import Exchange, Recording


@dataclass(frozen=True, slots=True)
class SimResult:
    recording: Recording
    truth: tuple[Exchange, ...]
    activities: tuple[tuple[float, float, str], ...]


SCENARIOS: dict[str, str] = {
    "drill_200hz": "two athletes, blind exchanges with walk-back rests, all sensors 200 Hz",
    "drill_100hz": "two athletes, blind exchanges with walk-back rests, all sensors 100 Hz",
    "drill_400hz": "two athletes, blind exchanges with walk-back rests, all sensors 400 Hz",
    "lossy": "drill with ~5 % packet loss, 50-100 ms gaps and mixed 100-416 Hz rates",
    "varied": "drill whose contacts vary: soft to hard, release jolt or none, baton sliding in the grip, overlaps 40-400 ms, 200-1000 Hz",
    "relay_4x100": "four runners, R-L-R-L carrying hands, three exchanges, mixed rates",
    "drops_long_reach": "drill with dropped batons (no grip / early release) and long reaches",
    "mixed_rates": "three athletes rotating giver/receiver, 100-416 Hz, both wrists on two",
    "carry": "no exchange: one runner walks, jogs and sprints with the baton (duration_s)",
    "ground": "no exchange: baton put down on and picked up from the ground",
    "practice": "no exchange: a receiver practises the reach without a baton",
    "stand": "no exchange: runners standing and chatting, baton held, small gestures",
    "demo": "short drill for a demo: 3 exchanges, one long reach",
    "demo_live": "endless demo drill (n_reps of it): 4 athletes in turn, a rep every ~20 s, "
    "long reach 1 in 5, drop 1 in 8",
}


def simulate(scenario: str, seed: int = 0, **overrides: Any) -> SimResult:
    """Simulate a named scenario.

    overrides: rate_hz (force every sensor's nominal rate, Hz), n_reps (drill
    repetitions), duration_s (activity scenarios), loss (packet loss probability).
    """
    from batonsense.sim import activities, live, scenarios

    builders: dict[str, Callable[..., Any]] = {
        "drill_200hz": lambda s, r, **k: scenarios.drill(s, r or 200.0, **k),
        "drill_100hz": lambda s, r, **k: scenarios.drill(s, r or 100.0, **k),
        "drill_400hz": lambda s, r, **k: scenarios.drill(s, r or 400.0, **k),
        "lossy": scenarios.lossy,
        "varied": scenarios.varied,
        "relay_4x100": scenarios.relay_4x100,
        "drops_long_reach": scenarios.drops_long_reach,
        "mixed_rates": scenarios.mixed_rates,
        "demo": scenarios.demo,
        "demo_live": live.demo_live,
        "carry": activities.carry,
        "ground": activities.ground,
        "practice": activities.practice,
        "stand": activities.stand,
    }
    if scenario not in builders:
        raise ValueError(f"unknown scenario {scenario!r}; choose from {sorted(SCENARIOS)}")
    known = {"rate_hz", "n_reps", "duration_s", "loss"}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"unknown overrides {sorted(unknown)}")
    rate = overrides.pop("rate_hz", None)
    kw = {k: v for k, v in overrides.items() if v is not None}
    if scenario == "demo_live":  # stitched from LiveDrill segments, not one Builder
        if set(kw) - {"n_reps"}:
            raise TypeError(f"demo_live takes only rate_hz and n_reps, not {sorted(kw)}")
        return live.demo_live(seed, rate, **kw)
    loss = kw.pop("loss", None)
    b = builders[scenario](seed, rate, **kw)
    if loss is not None:
        b.loss = float(loss)
    return b.finish(b.end)


__all__ = ["SCENARIOS", "SimResult", "simulate"]
