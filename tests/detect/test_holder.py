"""The holder tracker's rules on hand-made frame features (no signal processing)."""

from __future__ import annotations

import numpy as np

from batonsense.detect.config import HolderConfig
from batonsense.detect.frames import FrameFeatures
from batonsense.detect.holder import Handover, HolderTracker

HOP_S = 0.02


def _frames(kappa: np.ndarray, valid: np.ndarray) -> FrameFeatures:
    n = kappa.shape[0]
    return FrameFeatures(
        t_s=np.arange(n) * HOP_S,
        kappa=kappa,
        baton_energy=np.full(n, 20.0),
        baton_still=np.zeros(n, dtype=bool),
        free_fall=np.zeros(n, dtype=bool),
        valid=valid,
    )


def _in_step(n: int) -> tuple[np.ndarray, np.ndarray]:
    """ANA (wrist 0) holds at 0.99; BEA (wrist 1) walks in step at 0.98 from 1 s to 2.5 s."""
    kappa = np.column_stack([np.full(n, 0.99), np.full(n, 0.98)])
    kappa[:50, 1] = 0.3
    kappa[125:, 1] = 0.88
    return kappa, np.ones((n, 2), dtype=bool)


def test_a_gap_in_the_holders_stream_does_not_hand_the_baton_on() -> None:
    kappa, valid = _in_step(200)
    valid[100:125, 0] = False  # ANA's wrist: 0.5 s of frames without full data (lost packets)
    tracker = HolderTracker(["ANA", "BEA"])
    events = tracker.update(_frames(kappa, valid), HOP_S)
    assert events == []
    assert tracker.holder == "ANA"


def test_without_the_rule_the_same_gap_would_make_two_false_passes() -> None:
    kappa, valid = _in_step(200)
    valid[100:125, 0] = False
    tracker = HolderTracker(["ANA", "BEA"], HolderConfig(blind_max_s=0.0))
    events = tracker.update(_frames(kappa, valid), HOP_S)
    assert [type(e) for e in events] == [Handover, Handover]


def test_a_holder_sensor_gone_for_longer_lets_a_real_pass_through() -> None:
    n = 200
    kappa = np.column_stack([np.full(n, 0.99), np.full(n, 0.3)])
    valid = np.ones((n, 2), dtype=bool)
    valid[80:, 0] = False  # ANA's sensor disconnects at 1.6 s and stays away
    kappa[100:, 1] = 0.99  # BEA takes the baton at 2.0 s, 0.4 s into the outage
    tracker = HolderTracker(["ANA", "BEA"])
    events = tracker.update(_frames(kappa, valid), HOP_S)
    assert len(events) == 1 and isinstance(events[0], Handover)
    assert (events[0].giver_wrist, events[0].receiver_wrist) == (0, 1)
    # taken over once the outage is longer than blind_max_s (at 2.58 s), not at 2.0 s
    assert events[0].receiver_first_s >= 79 * HOP_S + tracker.config.blind_max_s - 1e-9


def _slowing_side_by_side(energy_radps2: float) -> FrameFeatures:
    """BEA holds; from 1 s ANA's wrist couples 0.98 and BEA's falls to 0.86."""
    n = 150
    kappa = np.column_stack([np.full(n, 0.3), np.full(n, 0.99)])
    kappa[50:] = [0.98, 0.86]
    ff = _frames(kappa, np.ones((n, 2), dtype=bool))
    ff.baton_energy[50:] = energy_radps2
    return ff


def test_a_nearly_still_baton_does_not_change_hands() -> None:
    # two runners slowing to a stop side by side: the baton barely rotates
    # (0.6 (rad/s)^2) and both wrists sway with it
    tracker = HolderTracker(["ANA", "BEA"])
    assert tracker.update(_slowing_side_by_side(0.6), HOP_S) == []
    assert tracker.holder == "BEA"


def test_the_same_couplings_at_running_energy_are_a_pass() -> None:
    tracker = HolderTracker(["ANA", "BEA"])
    events = tracker.update(_slowing_side_by_side(20.0), HOP_S)
    assert len(events) == 1 and (events[0].giver_wrist, events[0].receiver_wrist) == (1, 0)


def test_a_gap_in_the_gripping_wrist_does_not_move_the_hold_to_the_free_arm() -> None:
    # ANA wears both wrists and grips with the left (wrist 0); while the left has a
    # gap the right (free arm) couples 0.88, BEA walks in step at 0.98
    n = 200
    kappa = np.column_stack([np.full(n, 0.99), np.full(n, 0.5), np.full(n, 0.3)])
    valid = np.ones((n, 3), dtype=bool)
    valid[60:110, 0] = False
    kappa[60:110, 1] = 0.88
    kappa[75:110, 2] = 0.98
    tracker = HolderTracker(["ANA", "ANA", "BEA"])
    assert tracker.update(_frames(kappa, valid), HOP_S) == []
    assert tracker.holder == "ANA" and tracker.holder_wrist == 0


def test_a_few_frames_long_ago_do_not_date_a_later_pass() -> None:
    # BEA leads for 3 frames at 1 s (5 confirm), both then couple alike for 5 s
    # (in step), and BEA takes the baton at 6 s: the pass is at 6 s, not 1 s
    n = 400
    kappa = np.column_stack([np.full(n, 0.99), np.full(n, 0.3)])
    kappa[50:53] = [0.85, 0.99]
    kappa[53:300] = [0.99, 0.98]
    kappa[300:] = [0.5, 0.99]
    tracker = HolderTracker(["ANA", "BEA"])
    events = tracker.update(_frames(kappa, np.ones((n, 2), dtype=bool)), HOP_S)
    assert len(events) == 1
    assert abs(events[0].receiver_first_s - 300 * HOP_S) < 1e-9
    assert events[0].giver_last_s < 300 * HOP_S


def _pass(n: int = 150, at: int = 80) -> FrameFeatures:
    """ANA holds (wrist 0); at frame `at` BEA's hand (wrist 1) closes on the baton and ANA
    lets go: the short window couples BEA at 0.99 at once, ANA's own hold breaks
    (parting 40) while her long-window κ stays 0.99 (the hands part slowly), and the
    long window takes BEA only 12 frames (240 ms) later."""
    kappa = np.column_stack([np.full(n, 0.99), np.full(n, 0.3)])
    kappa[at:, 1] = np.linspace(0.5, 0.99, n - at)
    kappa[at + 12 :, 0] = 0.6
    kappa[at + 12 :, 1] = 0.99
    ff = _frames(kappa, np.ones((n, 2), dtype=bool))
    fast = kappa.copy()
    fast[at:, 1] = 0.99
    parting = np.ones((n, 2))
    parting[at : at + 10, 0] = 40.0
    return FrameFeatures(
        ff.t_s, kappa, ff.baton_energy, ff.baton_still, ff.free_fall, ff.valid, fast, parting
    )


def _always(t_s: float, wrist: int) -> bool:
    return True


def _never(t_s: float, wrist: int) -> bool:
    return False


def test_a_hand_that_grips_as_the_holder_lets_go_takes_over_at_once() -> None:
    tracker = HolderTracker(["ANA", "BEA"])
    events = tracker.update(_pass(), HOP_S, _always)
    assert len(events) == 1 and (events[0].giver_wrist, events[0].receiver_wrist) == (0, 1)
    # the first of the two quick frames, not the long window's frame 12 hops later
    assert abs(events[0].receiver_first_s - 80 * HOP_S) < 1e-9
    assert tracker.holder == "BEA"


def test_without_a_grip_the_pass_waits_for_the_long_window() -> None:
    # a free arm that turns like the baton fails the accelerometers' rigid-body test
    events = HolderTracker(["ANA", "BEA"]).update(_pass(), HOP_S, _never)
    assert len(events) == 1
    assert events[0].receiver_first_s >= 92 * HOP_S - 1e-9
    # and so does a detector that gives the tracker no grip test at all
    events = HolderTracker(["ANA", "BEA"]).update(_pass(), HOP_S)
    assert events[0].receiver_first_s >= 92 * HOP_S - 1e-9


def test_a_holder_breaking_their_own_fit_alone_is_not_a_pass() -> None:
    ff = _pass()
    assert ff.kappa_fast is not None
    ff.kappa_fast[80:92, 1] = 0.9  # BEA's hand does not (yet) turn with the baton
    events = HolderTracker(["ANA", "BEA"]).update(ff, HOP_S, _always)
    assert events[0].receiver_first_s >= 92 * HOP_S - 1e-9


def test_no_quick_take_over_from_a_holder_who_was_not_told_apart_lately() -> None:
    # BEA has coupled like ANA (in step, no margin) for 2.6 s before the quick frames
    ff = _pass(n=300, at=230)
    ff.kappa[100:242, 1] = 0.98
    events = HolderTracker(["ANA", "BEA"]).update(ff, HOP_S, _always)
    assert len(events) == 1 and events[0].receiver_first_s >= 242 * HOP_S - 1e-9
    # a holder told apart 1.2 s before still hands over at once
    ff = _pass(n=300, at=230)
    ff.kappa[170:242, 1] = 0.98
    events = HolderTracker(["ANA", "BEA"]).update(ff, HOP_S, _always)
    assert len(events) == 1 and abs(events[0].receiver_first_s - 230 * HOP_S) < 1e-9


def test_the_giver_cannot_take_the_baton_straight_back() -> None:
    # after the quick take-over ANA's long-window κ still leads for a while
    ff = _pass()
    ff.kappa[92:110] = [0.99, 0.85]
    events = HolderTracker(["ANA", "BEA"]).update(ff, HOP_S, _always)
    assert len(events) == 1 and events[0].receiver_wrist == 1
    tracker = HolderTracker(["ANA", "BEA"])
    tracker.update(ff, HOP_S, _always)
    assert tracker.holder == "BEA"


def test_a_hand_turning_with_the_baton_while_the_holder_keeps_it_is_not_a_pass() -> None:
    ff = _pass()
    assert ff.parting is not None
    ff.parting[:] = 2.0  # ANA's hand keeps to the rigid relation of her hold
    events = HolderTracker(["ANA", "BEA"]).update(ff, HOP_S, _always)
    assert events[0].receiver_first_s >= 92 * HOP_S - 1e-9


def test_the_receiver_must_couple_at_least_as_well_as_the_holder() -> None:
    ff = _pass()
    assert ff.kappa_fast is not None
    ff.kappa_fast[80:92, 0] = 0.995  # the baton still turns with ANA's hand more than BEA's
    events = HolderTracker(["ANA", "BEA"]).update(ff, HOP_S, _always)
    assert len(events) == 1 and events[0].receiver_first_s >= 92 * HOP_S - 1e-9


def test_no_quick_take_over_while_the_baton_barely_turns() -> None:
    ff = _pass()
    ff.baton_energy[80:92] = 4.0  # (rad/s)²: a walk; the long window still may take it later
    events = HolderTracker(["ANA", "BEA"]).update(ff, HOP_S, _always)
    assert len(events) == 1 and events[0].receiver_first_s >= 92 * HOP_S - 1e-9


def test_no_quick_take_over_while_the_holders_wrist_has_a_gap() -> None:
    ff = _pass()
    ff.valid[70:92, 0] = False  # lost packets: parting and κ say nothing about ANA's hand
    events = HolderTracker(["ANA", "BEA"]).update(ff, HOP_S, _always)
    assert len(events) == 1 and events[0].receiver_first_s >= 92 * HOP_S - 1e-9


def test_frames_a_grip_test_refused_do_not_date_a_later_hold() -> None:
    # BEA's quick frames fail the accelerometers' test until frame 86; the hold
    # dates from the frames that passed it, not from frame 80
    def grips_from_86(t_s: float, wrist: int) -> bool:
        return t_s >= 86 * HOP_S - 1e-9

    ff = _pass()
    events = HolderTracker(["ANA", "BEA"]).update(ff, HOP_S, grips_from_86)
    assert len(events) == 1
    assert 84 * HOP_S - 1e-9 <= events[0].receiver_first_s <= 86 * HOP_S + 1e-9
