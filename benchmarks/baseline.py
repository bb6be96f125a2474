"""A deliberately simple, honest baseline detector, for comparison with batonsense.

Idea: whoever holds the baton turns it with their hand, so the baton's gyro
magnitude |ω| (which does not depend on how either sensor is mounted) follows
the holder's wrist |ω|.

1. Resample |ω| of every sensor and the baton's |specific force| onto one time
   grid (the baton's median rate) by linear interpolation: rates differ and
   packets get lost.
2. For each wrist, the rolling Pearson correlation (centred window, 0.5 s)
   between baton |ω| and wrist |ω|.  Windows where the baton or the wrist
   hardly moves (std of |ω| below `min_std_radps`) get correlation 0.
3. Holder at each instant = the wrist with the highest correlation, if above
   `threshold` and ahead of the second best by `margin` (whole-body turns and
   runners in step correlate every wrist); holder runs shorter than
   `min_hold_s` are discarded.
4. A change of holder to a wrist of another athlete, with a gap of at most
   `max_gap_s`, is an exchange.  Around it, ruptures (Binseg, model "l2", one
   change point) on the receiver's correlation trace gives the grab (where it
   rises) and on the giver's trace the release (where it falls).
5. Drop: baton |specific force| < 2 m/s² for > 0.1 s (free fall).  A drop
   between the giver's last hold and the receiver's first hold marks that
   exchange as dropped; a drop outside any exchange becomes a dropped exchange
   with the last holder as giver and no receiver.

It does not time reach (reach_s is None).  It knows nothing of technique,
hands beyond the wrist's label, or clock sync.

Usage as a library: `detect_baseline(recording) -> list[Exchange]`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import ruptures as rpt

from batonsense.model import Exchange, Outcome, Recording, SensorInfo

__all__ = ["BaselineParams", "correlation_traces", "detect_baseline"]


@dataclass(frozen=True)
class BaselineParams:
    window_s: float = 0.5
    threshold: float = 0.6
    #: the holder must beat the second-best wrist by this much (else: unknown)
    margin: float = 0.15
    min_std_radps: float = 0.3
    min_hold_s: float = 0.3
    max_gap_s: float = 1.5
    refine_half_s: float = 1.0
    freefall_mps2: float = 2.0
    freefall_min_s: float = 0.1
    max_rate_hz: float = 400.0
    #: "mismatch" (default): change points on per-wrist log residual traces;
    #: "corr": change points on the 0.5 s rolling correlation traces themselves
    refine: str = "mismatch"


def _grid(recording: Recording, p: BaselineParams) -> tuple[np.ndarray, float]:
    baton = recording.streams[recording.baton.id]
    rate = baton.rate_hz or max(s.rate_hz for s in recording.streams.values())
    rate = min(rate, p.max_rate_hz)
    t0, t1 = recording.start_s, recording.end_s
    n = int(np.floor((t1 - t0) * rate)) + 1
    return t0 + np.arange(n) / rate, rate


def _interp_norm(t_grid: np.ndarray, t: np.ndarray, xyz: np.ndarray) -> np.ndarray:
    if len(t) == 0:
        return np.zeros_like(t_grid)
    return np.interp(t_grid, t, np.linalg.norm(xyz, axis=1))


def _rolling_corr(x: np.ndarray, y: np.ndarray, w: int, min_std: float) -> np.ndarray:
    """Centred rolling Pearson correlation with window w samples (0 where undefined)."""
    n = len(x)
    out = np.zeros(n)
    if n < w or w < 3:
        return out
    # centre around the mean of each series to limit cancellation in the sums
    x = x - x.mean()
    y = y - y.mean()

    def csum(a: np.ndarray) -> np.ndarray:
        return np.concatenate(([0.0], np.cumsum(a)))

    sx, sy = csum(x), csum(y)
    sxx, syy, sxy = csum(x * x), csum(y * y), csum(x * y)
    win = lambda c: c[w:] - c[:-w]  # noqa: E731  (sum over [i, i+w))
    mx, my = win(sx) / w, win(sy) / w
    vx = np.maximum(win(sxx) / w - mx * mx, 0.0)
    vy = np.maximum(win(syy) / w - my * my, 0.0)
    cov = win(sxy) / w - mx * my
    ok = (vx > min_std**2) & (vy > min_std**2)
    r = np.zeros_like(cov)
    r[ok] = cov[ok] / np.sqrt(vx[ok] * vy[ok])
    # window [i, i+w) is centred on i + w//2
    h = w // 2
    out[h : h + len(r)] = np.clip(r, -1.0, 1.0)
    return out


def _traces(recording: Recording, p: BaselineParams):  # noqa: ANN202
    t, rate = _grid(recording, p)
    baton = recording.streams[recording.baton.id]
    b = _interp_norm(t, baton.t_s, baton.gyro_radps)
    f = _interp_norm(t, baton.t_s, baton.acc_mps2)
    w = max(3, int(round(p.window_s * rate)))
    traces, mags = {}, {}
    for s in recording.wrists:
        st = recording.streams.get(s.id)
        if st is None or len(st) < 2:
            traces[s.id] = mags[s.id] = np.zeros_like(t)
            continue
        mags[s.id] = _interp_norm(t, st.t_s, st.gyro_radps)
        traces[s.id] = _rolling_corr(b, mags[s.id], w, p.min_std_radps)
    return t, traces, f, b, mags


def correlation_traces(
    recording: Recording, params: BaselineParams | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """(grid times, {wrist id: rolling correlation}, baton |specific force|) on a common grid."""
    t, traces, f, _, _ = _traces(recording, params or BaselineParams())
    return t, traces, f


def _mismatch(b: np.ndarray, w: np.ndarray, fit0: int, fit1: int, lo: int, hi: int) -> np.ndarray:
    """log squared residual of baton |ω| against a + c·(wrist |ω|) over [lo, hi).

    a and c are fitted by least squares on [fit0, fit1), where this wrist alone
    held the baton; the residual is scaled by the fit's own residual spread, so
    the trace is ~0 while the wrist holds the baton and high otherwise.
    """
    fit0, fit1 = max(fit0, 0), min(fit1, len(b))
    if fit1 - fit0 < 10:
        fit0, fit1 = lo, hi
    A = np.column_stack([np.ones(fit1 - fit0), w[fit0:fit1]])
    coef, *_ = np.linalg.lstsq(A, b[fit0:fit1], rcond=None)
    res_fit = b[fit0:fit1] - A @ coef
    scale2 = max(float(np.mean(res_fit**2)), 1e-6)
    e = b[lo:hi] - (coef[0] + coef[1] * w[lo:hi])
    return np.log(e**2 / scale2 + 1e-2)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where mask is True."""
    if not len(mask):
        return []
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def _change_point(trace: np.ndarray) -> int | None:
    """Index of the single best l2 change point in a trace segment."""
    if len(trace) < 6:
        return None
    bkps = rpt.Binseg(model="l2", min_size=2, jump=1).fit(trace.reshape(-1, 1)).predict(n_bkps=1)
    return int(bkps[0]) if bkps and bkps[0] < len(trace) else None


def _who(info: SensorInfo) -> str:
    return info.athlete if info.athlete is not None else info.id


def detect_baseline(
    recording: Recording, params: BaselineParams | None = None
) -> list[Exchange]:
    """Exchanges found by the baseline, sorted by time."""
    p = params or BaselineParams()
    wrists = recording.wrists
    if not wrists:
        return []
    t, traces, f, bmag, mags = _traces(recording, p)
    if len(t) < 3:
        return []
    rate = 1.0 / (t[1] - t[0])
    ids = [s.id for s in wrists]
    info = {s.id: s for s in wrists}
    R = np.vstack([traces[i] for i in ids])  # (n_wrists, N) correlation
    W = np.vstack([mags[i] for i in ids])  # (n_wrists, N) wrist |ω|
    hw = int(round(p.window_s * rate / 2))
    best = np.argmax(R, axis=0)
    r_best = R[best, np.arange(len(t))]
    if len(ids) > 1:
        r_second = np.sort(R, axis=0)[-2]
    else:
        r_second = np.full(len(t), -np.inf)
    holder = np.where((r_best > p.threshold) & (r_best - r_second > p.margin), best, -1)

    # holder runs, short ones dropped
    min_len = int(round(p.min_hold_s * rate))
    holds: list[tuple[int, int, int]] = []  # (wrist index, start, end)
    for k in range(len(ids)):
        for i0, i1 in _runs(holder == k):
            if i1 - i0 >= min_len:
                holds.append((k, i0, i1))
    holds.sort(key=lambda h: h[1])
    # merge consecutive runs of the same wrist (brief dropouts)
    merged: list[tuple[int, int, int]] = []
    for h in holds:
        if merged and merged[-1][0] == h[0]:
            merged[-1] = (h[0], merged[-1][1], h[2])
        else:
            merged.append(h)

    # free-fall runs of the baton
    ff_min = int(np.ceil(p.freefall_min_s * rate))
    drops = [i0 for i0, i1 in _runs(f < p.freefall_mps2) if i1 - i0 > ff_min]
    used_drops: set[int] = set()

    half = int(round(p.refine_half_s * rate))
    max_gap = int(round(p.max_gap_s * rate))
    out: list[Exchange] = []
    for (kg, ag, bg), (kr, ar, br) in zip(merged, merged[1:]):
        g, r = info[ids[kg]], info[ids[kr]]
        if _who(g) == _who(r) or ar - bg > max_gap:
            continue
        # refine: one change point per wrist in a window around the hand-over
        lo = max(ag, bg - half)
        hi = min(br, ar + half)
        if p.refine == "corr":
            tr_g, tr_r = R[kg, lo:hi], R[kr, lo:hi]
        else:
            tr_g = _mismatch(bmag, W[kg], ag, bg - hw, lo, hi)
            tr_r = _mismatch(bmag, W[kr], ar + hw, br, lo, hi)
        cg = _change_point(tr_g)
        cr = _change_point(tr_r)
        release = t[lo + cg] if cg is not None else t[bg]
        grab = t[lo + cr] if cr is not None else t[ar]
        drop_i = next((d for d in drops if bg - half <= d <= ar), None)
        if drop_i is not None:
            used_drops.add(drop_i)
        out.append(
            Exchange(
                giver=_who(g),
                receiver=_who(r),
                reach_s=None,
                grab_s=float(grab),
                release_s=float(release),
                outcome=Outcome.DROPPED if drop_i is not None else Outcome.COMPLETED,
                giver_hand=g.hand,
                receiver_hand=r.hand,
                drop_s=None if drop_i is None else float(t[drop_i]),
                clock=recording.clock,
                extra={"detector": "baseline"},
            )
        )
    for d in drops:
        if d in used_drops:
            continue
        before = [h for h in merged if h[1] <= d]
        g = info[ids[before[-1][0]]] if before else None
        out.append(
            Exchange(
                giver=None if g is None else _who(g),
                receiver=None,
                reach_s=None,
                grab_s=None,
                release_s=None,
                outcome=Outcome.DROPPED,
                giver_hand=None if g is None else g.hand,
                drop_s=float(t[d]),
                clock=recording.clock,
                extra={"detector": "baseline"},
            )
        )
    out.sort(key=lambda x: x.time_s)
    return out
