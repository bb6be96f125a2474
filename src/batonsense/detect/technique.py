"""Which way the baton went into the receiving hand: upsweep, downsweep or push.

In an *upsweep* the receiver's palm faces down and the baton is swept up into
it; in a *downsweep* the palm faces up and the baton is pushed down into it;
in a *push* pass it goes in level, along the run.  The contact stops the
baton's motion relative to the palm, so the collision's impulse on the baton
(relative to the receiving wrist) points against the way it came in: down for
an upsweep, up for a downsweep, level for a push.

"Up" in the baton's own frame is the mean specific force over the stride or two
around the contact (live, the data end a little after the new holder's grip is
confirmed, so the window after the grab is often shorter than up_window_s; the
same window offline) (the feet's pushes average to the body's weight, plus a
little forward acceleration), with the baton's turning over that stretch undone
by integrating its gyro.  No mount or grip needs to be known.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from batonsense.detect.config import DEFAULT, TechniqueConfig


def _to_contact_frame(gyro_radps: np.ndarray, dt_s: float, i_c: int) -> Rotation:
    """Per sample, the rotation from the baton's frame then to its frame at sample i_c."""
    n = gyro_radps.shape[0]
    steps = Rotation.from_rotvec(gyro_radps * dt_s)  # frame k -> frame k+1 seen from k
    rots = [Rotation.identity()] * n
    for k in range(i_c + 1, n):  # R_k = R_(k-1) * step_(k-1)
        rots[k] = rots[k - 1] * steps[k - 1]
    for k in range(i_c - 1, -1, -1):
        rots[k] = rots[k + 1] * steps[k].inv()
    return Rotation.concatenate(rots)


def classify_technique(
    t_s: np.ndarray,
    acc_b_mps2: np.ndarray,
    gyro_b_radps: np.ndarray,
    rel_mps2: np.ndarray,
    grab_s: float,
    cfg: TechniqueConfig = DEFAULT.technique,
) -> str | None:
    """The technique: "upsweep", "downsweep", "push", or None (not enough data).

    t_s (N,) uniform grid; acc_b_mps2 / gyro_b_radps (N,3): the baton's specific
    force and rate in its own frame; rel_mps2 (N,3): the baton's specific force
    relative to the receiving wrist, in the baton's frame (the rigid-body
    residual), whose spike at the grab is the collision.
    """
    dt = float(t_s[1] - t_s[0]) if t_s.size > 1 else 0.0
    lo, hi = np.searchsorted(t_s, [grab_s - cfg.up_window_s, grab_s + cfg.up_window_s])
    i_c = int(np.searchsorted(t_s, grab_s))
    if dt <= 0 or i_c - lo < 10 or hi - i_c < 10:
        return None
    rots = _to_contact_frame(gyro_b_radps[lo:hi], dt, i_c - lo)
    up = rots.apply(acc_b_mps2[lo:hi]).mean(axis=0)
    if np.linalg.norm(up) < cfg.min_up_mps2:
        return None
    up /= np.linalg.norm(up)
    j0, j1 = i_c - lo, int(np.searchsorted(t_s[lo:hi], grab_s + cfg.impulse_s))
    rel = rots.apply(rel_mps2[lo:hi])  # all in the contact frame before anything is mixed
    base = np.median(rel[max(0, j0 - round(cfg.base_s / dt)) : j0], axis=0) if j0 > 2 else 0.0
    impulse = (rel[j0:j1] - base).sum(axis=0) * dt
    size = float(np.linalg.norm(impulse))
    if size <= 0:
        return None
    cos = float(impulse @ up) / size
    if abs(cos) < cfg.level_cos:
        return "push"
    return "upsweep" if cos < 0 else "downsweep"
