"""Building blocks for timing events inside one hand-over window.

Pure functions of arrays on one uniform time grid (t_s (N,), gyro in rad/s,
specific force in m/s²): the gyro coupling residual |ω_baton − R ω_wrist| (R from
Kabsch), scale-free change points on log residuals, the onset of a free fall,
jerk and common impulses, and the start of the receiver's reach.  How they are
combined is in `handover.py`; why, in docs/detection.md.
"""

from __future__ import annotations

import numpy as np

from batonsense.detect.config import DEFAULT, ReachConfig
from batonsense.detect.coupling import kabsch_rotation
from batonsense.model import GRAVITY_MPS2


def usable_or_all(
    sel: np.ndarray, usable: np.ndarray, min_n: int = DEFAULT.sensors.min_usable_n
) -> np.ndarray:
    """sel restricted to usable samples, unless fewer than min_n remain."""
    both = sel & usable
    return both if np.count_nonzero(both) >= min_n else sel


def split_time(t: np.ndarray, i: int) -> float:
    """Time between samples i-1 and i of t (s): a change found at i happened in that interval."""
    if i <= 0:
        return float(t[0])
    if i >= len(t):
        return float(t[-1])
    return float(0.5 * (t[i - 1] + t[i]))


def fit_rotation(
    t_s: np.ndarray,
    gyro_b: np.ndarray,
    gyro_w: np.ndarray,
    start_s: float,
    end_s: float,
    usable: np.ndarray | None = None,
    min_usable_n: int = DEFAULT.sensors.min_usable_n,
) -> tuple[np.ndarray, float]:
    """Kabsch rotation wrist→baton and coupling κ over [start_s, end_s].

    usable: (N,) bool, samples the fit may use (not clipped, not in a gap); ignored
    when fewer than min_usable_n of the stretch are usable.
    """
    sel = (t_s >= start_s) & (t_s <= end_s)
    if usable is not None:
        sel = usable_or_all(sel, usable, min_usable_n)
    if np.count_nonzero(sel) < 3:
        return np.eye(3), 0.0
    return kabsch_rotation(gyro_b[sel], gyro_w[sel])


def residual(gyro_b: np.ndarray, gyro_w: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """|ω_b − R ω_w| per sample, rad/s."""
    return np.linalg.norm(gyro_b - gyro_w @ rot.T, axis=1)


def common_impulse(
    t_s: np.ndarray,
    jerk_a: np.ndarray,
    jerk_b: np.ndarray,
    start_s: float,
    end_s: float,
    ref_s: float = DEFAULT.fall.impulse_ref_s,
    min_ratio: float = DEFAULT.fall.impulse_min_ratio,
    each_ratio: float = DEFAULT.fall.impulse_each_ratio,
    onset_frac: float = DEFAULT.fall.impulse_onset_frac,
) -> float | None:
    """Onset of the strongest jerk felt by both sensors at once in [start_s, end_s].

    Each jerk trace (m/s³) is scaled by its median over the ref_s before start_s,
    so a held-still hand and a swinging one are judged against their own
    background.  Returns None when no common peak stands min_ratio above it (the
    geometric mean of the two) or each_ratio in either.
    """
    ref = (t_s >= start_s - ref_s) & (t_s < start_s)
    sel = np.flatnonzero((t_s >= start_s) & (t_s <= end_s))
    if np.count_nonzero(ref) < 5 or sel.size < 2:
        return None
    na = max(float(np.median(jerk_a[ref])), 1e-3)
    nb = max(float(np.median(jerk_b[ref])), 1e-3)
    score = np.sqrt((jerk_a[sel] / na) * (jerk_b[sel] / nb))
    k = int(np.argmax(score))
    if score[k] < min_ratio or jerk_a[sel[k]] / na < each_ratio or jerk_b[sel[k]] / nb < each_ratio:
        return None
    # onset: walk back while the common score stays above onset_frac of its peak
    floor = onset_frac * score[k]
    while k > 0 and score[k - 1] > floor:
        k -= 1
    i = sel[k]
    return float(0.5 * (t_s[i - 1] + t_s[i])) if i > 0 else float(t_s[i])


def _step_sse(y: np.ndarray, rising: bool) -> np.ndarray:
    """Two-segment least squares of y split before each i in 1..n-1 (inf where the
    step goes the other way)."""
    n = y.shape[0]
    cs, cs2 = np.cumsum(y), np.cumsum(y**2)
    i = np.arange(1, n)
    n1, n2 = i, n - i
    s1, s2 = cs[i - 1], cs[-1] - cs[i - 1]
    q1, q2 = cs2[i - 1], cs2[-1] - cs2[i - 1]
    sse = np.maximum((q1 - s1**2 / n1) + (q2 - s2**2 / n2), 0.0)
    up = s2 / n2 > s1 / n1
    return np.where(up == rising, sse, np.inf)


def log_step(x: np.ndarray, floor: float, rising: bool) -> int:
    """Index where log(x + floor) steps up (rising) or down: two-segment least squares.

    Scale-free: a residual that sits at its noise floor on one side and is an
    order of magnitude larger on the other splits there whatever the units.
    Returns i such that the second segment is x[i:]; 1 <= i <= len(x) - 1.
    """
    y = np.log(np.asarray(x, dtype=float) + floor)
    n = y.shape[0]
    if n < 3:
        return max(1, n // 2)
    sse = _step_sse(y, rising)
    if not np.isfinite(sse).any():
        return max(1, n // 2)
    return int(1 + np.argmin(sse))


def step_position(
    x: np.ndarray,
    floor: float,
    rising: bool,
    corr_n: float = 1.0,
    half_n: int = DEFAULT.release.step_area_half_n,
) -> float:
    """Where log(x + floor) steps (as log_step), as a continuous position in samples.

    A step between samples i-1 and i is at position i - 0.5 (log_step's index i).
    The split alone moves in whole samples: a clock offset of a fraction of a
    sample either leaves it or moves it a whole grid step (2.5 ms at 400 Hz).
    The position within the rise is measured by its area instead: with the
    mean levels a before and b after the split, each sample within half_n samples
    of it (at least corr_n, the samples over which the trace's noise is
    correlated: a change over lag_n samples rises over lag_n samples) adds its
    share (y - a)/(b - a), clipped to [0, 1], of being past the step.  For an
    ideal step that is the split itself; a shift of the data by a fraction of a
    sample moves it by that fraction.

    Tried and dropped (session 8): the posterior mean over all splits, weighted
    by each split's likelihood with the noise measured from the best split's own
    residuals.  On the log of a change trace the noise is heavy-tailed, the
    posterior broad, and the mean fell between competing steps: release |error|
    median 2.1 -> 2.9 ms on 79 passes of tuning seeds.
    """
    y = np.log(np.asarray(x, dtype=float) + floor)
    n = y.shape[0]
    i = log_step(x, floor, rising)
    if n < 3:
        return i - 0.5
    a, b = float(np.mean(y[:i])), float(np.mean(y[i:]))
    if abs(b - a) < 1e-9:
        return i - 0.5
    half = max(half_n, int(np.ceil(corr_n)))
    lo, hi = max(0, i - half), min(n, i + half)
    share = np.clip((y[lo:hi] - a) / (b - a), 0.0, 1.0)
    return float(hi - np.sum(share) - 0.5)


def position_time(t: np.ndarray, pos: float) -> float:
    """Time (s) at a continuous sample position of t (a step between samples i-1 and i
    is at position i - 0.5, the midpoint)."""
    return float(np.interp(pos, np.arange(t.shape[0]), t))


def jerk(acc: np.ndarray, rate_hz: float) -> np.ndarray:
    """|d f/dt| in m/s³ (backward difference, first sample 0)."""
    d = np.zeros(acc.shape[0])
    d[1:] = np.linalg.norm(np.diff(acc, axis=0), axis=1) * rate_hz
    return d


def free_fall_start(
    t_s: np.ndarray, acc_b: np.ndarray, fall_s: float, free_fall_g: float = DEFAULT.fall.start_g
) -> float:
    """Start of the free fall that contains fall_s (s).

    |f| collapses from the hand's push to ~0 within one sample when the last hand
    lets go; the start is put midway between the last sample above free_fall_g
    and the first below it (the sample's own averaging hides where inside).
    """
    mag = np.linalg.norm(acc_b, axis=1)
    low = mag < free_fall_g * GRAVITY_MPS2
    i = int(np.searchsorted(t_s, fall_s))
    i = min(max(i, 0), len(t_s) - 1)
    while i > 0 and not low[i]:
        i -= 1
    while i > 0 and low[i - 1]:
        i -= 1
    if i > 0:
        return float(0.5 * (t_s[i - 1] + t_s[i]))
    return float(t_s[i])


def reach_start(
    t_s: np.ndarray, gyro_r: np.ndarray, grab_s: float, cfg: ReachConfig = DEFAULT.reach
) -> float | None:
    """Start of the receiver's arm movement back into the receiving position.

    The receiving arm swings about one dominant axis (its principal axis over the
    look-back).  Before the grab it is held back: little rotation.  Going back in
    time from the grab, we pass the hold, then the final stroke into it (rotation
    of one sign along the swing axis); the reach starts where that stroke began,
    i.e. at the previous turning point of the swing.
    """
    sel = (t_s >= grab_s - cfg.lookback_s) & (t_s <= grab_s)
    idx = np.flatnonzero(sel)
    if idx.size < 10:
        return None
    g = gyro_r[idx]
    _, _, vt = np.linalg.svd(g - g.mean(axis=0), full_matrices=False)
    w = g @ vt[0]
    mag = np.abs(w)
    peak = float(np.max(mag))
    if peak < cfg.min_peak_radps:  # the arm never swung: no reach to time
        return None
    active = mag > cfg.active_frac * peak
    # last strong stroke before the grab
    j = len(w) - 1
    while j > 0 and not active[j]:
        j -= 1
    sign = np.sign(w[j])
    # go back while the rotation keeps that sign (the stroke), stop at the turning point
    while j > 0 and sign * w[j - 1] > 0:
        j -= 1
    return float(t_s[idx[j]])
