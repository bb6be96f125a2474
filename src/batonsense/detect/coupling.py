"""Rotation-invariant coupling between two gyroscopes.

A baton held in a hand rotates with that hand: in the sensors' own (unknown,
but constant during a hold) frames, ω_baton(t) = R ω_wrist(t) for one rotation R.
Kabsch's method gives the best proper rotation R and the fit quality without
knowing either mount.  Angular velocity is free of the lever-arm terms that make
accelerometers at different points of one rigid body disagree, which is why the
coupling is measured on the gyroscopes.
"""

from __future__ import annotations

import numpy as np


def _best_trace(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """max over proper rotations R of trace(R H) for H (...,3,3); returns (trace, R)."""
    u, s, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(u @ vt))
    d = np.where(d == 0, 1.0, d)
    trace = s[..., 0] + s[..., 1] + d * s[..., 2]
    # R = V diag(1,1,d) Uᵀ maximises trace(R H) for H = Σ w bᵀ ... see kabsch_rotation
    dmat = np.zeros(h.shape)
    dmat[..., 0, 0] = 1.0
    dmat[..., 1, 1] = 1.0
    dmat[..., 2, 2] = d
    r = np.swapaxes(vt, -1, -2) @ dmat @ np.swapaxes(u, -1, -2)
    return trace, r


def kabsch_rotation(gyro_b: np.ndarray, gyro_w: np.ndarray) -> tuple[np.ndarray, float]:
    """Rotation R (3,3) minimising Σ|ω_b − R ω_w|², and the coupling κ in [-1, 1].

    κ = 2 Σ ω_bᵀRω_w / (Σ|ω_b|² + Σ|ω_w|²): 1 only when direction *and* size match.
    """
    h = gyro_w.T @ gyro_b  # Σ ω_w ω_bᵀ
    trace, r = _best_trace(h)
    energy = float(np.sum(gyro_b**2) + np.sum(gyro_w**2))
    kappa = 2.0 * float(trace) / energy if energy > 0 else 0.0
    return r, kappa


def rolling_coupling(
    gyro_b: np.ndarray, gyro_w: np.ndarray, window_n: int, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Coupling κ and mean rotational energy over windows (end-window_n, end] at indices `ends`.

    gyro_b, gyro_w: (N,3) on one grid (rad/s).  Returns (kappa (F,), energy_b (F,)
    in (rad/s)² per sample).  Windows that start before 0 are clipped.
    """
    n = gyro_b.shape[0]
    prod = (gyro_w[:, :, None] * gyro_b[:, None, :]).reshape(n, 9)
    cs = np.vstack([np.zeros((1, 9)), np.cumsum(prod, axis=0)])
    eb = np.concatenate([[0.0], np.cumsum(np.sum(gyro_b**2, axis=1))])
    ew = np.concatenate([[0.0], np.cumsum(np.sum(gyro_w**2, axis=1))])
    hi = np.clip(ends + 1, 0, n)
    lo = np.clip(hi - window_n, 0, n)
    h = (cs[hi] - cs[lo]).reshape(-1, 3, 3)
    trace, _ = _best_trace(h)
    energy = (eb[hi] - eb[lo]) + (ew[hi] - ew[lo])
    count = np.maximum(hi - lo, 1)
    kappa = np.where(energy > 1e-12, 2.0 * trace / np.maximum(energy, 1e-12), 0.0)
    return kappa, (eb[hi] - eb[lo]) / count
