"""The detector's algebra and bookkeeping on a minimal rigid-body hand-over."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from batonsense.detect import ExchangeDetector, detect_exchanges
from batonsense.detect.coupling import kabsch_rotation, rolling_coupling, rolling_parting
from batonsense.detect.rigid import clipped
from batonsense.detect.timing import fit_rotation
from batonsense.model import Recording, SensorStream

from .live import stream_live
from .synthetic import handover_recording


def test_kabsch_recovers_mount_rotation() -> None:
    rng = np.random.default_rng(3)
    w = rng.normal(size=(400, 3))
    rot = Rotation.random(random_state=4).as_matrix()
    r_hat, kappa = kabsch_rotation(w @ rot.T, w)
    assert np.allclose(r_hat, rot, atol=1e-9)
    assert kappa == pytest.approx(1.0)


def test_mirror_image_is_not_a_rotation() -> None:
    # the other arm of the same runner swings as a mirror image: no proper rotation fits
    rng = np.random.default_rng(5)
    w = rng.normal(size=(400, 3))
    _, kappa = kabsch_rotation(w * [1.0, -1.0, 1.0], w)
    assert kappa < 0.6


def test_clipped_marks_the_rail_and_its_neighbours_not_a_single_peak() -> None:
    x = np.zeros((50, 3))
    x[:, 0] = np.sin(np.linspace(0, 6, 50))  # one highest sample: a peak, not a rail
    x[20:24, 1] = 34.9  # a sensor at full scale repeats its extreme value
    x[30, 2] = -7.0
    m = clipped(x, pad_n=2)
    assert np.flatnonzero(m).tolist() == list(range(18, 26))
    assert not clipped(x[:, :1], pad_n=2).any()


def test_clipped_catches_both_int16_rails() -> None:
    # int16 full scale is asymmetric: +32767 and -32768 counts; both rails are the sensor's
    lsb = 16 * 9.80665 / 32768
    x = np.zeros((60, 3))
    x[:, 0] = np.linspace(-50.0, 50.0, 60)
    x[10:13, 0] = 32767 * lsb
    x[40:43, 0] = -32768 * lsb
    assert np.flatnonzero(clipped(x, pad_n=0)).tolist() == [10, 11, 12, 40, 41, 42]


def test_usable_leaves_out_a_native_sample_around_the_rail_and_long_gaps() -> None:
    from batonsense.detect.handover import _usable

    n = 400
    acc = np.zeros((n, 3))
    acc[:, 2] = np.sin(np.arange(n) / 20.0)
    acc[100:104, 0] = 156.9  # clipped for one native sample of a 100 Hz sensor
    gyro = np.zeros((n, 3))
    valid = np.ones(n, dtype=bool)
    valid[300:320] = False  # a long gap
    ok = _usable({"w": (acc, gyro, valid)}, "w", {"w": 100.0}, 400.0)
    assert np.flatnonzero(~ok).tolist() == list(range(96, 108)) + list(range(300, 320))


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.linalg.norm(Rotation.from_matrix(a.T @ b).as_rotvec())))


def test_rotation_fit_leaves_out_clipped_samples() -> None:
    # a hold at ~2 rad/s with one 30 ms knock past the gyros' 2000 °/s full scale:
    # clipped on both sensors' own axes, the knock no longer obeys ω_b = R ω_w
    rng = np.random.default_rng(7)
    t = np.arange(400) / 400.0
    w = np.cumsum(rng.normal(0, 0.3, (400, 3)), axis=0)
    w[200:212] += np.array([60.0, -45.0, 50.0])
    rot = Rotation.from_rotvec([0.9, -0.4, 1.3]).as_matrix()
    full_scale = np.radians(2000.0)
    gyro_w = np.clip(w, -full_scale, full_scale)
    gyro_b = np.clip(w @ rot.T, -full_scale, full_scale)
    usable = ~clipped(gyro_b, 1) & ~clipped(gyro_w, 1)
    assert not usable[200:212].any() and usable.sum() > 350
    r_all, _ = fit_rotation(t, gyro_b, gyro_w, 0.0, 1.0)
    r_usable, _ = fit_rotation(t, gyro_b, gyro_w, 0.0, 1.0, usable=usable)
    assert _angle_deg(r_usable, rot) < 0.01
    assert _angle_deg(r_all, rot) > 1.0


def test_rolling_coupling_matches_direct_fit() -> None:
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(300, 3)), rng.normal(size=(300, 3))
    kappa, _ = rolling_coupling(a, b, 100, np.array([99, 199, 299]))
    for k, end in zip(kappa, [99, 199, 299], strict=True):
        assert k == pytest.approx(kabsch_rotation(a[end - 99 : end + 1], b[end - 99 : end + 1])[1])


def test_rolling_parting_matches_a_direct_fit_and_jumps_when_the_hand_lets_go() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    gw = rng.normal(size=(n, 3)) * 3.0
    mount = Rotation.from_euler("xyz", [0.3, -1.0, 2.0]).as_matrix()
    gb = gw @ mount.T + rng.normal(size=(n, 3)) * 0.05
    gb[1500:] += rng.normal(size=(500, 3)) * 2.0  # the hand lets go at sample 1500
    ends = np.arange(300, n, 8)
    p = rolling_parting(gb, gw, ends, fit_n=240, lag_n=60, recent_n=16)
    for e, got in zip(ends[::25], p[::25], strict=True):
        hi = e + 1 - 60
        rot, _ = kabsch_rotation(gb[hi - 240 : hi], gw[hi - 240 : hi])
        fit = np.mean(np.sum((gb[hi - 240 : hi] - gw[hi - 240 : hi] @ rot.T) ** 2, axis=1))
        rec = np.mean(np.sum((gb[e - 15 : e + 1] - gw[e - 15 : e + 1] @ rot.T) ** 2, axis=1))
        assert got == pytest.approx(rec / fit, rel=1e-9)
    held, parted = p[(ends > 400) & (ends < 1490)], p[(ends >= 1510) & (ends < 1560)]
    assert held.max() < 3.0 and parted.min() > 100.0
    # a frame's value hardly depends on how much data came before it (live vs offline)
    tail = rolling_parting(gb[1100:], gw[1100:], ends[ends >= 1400] - 1100,
                           fit_n=240, lag_n=60, recent_n=16)  # fmt: skip
    np.testing.assert_allclose(tail, p[ends >= 1400], rtol=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_handover_found_and_timed(seed: int) -> None:
    rec = handover_recording(grab_s=6.0, release_s=6.25, seed=seed)
    ex = detect_exchanges(rec)
    assert len(ex) == 1
    e = ex[0]
    assert (e.giver, e.receiver) == ("ANA", "BEA")
    assert abs(e.grab_s - 6.0) <= 0.005
    assert abs(e.release_s - 6.25) <= 0.005
    assert e.hand_mismatch is False


def test_live_chunks_give_the_offline_result() -> None:
    rec = handover_recording(seed=7)
    offline = detect_exchanges(rec)
    live = stream_live(rec, 0.05)  # 50 ms notification bursts
    assert [(e.giver, e.receiver) for e in live] == [(e.giver, e.receiver) for e in offline]
    for a, b in zip(live, offline, strict=True):
        assert abs(a.grab_s - b.grab_s) < 1e-3 and abs(a.release_s - b.release_s) < 1e-3


def test_live_result_arrives_soon_after_release() -> None:
    rec = handover_recording(grab_s=6.0, release_s=6.2, seed=8)
    det = ExchangeDetector(rec.sensors)
    for start in np.arange(0.0, 10.0, 0.05):
        for s in rec.streams.values():
            det.push(s.between(start, start + 0.05))
        if det.poll():
            assert start + 0.05 - 6.2 <= 1.0  # data time at which it became final
            return
    pytest.fail("exchange not reported before the end of data")


def _relabel(rec: Recording, athlete_of_wb: str) -> Recording:
    sensors = tuple(
        s if s.id != "wb" else type(s)(s.id, s.role, athlete_of_wb, s.hand) for s in rec.sensors
    )
    return Recording(sensors, rec.streams)


def test_hand_switch_of_one_athlete_is_not_an_exchange() -> None:
    rec = _relabel(handover_recording(seed=9), "ANA")
    assert detect_exchanges(rec) == []


def test_baton_put_down_then_picked_up_is_not_an_exchange() -> None:
    rec = handover_recording(grab_s=6.0, release_s=6.0, seed=10)
    b = rec.streams["baton"]
    still = (b.t_s > 5.0) & (b.t_s < 7.0)
    gyro = b.gyro_radps.copy()
    gyro[still] = 0.001
    acc = b.acc_mps2.copy()
    acc[still] = [0.0, 0.0, 9.81]
    streams = dict(rec.streams)
    streams["baton"] = SensorStream("baton", b.t_s, acc, gyro)
    assert detect_exchanges(Recording(rec.sensors, streams)) == []


def test_a_baton_without_wrists_gives_no_exchange_and_no_error() -> None:
    rec = handover_recording(seed=11)
    only = Recording(
        tuple(s for s in rec.sensors if s.id == "baton"), {"baton": rec.streams["baton"]}
    )
    assert detect_exchanges(only) == []


def test_exchanges_say_which_clock_their_times_are_on() -> None:
    rec = handover_recording(seed=12)
    on_host = Recording(rec.sensors, rec.streams, clock="host_monotonic")
    assert [e.clock for e in detect_exchanges(rec)] == ["recording"]
    assert [e.clock for e in detect_exchanges(on_host)] == ["host_monotonic"]


def test_give_fit_takes_the_wrist_as_it_is_held_out_not_as_it_swung() -> None:
    # a sprinting wrist flexes: over the long hold the wrist sensor sits ~10° off the
    # way it sits in the give (arm held out) just before the pass, which is what the
    # release must be judged against; a free arm in the give is no hold at all
    from batonsense.detect.handover import _give_fit

    rng = np.random.default_rng(11)
    fs = 400.0
    t = np.arange(int(3.0 * fs)) / fs
    w = np.cumsum(rng.normal(0, 0.4, (t.size, 3)), axis=0)
    swing = Rotation.from_rotvec([0.5, -1.0, 0.3]).as_matrix()
    held_out = Rotation.from_rotvec([0.5, -1.0, 0.3]) * Rotation.from_rotvec([0.0, 0.17, 0.0])
    held_out = held_out.as_matrix()
    rough_grab_s, rough_release_s = 2.5, 2.8
    give = t >= rough_grab_s - 0.6
    gyro_b = np.where(give[:, None], w @ held_out.T, w @ swing.T)
    usable = np.ones(t.size, dtype=bool)
    fit = _give_fit(t, gyro_b, w, usable, rough_grab_s, rough_release_s)
    assert fit is not None
    rot, held = fit
    assert _angle_deg(rot, held_out) < 0.01
    assert t[held].min() == pytest.approx(rough_grab_s - 0.3, abs=1 / fs)
    assert t[held].max() == pytest.approx(rough_release_s - 0.1, abs=1 / fs)
    long_hold, _ = fit_rotation(t, gyro_b, w, 0.0, rough_grab_s)
    assert _angle_deg(long_hold, held_out) > 3.0
    free_arm = rng.normal(size=w.shape)
    assert _give_fit(t, free_arm, w, usable, rough_grab_s, rough_release_s) is None
