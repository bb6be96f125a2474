"""The grab: the collision that starts the receiver's hold (see docs/detection.md)."""

from __future__ import annotations

import numpy as np

from batonsense.detect.timing import log_step, split_time

# A collision jolts both bodies: at the contact the receiving wrist's jerk rises at
# least this many times above its own level over the JOLT_BACKGROUND_S before the
# search.  A bump in the baton's motion that the wrist does not feel (the giver still
# swinging the baton in, the baton sliding in the grip) is not the contact.
MIN_CONTACT_JOLT = 2.0
JOLT_BACKGROUND_S = 0.3
# Fewest wrist samples with data in that background for a level at all (else nothing
# counts as felt), and the smallest level (m/s³; a still wrist's sensor noise alone
# gives ~20 m/s³ at 400 Hz), so a background of zeros does not make any jerk "felt".
MIN_JOLT_BACKGROUND_N = 20
MIN_JOLT_LEVEL = 1.0
# ... but only among the spikes this close after the first one: the giver's last swing
# into the hand ends within it, and later bumps the wrist feels (a slide, the release
# jolt) belong to the hold.
CONTACT_SPREAD_S = 0.1
# The contact's onset: where its spike rises through this share of its peak.
RISE_FRAC = 0.2


def contact_onset(
    t: np.ndarray,
    ef: np.ndarray,
    lo: int,
    hi: int,
    jolt: np.ndarray | None = None,
    jolt_slack_s: float = 0.0,
) -> tuple[float, str]:
    """First contact inside ef[lo:hi] (acceleration residual baton vs receiving wrist).

    The receiving hand holds the baton from where the residual steps down to its
    quiet level q.  The collision that starts the hold is a short spike rising
    from a quiet base: before the contact the baton may already move with the
    hand at a steady relative speed (no relative acceleration), or still be
    swung by the giver (the step itself).  Candidates: spikes near the step that
    rise 3× above their own preceding 15 ms and above 3q.  Contact = of those
    within CONTACT_SPREAD_S of the first, the first that the receiving wrist
    feels too (jolt: the wrist's jerk on t, m/s³, NaN where it has no data;
    MIN_CONTACT_JOLT above its background, during the spike's rise give or take
    jolt_slack_s: one of the wrist's own sample periods), else the first: a bump the wrist does not feel
    is the giver still swinging the baton in.  Its onset is where its rise
    began.  The first, not the largest: in a long overlap the baton sliding in
    the grip or the giver's fingers opening make later bumps that can rise more
    sharply.

    Returns (time s, evidence): "felt" (a collision both bodies felt), "spike"
    (a collision only the residual shows) or "step" (no collision: the step down).
    """
    c = lo + log_step(ef[lo:hi], 0.5, rising=False)
    q = max(float(np.median(ef[c:hi])), 0.5)
    dt = float(t[1] - t[0])
    m = max(2, round(0.015 / dt))
    k0 = max(lo + m, c - round(0.03 / dt))
    cands = []  # (onset, peak) of spikes rising from a quiet base
    for k in range(k0, hi - 1):
        if ef[k] < ef[k - 1] or ef[k] < ef[k + 1] or ef[k] < 3.0 * q:
            continue
        if ef[k] / max(float(np.min(ef[k - m : k])), q) >= 3.0:
            j = k
            while j > lo and ef[j - 1] < ef[j] and ef[j - 1] > RISE_FRAC * ef[k]:
                j -= 1
            cands.append((j, k))
    onset = {j: _rise_start(t, ef, j, k) for j, k in cands}
    if not cands:
        return split_time(t, c), "step"
    if jolt is None:
        return onset[cands[0][0]], "spike"
    bg = jolt[max(0, lo - round(JOLT_BACKGROUND_S / dt)) : lo]
    bg = bg[np.isfinite(bg)]  # NaN: the wrist had no data there (a gap, before its start)
    level = (
        max(float(np.median(bg)), MIN_JOLT_LEVEL) if bg.size >= MIN_JOLT_BACKGROUND_N else np.inf
    )
    pad = max(1, round(jolt_slack_s / dt))
    first = cands[0][0]
    for j, k in cands:
        if t[j] - t[first] > CONTACT_SPREAD_S:
            break
        near = np.nan_to_num(jolt[max(0, j - pad) : k + pad + 1], nan=0.0)
        if np.max(near) >= MIN_CONTACT_JOLT * level:
            return onset[j], "felt"
    return onset[first], "spike"


def _rise_start(t: np.ndarray, ef: np.ndarray, j: int, k: int) -> float:
    """Where the spike peaking at k crosses RISE_FRAC of its peak on the way up (s),
    interpolated between samples j-1 and j so that the time moves smoothly with the
    data (a clock offset of a fraction of a grid step moves it by that fraction)."""
    level = RISE_FRAC * ef[k]
    if j <= 0 or not ef[j - 1] < level <= ef[j]:
        return split_time(t, j)
    return float(t[j - 1] + (level - ef[j - 1]) / (ef[j] - ef[j - 1]) * (t[j] - t[j - 1]))
