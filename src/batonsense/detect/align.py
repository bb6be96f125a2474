"""Putting a wrist's samples on the baton's clock during a hold.

Each sensor's clock is mapped onto the host clock on its own (sync/), and the
mapping of each is off by its radio delivery floor and its filter's group delay:
1-3 ms between sensors on one host is common.  A hand that grips the baton turns
with it, ω_baton(t) = R ω_wrist(t), so during a hold the gyros themselves say by
how much the wrist's clock runs behind the baton's.  Without that correction the
rigid-body residuals the events are timed on grow with the motion (a 2 ms offset
during a sprint arm swing leaves a residual of jerk × 2 ms ≈ 1-2 m/s²), and the
release and the grab moved by 4-90 ms for offsets of 1.5 ms (issue 12).

Pure functions on one uniform grid: t (N,) s, gyro (N,3) rad/s.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from batonsense.detect.config import DEFAULT, AlignConfig
from batonsense.detect.coupling import kabsch_rotation


def _shift(t: np.ndarray, x: np.ndarray, lag_s: float) -> np.ndarray:
    """x(t + lag_s) by linear interpolation, per column (held at the ends)."""
    return np.column_stack([np.interp(t + lag_s, t, x[:, k]) for k in range(x.shape[1])])


def hold_lag_s(
    t: np.ndarray,
    gyro_b: np.ndarray,
    gyro_w: np.ndarray,
    start_s: float,
    end_s: float,
    usable: np.ndarray | None = None,
    cfg: AlignConfig = DEFAULT.align,
) -> float:
    """How far the wrist's mapped clock runs behind the baton's over a hold (s).

    The lag δ minimising Σ|ω_b(t) − R ω_w(t + δ)|² over the hold, with R the
    Kabsch rotation at that lag, by Gauss-Newton on the linearised residual
    (ω_w(t + δ + ε) ≈ ω_w(t + δ) + ε ω̇_w), on the gyros less their running
    mean over cfg.highpass_s: sub-sample, and measured on the hold's own
    motion; clamped to ±cfg.max_lag_s.  0 when the hold is too short or
    too still to show it (see config.AlignConfig).
    """
    sel = (t >= start_s) & (t <= end_s)
    if usable is not None:
        sel &= usable
    if np.count_nonzero(sel) < cfg.min_lag_n or t.shape[0] < 3:
        return 0.0
    if float(np.mean(np.sum(gyro_b[sel] ** 2, axis=1))) < cfg.min_lag_energy_radps2:
        return 0.0
    dt = float(t[1] - t[0])
    n = max(3, round(cfg.highpass_s / dt))
    gyro_b = gyro_b - uniform_filter1d(gyro_b, n, axis=0, mode="nearest")
    gyro_w = gyro_w - uniform_filter1d(gyro_w, n, axis=0, mode="nearest")
    lag = 0.0
    for _ in range(cfg.iterations):
        w = _shift(t, gyro_w, lag)
        rot, _ = kabsch_rotation(gyro_b[sel], w[sel])
        d = np.gradient(w, dt, axis=0)[sel] @ rot.T
        r = gyro_b[sel] - w[sel] @ rot.T
        den = float(np.sum(d * d))
        if den <= 0.0:
            return 0.0
        lag = float(np.clip(lag + float(np.sum(r * d)) / den, -cfg.max_lag_s, cfg.max_lag_s))
    return lag


def on_baton_clock(
    t: np.ndarray, arrays: tuple[np.ndarray, np.ndarray, np.ndarray], lag_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sensor's grid data (acc, gyro, valid) moved by lag_s onto the baton's clock."""
    if lag_s == 0.0:
        return arrays
    acc, gyro, valid = arrays
    ok = np.interp(t + lag_s, t, valid.astype(float)) > 0.999
    return _shift(t, acc, lag_s), _shift(t, gyro, lag_s), ok
