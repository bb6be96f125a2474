"""EventLattice: connection events recovered from receive times, never placed too early."""

from __future__ import annotations

import numpy as np
import pytest

from batonsense.sync import ClockMapper
from batonsense.sync._lattice import EventLattice
from batonsense.sync.simulate import LinkModel, SensorModel, simulate_stream

from .conftest import run_live


@pytest.mark.parametrize("interval_s", [0.015, 0.030, 0.050])
def test_event_times_are_valid_bounds(interval_s: float, rng: np.random.Generator) -> None:
    """Ê never precedes the moment the packet could have been sent (beyond 0.1 ms)."""
    sensor = SensorModel(odr_error=0.006, drift_ppm=30.0)
    stream = simulate_stream(30.0, sensor, LinkModel(interval_s, loss=0.05), rng)
    lat = EventLattice()
    slack, timed = [], 0
    for p in stream.received:
        h = stream.receive_s[p]
        lat.push(h)
        e = lat.event_time(h)
        if e is None:
            continue
        timed += 1
        assert e <= h
        slack.append(e - stream.latency_floor_s - stream.true_host_s[p, -1])
    assert lat.locked and lat.n_locks == 1
    assert timed > 0.7 * stream.received.size
    # the nominal interval or a divisor of it (both are safe)
    assert interval_s / lat.interval_s == pytest.approx(
        round(interval_s / lat.interval_s), abs=1e-3
    )
    assert np.min(slack) > -1e-4


def test_receive_times_without_events_never_lock(rng: np.random.Generator) -> None:
    lat = EventLattice()
    for h in np.cumsum(rng.exponential(0.02, 1500)):
        lat.push(float(h))
    assert not lat.locked


def test_a_lattice_twice_the_interval_never_times_a_packet_early() -> None:
    """Acquisition prefers the shortest coherent interval, but if the lattice were twice
    the true interval (a sensor using only even events, then odd ones), the guard keeps
    packets from odd events at their receive time instead of the earlier lattice point."""
    ci = 0.015
    events = np.arange(0, 2000) * ci
    host = events + 0.0007 + np.random.default_rng(3).exponential(0.0005, events.size)
    lat = EventLattice(refit_s=1e9)  # frozen: force the wrong (2×) lattice
    lat.nominal_s = lat.interval_s = 2 * ci
    lat._phase = 0.0007
    n_timed = 0
    for e_true, h in zip(events, host, strict=True):
        e = lat.event_time(float(h))
        if e is not None:
            n_timed += 1
            assert e >= e_true + 0.0007 - 1e-9
    assert 0.3 * events.size < n_timed <= 0.5 * events.size + 1


def test_parity_flip_stream_stays_valid() -> None:
    ci = 0.0075
    events = np.concatenate([np.arange(0, 1000) * 2 * ci, (np.arange(1000, 2000) * 2 + 1) * ci])
    host = events + 0.0007 + np.random.default_rng(3).exponential(0.0005, events.size)
    lat = EventLattice()
    for e_true, h in zip(events, host, strict=True):
        lat.push(float(h))
        e = lat.event_time(float(h))
        if e is not None:
            assert e >= e_true + 0.0007 - 1e-4
    assert lat.locked


@pytest.mark.parametrize("interval_s", [0.015, 0.030])
def test_event_timing_beats_receive_times(interval_s: float) -> None:
    """Same stream, with and without the lattice: the OS delay leaves the fit."""
    errs = {}
    for on in (False, True):
        rng = np.random.default_rng(11)
        sensor = SensorModel(odr_error=0.009, drift_ppm=-20.0)
        stream = simulate_stream(40.0, sensor, LinkModel(interval_s, loss=0.05), rng)
        # drift_sd_ppm=0: the drift held at 0 before 20 s, so only the lattice differs
        m = ClockMapper(latency_floor_s=stream.latency_floor_s, event_lattice=on, drift_sd_ppm=0.0)
        rx, err = run_live(stream, m)
        late = rx - rx[0] > 10.0
        errs[on] = np.percentile(np.abs(err[late]), 50)
    assert errs[True] < 0.6 * errs[False]
