"""The detector on simulated recordings: error bounds asserted, not just output."""

from __future__ import annotations

import numpy as np
import pytest

from batonsense.detect import detect_exchanges
from batonsense.evaluate import match, score
from batonsense.model import Outcome
from batonsense.sim import simulate

from batonsense.detect import ExchangeDetector
from batonsense.detect.holder import Handover

from .live import live_detector, stream_live


def _check(scenario: str, seed: int, grab_ms: float, release_ms: float, **kw: object) -> None:
    sim = simulate(scenario, seed=seed, **kw)
    found = detect_exchanges(sim.recording)
    s = score(list(sim.truth), found)
    assert s.n_true >= 2
    assert s.recall == 1.0 and s.precision == 1.0, (s.n_true, s.n_detected, s.n_matched)
    assert s.giver_correct == 1.0 and s.receiver_correct == 1.0
    assert s.drops_found == s.drops_true
    assert s.median("grab") <= grab_ms and s.median("release") <= release_ms
    # no single event far off: a wrong spike or a wrong step would be tens of ms
    assert np.max(s.grab) <= 4 * grab_ms and np.max(s.release) <= 8 * release_ms


@pytest.mark.parametrize("seed", [11, 12])
def test_drill_200hz_timing(seed: int) -> None:
    _check("drill_200hz", seed, grab_ms=5.0, release_ms=5.0, n_reps=3)


def test_drill_100hz_timing() -> None:
    _check("drill_100hz", 13, grab_ms=10.0, release_ms=10.0, n_reps=3)


def test_drill_400hz_timing() -> None:
    _check("drill_400hz", 14, grab_ms=5.0, release_ms=5.0, n_reps=3)


def test_relay_4x100_giver_receiver_and_hands() -> None:
    sim = simulate("relay_4x100", seed=15)
    found = detect_exchanges(sim.recording)
    assert [(e.giver, e.receiver) for e in found] == [(e.giver, e.receiver) for e in sim.truth]
    assert [(e.giver_hand, e.receiver_hand) for e in found] == [
        (e.giver_hand, e.receiver_hand) for e in sim.truth
    ]


def test_drops_are_found_with_the_intended_receiver() -> None:
    sim = simulate("drops_long_reach", seed=1, n_reps=4)
    found = detect_exchanges(sim.recording)
    true_drops = [e for e in sim.truth if e.outcome is Outcome.DROPPED]
    got_drops = [e for e in found if e.outcome is Outcome.DROPPED]
    assert len(true_drops) >= 1 and len(got_drops) == len(true_drops)
    for t, d in zip(true_drops, got_drops, strict=True):
        assert (d.giver, d.receiver) == (t.giver, t.receiver)
        assert abs(d.drop_s - t.drop_s) <= 0.015


@pytest.mark.parametrize("scenario", ["carry", "ground", "practice", "stand"])
def test_no_exchange_without_a_hand_over(scenario: str) -> None:
    sim = simulate(scenario, seed=21)
    assert sim.truth == ()
    assert detect_exchanges(sim.recording) == []


def test_live_stream_matches_offline_within_1ms() -> None:
    rec = simulate("drill_200hz", seed=16, n_reps=2).recording
    offline = detect_exchanges(rec)
    live = stream_live(rec, 0.1)
    assert len(live) == len(offline) >= 2
    for a, b in zip(live, offline, strict=True):
        assert (a.giver, a.receiver) == (b.giver, b.receiver)
        assert abs(a.grab_s - b.grab_s) <= 1e-3 and abs(a.release_s - b.release_s) <= 1e-3


def test_live_in_20ms_blocks_hands_over_in_the_same_frames_as_offline() -> None:
    """The service polls every 20 ms of data: every tracker decision (the quick
    take-over's grip test included) must be the one a whole recording gives, and
    the hand-over is confirmed soon after the release (the quick take-over)."""
    sim = simulate("drill_200hz", seed=17, n_reps=3)
    rec = sim.recording
    offline = ExchangeDetector(rec.sensors).detect(rec)
    live = live_detector(rec, 0.02)
    assert live.tracker.events == offline.tracker.events
    handovers = [e for e in live.tracker.events if isinstance(e, Handover)]
    releases = sorted(t.release_s for t in sim.truth if t.release_s is not None)
    assert len(handovers) == len(releases) >= 3
    lag_s = [h.receiver_first_s - r for h, r in zip(handovers, releases, strict=True)]
    assert all(0.0 < x < 0.2 for x in lag_s), lag_s  # the long window alone: 0.13-0.32 s
    assert float(np.median(lag_s)) < 0.12, lag_s
    ex_live = sorted(live.exchanges_, key=lambda e: e.time_s)
    assert [(e.giver, e.grab_s, e.release_s) for e in ex_live] == [
        (e.giver, e.grab_s, e.release_s) for e in offline.exchanges_
    ]


def test_the_grip_test_tells_holding_hands_from_free_arms() -> None:
    """Accelerometers' rigid-body test over 0.2 s (the quick take-over's check): hands
    that hold the baton pass it, most free arms do not (on 372 simulated windows
    each: 99-100 % and 13 %)."""
    from batonsense.detect.grid import make_grid, resample
    from batonsense.detect.handover import grips
    from batonsense.model import Role

    sim = simulate("drill_200hz", seed=18, n_reps=4)
    rec = sim.recording
    baton = next(s for s in rec.sensors if s.role is Role.BATON)
    wrist = {(s.athlete, s.hand): s for s in rec.sensors if s.role is Role.WRIST}
    holding, free = [], []
    for ex in sim.truth:
        if ex.grab_s is None or ex.release_s is None:
            continue
        t = make_grid(ex.grab_s - 2.0, ex.release_s + 1.0, 400.0)
        data = {s: resample(rec.streams[s], t) for s in rec.streams}
        giver = wrist[(ex.giver, ex.giver_hand)]
        receiver = wrist[(ex.receiver, ex.receiver_hand)]
        for dt_s in (0.3, 0.5, 0.7):
            before, after = ex.grab_s - dt_s, ex.release_s + dt_s
            holding.append(grips(t, data, baton, giver, before - 0.2, before, 400.0))
            holding.append(grips(t, data, baton, receiver, after - 0.2, after, 400.0))
            free.append(grips(t, data, baton, receiver, before - 0.2, before, 400.0))
            free.append(grips(t, data, baton, giver, after - 0.2, after, 400.0))
    assert len(holding) >= 18
    assert sum(holding) >= 0.95 * len(holding), holding
    assert sum(free) <= 0.3 * len(free), free


def test_a_hand_without_a_sensor_is_named_and_its_event_not_timed() -> None:
    """mixed_rates: CAT wears a sensor on the left wrist only but passes with the right.

    Such passes are found with the right athletes.  A hand that is named as having no
    sensor never has one (no false flag), has a null hand and a null event; the
    other runner's event is still timed.  Not every hand without a sensor is caught
    (the lever-arm test misses free arms that fit within 0.42 m).  Measured on these
    seeds: 7 of 16 caught since the simulated push stopped tracking the receiver's
    swinging hand (session 6; it was at least half while the push clipped both
    sensors, which gave the free arm's fit more to disagree with).
    """
    flagged = missed = 0
    other_ok: list[bool] = []
    for seed in (803, 804, 805, 806):
        res = simulate("mixed_rates", seed=seed, n_reps=6)
        sensed = {(w.athlete, w.hand) for w in res.recording.wrists}
        det = detect_exchanges(res.recording)
        pairs = match(list(res.truth), det)
        assert len(pairs) >= len(res.truth) - 1
        for i, j in pairs:
            t, d = res.truth[i], det[j]
            assert (d.giver, d.receiver) == (t.giver, t.receiver)
            assert d.to_dict()["hands_without_sensor"] == list(d.hands_without_sensor)
            for role, who, hand in (("giver", t.giver, t.giver_hand),
                                    ("receiver", t.receiver, t.receiver_hand)):  # fmt: skip
                if role in d.hands_without_sensor:
                    assert (who, hand) not in sensed  # never a false flag
                    flagged += 1
                elif (who, hand) not in sensed:
                    missed += 1
            if d.hands_without_sensor == ("giver",):
                assert d.release_s is None and d.giver_hand is None
                other_ok.append(abs(d.grab_s - t.grab_s) < 0.025)
            elif d.hands_without_sensor == ("receiver",):
                assert d.grab_s is None and d.reach_s is None and d.receiver_hand is None
                other_ok.append(abs(d.release_s - t.release_s) < 0.025)
    assert flagged >= 4 and flagged >= 0.4 * (flagged + missed), (flagged, missed)
    assert np.mean(other_ok) >= 0.75, other_ok


def test_lost_packets_of_the_holder_make_no_false_pass() -> None:
    # lossy seed 501, 3 reps: ANA carries the baton back walking in step with BEA
    # (BEA's wrist couples 0.98) when ANA's wrist loses ~0.1 s of packets; that
    # once made two false passes (ANA -> BEA -> ANA, 0.4 s apart)
    sim = simulate("lossy", seed=501, n_reps=3)
    s = score(list(sim.truth), detect_exchanges(sim.recording))
    assert s.recall == 1.0 and s.precision == 1.0, (s.n_true, s.n_detected, s.n_matched)
