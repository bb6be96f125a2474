"""A host stall while the clock fit is young: the samples that wait out the stall
are mapped with the fit that has seen both sides of it, not extrapolated from
before it (the fit's young drift error times the stall's length)."""

from __future__ import annotations

import numpy as np

from batonsense.model import Role, SensorInfo
from batonsense.pipeline import Pipeline
from batonsense.protocols import batonsense_v1 as v1

RATE_HZ = 200.0
N = 4  # samples per packet
INTERVAL_S = 0.030  # connection interval
STALL_S = (8.0, 38.0)  # host time: nothing is read, then the backlog at 4x real time
END_S = 60.0  # (caught up at 48 s)
SENSORS = (SensorInfo("baton", Role.BATON), SensorInfo("w1", Role.WRIST, athlete="A"))
DRIFT_PPM = {"baton": 70.0, "w1": -60.0}


def _records(end_s: float = END_S) -> list[tuple[str, float, bytes]]:
    """v3 notifications of still sensors (sensor clock offset + drift; a packet per
    20 ms, sent at the next connection event, received 0.5-3.5 ms later, in order), in
    receive order; nothing is read during the stall, then everything in order, the
    backlog at 4x real time."""
    rng = np.random.default_rng(7)
    out = []
    for sid, drift_ppm in DRIFT_PPM.items():
        g = 1.0 + drift_ppm * 1e-6
        phase_s = rng.uniform(0, INTERVAL_S)
        last_rx = 0.0
        for k in range(int(end_s * RATE_HZ / N)):
            t_first = 0.5 + k * N / RATE_HZ  # true host time of the first sample
            t_last = t_first + (N - 1) / RATE_HZ
            event = phase_s + np.ceil((t_last - phase_s) / INTERVAL_S) * INTERVAL_S
            rx = event + 0.0005 + rng.uniform(0.0, 0.003)
            if rx >= STALL_S[0]:
                rx = max(rx, STALL_S[1] + (rx - STALL_S[0]) / 4.0)
            rx = last_rx = max(rx, last_rx + 1e-5)  # one link delivers in order
            t0_us = round((100.0 + t_first * g) * 1e6)
            last_us = t0_us + (N - 1) * round(1e6 / RATE_HZ)
            payload = v1.encode_packet(
                seq=k & 0xFFFF,
                t0_us=t0_us,
                period_us=round(1e6 / RATE_HZ),
                acc_mps2=np.tile([0.0, 0.0, 9.80665], (N, 1)),
                gyro_radps=np.zeros((N, 3)),
                flags=int(v1.Flag.BOOT) if k == 0 else 0,
                event_us=round((100.0 + event * g) * 1e6) - last_us,
            )
            out.append((sid, rx, payload))
    out.sort(key=lambda r: r[1])
    return out


def test_samples_that_waited_out_a_stall_are_mapped_with_the_fit_after_it() -> None:
    blocks: list = []
    pipe = Pipeline(SENSORS, consumers=[blocks.append])
    for sid, rx, payload in _records():
        pipe.feed(sid, rx, payload)
    pipe.flush()
    for sid in DRIFT_PPM:
        t = np.concatenate([b.t_s for b in blocks if b.sensor_id == sid])
        assert np.all(np.diff(t) > 0) and len(t) == int(END_S * RATE_HZ / N) * N
        # true host time of each sample, from its index (nothing is lost here)
        truth = 0.5 + np.arange(len(t)) / RATE_HZ
        err_ms = 1e3 * (t - truth)
        after = err_ms[(truth > 50.0) & (truth < 55.0)]  # the fit on both sides of the gap
        stalled = err_ms[(truth > STALL_S[0]) & (truth < STALL_S[1] - 1.0)]
        # mapped late by about the delivery floor; the stalled samples as well as after
        assert 0.0 < np.median(after) < 1.0, sid
        assert np.abs(stalled - np.median(after)).max() < 0.3, (sid, stalled.min(), stalled.max())
        assert pipe.out_of_order[sid] == 0 and pipe.stats[sid].dropped_samples == 0
