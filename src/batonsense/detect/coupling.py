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

from batonsense.detect.config import DEFAULT


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


Sums = tuple[np.ndarray, np.ndarray, np.ndarray]


def running_sums(gyro_b: np.ndarray, gyro_w: np.ndarray) -> Sums:
    """Running sums of ω_w ω_bᵀ (N+1, 9), |ω_b|² and |ω_w|² (N+1,), zero first: what
    every window's coupling and residual are taken from (compute once per pair)."""
    n = gyro_b.shape[0]
    prod = (gyro_w[:, :, None] * gyro_b[:, None, :]).reshape(n, 9)
    cs = np.vstack([np.zeros((1, 9)), np.cumsum(prod, axis=0)])
    eb = np.concatenate([[0.0], np.cumsum(np.sum(gyro_b**2, axis=1))])
    ew = np.concatenate([[0.0], np.cumsum(np.sum(gyro_w**2, axis=1))])
    return cs, eb, ew


def rolling_coupling(
    gyro_b: np.ndarray,
    gyro_w: np.ndarray,
    window_n: int,
    ends: np.ndarray,
    sums: Sums | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Coupling κ and mean rotational energy over windows (end-window_n, end] at indices `ends`.

    gyro_b, gyro_w: (N,3) on one grid (rad/s); sums: their `running_sums`, if at
    hand.  Returns (kappa (F,), energy_b (F,) in (rad/s)² per sample).  Windows
    that start before 0 are clipped.
    """
    n = gyro_b.shape[0]
    cs, eb, ew = sums if sums is not None else running_sums(gyro_b, gyro_w)
    hi = np.clip(ends + 1, 0, n)
    lo = np.clip(hi - window_n, 0, n)
    h = (cs[hi] - cs[lo]).reshape(-1, 3, 3)
    trace, _ = _best_trace(h)
    energy = (eb[hi] - eb[lo]) + (ew[hi] - ew[lo])
    count = np.maximum(hi - lo, 1)
    kappa = np.where(energy > 1e-12, 2.0 * trace / np.maximum(energy, 1e-12), 0.0)
    return kappa, (eb[hi] - eb[lo]) / count


def _window_sq_residual(
    gyro_b: np.ndarray, gyro_w: np.ndarray, rot: np.ndarray, hi: np.ndarray, n: int
) -> np.ndarray:
    """Σ |ω_b − R_f ω_w|² over the n samples before index hi[f] (clipped at 0), per frame f,
    summed sample by sample."""
    pad = np.zeros((n, 3))
    b = np.concatenate([pad, gyro_b])
    w = np.concatenate([pad, gyro_w])
    idx = hi[:, None] + np.arange(n)[None, :]  # window (hi - n, hi] in the padded arrays
    diff = b[idx] - np.einsum("fij,flj->fli", rot, w[idx])
    return np.einsum("fli,fli->f", diff, diff)


def rolling_parting(
    gyro_b: np.ndarray,
    gyro_w: np.ndarray,
    ends: np.ndarray,
    *,
    fit_n: int,
    lag_n: int,
    recent_n: int,
    sums: Sums | None = None,
    min_fit_sq_radps2: float = DEFAULT.frames.parting_min_fit_radps2,
) -> np.ndarray:
    """How much the last recent_n samples break the rigid relation of the hold before them.

    At each index in `ends`: R is fitted (Kabsch) on the fit_n samples that end
    lag_n before it; the ratio is the mean |ω_b − R ω_w|² over the last recent_n
    samples to the same over the fit.  While a hand keeps gripping, the recent
    samples obey the hold's R (ratio ~1-5, the wrist flexing); once it lets go,
    hand and baton rotate on their own and the ratio jumps by an order of
    magnitude.  Unlike κ, which refits R on every window and so absorbs a slow
    parting, the fixed R sees it as soon as it begins.
    """
    n = gyro_b.shape[0]
    cs, eb, ew = sums if sums is not None else running_sums(gyro_b, gyro_w)
    hi_f = np.clip(ends + 1 - lag_n, 0, n)
    lo_f = np.clip(hi_f - fit_n, 0, n)
    trace_f, rot = _best_trace((cs[hi_f] - cs[lo_f]).reshape(-1, 3, 3))
    hi = np.clip(ends + 1, 0, n)
    lo = np.clip(hi - recent_n, 0, n)
    # the fit's residual from running sums (as κ: cheap, the hold's misfit is a fair
    # share of its energy); the short recent one sample by sample (running sums
    # would lose its digits to the energy of everything before it)
    res_fit = (eb[hi_f] - eb[lo_f]) + (ew[hi_f] - ew[lo_f]) - 2.0 * trace_f
    per_fit = np.maximum(res_fit, 0.0) / np.maximum(hi_f - lo_f, 1)
    per_recent = _window_sq_residual(gyro_b, gyro_w, rot, hi, recent_n) / np.maximum(hi - lo, 1)
    # a floor per sample: a fit on a baton at rest is not a hold
    return per_recent / np.maximum(per_fit, min_fit_sq_radps2)
