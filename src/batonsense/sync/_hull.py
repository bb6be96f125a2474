"""Lower convex hulls and the lower-envelope line fit (pure functions, no state).

The points are (u, d): u = sensor time relative to a reference in s, d = host
receive time − sensor time in s (the packet's one-way delay plus the clocks'
offset, drifting linearly with u).  Delays are never negative, so the line
d = intercept + slope·u we want lies below every point: the *lower envelope*.
Of all lines below every point we take the one closest to them on average
(minimum mean vertical gap, the linear program of Moon, Skelly & Towsley,
"Estimation and removal of clock skew from network delay measurements",
INFOCOM 1999).  That line supports the lower convex hull at the points'
mean u, so only hull vertices matter.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence


def _cross(ox: float, oy: float, ax: float, ay: float, bx: float, by: float) -> float:
    """z of (a−o)×(b−o): > 0 when o→a→b turns left (convex seen from below)."""
    return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox)


def push_lower_hull(hx: list[float], hy: list[float], x: float, y: float) -> None:
    """Append (x, y), x ≥ hx[-1], to the lower hull (hx, hy) in place (Andrew's chain).

    An equal x keeps the lower y.  Amortised O(1).
    """
    if hx and x <= hx[-1]:
        if y >= hy[-1]:
            return
        hx.pop()
        hy.pop()
    while len(hx) >= 2 and _cross(hx[-2], hy[-2], hx[-1], hy[-1], x, y) <= 0.0:
        hx.pop()
        hy.pop()
    hx.append(x)
    hy.append(y)


def lower_hull(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    """Lower convex hull of points sorted by x (ties allowed): vertices left to right."""
    hx: list[float] = []
    hy: list[float] = []
    for x, y in zip(xs, ys, strict=True):
        push_lower_hull(hx, hy, x, y)
    return hx, hy


def envelope_line(
    hx: Sequence[float],
    hy: Sequence[float],
    mean_x: float,
    slope_min: float,
    slope_max: float,
    slope_prior: float = 0.0,
) -> tuple[float, float]:
    """(intercept, slope) of the line below every hull vertex with the least mean gap.

    hx, hy: lower hull vertices (x increasing, at least one); mean_x: mean x of
    all the points the hull was built from; the slope is kept in
    [slope_min, slope_max].  Where the optimum is not unique (mean_x on a
    vertex, or a single vertex) the slope nearest slope_prior is taken.
    """
    lo, hi = _optimal_slopes(hx, hy, mean_x)
    slope = min(max(slope_prior, lo), hi)
    slope = min(max(slope, slope_min), slope_max)
    intercept = min(y - slope * x for x, y in zip(hx, hy, strict=True))
    return intercept, slope


def _optimal_slopes(hx: Sequence[float], hy: Sequence[float], mean_x: float) -> tuple[float, float]:
    """Range of slopes of the hull's support lines at x = mean_x."""
    n = len(hx)
    if n == 1:
        return -math.inf, math.inf
    j = bisect.bisect_left(hx, mean_x)  # hx[j-1] < mean_x <= hx[j]
    if j == 0:
        return -math.inf, _slope(hx, hy, 0)
    if j == n:
        return _slope(hx, hy, n - 2), math.inf
    if hx[j] > mean_x:  # strictly inside the edge (j-1, j)
        s = _slope(hx, hy, j - 1)
        return s, s
    return _slope(hx, hy, j - 1), (_slope(hx, hy, j) if j + 1 < n else math.inf)


def _slope(hx: Sequence[float], hy: Sequence[float], i: int) -> float:
    return (hy[i + 1] - hy[i]) / (hx[i + 1] - hx[i])
