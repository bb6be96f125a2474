"""Dejitterer: sample times from receive times alone (WitMotion)."""

from __future__ import annotations

import numpy as np
import pytest

from batonsense.sync import HOST_CLOCK, Dejitterer
from batonsense.sync.simulate import LinkModel, SensorModel, simulate_stream

RATE_HZ = 50.0
TRUE_RATE_HZ = RATE_HZ * (1 - 0.003)  # the sensor's oscillator is 0.3 % slow


def test_noiseless_receive_times_give_the_sample_times() -> None:
    d = Dejitterer(RATE_HZ, samples_per_notification=2)
    assert d.clock == HOST_CLOCK
    sample_s = 50.0 + np.arange(2000) / TRUE_RATE_HZ
    out = np.concatenate([d.add(pair[-1]) for pair in sample_s.reshape(-1, 2)])
    assert np.max(np.abs(out[-200:] - sample_s[-200:])) < 1e-9


def test_a_long_gap_is_filled_with_missed_notifications() -> None:
    sample_s = 50.0 + np.arange(3000) / TRUE_RATE_HZ
    kept = np.r_[0:1000, 1100:3000]  # 2 s lost
    d = Dejitterer(RATE_HZ)
    out = np.concatenate([d.add(t) for t in sample_s[kept]])
    assert d.n_inferred_lost == 100
    assert np.max(np.abs(out[-100:] - sample_s[kept][-100:])) < 1e-9


def test_rejects_a_bad_rate() -> None:
    with pytest.raises(ValueError):
        Dejitterer(0.0)


@pytest.mark.parametrize("interval_s", [0.0075, 0.030])
def test_simulated_witmotion_within_one_connection_interval(interval_s: float) -> None:
    rng = np.random.default_rng(3)
    sensor = SensorModel(
        rate_hz=RATE_HZ,
        samples_per_packet=1,
        payload_bytes=20,
        odr_error=-0.003,
        drift_ppm=30.0,
        counter_period_s=None,
    )
    stream = simulate_stream(40.0, sensor, LinkModel(interval_s, phy_mbps=1), rng)
    d = Dejitterer(RATE_HZ, latency_floor_s=stream.latency_floor_s)
    rx_s, err_s = [], []
    for p in stream.received:
        err_s.append(d.add(stream.receive_s[p]) - stream.true_host_s[p])
        rx_s.append(stream.receive_s[p])
    since_s = np.array(rx_s) - rx_s[0]
    err = np.abs(np.concatenate(err_s))
    assert np.percentile(err[since_s > 20.0], 95) < interval_s
    assert not d.mapper.resets
