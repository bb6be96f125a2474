"""Rigid-body residuals between the baton and a wrist.

While a hand grips the baton, the baton sensor and the wrist sensor move as one
rigid body (to within the wrist joint's give).  Then, in the wrist's frame,

    ω_b = R ω_w                         (gyro: mount rotation R only)
    Rᵀ f_b = f_w + α × r + ω × (ω × r)  (accelerometer: plus the lever arm r, m)

with α = dω/dt.  Gravity cancels in the difference of specific forces.  R comes
from the gyros (Kabsch), r from a least-squares fit over a stretch where the hand
certainly holds the baton.  When the hand lets go, the acceleration residual
jumps at once (the grip force disappears); a first contact shows as a spike in
it (the collision); the gyro residual only drifts apart gradually.
"""

from __future__ import annotations

import numpy as np

from batonsense.detect.config import DEFAULT


def _skew(v: np.ndarray) -> np.ndarray:
    z = np.zeros(v.shape[:-1])
    return np.stack(
        [
            np.stack([z, -v[..., 2], v[..., 1]], -1),
            np.stack([v[..., 2], z, -v[..., 0]], -1),
            np.stack([-v[..., 1], v[..., 0], z], -1),
        ],
        -2,
    )


def acc_residual_vec(
    acc_b: np.ndarray,
    acc_w: np.ndarray,
    gyro_w: np.ndarray,
    rot: np.ndarray,
    rate_hz: float,
    fit: np.ndarray,
    max_lever_m: float = DEFAULT.sensors.max_lever_m,
) -> tuple[np.ndarray, np.ndarray]:
    """Rᵀ f_b − f_w − α×r − ω×(ω×r) per grid sample, (N,3) m/s², and the fitted lever arm r (m).

    acc_* in m/s², gyro_w in rad/s, all (N,3) on one grid of rate_hz; fit: (N,)
    bool, samples where the hand holds the baton.  r is clipped to max_lever_m.
    """
    alpha = np.gradient(gyro_w, 1.0 / rate_hz, axis=0)
    sw = _skew(gyro_w)
    m = _skew(alpha) + sw @ sw
    y = acc_b @ rot - acc_w
    r = np.zeros(3)
    if np.count_nonzero(fit) >= 6:
        r, *_ = np.linalg.lstsq(m[fit].reshape(-1, 3), y[fit].reshape(-1), rcond=None)
        n = float(np.linalg.norm(r))
        if n > max_lever_m:
            r *= max_lever_m / n
    return y - m @ r, r


def acc_residual(
    acc_b: np.ndarray,
    acc_w: np.ndarray,
    gyro_w: np.ndarray,
    rot: np.ndarray,
    rate_hz: float,
    fit: np.ndarray,
    max_lever_m: float = DEFAULT.sensors.max_lever_m,
) -> tuple[np.ndarray, np.ndarray]:
    """|acc_residual_vec| per grid sample (m/s²) and the fitted lever arm r (m)."""
    v, r = acc_residual_vec(acc_b, acc_w, gyro_w, rot, rate_hz, fit, max_lever_m)
    return np.linalg.norm(v, axis=1), r


def clipped(x: np.ndarray, pad_n: int, min_rail: float = 0.0) -> np.ndarray:
    """(N,) bool: samples of x (N,3) within pad_n of one that sits on the sensor's rail.

    A sensor at full scale repeats its extreme value: an axis's largest value, or
    its smallest, that occurs at least twice (linear interpolation between two
    clipped samples reproduces it exactly) and is at least min_rail in size (no
    sensor's full scale is smaller).  Each rail is taken on its own: int16 full
    scale is +32767 but -32768 counts.  Such samples break the rigid-body relation
    (the true value is larger), so fits must not use them.
    """
    n = x.shape[0]
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    for k in range(x.shape[1]):
        col = x[:, k]
        for rail in (float(col.max()), float(col.min())):
            if abs(rail) < max(min_rail, 1e-12):
                continue
            on = np.abs(col - rail) <= 1e-9 * abs(rail)
            if np.count_nonzero(on) >= 2:
                out |= on
    if pad_n > 0 and out.any():
        idx = np.flatnonzero(out)
        lo = np.clip(idx - pad_n, 0, n)
        hi = np.clip(idx + pad_n + 1, 0, n)
        d = np.zeros(n + 1, dtype=int)
        np.add.at(d, lo, 1)
        np.add.at(d, hi, -1)
        out = np.cumsum(d)[:n] > 0
    return out


def residual_change(v: np.ndarray, lag_n: int) -> np.ndarray:
    """|v_k − v_(k−lag_n)| per grid sample (first lag_n samples 0), in v's units.

    The change of the rigid-body residual over one native sample period.  While
    the hand grips, the residual is sensor noise plus a misfit that drifts
    slowly (the wrist flexes, the lever arm changes as the receiver pulls), so
    its change stays at the noise level whatever the lever-arm error; when the
    hand lets go it starts moving on its own and the change jumps and stays up.
    """
    d = np.zeros(v.shape[0])
    if 0 < lag_n < v.shape[0]:
        d[lag_n:] = np.linalg.norm(v[lag_n:] - v[:-lag_n], axis=1)
    return d
