"""Per-frame features: who is holding the baton, is it still, is it falling.

Frames sit on an absolute time grid (multiples of hop_s) and each looks only at
the window (t - window_s, t], so a frame has the same value whether computed
live on a chunk or offline on a whole recording.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from batonsense.detect.config import DEFAULT, FramesConfig
from batonsense.detect.coupling import rolling_coupling, rolling_parting, running_sums
from batonsense.model import GRAVITY_MPS2


@dataclass(frozen=True, slots=True)
class FrameFeatures:
    """Features at frame times t_s (F,).

    kappa: (F, W) gyro coupling of the baton with each wrist over the window.
    baton_energy: (F,) mean |ω_baton|² over the window, (rad/s)².
    baton_still: (F,) the baton lay still for the whole window (on the ground, on a bench).
    free_fall: (F,) the baton's specific force stayed below free_fall_g for free_fall_min_s.
    valid: (F, W) both sensors had data for the whole window.
    kappa_fast: (F, W) the same coupling over the last fast_window_s only: a hand
    that has just taken the baton reaches 0.97 on it a median 37 ms before the
    release, where the long window needs 140 ms after it.
    parting: (F, W) `rolling_parting` of baton and wrist: how much the last
    parting_recent_s break the rigid relation fitted on the parting_fit_s that
    end parting_lag_s earlier (ratio of mean squared residuals).
    """

    t_s: np.ndarray
    kappa: np.ndarray
    baton_energy: np.ndarray
    baton_still: np.ndarray
    free_fall: np.ndarray
    valid: np.ndarray
    kappa_fast: np.ndarray | None = None
    parting: np.ndarray | None = None


def _rolling_sum(x: np.ndarray, window_n: int, ends: np.ndarray) -> np.ndarray:
    cs = np.concatenate([[0.0], np.cumsum(x)])
    hi = np.clip(ends + 1, 0, x.shape[0])
    lo = np.clip(hi - window_n, 0, x.shape[0])
    return cs[hi] - cs[lo]


def frame_features(
    t_grid: np.ndarray,
    baton_acc: np.ndarray,
    baton_gyro: np.ndarray,
    baton_valid: np.ndarray,
    wrist_gyros: list[np.ndarray],
    wrist_valids: list[np.ndarray],
    frame_idx: np.ndarray,
    *,
    grid_rate_hz: float,
    cfg: FramesConfig = DEFAULT.frames,
) -> FrameFeatures:
    """Features at grid indices frame_idx (each frame ends at that grid point); the
    windows and thresholds are `cfg`'s (see config.FramesConfig)."""
    win_n = max(2, round(cfg.window_s * grid_rate_hz))
    n_w = len(wrist_gyros)
    f = frame_idx.shape[0]
    kappa = np.zeros((f, n_w))
    kappa_fast = np.zeros((f, n_w))
    parting = np.zeros((f, n_w))
    fast_n = max(2, round(cfg.fast_window_s * grid_rate_hz))
    fit_n = max(2, round(cfg.parting_fit_s * grid_rate_hz))
    lag_n = round(cfg.parting_lag_s * grid_rate_hz)
    recent_n = max(2, round(cfg.parting_recent_s * grid_rate_hz))
    valid = np.zeros((f, n_w), dtype=bool)
    bad_b = _rolling_sum((~baton_valid).astype(float), win_n, frame_idx) > 0
    energy_b = np.zeros(f)
    for j, (gw, vw) in enumerate(zip(wrist_gyros, wrist_valids, strict=True)):
        sums = running_sums(baton_gyro, gw)
        k, energy_b = rolling_coupling(baton_gyro, gw, win_n, frame_idx, sums)
        kappa[:, j] = k
        kappa_fast[:, j] = rolling_coupling(baton_gyro, gw, fast_n, frame_idx, sums)[0]
        parting[:, j] = rolling_parting(
            baton_gyro,
            gw,
            frame_idx,
            fit_n=fit_n,
            lag_n=lag_n,
            recent_n=recent_n,
            sums=sums,
            min_fit_sq_radps2=cfg.parting_min_fit_radps2,
        )
        # the fit looks further back than the window: without data all along
        # (the stream's start, a gap) it fits padding, not a hold
        seen = ~baton_valid | ~vw
        parting[_rolling_sum(seen.astype(float), fit_n + lag_n, frame_idx) > 0, j] = 0.0
        bad_w = _rolling_sum((~vw).astype(float), win_n, frame_idx) > 0
        valid[:, j] = ~(bad_b | bad_w)
    if n_w == 0:
        energy_b = _rolling_sum(np.sum(baton_gyro**2, axis=1), win_n, frame_idx) / win_n
    # still: no rotation and constant specific force of ~1 g over the window
    gyro_mag = np.linalg.norm(baton_gyro, axis=1)
    acc_mag = np.linalg.norm(baton_acc, axis=1)
    moving = (gyro_mag > cfg.still_gyro_radps) | (
        np.abs(acc_mag - GRAVITY_MPS2) > cfg.still_acc_mps2
    )
    baton_still = (_rolling_sum(moving.astype(float), win_n, frame_idx) == 0) & ~bad_b
    # free fall: |f| below threshold for cfg.free_fall_min_s ending inside the hop, with an
    # allowance for the centripetal ω²r of a spinning baton (see FramesConfig)
    spin = np.minimum(cfg.spin_radius_m * gyro_mag**2, cfg.max_spin_g * GRAVITY_MPS2)
    low = (acc_mag < cfg.free_fall_g * GRAVITY_MPS2 + spin) & baton_valid
    ff_n = max(2, round(cfg.free_fall_min_s * grid_rate_hz))
    run = _rolling_sum(low.astype(float), ff_n, np.arange(low.shape[0])) >= ff_n
    run_cs = np.concatenate([[0], np.cumsum(run)])
    hop_n = int(np.median(np.diff(frame_idx))) if f > 1 else win_n
    hi = np.clip(frame_idx + 1, 0, run.shape[0])
    lo = np.clip(hi - hop_n, 0, run.shape[0])
    free_fall = (run_cs[hi] - run_cs[lo]) > 0
    return FrameFeatures(
        t_grid[frame_idx], kappa, energy_b, baton_still, free_fall, valid, kappa_fast, parting
    )
