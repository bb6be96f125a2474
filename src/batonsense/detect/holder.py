"""Who holds the baton, frame by frame, and when that changes.

A hand-over is the baton's holder changing from one athlete to another while the
baton keeps moving (never lying still in between) within max_transition_s.  A
pick-up after the baton lay on the ground or a swap between one athlete's own
hands is not a hand-over.  A free fall shortly after a holder lost the baton is a drop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from batonsense.detect.config import HolderConfig
from batonsense.detect.frames import FrameFeatures


@dataclass(frozen=True, slots=True)
class Handover:
    """A confirmed change of holder.  Wrists are indices into the detector's wrist list."""

    giver_wrist: int
    receiver_wrist: int
    giver_last_s: float  # last frame the giver was the holder
    receiver_first_s: float  # first frame of the receiver's confirmed hold


@dataclass(frozen=True, slots=True)
class Fall:
    """The baton fell free shortly after giver_wrist last held it."""

    giver_wrist: int
    giver_last_s: float
    fall_s: float  # frame time at which the free fall was seen


@dataclass(slots=True)
class HolderTracker:
    """Causal state machine over frames.  Its parameters (`HolderConfig`, with what each
    means and where its value comes from) are physical, not tuned per sensor.

    A wrist is the holder when the baton rotates, its coupling κ is high and it
    leads every other athlete's wrists.  A new athlete takes over after a
    confirmed run of frames, or sooner by the quick take-over: their wrist
    couples like a grip over the short window *and* the holder's wrist breaks
    the rigid relation of its own hold, the baton turning, the holder told apart
    from everyone recently, and the `grips` test of the update() call (the
    accelerometers agree that the new hand holds the baton).  The previous
    holder cannot take the baton straight back (their long-window κ stays high
    for a while).  See docs/detection.md, "Quick take-over".
    """

    athletes: list[str]
    config: HolderConfig = field(default_factory=HolderConfig)
    holder: str | None = None
    holder_wrist: int = -1
    hold_start_s: float = 0.0
    last_held_s: float = -np.inf
    holder_seen_s: float = -np.inf  # last frame the holder's wrist had data
    holder_top_s: float = -np.inf  # last frame the holder coupled best, lead or not
    still_seen: bool = False
    fell: bool = False
    cand: str | None = None
    cand_wrist: int = -1
    cand_first_s: float = 0.0
    cand_count: int = 0
    cand_last_s: float = -np.inf
    prev_holder: str | None = None  # the giver of a quick take-over, until
    prev_until_s: float = -np.inf  # ... this time, cannot take the baton back
    events: list[Handover | Fall] = field(default_factory=list)

    def _candidate(self, kappa: np.ndarray, valid: np.ndarray, energy: float) -> int:
        if energy < self.config.min_energy_radps2 or kappa.size == 0:
            return -1
        k = np.where(valid, kappa, -1.0)
        best = int(np.argmax(k))
        if k[best] < self.config.kappa_on:
            return -1
        others = [k[j] for j in range(len(k)) if self.athletes[j] != self.athletes[best]]
        if others and k[best] - max(others) < self.config.margin:
            return -1
        return best

    def _holder_on_top(self, kappa: np.ndarray, valid: np.ndarray, energy: float) -> bool:
        """The holder's athlete couples best (κ ≥ kappa_on), if without the margin."""
        if self.holder is None or energy < self.config.min_energy_radps2 or kappa.size == 0:
            return False
        k = np.where(valid, kappa, -1.0)
        best = int(np.argmax(k))
        return self.athletes[best] == self.holder and k[best] >= self.config.kappa_on

    def update(
        self,
        ff: FrameFeatures,
        hop_s: float,
        grips: Callable[[float, int], bool] | None = None,
    ) -> list[Handover | Fall]:
        """Feed new frames (in time order); returns the events they confirm.

        grips(t_s, wrist): whether that wrist's hand holds the baton over the short
        window ending at t_s (the accelerometers' rigid-body test); a quick
        take-over needs it.  Without it, quick take-overs are off.
        """
        out: list[Handover | Fall] = []
        confirm_n = max(1, round(self.config.confirm_s / hop_s))
        fast_n = max(1, round(self.config.fast_confirm_s / hop_s))
        for i in range(ff.t_s.shape[0]):
            t = float(ff.t_s[i])
            if ff.baton_still[i]:
                self.still_seen = True
            fall = self._fall(t, bool(ff.free_fall[i]))
            if fall is not None:
                out.append(fall)
            energy = float(ff.baton_energy[i])
            w = self._candidate(ff.kappa[i], ff.valid[i], energy)
            if w < 0 and self._holder_on_top(ff.kappa[i], ff.valid[i], energy):
                self.holder_top_s = t
            blind = self._holder_blind(t, ff.valid[i])
            quick = -1 if grips is None else self._quick_receiver(ff, i, energy)
            if quick >= 0:
                ev = self._count_candidate(t, quick, hop_s, fast_n, grips)
                if ev is not None:
                    out.append(ev)
                continue
            if w < 0:
                continue
            if self.athletes[w] == self.holder:
                self._held(t, w, float(ff.kappa[i, w]), blind)
                continue
            if blind or (
                self.holder is not None
                and (
                    ff.kappa[i, w] < self.config.kappa_switch
                    or energy < self.config.min_switch_energy_radps2
                )
            ):
                continue
            ev = self._count_candidate(t, w, hop_s, confirm_n)
            if ev is not None:
                out.append(ev)
        self.events.extend(out)
        return out

    def _quick_receiver(self, ff: FrameFeatures, i: int, energy: float) -> int:
        """The wrist of another athlete who holds the baton as the holder lets go, or -1.

        Not while the holder's wrist has a gap in its data (as the long path)."""
        if ff.kappa_fast is None or ff.parting is None or self.holder is None:
            return -1
        if float(ff.t_s[i]) - self.last_held_s > self.config.quick_fresh_s:
            return -1
        h = self.holder_wrist
        if energy < self.config.quick_min_energy_radps2 or not ff.valid[i, h]:
            return -1
        if ff.parting[i, h] < self.config.parting_min:
            return -1
        k = np.where(ff.valid[i], ff.kappa_fast[i], -1.0)
        for j in range(k.shape[0]):
            if self.athletes[j] == self.holder:
                k[j] = -1.0
        best = int(np.argmax(k))
        if k[best] < max(self.config.kappa_switch, float(ff.kappa_fast[i, h])):
            return -1
        return best

    def _fall(self, t: float, free_fall: bool) -> Fall | None:
        """A free fall soon after the holder last held the baton is a drop."""
        if not free_fall or self.holder is None or self.fell:
            return None
        if t - self.last_held_s > self.config.drop_window_s:
            return None
        self.fell = True
        self.holder = None
        return Fall(self.holder_wrist, self.last_held_s, t)

    def _holder_blind(self, t: float, valid: np.ndarray) -> bool:
        """The holder's own wrist has had no data for up to blind_max_s (lost packets)."""
        if self.holder is None:
            return False
        if valid[self.holder_wrist]:
            self.holder_seen_s = self.holder_top_s = t
            return False
        return t - self.holder_seen_s <= self.config.blind_max_s

    def _held(self, t: float, w: int, kappa_w: float, blind: bool) -> None:
        """The holder's athlete couples best again (through wrist w)."""
        self.last_held_s = self.holder_top_s = t
        # while the gripping wrist has a gap, the same athlete's free arm
        # (0.85-0.95) does not become the holder's wrist: only a grip does
        if not blind or kappa_w >= self.config.kappa_switch:
            self.holder_wrist = w
        self.still_seen = False  # 'still' only counts between two holders
        self.cand, self.cand_count = None, 0

    def _count_candidate(
        self,
        t: float,
        w: int,
        hop_s: float,
        confirm_n: int,
        grips: Callable[[float, int], bool] | None = None,
    ) -> Handover | None:
        """One more frame for a new holder; the take-over once confirm_n follow one another."""
        ath = self.athletes[w]
        if ath == self.prev_holder and t < self.prev_until_s:
            return None
        # a run broken for longer than a hop starts again (else a few frames long
        # ago would date a later pass)
        if ath != self.cand or t - self.cand_last_s > self.config.candidate_gap_hops * hop_s:
            self.cand, self.cand_wrist, self.cand_first_s, self.cand_count = ath, w, t, 0
        self.cand_last_s = t
        self.cand_count += 1
        if self.cand_count < confirm_n:
            return None
        if grips is not None and not grips(t, w):
            # not a grip (a free arm in step): these frames do not date a later hold
            self.cand, self.cand_count = None, 0
            return None
        return self._take_over(t, quick=grips is not None)

    def _take_over(self, t: float, quick: bool = False) -> Handover | None:
        ev = None
        if (
            self.holder is not None
            and not self.still_seen
            and self.cand_first_s - max(self.last_held_s, self.holder_top_s)
            <= self.config.max_transition_s
            and self.last_held_s - self.hold_start_s >= self.config.min_hold_s
        ):
            ev = Handover(self.holder_wrist, self.cand_wrist, self.last_held_s, self.cand_first_s)
        self.prev_holder, self.prev_until_s = None, -np.inf
        if quick:
            self.prev_holder, self.prev_until_s = self.holder, t + self.config.min_hold_s
        self.holder, self.holder_wrist = self.cand, self.cand_wrist
        self.hold_start_s, self.last_held_s = self.cand_first_s, t
        self.holder_seen_s = self.holder_top_s = t
        self.still_seen, self.fell = False, False
        self.cand, self.cand_count = None, 0
        return ev
