"""How sure an exchange's times are: ± ms per event from its evidence, and a
confidence that falls with them (see docs/detection.md, "Uncertainty and confidence")."""

from __future__ import annotations

import numpy as np

# How sure a grab is, by its evidence (± ms; see docs/detection.md, "Uncertainty"):
# a collision both bodies felt is timed to a sample; one only the residual shows was
# within 10 ms on 46 of 48 simulated passes; without a collision the step down to the
# hold level came 30-60 ms early on all 4 such passes (session 7, 141 passes).
GRAB_PM_MS = {"spike": 10.0, "step": 50.0}
# The acceleration's and the gyro's parting steps lie 7-21 ms apart (p10-p90) on
# releases timed within 20 ms, and 27-92 ms apart on 9 of the 10 worse ones: beyond
# this they do not describe one parting and the release is uncertain by their distance.
RELEASE_SPREAD_OK_S = 0.025
# Confidence falls by e for every this many ms of uncertainty beyond CONF_FREE_PM_MS.
CONF_PM_SCALE_MS = 20.0
CONF_FREE_PM_MS = 10.0


def grab_pm_ms(how: str, wrist_hz: float, grid_hz: float) -> float:
    """Uncertainty (± ms) of a grab found with evidence `how` (see contact.contact_onset)."""
    sample_ms = 1e3 / min(wrist_hz, grid_hz)
    return max(sample_ms, GRAB_PM_MS.get(how, sample_ms))


def release_pm_ms(
    spread_s: float, slowest_hz: float, grid_hz: float, models_apart_s: float = 0.0
) -> float:
    """Uncertainty (± ms) of a release whose acc and gyro steps lie spread_s apart and
    whose hold models' releases lie models_apart_s (weighted mean) from the one given."""
    sample_ms = 1e3 / min(slowest_hz, grid_hz)
    if not np.isfinite(spread_s):
        return 100.0
    steps_ms = 1e3 * spread_s if spread_s > RELEASE_SPREAD_OK_S else sample_ms
    return max(sample_ms, steps_ms, 1e3 * models_apart_s)


def confidence(kappa: float, *pm_ms: float | None) -> float:
    """0-1: the holds' coupling, lowered by the events' uncertainty (± ms)."""
    worst = max((p for p in pm_ms if p is not None), default=0.0)
    factor = np.exp(-max(0.0, worst - CONF_FREE_PM_MS) / CONF_PM_SCALE_MS)
    return float(np.clip(kappa * factor, 0.0, 1.0))


def uncertainty_extra(grab_pm: float | None, release_pm: float | None) -> dict[str, float]:
    """The events' uncertainties as Exchange.extra keys (rounded to 0.1 ms)."""
    out = {}
    if grab_pm is not None:
        out["grab_pm_ms"] = round(float(grab_pm), 1)
    if release_pm is not None:
        out["release_pm_ms"] = round(float(release_pm), 1)
    return out
