"""StampLattice: v3 event stamps are recognised (through jitter, drift, shared
events and a counter wrap); v2 hand-offs and v1 packets of an IMU off nominal are not."""

from __future__ import annotations

import numpy as np
import pytest

from batonsense.sync._stamps import StampLattice
from batonsense.sync.simulate import UINT32_US_PERIOD_S


def _feed(times: np.ndarray, **kw: float) -> StampLattice:
    lat = StampLattice(**kw)
    for t in times:
        lat.push(float(t))
    return lat


def _event_stamps(rng: np.random.Generator, interval_s: float, n: int = 200) -> np.ndarray:
    """Anchors of the events 20 ms packets go in: every event at or after each packet,
    on a sensor clock 60 ppm fast, with 0-50 µs of tick and ISR jitter."""
    ready = 3.0 + np.arange(n) * 0.020 + rng.uniform(0, 0.001)
    events = np.ceil(ready / interval_s) * interval_s * (1 + 60e-6)
    jitter = rng.uniform(0.0, 5e-5, events.size)
    first = np.r_[0, np.flatnonzero(np.diff(events)) + 1]  # one jitter per event
    same = np.repeat(first, np.diff(np.r_[first, events.size]))
    return (events + jitter)[same]


@pytest.mark.parametrize("interval_s", [0.0075, 0.015, 0.030, 0.040, 0.050])
def test_event_stamps_are_recognised(interval_s: float) -> None:
    rng = np.random.default_rng(1)
    assert _feed(_event_stamps(rng, interval_s)).on_lattice


def test_random_hand_offs_and_sliding_imus_are_not() -> None:
    rng = np.random.default_rng(2)
    t_last = 3.0 + np.arange(300) * 0.020
    v2 = np.maximum.accumulate(t_last + rng.uniform(0, 0.020, t_last.size))
    assert not _feed(v2).on_lattice
    for odr in (0.015, -0.004, 0.001):  # v1 last-sample times of an IMU off nominal
        assert not _feed(3.0 + np.arange(300) * 0.020 * (1 + odr)).on_lattice


def test_a_counter_wrap_keeps_the_verdict_and_a_reboot_starts_over() -> None:
    rng = np.random.default_rng(3)
    stamps = _event_stamps(rng, 0.030) + UINT32_US_PERIOD_S - 3.0 - 2.0  # wraps 2 s in
    lat = StampLattice(wrap_period_s=UINT32_US_PERIOD_S)
    seen = []
    for t in np.mod(stamps, UINT32_US_PERIOD_S):
        lat.push(float(t))
        seen.append(lat.on_lattice)
    first = seen.index(True)
    assert all(seen[first:])  # never lost across the wrap
    lat.push(0.5)  # a reboot: the clock restarts
    assert not lat.on_lattice
