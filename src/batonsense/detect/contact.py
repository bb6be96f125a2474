"""The grab: the collision that starts the receiver's hold (see docs/detection.md)."""

from __future__ import annotations

import numpy as np

from batonsense.detect.config import DEFAULT, GrabConfig
from batonsense.detect.timing import log_step, split_time


def contact_onset(
    t: np.ndarray,
    ef: np.ndarray,
    lo: int,
    hi: int,
    jolt: np.ndarray | None = None,
    jolt_slack_s: float = 0.0,
    cfg: GrabConfig = DEFAULT.grab,
) -> tuple[float, str]:
    """First contact inside ef[lo:hi] (acceleration residual baton vs receiving wrist).

    The receiving hand holds the baton from where the residual steps down to its
    quiet level q.  The collision that starts the hold is a short spike rising
    from a quiet base: before the contact the baton may already move with the
    hand at a steady relative speed (no relative acceleration), or still be
    swung by the giver (the step itself).  Candidates: spikes near the step that
    rise cfg.spike_ratio above their own preceding cfg.spike_base_s and above
    that many q.  Contact = of those within cfg.contact_spread_s of the first,
    the first that the receiving wrist feels too (jolt: the wrist's jerk on t,
    m/s³, NaN where it has no data; cfg.min_contact_jolt above its background,
    during the spike's rise give or take
    jolt_slack_s: one of the wrist's own sample periods), else the first: a bump the wrist does not feel
    is the giver still swinging the baton in.  Its onset is where its rise
    began.  The first, not the largest: in a long overlap the baton sliding in
    the grip or the giver's fingers opening make later bumps that can rise more
    sharply.

    Returns (time s, evidence): "felt" (a collision both bodies felt), "spike"
    (a collision only the residual shows) or "step" (no collision: the step down).
    """
    c = lo + log_step(ef[lo:hi], cfg.floor_mps2, rising=False)
    q = max(float(np.median(ef[c:hi])), cfg.floor_mps2)
    dt = float(t[1] - t[0])
    m = max(2, round(cfg.spike_base_s / dt))
    k0 = max(lo + m, c - round(cfg.before_step_s / dt))
    cands = []  # (onset, peak) of spikes rising from a quiet base
    for k in range(k0, hi - 1):
        if ef[k] < ef[k - 1] or ef[k] < ef[k + 1] or ef[k] < cfg.spike_ratio * q:
            continue
        if ef[k] / max(float(np.min(ef[k - m : k])), q) >= cfg.spike_ratio:
            j = k
            while j > lo and ef[j - 1] < ef[j] and ef[j - 1] > cfg.rise_frac * ef[k]:
                j -= 1
            cands.append((j, k))
    onset = {j: _rise_start(t, ef, j, k, cfg.rise_frac) for j, k in cands}
    if not cands:
        return split_time(t, c), "step"
    if jolt is None:
        return onset[cands[0][0]], "spike"
    bg = jolt[max(0, lo - round(cfg.jolt_background_s / dt)) : lo]
    bg = bg[np.isfinite(bg)]  # NaN: the wrist had no data there (a gap, before its start)
    level = (
        max(float(np.median(bg)), cfg.min_jolt_level_mps3)
        if bg.size >= cfg.min_jolt_background_n
        else np.inf
    )
    pad = max(1, round(jolt_slack_s / dt))
    first = cands[0][0]
    for j, k in cands:
        if t[j] - t[first] > cfg.contact_spread_s:
            break
        near = np.nan_to_num(jolt[max(0, j - pad) : k + pad + 1], nan=0.0)
        if np.max(near) >= cfg.min_contact_jolt * level:
            return onset[j], "felt"
    return onset[first], "spike"


def _rise_start(t: np.ndarray, ef: np.ndarray, j: int, k: int, rise_frac: float) -> float:
    """Where the spike peaking at k crosses rise_frac of its peak on the way up (s),
    interpolated between samples j-1 and j so that the time moves smoothly with the
    data (a clock offset of a fraction of a grid step moves it by that fraction)."""
    level = rise_frac * ef[k]
    if j <= 0 or not ef[j - 1] < level <= ef[j]:
        return split_time(t, j)
    return float(t[j - 1] + (level - ef[j - 1]) / (ef[j] - ef[j - 1]) * (t[j] - t[j - 1]))
