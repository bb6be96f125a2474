"""Time-varying scalar signals: smooth keyframes, weight windows, speed plans.

All times in s.  Every signal here is C2-continuous except the speed plan's
acceleration, which steps when a new speed command starts (a force onset).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def minjerk(u: np.ndarray | float) -> np.ndarray:
    """Minimum-jerk ramp 0 -> 1 for u in [0, 1] (clipped outside)."""
    u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
    return u * u * u * (10.0 - 15.0 * u + 6.0 * u * u)


def smooth_interp(x: np.ndarray, xp: list[float] | np.ndarray,
                  fp: list[float] | np.ndarray) -> np.ndarray:
    """Like np.interp but with min-jerk ramps between knots (C2, no kinks), so that
    speed-dependent amplitudes do not produce acceleration spikes."""
    xp, fp = np.asarray(xp, float), np.asarray(fp, float)
    x = np.asarray(x, dtype=float)
    i = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, len(xp) - 2)
    u = (x - xp[i]) / (xp[i + 1] - xp[i])
    return fp[i] + (fp[i + 1] - fp[i]) * minjerk(u)


@dataclass
class Keyframes:
    """Piecewise signal: holds values[i] at times[i], min-jerk ramps in between."""

    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def add(self, t: float, value: float) -> None:
        """Append a keyframe (times must be non-decreasing)."""
        if self.times and t < self.times[-1]:
            raise ValueError("keyframes must be added in time order")
        self.times.append(float(t))
        self.values.append(float(value))

    def last(self, default: float = 0.0) -> float:
        return self.values[-1] if self.values else default

    def __call__(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if not self.times:
            return np.zeros_like(t)
        tk = np.asarray(self.times)
        vk = np.asarray(self.values)
        i = np.clip(np.searchsorted(tk, t, side="right") - 1, 0, len(tk) - 1)
        j = np.minimum(i + 1, len(tk) - 1)
        span = np.where(tk[j] > tk[i], tk[j] - tk[i], 1.0)
        u = np.where(t < tk[0], 0.0, (t - tk[i]) / span)
        return vk[i] + (vk[j] - vk[i]) * minjerk(u)


@dataclass
class Windows:
    """Sum of trapezoid weights: ramp up over [t0, t1], hold, ramp down over [t2, t3]."""

    spans: list[tuple[float, float, float, float, float]] = field(default_factory=list)

    def add(self, t0: float, t1: float, t2: float, t3: float, height: float = 1.0) -> None:
        if not t0 <= t1 <= t2 <= t3:
            raise ValueError(f"bad window {(t0, t1, t2, t3)}")
        self.spans.append((t0, t1, t2, t3, height))

    def __call__(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        out = np.zeros_like(t)
        if t.size == 0:
            return out
        lo, hi = float(t.min()), float(t.max())
        for t0, t1, t2, t3, h in self.spans:
            if t3 < lo or t0 > hi:
                continue
            up = minjerk((t - t0) / max(t1 - t0, 1e-9))
            down = 1.0 - minjerk((t - t2) / max(t3 - t2, 1e-9))
            out += h * up * down
        return out


@dataclass
class SpeedPlan:
    """Signed forward velocity along world x (m/s) as first-order responses.

    A command (t_i, V_i, tau_i) makes v relax exponentially towards V_i with time
    constant tau_i from t_i on.  Position and velocity are analytic.
    """

    x0: float = 0.0
    cmds: list[tuple[float, float, float]] = field(default_factory=list)
    _state: list[tuple[float, float]] = field(default_factory=list)  # (x_i, v_i) at t_i

    def command(self, t: float, target: float, tau: float) -> None:
        """From time t (s) on, approach `target` m/s with time constant tau (s)."""
        if self.cmds and t < self.cmds[-1][0]:
            raise ValueError("speed commands must be added in time order")
        x, v = self.state(t)
        self.cmds.append((float(t), float(target), float(tau)))
        self._state.append((x, v))

    def state(self, t: float) -> tuple[float, float]:
        """(x m, v m/s) at time t."""
        x, v, _ = self.evaluate(np.array([t]))
        return float(x[0]), float(v[0])

    def evaluate(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, v, a) at times t."""
        t = np.asarray(t, dtype=float)
        if not self.cmds:
            z = np.zeros_like(t)
            return z + self.x0, z, z
        tc = np.array([c[0] for c in self.cmds])
        vt = np.array([c[1] for c in self.cmds])
        tau = np.array([c[2] for c in self.cmds])
        xs = np.array([s[0] for s in self._state])
        vs = np.array([s[1] for s in self._state])
        i = np.searchsorted(tc, t, side="right") - 1
        before = i < 0
        i = np.maximum(i, 0)
        d = np.maximum(t - tc[i], 0.0)
        e = np.exp(-d / tau[i])
        v = vt[i] + (vs[i] - vt[i]) * e
        x = xs[i] + vt[i] * d + (vs[i] - vt[i]) * tau[i] * (1.0 - e)
        a = -(vs[i] - vt[i]) / tau[i] * e
        x = np.where(before, self.x0, x)
        v = np.where(before, 0.0, v)
        a = np.where(before, 0.0, a)
        return x, v, a

    def time_to_reach(self, x_target: float, t_from: float, t_max: float) -> float | None:
        """First time in [t_from, t_max] where x crosses x_target (by bisection), or None."""
        ts = np.arange(t_from, t_max, 0.01)
        xs, _, _ = self.evaluate(ts)
        s = np.sign(xs - x_target)
        idx = np.nonzero(s[1:] != s[:-1])[0]
        if idx.size == 0:
            return None
        lo, hi = ts[idx[0]], ts[idx[0] + 1]
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            if np.sign(self.state(mid)[0] - x_target) == s[idx[0]]:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)
