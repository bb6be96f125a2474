"""Scoring of detected exchanges against the true ones (pure functions, no I/O).

Matching: every true exchange is paired with at most one detected exchange and
vice versa.  The time that is compared is `event_time(x)`: grab_s, falling back
to release_s, then drop_s (an exchange with none of them cannot be matched).
Candidate pairs are those with |Δt| <= tolerance_s (1.0 s by default); they are
taken greedily in order of increasing |Δt| (so each true exchange gets its
closest free detection), ties broken by the earlier true exchange, then by the
earlier detection.

Errors are detected − true, in ms; `Score` keeps the absolute values per event
(only for matched pairs where both sides know the event) and the signed ones for
bias.  Fractions whose denominator is 0 are 1.0 (nothing to miss, nothing
wrong); pooled figures come from `combine`, which sums the counts and
concatenates the errors, never averages fractions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from batonsense.model import Exchange, Outcome

__all__ = [
    "EVENTS",
    "Score",
    "combine",
    "event_time",
    "match",
    "p95",
    "median",
    "score",
]

DEFAULT_TOLERANCE_S = 1.0

#: Events with a per-event error array, in report order.
EVENTS: tuple[str, ...] = ("reach", "grab", "release", "overlap", "drop")


def event_time(x: Exchange) -> float | None:
    """The time used for matching: grab_s, else release_s, else drop_s; None if none known."""
    for t in (x.grab_s, x.release_s, x.drop_s):
        if t is not None:
            return float(t)
    return None


def match(
    true: Sequence[Exchange],
    detected: Sequence[Exchange],
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[tuple[int, int]]:
    """Pairs (index into true, index into detected), sorted by the true index.

    Greedy by |Δt| of `event_time`, |Δt| <= tolerance_s; one detection per true
    exchange at most and vice versa.
    """
    if tolerance_s < 0 or math.isnan(tolerance_s):
        raise ValueError(f"tolerance_s must be >= 0, got {tolerance_s}")
    t_true = [event_time(x) for x in true]
    t_det = [event_time(x) for x in detected]
    candidates: list[tuple[float, int, int]] = []
    for i, ti in enumerate(t_true):
        if ti is None:
            continue
        for j, tj in enumerate(t_det):
            if tj is None:
                continue
            d = abs(tj - ti)
            if d <= tolerance_s:
                candidates.append((d, i, j))
    candidates.sort()
    used_true: set[int] = set()
    used_det: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, i, j in candidates:
        if i in used_true or j in used_det:
            continue
        used_true.add(i)
        used_det.add(j)
        pairs.append((i, j))
    pairs.sort()
    return pairs


def _frozen(a: Iterable[float]) -> np.ndarray:
    arr = np.array(a if isinstance(a, np.ndarray) else list(a), dtype=float).reshape(-1)
    arr.flags.writeable = False
    return arr


def median(a: np.ndarray) -> float:
    """Median of an error array; nan when empty."""
    return float(np.median(a)) if len(a) else math.nan


def p95(a: np.ndarray) -> float:
    """95th percentile (linear interpolation) of an error array; nan when empty."""
    return float(np.percentile(a, 95)) if len(a) else math.nan


def _ratio(num: int, den: int) -> float:
    return 1.0 if den == 0 else num / den


def _empty_errors() -> Mapping[str, np.ndarray]:
    return MappingProxyType({e: _frozen([]) for e in EVENTS})


@dataclass(frozen=True, slots=True, eq=False)
class Score:
    """Detected vs true exchanges of one recording (or pooled with `combine`).

    Counts are fields; recall, precision, giver_correct, receiver_correct are
    derived fractions (1.0 when the denominator is 0).  `signed_ms[event]` holds
    detected − true in ms for matched pairs where both sides know the event;
    `reach`, `grab`, `release`, `overlap`, `drop` are the absolute values.
    """

    n_true: int = 0
    n_detected: int = 0
    n_matched: int = 0
    n_giver_ok: int = 0
    n_receiver_ok: int = 0
    drops_true: int = 0
    drops_found: int = 0
    #: matched pairs the detector calls dropped while the truth is completed
    drops_false: int = 0
    signed_ms: Mapping[str, np.ndarray] = field(default_factory=_empty_errors)

    # --- derived fractions -------------------------------------------------
    @property
    def recall(self) -> float:
        return _ratio(self.n_matched, self.n_true)

    @property
    def precision(self) -> float:
        return _ratio(self.n_matched, self.n_detected)

    @property
    def giver_correct(self) -> float:
        return _ratio(self.n_giver_ok, self.n_matched)

    @property
    def receiver_correct(self) -> float:
        return _ratio(self.n_receiver_ok, self.n_matched)

    @property
    def n_missed(self) -> int:
        return self.n_true - self.n_matched

    @property
    def n_false(self) -> int:
        """Detections matched to no true exchange."""
        return self.n_detected - self.n_matched

    # --- absolute errors in ms ---------------------------------------------
    def abs_ms(self, event: str) -> np.ndarray:
        if event not in EVENTS:
            raise KeyError(f"unknown event {event!r}; expected one of {EVENTS}")
        return np.abs(self.signed_ms[event])

    @property
    def reach(self) -> np.ndarray:
        return self.abs_ms("reach")

    @property
    def grab(self) -> np.ndarray:
        return self.abs_ms("grab")

    @property
    def release(self) -> np.ndarray:
        return self.abs_ms("release")

    @property
    def overlap(self) -> np.ndarray:
        return self.abs_ms("overlap")

    @property
    def drop(self) -> np.ndarray:
        return self.abs_ms("drop")

    def median(self, event: str) -> float:
        """Median |error| in ms of an event; nan when no pair has it."""
        return median(self.abs_ms(event))

    def p95(self, event: str) -> float:
        """95th percentile |error| in ms of an event; nan when no pair has it."""
        return p95(self.abs_ms(event))

    def bias(self, event: str) -> float:
        """Median signed error (detected − true) in ms; nan when no pair has it."""
        return median(self.signed_ms[event])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready figures (nan becomes None)."""

        def f(v: float) -> float | None:
            return None if math.isnan(v) else round(v, 3)

        d: dict[str, Any] = {
            "n_true": self.n_true,
            "n_detected": self.n_detected,
            "n_matched": self.n_matched,
            "n_missed": self.n_missed,
            "n_false": self.n_false,
            "recall": f(self.recall),
            "precision": f(self.precision),
            "giver_correct": f(self.giver_correct),
            "receiver_correct": f(self.receiver_correct),
            "drops_true": self.drops_true,
            "drops_found": self.drops_found,
            "drops_false": self.drops_false,
        }
        for e in EVENTS:
            d[f"{e}_n"] = int(len(self.signed_ms[e]))
            d[f"{e}_median_ms"] = f(self.median(e))
            d[f"{e}_p95_ms"] = f(self.p95(e))
            d[f"{e}_bias_ms"] = f(self.bias(e))
        return d


def _diff_ms(det: float | None, true: float | None) -> float | None:
    if det is None or true is None:
        return None
    return (det - true) * 1000.0


def _overlap_s(x: Exchange) -> float | None:
    if x.grab_s is None or x.release_s is None:
        return None
    return x.release_s - x.grab_s


def score(
    true: Sequence[Exchange],
    detected: Sequence[Exchange],
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> Score:
    """Score one recording's detections against its true exchanges.

    Raises ValueError if the two sides use different clocks.
    """
    clocks = {x.clock for x in true} | {x.clock for x in detected}
    if len(clocks) > 1:
        raise ValueError(f"exchanges on different clocks: {sorted(clocks)}")
    pairs = match(true, detected, tolerance_s)
    errs: dict[str, list[float]] = {e: [] for e in EVENTS}
    giver_ok = receiver_ok = drops_found = drops_false = 0
    for i, j in pairs:
        t, d = true[i], detected[j]
        giver_ok += t.giver == d.giver
        receiver_ok += t.receiver == d.receiver
        if t.outcome is Outcome.DROPPED and d.outcome is Outcome.DROPPED:
            drops_found += 1
        elif t.outcome is not Outcome.DROPPED and d.outcome is Outcome.DROPPED:
            drops_false += 1
        for e, dv, tv in (
            ("reach", d.reach_s, t.reach_s),
            ("grab", d.grab_s, t.grab_s),
            ("release", d.release_s, t.release_s),
            ("overlap", _overlap_s(d), _overlap_s(t)),
            ("drop", d.drop_s, t.drop_s),
        ):
            ms = _diff_ms(dv, tv)
            if ms is not None:
                errs[e].append(ms)
    return Score(
        n_true=len(true),
        n_detected=len(detected),
        n_matched=len(pairs),
        n_giver_ok=giver_ok,
        n_receiver_ok=receiver_ok,
        drops_true=sum(x.outcome is Outcome.DROPPED for x in true),
        drops_found=drops_found,
        drops_false=drops_false,
        signed_ms=MappingProxyType({e: _frozen(v) for e, v in errs.items()}),
    )


def combine(scores: Iterable[Score]) -> Score:
    """Pool several recordings: counts add up, error arrays concatenate."""
    scores = list(scores)
    return Score(
        n_true=sum(s.n_true for s in scores),
        n_detected=sum(s.n_detected for s in scores),
        n_matched=sum(s.n_matched for s in scores),
        n_giver_ok=sum(s.n_giver_ok for s in scores),
        n_receiver_ok=sum(s.n_receiver_ok for s in scores),
        drops_true=sum(s.drops_true for s in scores),
        drops_found=sum(s.drops_found for s in scores),
        drops_false=sum(s.drops_false for s in scores),
        signed_ms=MappingProxyType(
            {
                e: _frozen(np.concatenate([s.signed_ms[e] for s in scores]) if scores else [])
                for e in EVENTS
            }
        ),
    )
