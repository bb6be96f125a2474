"""The detector on simulated recordings: error bounds asserted, not just output."""

from __future__ import annotations

import numpy as np
import pytest

from batonsense.detect import detect_exchanges
from batonsense.evaluate import match, score
from batonsense.model import Outcome
from batonsense.sim import simulate

from .live import stream_live


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


def test_a_hand_without_a_sensor_is_named_and_its_event_not_timed() -> None:
    """mixed_rates: CAT wears a sensor on the left wrist only but passes with the right.

    Such passes are found with the right athletes.  A hand that is named as having no
    sensor never has one (no false flag), has a null hand and a null event; the
    other runner's event is still timed.  Not every hand without a sensor is caught
    (the lever-arm test misses free arms that fit within 0.42 m): at least half.
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
    assert flagged >= 4 and flagged >= missed, (flagged, missed)
    assert np.mean(other_ok) >= 0.75, other_ok


def test_lost_packets_of_the_holder_make_no_false_pass() -> None:
    # lossy seed 501, 3 reps: ANA carries the baton back walking in step with BEA
    # (BEA's wrist couples 0.98) when ANA's wrist loses ~0.1 s of packets; that
    # once made two false passes (ANA -> BEA -> ANA, 0.4 s apart)
    sim = simulate("lossy", seed=501, n_reps=3)
    s = score(list(sim.truth), detect_exchanges(sim.recording))
    assert s.recall == 1.0 and s.precision == 1.0, (s.n_true, s.n_detected, s.n_matched)
