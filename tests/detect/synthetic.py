"""A minimal rigid-body hand-over for unit tests of the detector's mechanics.

Not the simulator: two wrists with smooth random rotation about fixed pivots, a
baton that rotates with the giver's hand, then with both, then with the
receiver's (each through its own fixed mount rotation).  Orientations are
integrated from the angular rates, so the accelerometers (gravity seen in each
sensor's frame) agree with the gyros; a short collision marks the grab.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt
from scipy.spatial.transform import Rotation

from batonsense.model import GRAVITY_MPS2, Hand, Recording, Role, SensorInfo, SensorStream

UP = np.array([0.0, 0.0, GRAVITY_MPS2])


def smooth_noise(rng: np.random.Generator, n: int, rate_hz: float, amp: float) -> np.ndarray:
    sos = butter(4, [0.5, 5.0], btype="band", fs=rate_hz, output="sos")
    x = sosfiltfilt(sos, rng.normal(size=(n, 3)), axis=0)
    return amp * x / x.std()


def integrate(r0: Rotation, gyro_radps: np.ndarray, rate_hz: float) -> Rotation:
    """World-from-body orientations from body-frame angular rates."""
    steps = Rotation.from_rotvec(gyro_radps / rate_hz)
    out = [r0]
    for k in range(len(gyro_radps) - 1):
        out.append(out[-1] * steps[k])
    return Rotation.concatenate(out)


def specific_force(r: Rotation) -> np.ndarray:
    """A sensor at a still pivot reads the reaction to gravity in its own frame."""
    return r.inv().apply(UP)


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
    kg, kr = int(np.searchsorted(t, grab_s)), int(np.searchsorted(t, release_s))
    wa = smooth_noise(rng, n, rate_hz, 3.0)
    wb = smooth_noise(rng, n, rate_hz, 3.0)
    ma = Rotation.random(random_state=seed)
    rot_a = integrate(Rotation.random(random_state=seed + 100), wa[:kg], rate_hz)
    rot_b = integrate(Rotation.random(random_state=seed + 200), wb, rate_hz)
    baton_rot = rot_a * ma.inv()  # baton = giver's hand through the mount
    mb = (
        rot_b[kg].inv() * (baton_rot[-1] * Rotation.from_rotvec(ma.apply(wa[kg - 1]) / rate_hz))
    ).inv()
    # from the grab on the baton follows the receiver; the giver's hand follows the baton
    baton_after = rot_b[kg:] * mb.inv()
    giver_after = baton_after * ma
    free = integrate(giver_after[kr - kg - 1], wa[kr:], rate_hz)
    giver_rot = Rotation.concatenate([rot_a, giver_after[: kr - kg], free])
    baton_all = Rotation.concatenate([baton_rot, baton_after])
    gyro_a = np.vstack([wa[:kg], ma.inv().apply(mb.apply(wb[kg:kr])), wa[kr:]])
    gyro_b = wb
    gyro_bt = np.vstack([ma.apply(wa[:kg]), mb.apply(wb[kg:])])
    acc_a, acc_b, acc_bt = (specific_force(r) for r in (giver_rot, rot_b, baton_all))
    hit = baton_all[kg].inv().apply([25.0, 0.0, 0.0])  # the collision, in the baton frame
    acc_bt[kg : kg + 2] += hit
    acc_b[kg : kg + 2] -= 0.2 * mb.inv().apply(hit)
    sensors = (
        SensorInfo("baton", Role.BATON),
        SensorInfo("wa", Role.WRIST, "ANA", Hand.RIGHT),
        SensorInfo("wb", Role.WRIST, "BEA", Hand.LEFT),
    )

    def noisy(x: np.ndarray, sd: float) -> np.ndarray:
        return x + rng.normal(scale=sd, size=x.shape)

    streams = {
        "baton": SensorStream("baton", t, noisy(acc_bt, 0.05), noisy(gyro_bt, 0.005)),
        "wa": SensorStream("wa", t, noisy(acc_a, 0.05), noisy(gyro_a, 0.005)),
        "wb": SensorStream("wb", t, noisy(acc_b, 0.05), noisy(gyro_b, 0.005)),
    }
    return Recording(sensors, streams)
