"""Sliding window of (u, d) points kept as per-block lower hulls.

A point that is not on the lower hull of its block (a slice of `block_s` of
sensor time) lies above a segment between two points of the same block, so it
can never be on the lower hull of a window that holds whole blocks: each
block only keeps its hull, plus count and sums for the mean.  Blocks leave
the window whole.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from ._hull import lower_hull, push_lower_hull


@dataclass(slots=True)
class _Block:
    index: int
    hx: list[float] = field(default_factory=list)
    hy: list[float] = field(default_factory=list)
    n: int = 0
    sum_u: float = 0.0
    sum_d: float = 0.0


class EnvelopeWindow:
    """Points (u, d) with u non-decreasing; the last `horizon_s` of u in blocks of `block_s`."""

    def __init__(self, horizon_s: float, block_s: float) -> None:
        self.horizon_s = horizon_s
        self.block_s = block_s
        self._blocks: deque[_Block] = deque()
        self._closed_hull: tuple[list[float], list[float]] | None = None
        self.n = 0
        self.sum_u = 0.0
        self.sum_d = 0.0
        self.u_last = -math.inf

    def __len__(self) -> int:
        return self.n

    @property
    def u_first(self) -> float:
        """Smallest u of a hull vertex still in the window (the span's start)."""
        return self._blocks[0].hx[0] if self._blocks else math.nan

    def push(self, u: float, d: float) -> None:
        """Add a point; u must not be less than the last one."""
        index = math.floor(u / self.block_s)
        if not self._blocks or index > self._blocks[-1].index:
            self._blocks.append(_Block(index))
            self._closed_hull = None
            self._expire(index)
        b = self._blocks[-1]
        push_lower_hull(b.hx, b.hy, u, d)
        b.n += 1
        b.sum_u += u
        b.sum_d += d
        self.n += 1
        self.sum_u += u
        self.sum_d += d
        self.u_last = u

    def _expire(self, newest_index: int) -> None:
        keep_from = newest_index - math.ceil(self.horizon_s / self.block_s)
        while self._blocks and self._blocks[0].index < keep_from:
            b = self._blocks.popleft()
            self.n -= b.n
            self.sum_u -= b.sum_u
            self.sum_d -= b.sum_d
        if not self._blocks:  # rounding of the running sums
            self.n, self.sum_u, self.sum_d = 0, 0.0, 0.0

    def hull(self) -> tuple[list[float], list[float]]:
        """Lower hull of every point in the window."""
        if self._closed_hull is None:
            xs: list[float] = []
            ys: list[float] = []
            for b in list(self._blocks)[:-1]:
                xs.extend(b.hx)
                ys.extend(b.hy)
            self._closed_hull = lower_hull(xs, ys)
        cx, cy = self._closed_hull
        hx, hy = list(cx), list(cy)
        last = self._blocks[-1]
        for x, y in zip(last.hx, last.hy, strict=True):
            push_lower_hull(hx, hy, x, y)
        return hx, hy

    def block_min_gaps(self, intercept: float, slope: float) -> list[float]:
        """Per block, the lowest point's height above the line d = intercept + slope·u."""
        return [
            min(y - intercept - slope * x for x, y in zip(b.hx, b.hy, strict=True))
            for b in self._blocks
        ]
