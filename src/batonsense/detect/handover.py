"""Turning a hand-over or a fall found by the holder tracker into a timed Exchange."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from batonsense.detect.align import hold_lag_s, on_baton_clock
from batonsense.detect.config import (
    DEFAULT,
    DetectorConfig,
    FallConfig,
    GiveConfig,
    ReleaseConfig,
    SensorsConfig,
)
from batonsense.detect.contact import contact_onset
from batonsense.detect.holder import Fall, Handover
from batonsense.detect.rigid import acc_residual, acc_residual_vec, clipped, residual_change
from batonsense.detect.technique import classify_technique
from batonsense.detect.timing import (
    common_impulse,
    fit_rotation,
    free_fall_start,
    jerk,
    log_step,
    position_time,
    reach_start,
    residual,
    split_time,
    step_position,
    usable_or_all,
)
from batonsense.detect.uncertainty import confidence, grab_pm_ms, release_pm_ms, uncertainty_extra
from batonsense.model import GRAVITY_MPS2, Exchange, Outcome, SensorInfo, SensorStream

Grid = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


def _grab_impact(
    t: np.ndarray,
    acc_b: np.ndarray,
    acc_r: np.ndarray,
    rate_hz: float,
    start_s: float,
    end_s: float,
    cfg: FallConfig = DEFAULT.fall,
) -> float | None:
    """First contact: a jerk common to baton and receiving wrist in [start_s, end_s]."""
    return common_impulse(
        t, jerk(acc_b, rate_hz), jerk(acc_r, rate_hz), start_s, end_s,
        cfg.impulse_ref_s, cfg.impulse_min_ratio, cfg.impulse_each_ratio, cfg.impulse_onset_frac,
    )  # fmt: skip


def _lag_n(
    native_hz: Mapping[str, float],
    ids: tuple[str, ...],
    grid_hz: float,
    cfg: ReleaseConfig = DEFAULT.release,
) -> int:
    """Grid samples over which the residual's change is taken: one sample period of
    the slowest of the sensors `ids`, at least cfg.min_change_lag_s."""
    return max(
        1,
        round(grid_hz / min(native_hz.get(i, grid_hz) for i in ids)),
        round(cfg.min_change_lag_s * grid_hz),
    )


def _usable(
    data: Grid,
    sid: str,
    native_hz: Mapping[str, float],
    fs: float,
    cfg: SensorsConfig = DEFAULT.sensors,
) -> np.ndarray:
    """Grid samples of sensor sid a rigid-body fit may use: inside its data (no long
    gap) and not within one native sample of a clipped value (a sensor at full
    scale under-reads, and the fit bends to explain it)."""
    acc, gyro, valid = data[sid]
    pad = max(1, round(fs / native_hz.get(sid, fs)))
    acc_rail = cfg.min_acc_rail_g * GRAVITY_MPS2
    return valid & ~clipped(acc, pad, acc_rail) & ~clipped(gyro, pad, cfg.min_gyro_rail_radps)


def _window(t: np.ndarray, start_s: float, end_s: float) -> tuple[int, int]:
    return int(np.searchsorted(t, start_s)), int(np.searchsorted(t, end_s))


def _grip_quality(
    t: np.ndarray,
    data: Grid,
    baton: SensorInfo,
    w: SensorInfo,
    fit: tuple[float, float],
    fs: float,
    cfg: SensorsConfig = DEFAULT.sensors,
) -> float:
    """Lower is a better grip: acc residual / raw difference of specific forces − κ.

    Only the gripping hand satisfies the rigid-body relation of the
    accelerometers, so its lever-arm fit explains most of the raw difference;
    used to tell which of an athlete's two instrumented hands holds the baton.
    """
    acc_bt, gyro_bt, _ = data[baton.id]
    acc_w, gyro_w, _ = data[w.id]
    held = (t >= fit[0]) & (t <= fit[1])
    if not held.any():
        return np.inf
    rot, kappa = fit_rotation(t, gyro_bt, gyro_w, *fit)
    ef, _ = acc_residual(acc_bt, acc_w, gyro_w, rot, fs, held, cfg.max_lever_m)
    raw = np.linalg.norm(acc_bt @ rot - acc_w, axis=1)
    return float(np.median(ef[held])) / max(float(np.median(raw[held])), 1e-6) - kappa


def _gripping_wrist(
    t: np.ndarray,
    data: Grid,
    baton: SensorInfo,
    wrists: list[SensorInfo],
    tracked: int,
    fit: tuple[float, float],
    fs: float,
    cfg: SensorsConfig = DEFAULT.sensors,
) -> SensorInfo:
    """Of the tracked wrist's athlete's wrists, the one that grips best over `fit`."""
    same = [w for w in wrists if w.athlete == wrists[tracked].athlete]
    if len(same) == 1:
        return same[0]
    return min(same, key=lambda w: _grip_quality(t, data, baton, w, fit, fs, cfg))


def _lever_m(
    t: np.ndarray,
    data: Grid,
    baton: SensorInfo,
    w: SensorInfo,
    rot: np.ndarray,
    fit: tuple[float, float],
    fs: float,
    usable: np.ndarray | None = None,
    cfg: SensorsConfig = DEFAULT.sensors,
) -> float:
    """Lever arm (m) of the rigid-body fit of baton and wrist w over the hold `fit`
    (on the `usable` samples only, as R was fitted, when enough of them are left)."""
    held = (t >= fit[0]) & (t <= fit[1])
    if usable is not None:
        held = usable_or_all(held, usable, cfg.min_usable_n)
    _, r = acc_residual_vec(
        data[baton.id][0], data[w.id][0], data[w.id][1], rot, fs, held, max_lever_m=np.inf
    )
    return float(np.linalg.norm(r))


def grips(
    t: np.ndarray,
    data: Grid,
    baton: SensorInfo,
    w: SensorInfo,
    start_s: float,
    end_s: float,
    fs: float,
    cfg: SensorsConfig = DEFAULT.sensors,
) -> bool:
    """Whether wrist w's hand holds the baton over [start_s, end_s]: the rigid-body fit
    of the accelerometers puts the baton's sensor within cfg.max_grip_lever_m of the wrist.

    The gyros alone cannot tell a grip from a free arm that happens to turn like
    the baton for a moment (a runner in step, an arm swung alongside); a free arm
    mostly does not carry the baton's linear acceleration.  On 372 windows each
    (suite and other seeds, 0.3-0.7 s before the grab and after the release),
    hands holding the baton passed 99 % and 100 % of the time, free arms 13 %: a
    filter, not proof (fitted lever arms: see config.SensorsConfig).
    """
    # only the grid up to end_s: the angular acceleration at the window's last point
    # is then one-sided whether more data follow (a whole recording) or not (live)
    lo = int(np.searchsorted(t, start_s - cfg.grip_lead_s))
    hi = int(np.searchsorted(t, end_s, "right"))
    part = {k: (data[k][0][lo:hi], data[k][1][lo:hi], data[k][2][lo:hi]) for k in (baton.id, w.id)}
    t = t[lo:hi]
    fit = (start_s, end_s)
    rot, _ = fit_rotation(t, part[baton.id][1], part[w.id][1], *fit)
    return _lever_m(t, part, baton, w, rot, fit, fs, cfg=cfg) <= cfg.max_grip_lever_m


def _sensed(
    giver_lever_m: float, receiver_lever_m: float, cfg: SensorsConfig = DEFAULT.sensors
) -> tuple[bool, bool]:
    """Whether the giver's and the receiver's holding hands wear the tracked sensors.

    A hand that grips must pass the rigid-body test; else its athlete held the
    baton in the hand without a sensor, and events of that hand are not timed.
    Both failing at once is what a hold window that ran past the pass looks like
    (the tracker followed a free arm), not a missing sensor: a normal pass.
    """
    giver = giver_lever_m <= cfg.max_grip_lever_m
    receiver = receiver_lever_m <= cfg.max_grip_lever_m
    if not giver and not receiver:
        return True, True
    return giver, receiver


def _change_step(
    t: np.ndarray,
    change: np.ndarray,
    r0: int,
    r1: int,
    corr_n: float = 1.0,
    cfg: ReleaseConfig = DEFAULT.release,
) -> tuple[float, float]:
    """Where change[r0:r1] steps up (log fit of the trace scaled by its median) and by how much.

    Returns (time of the step in s, sub-sample: see timing.step_position, contrast):
    the contrast is the ratio of the medians over cfg.contrast_s after and before the
    step, a measure normalised by the noise of this very hold, whatever the
    sensors and rate.  corr_n: samples over which the trace's noise is correlated.
    """
    x = change[r0:r1] / max(float(np.median(change[r0:r1])), 1e-12)
    pos = step_position(x, cfg.step_floor, True, corr_n, cfg.step_area_half_n)
    i = int(np.clip(round(pos + 0.5), 1, len(x) - 1))
    n = max(3, round(cfg.contrast_s / float(t[1] - t[0])))
    contrast = float(np.median(x[i : i + n])) / max(float(np.median(x[max(0, i - n) : i])), 1e-12)
    return position_time(t, r0 + pos), contrast


def _release(
    t: np.ndarray,
    change_acc: np.ndarray,
    change_gyro: np.ndarray,
    after_s: float,
    rough_rel: float,
    corr_n: float = 1.0,
    cfg: ReleaseConfig = DEFAULT.release,
) -> tuple[float, float, float]:
    """The giver lets go: where the change of the giver's rigid-body residual steps up.

    change_acc / change_gyro: `residual_change` of the acceleration (m/s²) and
    gyro (rad/s) residuals.  While the hand grips, both change only by noise
    and slow drift (the wrist flexing), whatever the lever-arm error; when it
    lets go it moves on its own.  Searched from just after the contact's
    ringing (cfg.after_contact_s) to cfg.after_rough_s after the gyro level's
    step (rough_rel), which can lag the release but not precede it by much: a
    longer search also takes in the free hand moving on after the release, a
    second, bigger rise that a single split prefers.  An acceleration step
    leading the gyro's by more than cfg.acc_leads_gyro_s is searched again from
    cfg.far_lead_s before it.  A hand that opens while pulled apart shows it
    first in the accelerometers (the grip force vanishes); the gyro decides
    only when its step is clearly (cfg.gyro_sharper) sharper and a clear
    (cfg.lead_min_contrast) acceleration step does not lead it within
    cfg.acc_leads_gyro_s, e.g. a hand that just turns away without any force
    to lose.

    Returns (release time, clarity, spread): clarity is the larger of the two
    steps' contrasts, how sharply this hold model sees the parting; spread (s)
    how far apart the acceleration's and the gyro's steps are.
    """
    r0, r1 = _window(
        t,
        after_s + cfg.after_contact_s,
        max(rough_rel + cfg.after_rough_s, after_s + cfg.min_search_s),
    )
    if r1 - r0 <= 6:
        return rough_rel, 0.0, np.inf
    t_acc, contrast = _change_step(t, change_acc, r0, r1, corr_n, cfg)
    t_gyro, contrast_gyro = _change_step(t, change_gyro, r0, r1, corr_n, cfg)
    lead_min_s, lead_max_s = cfg.acc_leads_gyro_s
    if t_gyro - t_acc > lead_max_s:
        # too early to be this parting (a tug in the overlap): search again near the gyro's
        lo = max(r0, int(np.searchsorted(t, t_gyro - cfg.far_lead_s)))
        if r1 - lo > 6:
            t_acc, contrast = _change_step(t, change_acc, lo, r1, corr_n, cfg)
    # the grip force vanishes at the release, the rotations part a little later: a clear
    # acceleration step 5-30 ms before the gyro's is the same parting, seen first
    acc_leads = lead_min_s < t_gyro - t_acc <= lead_max_s and contrast >= cfg.lead_min_contrast
    spread_s = abs(t_gyro - t_acc)
    gyro_wins = contrast_gyro > cfg.gyro_sharper * contrast and not acc_leads
    release_s = t_gyro if gyro_wins else t_acc
    return release_s, max(contrast, contrast_gyro), spread_s


def _weigh_holds(
    found: list[tuple[float, float, float]], cfg: ReleaseConfig = DEFAULT.release
) -> tuple[float, float, float]:
    """One release from each hold model's (time, clarity, spread): their mean
    weighted by clarity**cfg.clarity_power, the weighted acc-gyro spread, and how far
    the models' releases lie from that mean (s, weighted mean distance).

    Taking the clearer model outright made the release flip between the two
    models' times (12-97 ms apart) when their clarities were about equal and a
    clock offset of a millisecond tipped the balance (session 8, skew check).
    """
    times = np.array([f[0] for f in found])
    w = np.array([max(f[1], 1e-6) ** cfg.clarity_power for f in found])
    w = w / w.sum()
    spreads = np.array([f[2] for f in found])
    release_s = float(np.sum(w * times))
    return release_s, float(np.sum(w * spreads)), float(np.sum(w * np.abs(times - release_s)))


def _give_fit(
    t: np.ndarray,
    gyro_bt: np.ndarray,
    gyro_a: np.ndarray,
    usable: np.ndarray,
    rough_grab: float,
    rough_rel: float,
    cfg: GiveConfig = DEFAULT.give,
    min_usable_n: int = DEFAULT.sensors.min_usable_n,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Rotation and lever-arm stretch of the giver's hold fitted over the give (the arm
    held out towards the receiver before the pass; see config.GiveConfig), or None."""
    end_s = rough_rel - cfg.end_before_rough_release_s
    start_s = min(rough_grab - cfg.before_grab_s, end_s - cfg.min_s)
    rot, kappa = fit_rotation(t, gyro_bt, gyro_a, start_s, end_s, usable, min_usable_n)
    if kappa < cfg.min_kappa:
        return None
    return rot, usable_or_all((t >= start_s) & (t <= end_s), usable, min_usable_n)


def _align_holds(
    t: np.ndarray,
    data: Grid,
    baton: SensorInfo,
    holds: tuple[tuple[SensorInfo, tuple[float, float] | None, np.ndarray], ...],
    cfg: DetectorConfig = DEFAULT,
) -> tuple[Grid, dict[str, float]]:
    """Each wrist of `holds` (with the stretch of its hold, None: no hold to measure,
    and the samples its fit with the baton may use) put on the baton's clock by the
    lag that hold shows (see align.py).  Returns the data (a new dict: the caller's
    is left alone) and the lags (s) by id."""
    out = dict(data)
    lags: dict[str, float] = {}
    for w, fit, ok in holds:
        if fit is None or w.id in lags or w.id == baton.id:
            continue  # a hand without a sensor: its wrist is a free arm, no hold
        lags[w.id] = hold_lag_s(t, data[baton.id][1], data[w.id][1], *fit, ok, cfg.align)
        out[w.id] = on_baton_clock(t, data[w.id], lags[w.id])
    return out, lags


@dataclass(frozen=True, slots=True)
class _Holds:
    """The two holds of a pass on one set of grid data: usable samples, mount
    rotations, couplings, whether each hand carries a sensor, and where the gyro
    residuals step (rough grab and release, s)."""

    ok_a: np.ndarray
    ok_b: np.ndarray
    rot_a: np.ndarray
    rot_b: np.ndarray
    kappa_a: float
    kappa_b: float
    giver_sensed: bool
    receiver_sensed: bool
    rough_grab: float
    rough_rel: float


def _holds(
    t: np.ndarray,
    data: Grid,
    baton: SensorInfo,
    wa: SensorInfo,
    wb: SensorInfo,
    fits: tuple[tuple[float, float], tuple[float, float]],
    ev: Handover,
    native_hz: Mapping[str, float],
    fs: float,
    cfg: DetectorConfig = DEFAULT,
) -> _Holds | None:
    fit_a, fit_b = fits
    sc, rc = cfg.sensors, cfg.rough
    gyro_bt = data[baton.id][1]
    gyro_a, gyro_b = data[wa.id][1], data[wb.id][1]
    ok_bt = _usable(data, baton.id, native_hz, fs, sc)
    ok_a = ok_bt & _usable(data, wa.id, native_hz, fs, sc)
    ok_b = ok_bt & _usable(data, wb.id, native_hz, fs, sc)
    # mount rotations from the two holds (gyros: no lever arm, no gravity)
    rot_a, kappa_a = fit_rotation(t, gyro_bt, gyro_a, *fit_a, ok_a, sc.min_usable_n)
    rot_b, kappa_b = fit_rotation(t, gyro_bt, gyro_b, *fit_b, ok_b, sc.min_usable_n)
    giver_sensed, receiver_sensed = _sensed(
        _lever_m(t, data, baton, wa, rot_a, fit_a, fs, ok_a, sc),
        _lever_m(t, data, baton, wb, rot_b, fit_b, fs, ok_b, sc),
        sc,
    )
    # rough release / grab: where the gyro residuals step by an order of magnitude
    i0, i1 = _window(t, ev.giver_last_s - rc.giver_search_before_s,
                     float(t[-1]) + rc.giver_search_after_s)  # fmt: skip
    if i1 - i0 < 8:
        return None
    e_a = residual(gyro_bt, gyro_a, rot_a)
    rough_rel = split_time(t, i0 + log_step(e_a[i0:i1], rc.gyro_floor_radps, True))
    # the grab precedes the release; with the giver's hand unsensed, rough_rel is the
    # free arm's and says nothing: search up to the receiver's confirmed hold instead
    anchor = rough_rel if giver_sensed else ev.receiver_first_s
    j0, j1 = _window(t, anchor - rc.receiver_search_s, anchor)
    e_b = residual(gyro_bt, gyro_b, rot_b)
    rough_grab = (
        split_time(t, j0 + log_step(e_b[j0:j1], rc.gyro_floor_radps, False))
        if j1 - j0 > 4
        else anchor
    )
    if not giver_sensed:
        rough_rel = max(rough_rel, rough_grab)
    return _Holds(ok_a, ok_b, rot_a, rot_b, kappa_a, kappa_b, giver_sensed, receiver_sensed,
                  rough_grab, rough_rel)  # fmt: skip


def time_handover(
    t: np.ndarray,
    data: Grid,
    baton: SensorInfo,
    wrists: list[SensorInfo],
    ev: Handover,
    cfg: DetectorConfig,
    native_hz: Mapping[str, float],
) -> Exchange | None:
    """Grab, release and reach for a confirmed hand-over (grid data on t).

    When an athlete wears sensors on both wrists, the one whose hand grips the
    baton (rigid-body test) times that side.  Both gripping wrists' data are put
    on the baton's clock first (align.py) so that the rigid-body residuals hold
    whatever the sensors' clock offsets; the grab is on the baton's clock and the
    release on the giver's wrist's (each as mapped onto the host clock).
    native_hz: each sensor's own sample rate (Hz), which sets the lag over which
    the residual's change is taken.
    """
    fs = cfg.grid_rate_hz
    sc, rel = cfg.sensors, cfg.release
    acc_bt, gyro_bt, _ = data[baton.id]
    fit_a = (ev.giver_last_s - cfg.window_s - cfg.rough.giver_fit_extra_s, ev.giver_last_s)
    fit_b = (ev.receiver_first_s - cfg.rough.receiver_fit_window_frac * cfg.window_s, float(t[-1]))
    wa = _gripping_wrist(t, data, baton, wrists, ev.giver_wrist, fit_a, fs, sc)
    wb = _gripping_wrist(t, data, baton, wrists, ev.receiver_wrist, fit_b, fs, sc)
    rough = _holds(t, data, baton, wa, wb, (fit_a, fit_b), ev, native_hz, fs, cfg)
    if rough is None:
        return None
    first = min(rough.rough_grab, rough.rough_rel)
    # both wrists onto the baton's clock: the giver's by the lag its hold before the pass
    # shows, the receiver's by its hold from just after the grab on (see config.AlignConfig)
    clear_s = cfg.align.clear_of_pass_s
    data, lags = _align_holds(t, data, baton, (
        (wa, (fit_a[0], first - clear_s) if rough.giver_sensed else None, rough.ok_a),
        (wb, (rough.rough_grab + clear_s, fit_b[1]) if rough.receiver_sensed else None,
         rough.ok_b),
    ), cfg)  # fmt: skip
    h = _holds(t, data, baton, wa, wb, (fit_a, fit_b), ev, native_hz, fs, cfg)
    if h is None:
        return None
    acc_a, gyro_a, _ = data[wa.id]
    acc_b, gyro_b, _ = data[wb.id]
    ok_a, ok_b, rot_a, rot_b = h.ok_a, h.ok_b, h.rot_a, h.rot_b
    kappa_a, kappa_b = h.kappa_a, h.kappa_b
    giver_sensed, receiver_sensed = h.giver_sensed, h.receiver_sensed
    rough_grab, rough_rel = h.rough_grab, h.rough_rel
    # the giver's hold, two ways: R from the long hold and r up to the pass, or both
    # from the give (the arm held out before the pass, where the wrist stops flexing)
    lag_n = _lag_n(native_hz, (baton.id, wa.id), fs, rel)
    held_a = (t >= fit_a[0]) & (t <= min(rough_grab, rough_rel) - rel.hold_end_before_rough_s)
    holds = [(rot_a, usable_or_all(held_a, ok_a, sc.min_usable_n))]
    give = _give_fit(t, gyro_bt, gyro_a, ok_a, rough_grab, rough_rel, cfg.give, sc.min_usable_n)
    if give is not None:
        holds.insert(0, give)
    changes = []
    for rot, held in holds:
        v_a, _ = acc_residual_vec(acc_bt, acc_a, gyro_a, rot, fs, held, sc.max_lever_m)
        changes.append(
            (residual_change(v_a, lag_n), residual_change(gyro_bt - gyro_a @ rot.T, lag_n))
        )
    held_b = t >= max(rough_grab + cfg.grab.hold_fit_after_rough_s, fit_b[0])
    held_b = usable_or_all(held_b, ok_b, sc.min_usable_n)
    v_b, _ = acc_residual_vec(acc_bt, acc_b, gyro_b, rot_b, fs, held_b, sc.max_lever_m)
    ef_b = np.linalg.norm(v_b, axis=1)
    # grab: the collision, just before the receiver's residual drops to its quiet level
    gc = cfg.grab
    g0, g1 = _window(t, rough_grab - gc.search_before_rough_s, max(
        rough_rel - gc.search_end_before_release_s, rough_grab + gc.min_search_s
    ))  # fmt: skip
    slack_s = 1.0 / native_hz.get(wb.id, fs)  # one of the wrist's own samples
    jolt = np.where(data[wb.id][2], jerk(acc_b, fs), np.nan)
    grab_s, grab_how = (
        contact_onset(t, ef_b, g0, g1, jolt, slack_s, gc) if g1 - g0 > 6 else (rough_grab, "step")
    )
    reach_s = reach_start(t, gyro_b, grab_s, cfg.reach)
    # the residual is in the wrist's frame: R takes it into the baton's
    # (only from a collision: without one the impulse window holds nothing but noise)
    technique = None
    if grab_how != "step":
        technique = classify_technique(t, acc_bt, gyro_bt, v_b @ rot_b.T, grab_s, cfg.technique)
    # the release is searched after the grab; a grab timed on the receiver's free arm
    # says nothing, so then from before the gyro's rough release (which lags the release)
    after_s = grab_s if receiver_sensed else rough_rel - rel.unsensed_receiver_before_rough_s
    release_s, spread_s, apart_s = _weigh_holds(
        [_release(t, ca, cg, after_s, rough_rel, lag_n, rel) for ca, cg in changes], rel
    )
    # the release shows in the giver's hand moving on its own: back on its wrist's clock
    # (the grab, a jolt of the light baton, stays on the baton's), so that neither
    # time depends to first order on how well the lag was measured
    release_s += lags.get(wa.id, 0.0)
    uc = cfg.uncertainty
    grab_pm = grab_pm_ms(grab_how, native_hz.get(wb.id, fs), fs, uc)
    release_pm = release_pm_ms(
        spread_s, min(native_hz.get(i, fs) for i in (baton.id, wa.id)), fs, apart_s, uc
    )
    unsensed = tuple(
        role for role, ok in (("giver", giver_sensed), ("receiver", receiver_sensed)) if not ok
    )
    if not giver_sensed:
        release_s, release_pm = None, None
    if not receiver_sensed:
        grab_s = reach_s = grab_pm = technique = None
    return Exchange(
        giver=wa.athlete,
        receiver=wb.athlete,
        reach_s=reach_s,
        grab_s=grab_s,
        release_s=release_s,
        outcome=Outcome.COMPLETED,
        giver_hand=wa.hand if giver_sensed else None,
        receiver_hand=wb.hand if receiver_sensed else None,
        technique=technique,
        confidence=confidence(min(kappa_a, kappa_b), grab_pm, release_pm, cfg=uc),
        extra={"rough_grab_s": rough_grab, "rough_release_s": rough_rel}
        | {"clock_lag_ms": {sid: round(1e3 * lag, 2) for sid, lag in lags.items()}}
        | ({"unsensed_hands": list(unsensed)} if unsensed else {})
        | uncertainty_extra(grab_pm, release_pm),
    )


def _intended_receiver(
    t: np.ndarray,
    data: Grid,
    wrists: list[SensorInfo],
    giver: SensorInfo,
    drop_s: float,
    cfg: FallConfig = DEFAULT.fall,
) -> int | None:
    """The athlete who was meant to take the baton: the hardest-running other athlete.

    At an exchange the receiver sprints away from the go mark; runners who
    finished or wait for their leg jog or stand.  Running shows as step impacts,
    i.e. a large spread of the wrist's specific force (std over
    cfg.receiver_window_s above cfg.receiver_min_std_g).
    """
    sel = (t >= drop_s - cfg.receiver_window_s) & (t <= drop_s)
    if np.count_nonzero(sel) < 10:
        return None
    best, best_std = None, cfg.receiver_min_std_g * GRAVITY_MPS2
    for j, w in enumerate(wrists):
        if w.athlete == giver.athlete:
            continue
        std = float(np.linalg.norm(data[w.id][0][sel], axis=1).std())
        if std > best_std:
            best, best_std = j, std
    return best


def time_fall(
    t: np.ndarray,
    data: Grid,
    baton: SensorInfo,
    wrists: list[SensorInfo],
    ev: Fall,
    cfg: DetectorConfig,
    baton_native: SensorStream,
    native_hz: Mapping[str, float],
) -> Exchange | None:
    """A dropped exchange: release by the giver, free fall, intended receiver if any.

    The free fall's start is timed on the baton's own samples (baton_native), not
    on the interpolated grid, which would smear the collapse of |f| over a sample.
    """
    wa = wrists[ev.giver_wrist]
    fc, fs = cfg.fall, cfg.grid_rate_hz
    acc_bt, gyro_bt, _ = data[baton.id]
    drop_s = free_fall_start(baton_native.t_s, baton_native.acc_mps2, ev.fall_s, fc.start_g)
    acc_a, gyro_a, _ = data[wa.id]
    fit_a = (ev.giver_last_s - cfg.window_s - cfg.rough.giver_fit_extra_s, ev.giver_last_s)
    rot_a, kappa_a = fit_rotation(t, gyro_bt, gyro_a, *fit_a)
    # the giver let go at the latest when the free fall began
    i0, i1 = _window(t, ev.giver_last_s - cfg.rough.giver_search_before_s,
                     drop_s + fc.search_after_s)  # fmt: skip
    release_s = drop_s
    if i1 - i0 > 8:
        e_a = residual(gyro_bt, gyro_a, rot_a)
        rough = split_time(t, i0 + log_step(e_a[i0:i1], cfg.rough.gyro_floor_radps, rising=True))
        held = (t >= fit_a[0]) & (t <= rough - fc.hold_end_before_rough_s)
        v_a, _ = acc_residual_vec(acc_bt, acc_a, gyro_a, rot_a, fs, held, cfg.sensors.max_lever_m)
        lag_n = _lag_n(native_hz, (baton.id, wa.id), fs, cfg.release)
        # a falling baton parts from the hand at once, a touching hand may delay it
        r0, r1 = _window(
            t,
            max(rough - fc.release_before_rough_s, drop_s - fc.release_before_fall_s),
            min(rough + fc.release_after_rough_s, drop_s + fc.release_after_fall_s),
        )
        if r1 - r0 > 6:
            change = residual_change(v_a, lag_n)
            step_s, _ = _change_step(t, change, r0, r1, lag_n, cfg.release)
            release_s = min(drop_s, step_s)
    j = _intended_receiver(t, data, wrists, wa, drop_s, fc)
    wb = wrists[j] if j is not None else None
    grab_s = None
    reach_s = None
    if wb is not None:
        acc_w, gyro_w = data[wb.id][0], data[wb.id][1]
        grab_s = _grab_impact(
            t, acc_bt, acc_w, fs, release_s - fc.grab_before_release_s, drop_s, fc
        )
        reach_s = reach_start(t, gyro_w, grab_s if grab_s is not None else drop_s, cfg.reach)
    return Exchange(
        giver=wa.athlete,
        receiver=None if wb is None else wb.athlete,
        reach_s=reach_s,
        grab_s=grab_s,
        release_s=min(release_s, drop_s),
        outcome=Outcome.DROPPED,
        giver_hand=wa.hand,
        receiver_hand=None if wb is None else wb.hand,
        drop_s=drop_s,
        confidence=float(np.clip(kappa_a, 0.0, 1.0)),
    )
