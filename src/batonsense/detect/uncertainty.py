"""How sure an exchange's times are: ± ms per event from its evidence, and a
confidence that falls with them (see docs/detection.md, "Uncertainty and confidence")."""

from __future__ import annotations

import numpy as np

from batonsense.detect.config import DEFAULT, UncertaintyConfig


def grab_pm_ms(
    how: str, wrist_hz: float, grid_hz: float, cfg: UncertaintyConfig = DEFAULT.uncertainty
) -> float:
    """Uncertainty (± ms) of a grab found with evidence `how` (see contact.contact_onset):
    a collision both bodies felt ("felt") is timed to one of the wrist's samples."""
    sample_ms = 1e3 / min(wrist_hz, grid_hz)
    by_how = {"spike": cfg.grab_spike_pm_ms, "step": cfg.grab_step_pm_ms}
    return max(sample_ms, by_how.get(how, sample_ms))


def release_pm_ms(
    spread_s: float,
    slowest_hz: float,
    grid_hz: float,
    models_apart_s: float = 0.0,
    cfg: UncertaintyConfig = DEFAULT.uncertainty,
) -> float:
    """Uncertainty (± ms) of a release whose acc and gyro steps lie spread_s apart and
    whose hold models' releases lie models_apart_s (weighted mean) from the one given."""
    sample_ms = 1e3 / min(slowest_hz, grid_hz)
    if not np.isfinite(spread_s):
        return cfg.release_no_step_pm_ms
    steps_ms = 1e3 * spread_s if spread_s > cfg.release_spread_ok_s else sample_ms
    return max(sample_ms, steps_ms, 1e3 * models_apart_s)


def confidence(
    kappa: float, *pm_ms: float | None, cfg: UncertaintyConfig = DEFAULT.uncertainty
) -> float:
    """0-1: the holds' coupling, lowered by the events' uncertainty (± ms)."""
    worst = max((p for p in pm_ms if p is not None), default=0.0)
    factor = np.exp(-max(0.0, worst - cfg.conf_free_pm_ms) / cfg.conf_pm_scale_ms)
    return float(np.clip(kappa * factor, 0.0, 1.0))


def uncertainty_extra(grab_pm: float | None, release_pm: float | None) -> dict[str, float]:
    """The events' uncertainties as Exchange.extra keys (rounded to 0.1 ms)."""
    out = {}
    if grab_pm is not None:
        out["grab_pm_ms"] = round(float(grab_pm), 1)
    if release_pm is not None:
        out["release_pm_ms"] = round(float(release_pm), 1)
    return out
