"""A minimal rigid-body hand-over for unit tests of the detector's mechanics.

Not the simulator: two wrists with smooth random rotation, a baton that rotates
with the giver's hand, then with both, then with the receiver's (each through its
own fixed mount rotation).  Good for checking the algebra and the bookkeeping.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt
from scipy.spatial.transform import Rotation

from batonsense.model import GRAVITY_MPS2, Hand, Recording, Role, SensorInfo, SensorStream


def smooth_noise(rng: np.random.Generator, n: int, rate_hz: float, amp: float) -> np.ndarray:
    sos = butter(4, [0.5, 5.0], btype="band", fs=rate_hz, output="sos")
    x = sosfiltfilt(sos, rng.normal(size=(n, 3)), axis=0)
    return amp * x / x.std()


def handover_recording(
    grab_s: float = 6.0,
    release_s: float = 6.2,
    duration_s: float = 10.0,
    rate_hz: float = 200.0,
    seed: int = 0,
) -> Recording:
    rng = np.random.default_rng(seed)
    n = int(duration_s * rate_hz)
    t = np.arange(n) / rate_hz
    wa = smooth_noise(rng, n, rate_hz, 3.0)
    wb = smooth_noise(rng, n, rate_hz, 3.0)
    ra, rb = Rotation.random(2, random_state=seed).as_matrix()
    over = (t >= grab_s) & (t < release_s)
    # during the overlap the giver's hand is slaved to the baton (= receiver's hand)
    wa[over] = wb[over] @ (ra.T @ rb).T
    baton = np.where((t < grab_s)[:, None], wa @ ra.T, wb @ rb.T)
    acc = np.tile([0.0, 0.0, GRAVITY_MPS2], (n, 1)) + rng.normal(scale=0.05, size=(n, 3))
    acc_b = acc.copy()
    k = int(np.searchsorted(t, grab_s))
    acc_b[k : k + 2] += [30.0, 0.0, 0.0]  # contact impulse
    acc_rb = acc.copy()
    acc_rb[k : k + 2] += [-5.0, 0.0, 0.0]
    noise = 0.005
    sensors = (
        SensorInfo("baton", Role.BATON),
        SensorInfo("wa", Role.WRIST, "ANA", Hand.RIGHT),
        SensorInfo("wb", Role.WRIST, "BEA", Hand.LEFT),
    )
    streams = {
        "baton": SensorStream("baton", t, acc_b, baton + rng.normal(scale=noise, size=(n, 3))),
        "wa": SensorStream("wa", t, acc, wa + rng.normal(scale=noise, size=(n, 3))),
        "wb": SensorStream("wb", t, acc_rb, wb + rng.normal(scale=noise, size=(n, 3))),
    }
    return Recording(sensors, streams)
