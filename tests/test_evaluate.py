"""Scoring of detected vs true exchanges (batonsense.evaluate)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from batonsense.evaluate import (
    EVENTS,
    Score,
    combine,
    event_time,
    match,
    median,
    p95,
    score,
)
from batonsense.model import Exchange, Outcome


def ex(
    grab: float | None,
    release: float | None = None,
    *,
    reach: float | None = None,
    giver: str | None = "A",
    receiver: str | None = "B",
    outcome: Outcome = Outcome.COMPLETED,
    drop: float | None = None,
    clock: str = "recording",
) -> Exchange:
    if release is None and grab is not None and outcome is Outcome.COMPLETED:
        release = grab + 0.2
    return Exchange(
        giver=giver,
        receiver=receiver,
        reach_s=reach,
        grab_s=grab,
        release_s=release,
        outcome=outcome,
        drop_s=drop,
        clock=clock,
    )


# --- event_time ---------------------------------------------------------------


def test_event_time_prefers_grab_then_release_then_drop() -> None:
    assert event_time(ex(1.0, 2.0, reach=0.5)) == 1.0
    assert event_time(Exchange("A", "B", 0.5, None, 2.0)) == 2.0
    assert event_time(Exchange("A", None, None, None, None, Outcome.DROPPED, drop_s=3.0)) == 3.0
    # reach alone is not an event time
    assert event_time(Exchange("A", "B", 0.5, None, None)) is None


# --- matching -------------------------------------------------------------------


def test_perfect_detection() -> None:
    true = [ex(10.0, 10.2, reach=9.5), ex(20.0, 20.3, reach=19.0)]
    s = score(true, list(true))
    assert (s.n_true, s.n_detected, s.n_matched) == (2, 2, 2)
    assert s.recall == s.precision == 1.0
    assert s.giver_correct == s.receiver_correct == 1.0
    for e in ("reach", "grab", "release", "overlap"):
        np.testing.assert_array_equal(s.abs_ms(e), [0.0, 0.0])
    assert len(s.drop) == 0


def test_missed_and_extra() -> None:
    true = [ex(10.0), ex(20.0), ex(30.0)]
    det = [ex(10.01), ex(30.02), ex(45.0), ex(50.0)]
    s = score(true, det)
    assert s.n_true == 3 and s.n_detected == 4 and s.n_matched == 2
    assert s.n_missed == 1 and s.n_false == 2
    assert s.recall == pytest.approx(2 / 3)
    assert s.precision == pytest.approx(2 / 4)
    np.testing.assert_allclose(np.sort(s.grab), [10.0, 20.0])


def test_tolerance_is_inclusive_and_enforced() -> None:
    true = [ex(10.0)]
    assert score(true, [ex(10.999)]).n_matched == 1
    assert score(true, [ex(11.001)]).n_matched == 0
    assert score(true, [ex(11.001)], tolerance_s=2.0).n_matched == 1
    assert score(true, [ex(10.5)], tolerance_s=0.1).n_matched == 0
    with pytest.raises(ValueError):
        match(true, true, tolerance_s=-1.0)


def test_each_detection_used_once_closest_wins() -> None:
    # Two true exchanges 0.6 s apart, one detection between them but closer to the second.
    true = [ex(10.0), ex(10.6)]
    det = [ex(10.4)]
    assert match(true, det) == [(1, 0)]
    s = score(true, det)
    assert s.n_matched == 1
    np.testing.assert_allclose(s.grab, [200.0])


def test_greedy_takes_globally_closest_pair_first() -> None:
    # true0 at 0.0 and true1 at 0.5; det0 at 0.45 (closest to true1), det1 at 0.1
    true = [ex(0.0), ex(0.5)]
    det = [ex(0.45), ex(0.1)]
    assert match(true, det) == [(0, 1), (1, 0)]


def test_tie_breaks_deterministically() -> None:
    # One detection exactly between two true exchanges: the earlier true one gets it.
    true = [ex(10.0), ex(11.0)]
    det = [ex(10.5)]
    assert match(true, det) == [(0, 0)]
    # Two detections equally far from one true exchange: the earlier detection wins.
    assert match([ex(10.5)], [ex(10.0), ex(11.0)]) == [(0, 0)]


def test_order_of_inputs_does_not_matter_for_counts() -> None:
    true = [ex(30.0), ex(10.0), ex(20.0)]
    det = [ex(20.05), ex(10.01), ex(29.9)]
    s = score(true, det)
    assert s.n_matched == 3
    np.testing.assert_allclose(np.sort(s.grab), [10.0, 50.0, 100.0], atol=1e-6)


def test_wrong_giver_and_receiver() -> None:
    true = [ex(10.0, giver="A", receiver="B"), ex(20.0, giver="B", receiver="C")]
    det = [ex(10.0, giver="B", receiver="B"), ex(20.0, giver="B", receiver=None)]
    s = score(true, det)
    assert s.n_matched == 2
    assert s.giver_correct == 0.5
    assert s.receiver_correct == 0.5
    assert (s.n_giver_ok, s.n_receiver_ok) == (1, 1)


def test_none_fields_are_skipped_per_event() -> None:
    true = [
        ex(10.0, 10.3, reach=9.0),
        ex(20.0, 20.1, reach=None),
    ]
    det = [
        Exchange("A", "B", reach_s=9.010, grab_s=None, release_s=10.305),  # matched by release
        Exchange("A", "B", reach_s=19.0, grab_s=20.004, release_s=20.094),
    ]
    s = score(true, det)
    assert s.n_matched == 2
    np.testing.assert_allclose(s.reach, [10.0])  # second true has no reach
    np.testing.assert_allclose(s.grab, [4.0], atol=1e-6)  # first detection has no grab
    np.testing.assert_allclose(np.sort(s.release), [5.0, 6.0], atol=1e-6)
    # overlap only where both sides have grab and release: (0.090 - 0.100) s
    np.testing.assert_allclose(s.overlap, [10.0], atol=1e-6)
    np.testing.assert_allclose(s.signed_ms["overlap"], [-10.0], atol=1e-6)


def test_signed_errors_and_bias() -> None:
    true = [ex(10.0, 10.2), ex(20.0, 20.2), ex(30.0, 30.2)]
    det = [ex(10.003, 10.2), ex(20.005, 20.2), ex(29.999, 20.2 + 10)]
    s = score(true, det)
    np.testing.assert_allclose(s.signed_ms["grab"], [3.0, 5.0, -1.0], atol=1e-6)
    np.testing.assert_allclose(s.grab, [3.0, 5.0, 1.0], atol=1e-6)
    assert s.bias("grab") == pytest.approx(3.0)
    assert s.median("grab") == pytest.approx(3.0)
    assert s.p95("grab") == pytest.approx(np.percentile([3.0, 5.0, 1.0], 95))


def test_drops() -> None:
    true = [
        ex(10.0, outcome=Outcome.DROPPED, release=10.1, drop=10.15),
        ex(20.0, outcome=Outcome.DROPPED, release=None, drop=20.3),
        ex(30.0),
        Exchange("C", None, None, None, None, Outcome.DROPPED, drop_s=40.0),  # no grab at all
    ]
    det = [
        ex(10.01, outcome=Outcome.DROPPED, release=10.1, drop=10.16),  # found
        ex(20.0, release=20.2),  # matched but called completed
        ex(30.0, outcome=Outcome.DROPPED, release=30.2, drop=30.4),  # false drop
        Exchange("C", None, None, None, None, Outcome.DROPPED, drop_s=40.02),  # matched by drop
    ]
    s = score(true, det)
    assert s.n_matched == 4
    assert s.drops_true == 3
    assert s.drops_found == 2
    assert s.drops_false == 1
    np.testing.assert_allclose(np.sort(s.drop), [10.0, 20.0], atol=1e-6)


def test_empty_inputs() -> None:
    s = score([], [])
    assert (s.n_true, s.n_detected, s.n_matched) == (0, 0, 0)
    assert s.recall == s.precision == s.giver_correct == s.receiver_correct == 1.0
    for e in EVENTS:
        assert len(s.abs_ms(e)) == 0
        assert math.isnan(s.median(e)) and math.isnan(s.p95(e))

    fp = score([], [ex(5.0), ex(9.0)])  # false positives on a non-exchange recording
    assert fp.n_false == 2 and fp.precision == 0.0 and fp.recall == 1.0

    miss = score([ex(5.0)], [])
    assert miss.recall == 0.0 and miss.precision == 1.0 and miss.n_missed == 1


def test_unmatchable_exchanges_count_but_never_match() -> None:
    true = [Exchange("A", "B", 1.0, None, None)]
    det = [Exchange("A", "B", 1.0, None, None)]
    s = score(true, det)
    assert s.n_true == 1 and s.n_detected == 1 and s.n_matched == 0


def test_different_clocks_rejected() -> None:
    with pytest.raises(ValueError, match="clock"):
        score([ex(1.0, clock="recording")], [ex(1.0, clock="host")])


def test_combine_pools_counts_and_errors() -> None:
    s1 = score([ex(10.0), ex(20.0)], [ex(10.002), ex(20.0, giver="X")])
    s2 = score([ex(5.0), ex(15.0, outcome=Outcome.DROPPED, drop=15.3)], [ex(5.010), ex(99.0)])
    s3 = score([], [ex(1.0)])
    pooled = combine([s1, s2, s3])
    assert pooled.n_true == 4
    assert pooled.n_detected == 5
    assert pooled.n_matched == 3
    assert pooled.recall == pytest.approx(3 / 4)
    assert pooled.precision == pytest.approx(3 / 5)
    assert pooled.giver_correct == pytest.approx(2 / 3)
    assert pooled.receiver_correct == 1.0
    assert pooled.drops_true == 1 and pooled.drops_found == 0
    np.testing.assert_allclose(np.sort(pooled.grab), [0.0, 2.0, 10.0], atol=1e-6)
    # pooled fractions are not averages of fractions
    assert pooled.recall != pytest.approx((s1.recall + s2.recall + s3.recall) / 3)


def test_combine_empty_and_single() -> None:
    empty = combine([])
    assert empty.n_true == 0 and len(empty.grab) == 0
    s = score([ex(1.0)], [ex(1.004)])
    one = combine([s])
    assert one.to_dict() == s.to_dict()


def test_score_is_frozen_and_arrays_read_only() -> None:
    s = score([ex(1.0)], [ex(1.004)])
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.n_true = 5  # type: ignore[misc]
    with pytest.raises(ValueError):
        s.signed_ms["grab"][0] = 0.0
    with pytest.raises(TypeError):
        s.signed_ms["grab"] = np.zeros(1)  # type: ignore[index]
    with pytest.raises(KeyError):
        s.abs_ms("nonsense")
    assert isinstance(s, Score)


def test_to_dict_is_json_ready() -> None:
    s = score([ex(1.0, reach=0.5)], [ex(1.004, reach=None)])
    d = s.to_dict()
    json.dumps(d)
    assert d["grab_median_ms"] == pytest.approx(4.0)
    assert d["reach_median_ms"] is None and d["reach_n"] == 0
    assert d["recall"] == 1.0


def test_module_level_helpers() -> None:
    assert math.isnan(median(np.array([])))
    assert math.isnan(p95(np.array([])))
    assert median(np.array([1.0, 2.0, 30.0])) == 2.0
    assert p95(np.arange(101.0)) == pytest.approx(95.0)
