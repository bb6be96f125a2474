"""The demo drill's true exchanges, and matching a service's exchanges against them.

`batonsense demo --seed S` plays `sim.live.LiveDrill(S)`; it says where drill
time 0 sits on the host clock in /api/health's messages ("drill time 0 at
host X s"), so its exchanges can be put on drill time and compared.
"""

from __future__ import annotations

import re
from typing import Any

from batonsense.model import Exchange
from batonsense.sim.live import LiveDrill

_ORIGIN = re.compile(r"drill time 0 at host ([0-9.]+) s")


def drill_origin_s(messages: list[str]) -> float:
    """Host time (s) of drill time 0, from /api/health's messages."""
    for m in messages:
        found = _ORIGIN.search(m)
        if found:
            return float(found.group(1))
    raise AssertionError(f"no drill origin in {messages}")


def drill_truth(seed: int, until_s: float) -> list[Exchange]:
    """The drill's true exchanges (drill time, s) whose first event is before until_s."""
    live, out = LiveDrill(seed), []
    while True:
        seg = live.next_segment()
        out += [e for e in seg.truth if e.time_s < until_s]
        if seg.end_s >= until_s:
            return out


def unmatched(truth: list[Exchange], found: list[dict[str, Any]], origin_s: float,
              tol_s: float = 0.010) -> list[Exchange]:  # fmt: skip
    """The true exchanges no found exchange (API objects, host clock) matches: same
    giver, receiver and outcome, grab/release/drop within tol_s (grab and release:
    or within twice the uncertainty the found exchange states)."""
    left = list(found)
    missed = []
    for t in truth:
        for f in left:
            if _same(t, f, origin_s, tol_s):
                left.remove(f)
                break
        else:
            missed.append(t)
    return missed


def _same(t: Exchange, f: dict[str, Any], origin_s: float, tol_s: float) -> bool:
    if (t.giver, t.receiver, t.outcome.value) != (f["giver"], f["receiver"], f["outcome"]):
        return False
    for k in ("grab_s", "release_s", "drop_s"):
        a, b = getattr(t, k), f[k]
        if (a is None) != (b is None):
            return False
        # or within twice the uncertainty the exchange itself states (grab_pm_ms,
        # release_pm_ms): a pass the detector says it is unsure of by ± 27 ms (the
        # demo's DEV->ANA release, session 8: 10.6-16.5 ms early) is still this pass
        pm_ms = f.get(f"{k[:-2]}_pm_ms") if k != "drop_s" else None
        tol = max(tol_s, 2e-3 * pm_ms) if pm_ms is not None else tol_s
        if a is not None and abs(a - (b - origin_s)) > tol:
            return False
    return True
