"""Putting sensors with different rates and lost packets on one time grid.

Pure functions on numpy arrays.  Time in s, acc in m/s², gyro in rad/s.
"""

from __future__ import annotations

import numpy as np

from batonsense.detect.config import DEFAULT
from batonsense.model import SensorStream


def make_grid(start_s: float, end_s: float, rate_hz: float) -> np.ndarray:
    """Grid times k / rate_hz covering [start_s, end_s), anchored at absolute multiples.

    Anchoring at multiples of the period (not at start_s) makes the grid the same
    whichever chunk of a live stream it is built for.
    """
    k0 = int(np.ceil(start_s * rate_hz - 1e-9))
    k1 = int(np.floor(end_s * rate_hz - 1e-9))
    if k1 < k0:
        return np.empty(0)
    return np.arange(k0, k1 + 1, dtype=np.float64) / rate_hz


def resample(
    stream: SensorStream, t_grid: np.ndarray, max_gap_s: float = DEFAULT.grid.max_gap_s
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear interpolation of acc and gyro onto t_grid.

    Returns (acc_mps2 (M,3), gyro_radps (M,3), valid (M,) bool).  A grid point is
    invalid outside the stream or inside a gap longer than max_gap_s; invalid
    points hold the interpolated value anyway (callers mask them).
    """
    m = t_grid.shape[0]
    acc = np.zeros((m, 3))
    gyro = np.zeros((m, 3))
    valid = np.zeros(m, dtype=bool)
    t = stream.t_s
    if t.shape[0] < 2 or m == 0:
        return acc, gyro, valid
    for k in range(3):
        acc[:, k] = np.interp(t_grid, t, stream.acc_mps2[:, k])
        gyro[:, k] = np.interp(t_grid, t, stream.gyro_radps[:, k])
    idx = np.searchsorted(t, t_grid, side="right")
    inside = (idx > 0) & (idx < t.shape[0])
    idx_c = np.clip(idx, 1, t.shape[0] - 1)
    gap = t[idx_c] - t[idx_c - 1]
    valid = inside & (gap <= max_gap_s)
    # a grid point exactly on the last sample is valid too
    valid |= t_grid == t[-1]
    return acc, gyro, valid
