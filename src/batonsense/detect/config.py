"""Every parameter of the exchange detector, in one place, per stage.

Each field is named with its unit (`_s`, `_hz`, `_mps2`, `_radps`, `_radps2`
for (rad/s)², `_g` for multiples of 9.81 m/s², `_m`, `_ms`, `_n` for a count of
samples; none: a ratio), carries a docstring saying what it means, and a comment
above it saying where the value comes from (a physical figure, a measurement, a
tuning run).  The history of the tuning is in docs/detection.md, whose
parameter table is generated from this file (tests/detect/test_config_doc.py).

The stages follow the data: grid → frames → holder → rough → grab → release
(give) → align → reach → fall → technique → uncertainty; `live` says when an
exchange is final.  `DetectorConfig` nests them; its old flat names
(`grid_rate_hz`, `hop_s`, `lookahead_s`, ...) still read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class GridConfig:
    """Putting every sensor on one time grid (grid.py)."""

    # 2.5 ms: finer than any sensor's sample period up to 400 Hz; anchored at absolute
    # multiples so a grid point is the same whichever chunk it is computed in
    rate_hz: float = 400.0
    """Rate of the common grid every sensor is interpolated onto."""
    # a lost BLE notification holds 2-6 samples (20-60 ms); longer is missing data
    max_gap_s: float = 0.12
    """Gap between two samples beyond which grid points inside it are invalid."""


@dataclass(frozen=True, slots=True)
class FramesConfig:
    """Frame features every hop: coupling, parting, still, free fall (frames.py, coupling.py)."""

    # 50 frames a second: fine enough for the holder tracker's confirmations
    hop_s: float = 0.02
    """Time between two frames."""
    # about one arm cycle at a sprint: coupling over it tells the gripping hand
    window_s: float = 0.4
    """Window over which the coupling κ of the baton with each wrist is measured."""
    # a hand that has just taken the baton reaches κ 0.97 on it a median 37 ms before
    # the release, where the long window needs 140 ms after it
    fast_window_s: float = 0.2
    """Short coupling window, for the quick take-over."""
    parting_fit_s: float = 0.6
    """Stretch of the holder's hold over which its fixed rotation R is fitted."""
    parting_lag_s: float = 0.15
    """How long before the frame that fit ends."""
    # 40 ms: two frames; the parting is the ratio of mean squared residuals over it to the fit's
    parting_recent_s: float = 0.04
    """Recent stretch judged against the fixed R (the parting ratio)."""
    # a fit on a baton at rest is not a hold: a floor of (0.01 rad/s)² per sample
    parting_min_fit_radps2: float = 1e-4
    """Floor of the fit's mean squared gyro residual in the parting ratio."""
    # a gyro at rest reads noise of a few 0.01 rad/s
    still_gyro_radps: float = 0.15
    """The baton lies still while every sample's |ω| stays below this ..."""
    still_acc_mps2: float = 0.6
    """... and |f| stays within this of 1 g, over a whole window."""
    # A falling baton reads ~0 g; a hand can pull it down at 1 g only briefly (a quick
    # put-down stays near 0 g for < 0.15 s); a fall from hand height (>= 0.5 m) lasts > 0.3 s.
    free_fall_g: float = 0.2
    """The baton falls free while |f| stays below this (plus the spin allowance) ..."""
    free_fall_min_s: float = 0.2
    """... for at least this long."""
    # a spinning baton's sensor sits off the centre of mass and reads the centripetal
    # ω²r even in free fall: the sensor sits up to ~0.15 m from the middle
    spin_radius_m: float = 0.15
    """Radius of the centripetal allowance ω²r in the free-fall test."""
    max_spin_g: float = 0.25
    """Largest centripetal allowance."""


@dataclass(frozen=True, slots=True)
class HolderConfig:
    """The causal holder tracker: who holds the baton, and when that changes (holder.py).

    The quick take-over (parting_min, fast_confirm_s, quick_*): the long window's κ
    shows the giver letting go only 130-320 ms after the release (the hand and the
    baton rotate apart slowly, and a window refits its rotation), too late for live
    feedback.  So a new athlete also takes over when, for fast_confirm_s, their
    wrist couples ≥ kappa_switch over the short window *and* the holder's wrist
    breaks the rigid relation of its own hold (parting ≥ parting_min).  Neither
    alone says "passed": a runner carrying the baton breaks their own fit at times
    (up to 100× at a hard arm swing), and a team-mate in step couples 0.97 over
    0.2 s now and then.  On 67 simulated passes the pair is met a median 69 ms and
    at most 126 ms (p95) after the release, never before it.
    """

    # below it the baton barely rotates and coupling says nothing (runners standing)
    min_energy_radps2: float = 0.5
    """Mean |ω|² of the baton below which nobody is called the holder."""
    # RMS 1.4 rad/s.  A pass at a run swings it far more (396 simulated hand-overs: at
    # least 3.8, median 63 (rad/s)²); two runners slowing to a stop side by side sway
    # the baton and both wrists alike, and at 0.6 one read as a pass.
    min_switch_energy_radps2: float = 2.0
    """A new athlete takes over only while the baton rotates at least this much."""
    kappa_on: float = 0.8
    """Coupling a wrist needs to be called the holder."""
    margin: float = 0.08
    """Lead in coupling the holder needs over every other athlete's wrists."""
    # the gripping hand reaches ~0.99, while the holder's free arm (a near-mirror
    # swing) and a team-mate running in step reach 0.85-0.95
    kappa_switch: float = 0.97
    """Coupling a new athlete needs to take over from the holder."""
    confirm_s: float = 0.1
    """A new holder is confirmed after this long of frames in a row."""
    max_transition_s: float = 1.6
    """Longest time between the giver's last hold and the receiver's first for a hand-over."""
    # also: the previous holder of a quick take-over cannot take the baton back for this long
    min_hold_s: float = 0.4
    """Shortest hold of the giver before a hand-over."""
    drop_window_s: float = 1.2
    """A free fall within this long after the holder last held the baton is a drop."""
    # Two athletes walking in step can couple 0.98 with the baton; only the holder's
    # 0.99 beside it tells them apart, so a gap in the holder's stream must not hand
    # the baton on.  A sensor gone for longer (disconnected) no longer blocks.
    blind_max_s: float = 1.0
    """While the holder's wrist has no data, nobody takes over for up to this long."""
    # mean squared gyro residual 9× the hold's, i.e. 3× in amplitude
    parting_min: float = 9.0
    """Parting ratio at which the holder's wrist breaks its own hold (quick take-over)."""
    fast_confirm_s: float = 0.04
    """The quick take-over is confirmed after this long (two frames)."""
    # 0.3 s sent a demo pass whose giver held loosely (κ 0.76-0.80) to the long window:
    # 314 instead of 154 ms; 0.3, 1 and 5 s gave identical results on 474 simulated passes
    quick_fresh_s: float = 2.0
    """The holder must have been told apart (led by the margin) within this long."""
    # RMS 2.2 rad/s; at the quick frame of 416 simulated passes the 5th percentile was
    # 6.9; at a walk κ over 0.2 s says little
    quick_min_energy_radps2: float = 5.0
    """Least rotation of the baton for a quick take-over."""
    # a run of frames broken for longer than this many hops starts again (else a few
    # frames long ago would date a later pass)
    candidate_gap_hops: float = 2.5
    """A candidate's run of frames is broken by a pause longer than this many hops."""


@dataclass(frozen=True, slots=True)
class SensorsConfig:
    """Which samples and which hands the rigid-body fits trust (handover.py, timing.py, rigid.py)."""

    # the smallest full scales IMUs offer (±2 g, ±125 °/s): a repeated extreme below
    # them is a still or slow sensor whose readings repeat, not a rail
    min_acc_rail_g: float = 2.0
    """Smallest |value| of a repeated extreme counted as an accelerometer's rail."""
    min_gyro_rail_radps: float = float(math.radians(125.0))
    """Smallest |value| of a repeated extreme counted as a gyro's rail."""
    # 25 ms at the 400 Hz grid
    min_usable_n: int = 10
    """Fewest usable samples a fit is restricted to; with fewer the whole stretch is fitted."""
    # wrist to grip ~0.1 m, grip to end cap up to ~0.15 m
    max_lever_m: float = 0.6
    """The rigid-body fit's lever arm is clipped to this length."""
    # A hand that grips sits within ~0.3 m of the baton's sensor (mounts add a few cm);
    # a lever arm further out means the relation was fitted on the athlete's *other*,
    # free arm.  Simulated (unclipped fits, session-5 simulator): gripping wrists
    # 0.04-0.40 m; of 45 free arms on 12 mixed_rates seeds 31 fit beyond 0.42 m, 14
    # within (not caught).  Session 6 (fits leave out clipped samples): on 22
    # mixed_rates recordings 44 hands without a sensor named, 21 missed, 2 sensed hands
    # wrongly named (5 when the lever arm still used the clipped samples).  At the quick
    # take-over (0.2 s, 416 passes) receiving hands fitted 0.19 m median, 0.33 m p95,
    # 0.48 m p99; the two free arms that had taken a quick take-over 0.64 and 1.7 m.
    max_grip_lever_m: float = 0.42
    """A hand whose fitted lever arm to the baton's sensor is longer does not grip it."""
    # the angular acceleration at the window's first point needs samples before it
    grip_lead_s: float = 0.05
    """Data taken before the grip test's window."""


@dataclass(frozen=True, slots=True)
class RoughConfig:
    """The holds of a pass and where their gyro residuals step (handover.py)."""

    # the hold the tracker saw, plus this long before its window
    giver_fit_extra_s: float = 0.8
    """The giver's hold is fitted from this long before its last coupling window."""
    receiver_fit_window_frac: float = 0.5
    """The receiver's hold is fitted from this share of a window before its first frame."""
    giver_search_before_s: float = 0.8
    """The rough release is searched from this long before the giver's last frame ..."""
    giver_search_after_s: float = 1.0
    """... to this long after the data's end (all of it)."""
    receiver_search_s: float = 1.0
    """The rough grab is searched over this long before the rough release."""
    # a gyro's noise floor is ~0.01 rad/s: the log fit is scale-free above it
    gyro_floor_radps: float = 0.02
    """Added to the gyro residual before its log-step fit."""


@dataclass(frozen=True, slots=True)
class GrabConfig:
    """The grab: the collision that starts the receiver's hold (contact.py, handover.py)."""

    search_before_rough_s: float = 0.1
    """The grab is searched from this long before the rough grab ..."""
    search_end_before_release_s: float = 0.005
    """... to this long before the rough release ..."""
    min_search_s: float = 0.12
    """... but at least this long."""
    hold_fit_after_rough_s: float = 0.03
    """The receiver's lever arm is fitted from this long after the rough grab."""
    # the residual's quiet level while held is a few m/s²
    floor_mps2: float = 0.5
    """Added to the acceleration residual before its log-step fit; also the least quiet level."""
    spike_base_s: float = 0.015
    """A spike must rise spike_ratio above its own preceding stretch this long ..."""
    spike_ratio: float = 3.0
    """... and this many times above the hold's quiet level."""
    before_step_s: float = 0.03
    """Spikes are looked for from this long before the step down to the hold level."""
    # A collision jolts both bodies.  A bump the wrist does not feel (the giver still
    # swinging the baton in, the baton sliding in the grip) is not the contact.
    min_contact_jolt: float = 2.0
    """The receiving wrist's jerk must rise this many times above its background ..."""
    jolt_background_s: float = 0.3
    """... its median over this long before the search."""
    # fewer: no level at all (nothing counts as felt)
    min_jolt_background_n: int = 20
    """Fewest wrist samples with data in the background for a level."""
    # a still wrist's sensor noise alone gives ~20 m/s³ at 400 Hz, so a background of
    # zeros does not make any jerk "felt"
    min_jolt_level_mps3: float = 1.0
    """Smallest background jerk level."""
    # the giver's last swing into the hand ends within it; later bumps the wrist feels
    # (a slide, the release jolt) belong to the hold
    contact_spread_s: float = 0.1
    """Only spikes this close after the first one compete to be the contact."""
    rise_frac: float = 0.2
    """The contact's onset: where its spike rises through this share of its peak."""


@dataclass(frozen=True, slots=True)
class ReleaseConfig:
    """The release: where the change of the giver's rigid-body residual steps up (handover.py)."""

    # shorter lags at 400 Hz were noise-dominated and made releases late on unseen seeds
    min_change_lag_s: float = 0.01
    """The residual's change is taken over one native sample period, at least this long."""
    # the giver's hold fit stops short of the pass
    hold_end_before_rough_s: float = 0.02
    """The giver's lever arm is fitted up to this long before the first rough event."""
    # just after the contact's ringing
    after_contact_s: float = 0.025
    """The release is searched from this long after the grab ..."""
    # can lag the release but not precede it by much: a longer search also takes in
    # the free hand moving on, a second bigger rise (suite release p95 at 100 Hz
    # 80 -> 18 ms with 20 ms instead of 50)
    after_rough_s: float = 0.02
    """... to this long after the gyro's rough release ..."""
    min_search_s: float = 0.1
    """... or at least this long after the grab."""
    # the gyro's rough release lags the release by ~0.05-0.12 s; on 12 mixed_rates seeds,
    # releases off by > 25 ms went 9 -> 6 of 48 (0.3 s: 8; from the free arm's grab they
    # were 100-300 ms off)
    unsensed_receiver_before_rough_s: float = 0.15
    """With the receiver's hand unsensed, the release is searched from this long before the rough release."""
    step_floor: float = 0.1
    """Added to the change trace (scaled by its median) before its log-step fit."""
    contrast_s: float = 0.02
    """A step's contrast: ratio of the medians over this long after and before it."""
    gyro_sharper: float = 2.0
    """The gyro's step decides only when its contrast is this many times the acceleration's."""
    # Measured on 110 simulated releases: never (gyro always wins when sharper) made 4 of
    # 51 at >= 200 Hz late by 16-25 ms; up to 30 ms made 2, 50 ms the same; on 116 others
    # (unseen seeds) 30 ms changed nothing at >= 200 Hz and fixed one at 100 Hz, 50 ms
    # made one more late.  A lead within 5 ms (a 200 Hz sample; dω/dt is a central
    # difference, half a grid step early) is within the resolution.
    acc_leads_gyro_s: tuple[float, float] = (0.005, 0.03)
    """How far the acceleration's step may precede the gyro's and be the same parting."""
    # The gyros part within this long after the grip goes (lag 6-60 ms); an acceleration
    # step further before is something in the overlap (a tug, a regrip).  Session 4: on
    # 158 passes of never-used seeds, release p95 16.0 -> 13.1 ms at >= 200 Hz and
    # 77 -> 70 ms at 100 Hz (> 15 ms: 5 -> 4, 15 -> 10); 0.06-0.12 s gave the same
    # within a few ms.
    far_lead_s: float = 0.08
    """An acceleration step leading too far is searched again from this long before the gyro's."""
    # with the search ending 20 ms after the rough release, a 1.9× wobble 10 ms before a
    # 140× gyro step (a hand turning away, no force to lose) had won
    lead_min_contrast: float = 2.5
    """Only a leading acceleration step this clear overrules a sharper gyro step."""
    # one that sees the parting twice as sharply counts 16 times more; taking the clearer
    # outright flipped the release between models 12-97 ms apart (session 8, skew check)
    clarity_power: float = 4.0
    """The hold models' releases are weighted by clarity to this power."""
    # for an ideal step the area is the split itself
    step_area_half_n: int = 3
    """Half-width (samples, at least) over which a step's sub-sample position is measured."""


@dataclass(frozen=True, slots=True)
class GiveConfig:
    """The give: the giver's arm held out towards the receiver before the pass (handover.py).

    While the arm swings (sprinting) the wrist flexes and the wrist sensor turns
    against the baton by several degrees; a rotation fitted over the long hold then
    misfits the pass by ~8°, and the misfit grows into a change that reads as an
    early release.  Measured on 420 simulated passes of other seeds (hold, sweep and
    fresh-1 sets, simulator of session 6): release p95 19.0 -> 13.4 ms (>= 200 Hz)
    and 26.7 -> 19.1 ms (100 Hz); the same data from the session-5 simulator
    15.4 -> 11.8 and 22.4 -> 22.2 ms (13.8 / 22.0 and 13.8 / 25.6 once the sensor
    test's lever arm also left out clipped samples).
    Start 0.25-0.35 s and end 0.05-0.15 s before gave 12.8-15.3 and 19.1-22.2 ms.
    Used alone, the give fit cost the suite's 100 Hz p95 9.3 -> 24.4 ms (few samples
    at 100 Hz make its lever arm noisy), hence the weighing by clarity.
    """

    before_grab_s: float = 0.3
    """The give is fitted from this long before the rough grab ..."""
    # the rough release lags the release by 6-60 ms
    end_before_rough_release_s: float = 0.1
    """... to this long before the rough release ..."""
    min_s: float = 0.1
    """... over at least this long."""
    # else a free arm, a hand without a sensor: the long hold's fit is used alone
    min_kappa: float = 0.9
    """A give that couples less is not a hold to fit."""


@dataclass(frozen=True, slots=True)
class AlignConfig:
    """Putting the gripping wrists on the baton's clock (align.py)."""

    # delivery floors (1-3 ms), anti-alias group delays (half a sample: 5 ms at 100 Hz)
    # and the clock fit's own error stay within it; clamped, not dropped, so that the
    # shift stays continuous in the data
    max_lag_s: float = 0.012
    """Largest offset between two sensors' mapped clocks looked for."""
    min_lag_n: int = 40
    """Fewest hold samples for the lag to be measured at all."""
    # a still hand shows no timing
    min_lag_energy_radps2: float = 0.5
    """Least rotation (mean |ω|²) over them."""
    # The arm swing (~2 Hz) turns the hand against the forearm's sensor with a phase of
    # its own, which the full signals read as a lag: on 4 simulated recordings 2.0-3.4 ms
    # early against the true offsets (std 0.8-1.5 ms).  What is left above ~20 Hz passes
    # through the grip as through one body: 0.6-1.3 ms early (std 0.4-1.1 ms); 25 ms:
    # 0.8-2.1; 100 ms: 0.7-1.6 (session 8).
    highpass_s: float = 0.05
    """The lag is fitted on the gyros less their running mean over this long."""
    iterations: int = 4
    """Gauss-Newton steps (each re-interpolates the wrist at the lag so far)."""
    # Fitted over the whole hold the tracker saw, which reaches into the pass, the giver's
    # came out 2-5 ms early on 16 simulated passes (session 8).  The receiver's hold in
    # the data a pass is timed on (up to 80 ms after the hold is confirmed) is the
    # overlap and a little after: fitted there on the full gyros its lag made the
    # suite's grab p95 at >= 200 Hz 6.3 -> 23.4 ms; on the high-passed gyros 6.3 -> 3.9
    # ms, 100 Hz release p95 10.4 -> 6.3 ms, and the skew check's max 38 -> 5 ms.
    clear_of_pass_s: float = 0.05
    """The giver's lag is measured on its hold up to this long before the pass (before
    the rough grab or release, whichever is first), the receiver's from this long after
    the rough grab."""


@dataclass(frozen=True, slots=True)
class ReachConfig:
    """The start of the receiver's reach (timing.reach_start)."""

    lookback_s: float = 3.0
    """The reach is looked for over this long before the grab."""
    min_peak_radps: float = 1.0
    """An arm that never swung faster about its swing axis has no reach to time."""
    active_frac: float = 0.25
    """A stroke is a rotation above this share of the peak."""


@dataclass(frozen=True, slots=True)
class FallConfig:
    """A dropped baton: the fall's start, the giver's release, the intended receiver (handover.py)."""

    # |f| collapses to ~0 within one sample when the last hand lets go
    start_g: float = 0.35
    """The free fall starts midway between the last sample above this and the first below."""
    search_after_s: float = 0.1
    """The giver's rough release is searched up to this long after the fall's start."""
    hold_end_before_rough_s: float = 0.03
    """The giver's lever arm is fitted up to this long before the rough release."""
    # earlier steps are the giver whipping the baton into the pass, still held
    release_before_rough_s: float = 0.15
    """The release is searched from this long before the rough release ..."""
    # unsupported, a baton falls at once; a touching hand may delay it a few tens of ms
    release_before_fall_s: float = 0.05
    """... and from no earlier than this long before the fall ..."""
    release_after_rough_s: float = 0.05
    """... to this long after the rough release ..."""
    release_after_fall_s: float = 0.02
    """... and no later than this long after the fall."""
    # the receiver sprints from the go mark; runners who finished or wait jog or stand
    receiver_window_s: float = 1.5
    """The intended receiver runs hardest over this long before the fall ..."""
    receiver_min_std_g: float = 0.4
    """... with a spread (std) of their wrist's |f| of at least this."""
    grab_before_release_s: float = 0.3
    """The receiver's touch is looked for from this long before the release."""
    impulse_ref_s: float = 0.5
    """A common jolt is judged against each jerk's median over this long before."""
    impulse_min_ratio: float = 3.0
    """A common jolt rises at least this far (geometric mean) above that level ..."""
    impulse_each_ratio: float = 2.0
    """... and this far in each sensor."""
    impulse_onset_frac: float = 0.5
    """The jolt's onset: going back from its peak while the common score stays above this share."""


@dataclass(frozen=True, slots=True)
class TechniqueConfig:
    """Upsweep, downsweep or push, from the collision's impulse (technique.py)."""

    # about two strides (4.2-4.8 steps/s), so the steps' pushes average to the weight
    up_window_s: float = 0.4
    """"Up" is the baton's mean specific force over this long each side of the contact."""
    # contacts last 5-30 ms; the hand's response rings a little longer
    impulse_s: float = 0.04
    """The collision's impulse is summed over this long from the grab."""
    base_s: float = 0.03
    """The residual's level before the contact, subtracted, is its median over this long."""
    # the mean specific force leans forward when the receiver accelerates, which makes
    # downsweeps look level: 0.2 and 0.35 named 5 of 38 and 3 of 28 downsweeps "push"
    level_cos: float = 0.1
    """|cos| of the impulse with the vertical below which the baton went in level (push)."""
    min_up_mps2: float = 0.5 * 9.81
    """A mean specific force weaker than this says nothing about "up"."""


@dataclass(frozen=True, slots=True)
class UncertaintyConfig:
    """± ms of each event and the confidence (uncertainty.py)."""

    # within 10 ms on 46 of 48 simulated passes (session 7, 141 passes)
    grab_spike_pm_ms: float = 10.0
    """A grab from a collision only the residual shows (one both felt: a wrist sample)."""
    # the step down to the hold level came 30-60 ms early on all 4 such passes
    grab_step_pm_ms: float = 50.0
    """A grab without a collision (the step down to the hold level)."""
    # 7-21 ms apart (p10-p90) on releases timed within 20 ms, and 27-92 ms apart on 9 of
    # the 10 worse ones
    release_spread_ok_s: float = 0.025
    """Acc and gyro steps further apart do not describe one parting: ± their distance."""
    release_no_step_pm_ms: float = 100.0
    """A release with no step found."""
    conf_free_pm_ms: float = 10.0
    """Uncertainty up to this costs no confidence ..."""
    conf_pm_scale_ms: float = 20.0
    """... beyond it confidence falls by e every this many ms."""


@dataclass(frozen=True, slots=True)
class LiveConfig:
    """When an exchange is final, and how much data the live detector keeps (detector.py)."""

    # live latency release -> final: median 172 ms, p95 209 ms (35 passes)
    lookahead_s: float = 0.08
    """A hand-over is final once the data reach this long past the new holder's first frame."""
    # the frame saw 0.2 s of free fall: nothing more to wait for
    fall_lookahead_s: float = 0.0
    """A drop is final this long after the frame that saw the fall."""
    context_s: float = 3.5
    """Grid data before the giver's last hold used to time a pass."""
    keep_s: float = 12.0
    """Samples kept behind the watermark."""
    stale_s: float = 1.0
    """A sensor silent this long no longer holds the others back."""
    max_batch_s: float = 30.0
    """Frames computed in one batch at most."""


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Detector parameters, in physical units, one sub-config per stage."""

    grid: GridConfig = field(default_factory=GridConfig)
    frames: FramesConfig = field(default_factory=FramesConfig)
    holder: HolderConfig = field(default_factory=HolderConfig)
    sensors: SensorsConfig = field(default_factory=SensorsConfig)
    rough: RoughConfig = field(default_factory=RoughConfig)
    grab: GrabConfig = field(default_factory=GrabConfig)
    release: ReleaseConfig = field(default_factory=ReleaseConfig)
    give: GiveConfig = field(default_factory=GiveConfig)
    align: AlignConfig = field(default_factory=AlignConfig)
    reach: ReachConfig = field(default_factory=ReachConfig)
    fall: FallConfig = field(default_factory=FallConfig)
    technique: TechniqueConfig = field(default_factory=TechniqueConfig)
    uncertainty: UncertaintyConfig = field(default_factory=UncertaintyConfig)
    live: LiveConfig = field(default_factory=LiveConfig)

    # the flat names of before, read-only
    @property
    def grid_rate_hz(self) -> float:
        return self.grid.rate_hz

    @property
    def hop_s(self) -> float:
        return self.frames.hop_s

    @property
    def window_s(self) -> float:
        return self.frames.window_s

    @property
    def fast_window_s(self) -> float:
        return self.frames.fast_window_s

    @property
    def parting_fit_s(self) -> float:
        return self.frames.parting_fit_s

    @property
    def parting_lag_s(self) -> float:
        return self.frames.parting_lag_s

    @property
    def parting_recent_s(self) -> float:
        return self.frames.parting_recent_s

    @property
    def lookahead_s(self) -> float:
        return self.live.lookahead_s

    @property
    def fall_lookahead_s(self) -> float:
        return self.live.fall_lookahead_s

    @property
    def context_s(self) -> float:
        return self.live.context_s

    @property
    def keep_s(self) -> float:
        return self.live.keep_s

    @property
    def stale_s(self) -> float:
        return self.live.stale_s

    @property
    def max_batch_s(self) -> float:
        return self.live.max_batch_s


DEFAULT = DetectorConfig()
"""The detector's parameters as they stand: every function's default."""
