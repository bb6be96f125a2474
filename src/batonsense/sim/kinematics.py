"""Runner kinematics: body sizes, speed plan, gait (step impacts) and trunk pose.

World frame: x forward along the straight, y left, z up (m).  The trunk frame has
its origin at the pelvis; its z axis points to the shoulders and x forward.
Gait: the step phase φ (steps, integer at each touchdown) advances at the step
frequency f(|v|).  Running vertical CoM motion comes from a half-sine ground
reaction force over the contact fraction d of each step (mean force = body weight),
so z̈ = g (h(u) - 1) with u = frac(φ); fore-aft braking/propulsion likewise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.ndimage import gaussian_filter1d

from batonsense.model import GRAVITY_MPS2 as G
from batonsense.sim.rotations import rot_x, rot_y, rot_z
from batonsense.sim.tracks import Keyframes, SpeedPlan, Windows, minjerk, smooth_interp

CONTROL_HZ = 200.0
_V = np.array([0.0, 0.8, 1.5, 2.5, 3.5, 6.0, 9.0, 11.5])
_F = np.array([1.7, 1.75, 1.85, 2.5, 2.8, 3.6, 4.4, 4.75])  # step frequency, Hz
_DUTY_V = np.array([2.5, 3.5, 6.0, 9.0, 11.5])
_DUTY = np.array([0.72, 0.68, 0.55, 0.46, 0.42])  # contact time / step period
_D_GRID = np.linspace(0.40, 0.75, 8)
_U_N = 1024


@dataclass(frozen=True)
class Body:
    """One athlete's body sizes (m) and style factors (dimensionless)."""

    name: str
    scale: float
    shoulder_w: float  # pelvis-centre to shoulder joint, lateral
    hip_h: float
    trunk_len: float
    l_upper: float
    l_fore: float
    l_hand: float
    vmax: float  # m/s
    step_factor: float
    swing_factor: float
    sway_phase: tuple[float, ...]

    @staticmethod
    def random(name: str, rng: np.random.Generator) -> Body:
        k = rng.uniform(0.93, 1.07)
        return Body(
            name=name, scale=k, shoulder_w=rng.uniform(0.18, 0.22) * k,
            hip_h=0.98 * k, trunk_len=0.47 * k, l_upper=0.30 * k, l_fore=0.27 * k,
            l_hand=0.08 * k, vmax=rng.uniform(8.8, 10.8), step_factor=rng.uniform(0.96, 1.04),
            swing_factor=rng.uniform(0.9, 1.1), sway_phase=tuple(rng.uniform(0, 2 * np.pi, 6)),
        )


def _gait_tables() -> tuple[np.ndarray, np.ndarray]:
    """Periodic double integrals (in step-phase units) of vertical/fore-aft forces.

    Returns (Zv, Zx), each (len(_D_GRID), _U_N): Zv'' = h(u) - 1 where h is the
    normalised vertical ground reaction (half-sine + touchdown transient) and
    Zx'' = -sin(2πu/d) during contact (braking then propulsion).
    """
    u = np.arange(_U_N) / _U_N
    k = np.fft.rfftfreq(_U_N, 1.0 / _U_N)
    denom = -(2 * np.pi * k) ** 2
    denom[0] = 1.0
    zv, zx = [], []
    for d in _D_GRID:
        contact = u < d
        h = np.where(contact, np.sin(np.pi * u / d), 0.0)
        h += 0.35 * np.exp(-0.5 * ((u - 0.025) / 0.012) ** 2)  # touchdown transient
        h /= h.mean()
        hx = np.where(contact, -np.sin(2 * np.pi * u / d), 0.0)
        for sig, out in ((h - 1.0, zv), (hx - hx.mean(), zx)):
            spec = np.fft.rfft(sig) / denom
            spec[0] = 0.0
            out.append(np.fft.irfft(spec, _U_N))
    return np.array(zv), np.array(zx)


_ZV, _ZX = _gait_tables()


def _table(tab: np.ndarray, u: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Bilinear lookup of a gait table at phase fraction u and duty d."""
    fu = (u % 1.0) * _U_N
    i0 = np.floor(fu).astype(int) % _U_N
    i1 = (i0 + 1) % _U_N
    wu = fu - np.floor(fu)
    fd = np.clip((d - _D_GRID[0]) / (_D_GRID[1] - _D_GRID[0]), 0, len(_D_GRID) - 1.0001)
    j0 = np.floor(fd).astype(int)
    wd = fd - j0
    a = tab[j0, i0] * (1 - wu) + tab[j0, i1] * wu
    b = tab[j0 + 1, i0] * (1 - wu) + tab[j0 + 1, i1] * wu
    return a * (1 - wd) + b * wd


def step_freq(speed: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """Step frequency (Hz) at |speed| (m/s)."""
    return smooth_interp(np.abs(speed), _V, _F) * factor


def moving(speed: np.ndarray) -> np.ndarray:
    """0 when standing, 1 when walking or faster (smooth in |v|)."""
    return minjerk((np.abs(speed) - 0.15) / 0.6)


def running(speed: np.ndarray) -> np.ndarray:
    """0 for walking, 1 for running (flight phases), smooth around 2.0-2.8 m/s."""
    return minjerk((np.abs(speed) - 2.0) / 0.8)


@dataclass
class Athlete:
    """An athlete's body and motion plan (speed, heading, lateral position, bending)."""

    body: Body
    speed: SpeedPlan
    heading: Keyframes = field(default_factory=Keyframes)  # rad, 0 = facing +x
    lateral: Keyframes = field(default_factory=Keyframes)  # world y of pelvis, m
    bend: Windows = field(default_factory=Windows)  # 0..1 crouch to the ground
    _phase: CubicSpline | None = None
    _lean: CubicSpline | None = None
    _x: CubicSpline | None = None
    _v: CubicSpline | None = None

    @property
    def name(self) -> str:
        return self.body.name

    def finalize(self, t_end: float) -> None:
        """Integrate step phase and forward lean on the control grid (call once)."""
        tc = np.arange(-1.0, t_end + 2.0, 1.0 / CONTROL_HZ)
        x, v, a = self.speed.evaluate(tc)
        # force onsets take ~0.1 s: smooth velocity before integrating position
        v_pos = gaussian_filter1d(v, 0.04 * CONTROL_HZ, mode="nearest")
        xs = x[0] + np.concatenate([[0.0], np.cumsum(0.5 * (v_pos[1:] + v_pos[:-1]))]) / CONTROL_HZ
        self._x = CubicSpline(tc, xs)
        # gait parameters adapt to speed with a lag (keeps amplitudes C2 in time)
        v = gaussian_filter1d(v, 0.12 * CONTROL_HZ, mode="nearest")
        self._v = CubicSpline(tc, v)
        f = step_freq(v, self.body.step_factor)
        phase = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) / CONTROL_HZ)])
        self._phase = CubicSpline(tc, phase)
        a_fwd = a * np.cos(self.heading(tc))
        lean = np.radians(2.0 + 0.5 * np.abs(v) + np.clip(2.6 * a_fwd, -8.0, 30.0))
        self._lean = CubicSpline(tc, gaussian_filter1d(lean, 0.08 * CONTROL_HZ))

    def gait(self, t: np.ndarray) -> dict[str, np.ndarray]:
        """Speed-dependent gait state at times t: v, φ, f, m (moving), r (running), d."""
        if self._phase is None:
            raise RuntimeError("Athlete.finalize() not called")
        x, v = self._x(t), self._v(t)
        sp = np.abs(v)
        return {
            "x": x, "v": v, "phi": self._phase(t), "f": step_freq(v, self.body.step_factor),
            "m": moving(v), "r": running(v), "d": smooth_interp(sp, _DUTY_V, _DUTY),
        }

    def trunk(self, t: np.ndarray, g: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Pelvis position (N,3) m and trunk rotation (N,3,3) at times t."""
        b = self.body
        phi, f, m, r, d, sp = g["phi"], g["f"], g["m"], g["r"], g["d"], np.abs(g["v"])
        psi = self.heading(t)
        bend = self.bend(t)
        # vertical: running impacts (z'' = g (h - 1)) blended with walking CoM vault
        z_run = G * _table(_ZV, phi, d) / f**2
        z_walk = -0.02 * b.scale * np.cos(2 * np.pi * phi)
        zo = m * (r * z_run + (1 - r) * z_walk)
        brake = smooth_interp(sp, [0.0, 3.0, 6.0, 10.0], [0.05, 0.2, 0.3, 0.35])
        xo = m * (r * brake * G * _table(_ZX, phi, d) / f**2
                  + (1 - r) * 0.012 * np.sin(2 * np.pi * phi))
        yo = m * smooth_interp(sp, [0, 1.5, 4, 10], [0.0, 0.025, 0.02, 0.015]) * np.sin(np.pi * phi)
        ph = b.sway_phase
        sway = 1.0 - m
        xo = xo + sway * 0.006 * np.sin(2 * np.pi * 0.21 * t + ph[0])
        yo = yo + sway * 0.008 * np.sin(2 * np.pi * 0.17 * t + ph[1])
        c, s = np.cos(psi), np.sin(psi)
        p = np.stack([g["x"] + c * xo - s * yo, self.lateral(t) + s * xo + c * yo,
                      b.hip_h * (1 - 0.45 * bend) + zo], axis=-1)
        a_yaw = np.radians(smooth_interp(sp, [0, 1.5, 3.5, 10], [0, 4, 7, 10])) * b.swing_factor
        yaw = psi + m * a_yaw * np.sin(np.pi * phi - 0.3)
        yaw = yaw + sway * np.radians(2.0) * np.sin(2 * np.pi * 0.13 * t + ph[2])
        roll = m * np.radians(3.0) * np.sin(np.pi * phi + np.pi / 2)
        roll = roll + sway * np.radians(1.0) * np.sin(2 * np.pi * 0.19 * t + ph[3])
        pitch = self._lean(t) + m * np.radians(2.0) * np.cos(2 * np.pi * phi) + np.radians(70) * bend
        pitch = pitch + sway * np.radians(1.5) * np.sin(2 * np.pi * 0.11 * t + ph[4])
        return p, rot_z(yaw) @ rot_y(pitch) @ rot_x(roll)
