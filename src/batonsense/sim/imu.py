"""Sampling the true motion like a real IMU: rate error, clock offset, anti-alias
averaging, scale error, bias, white noise, int16 quantisation with saturation,
and lost packets.

Spec defaults: ±16 g and ±2000 °/s full scale; noise 0.05 m/s² and 0.005 rad/s rms
per axis at 200 Hz (constant density, so rms grows with sqrt(rate)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from batonsense.model import GRAVITY_MPS2 as G

ACC_FS = 16 * G  # m/s²
GYRO_FS = np.radians(2000.0)  # rad/s
ACC_LSB = ACC_FS / 32768.0
GYRO_LSB = GYRO_FS / 32768.0
RATES_HZ = (100.0, 200.0, 400.0, 416.0)


@dataclass(frozen=True)
class ImuSpec:
    """One sensor's imperfections (fixed for a recording)."""

    rate_hz: float  # nominal
    rate_err: float  # relative, actual = nominal * (1 + rate_err)
    clock_err_s: float  # recorded time - true time
    t_first_s: float  # true time of the first sample
    acc_bias: np.ndarray
    gyro_bias: np.ndarray
    acc_scale: np.ndarray
    gyro_scale: np.ndarray
    acc_noise: float  # rms at 200 Hz, m/s²
    gyro_noise: float  # rms at 200 Hz, rad/s
    packet: int  # samples per radio packet
    loss: float  # packet loss probability

    @staticmethod
    def random(rng: np.random.Generator, rate_hz: float | None, loss: float,
               t0: float = 0.0) -> ImuSpec:
        rate = float(rate_hz) if rate_hz else float(rng.choice(RATES_HZ))
        return ImuSpec(
            rate_hz=rate, rate_err=rng.uniform(-0.005, 0.005),
            clock_err_s=rng.choice([-1.0, 1.0]) * rng.uniform(0.001, 0.002),
            t_first_s=t0 + rng.uniform(0.0, 0.05),
            acc_bias=rng.uniform(-0.2, 0.2, 3), gyro_bias=rng.uniform(-0.02, 0.02, 3),
            acc_scale=1 + rng.uniform(-0.02, 0.02, 3), gyro_scale=1 + rng.uniform(-0.02, 0.02, 3),
            acc_noise=0.05, gyro_noise=0.005, packet=int(rng.integers(4, 13)), loss=loss,
        )

    @property
    def period_s(self) -> float:
        return 1.0 / (self.rate_hz * (1.0 + self.rate_err))

    def sample_times(self, t_end: float) -> np.ndarray:
        """True sample times (s) up to t_end."""
        n = int(np.floor((t_end - self.t_first_s) / self.period_s)) + 1
        return self.t_first_s + np.arange(max(n, 0)) * self.period_s


def box_average(t_grid0: float, fs: float, x: np.ndarray, t_s: np.ndarray,
                width: float) -> np.ndarray:
    """Mean of the piecewise-linear signal x (grid t_grid0 + k/fs) over [t-width, t]."""
    c = np.concatenate([np.zeros((1, x.shape[1])),
                        np.cumsum(0.5 * (x[1:] + x[:-1]), axis=0) / fs])
    k_hi = (t_s - t_grid0) * fs
    k_lo = k_hi - width * fs

    def at(k: np.ndarray) -> np.ndarray:
        i = np.clip(np.floor(k).astype(int), 0, len(x) - 2)
        fr = (k - i)[:, None]
        # exact integral of the linear segment up to the fractional point
        return c[i] + (x[i] * fr + 0.5 * (x[i + 1] - x[i]) * fr**2) / fs

    return (at(k_hi) - at(k_lo)) / width


def measure(spec: ImuSpec, f: np.ndarray, w: np.ndarray, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    """Apply scale, bias, noise, quantisation and saturation to averaged truth."""
    k = np.sqrt(spec.rate_hz / 200.0)
    acc = f * spec.acc_scale + spec.acc_bias + rng.normal(0, spec.acc_noise * k, f.shape)
    gyr = w * spec.gyro_scale + spec.gyro_bias + rng.normal(0, spec.gyro_noise * k, w.shape)
    acc = np.clip(np.round(acc / ACC_LSB), -32768, 32767) * ACC_LSB
    gyr = np.clip(np.round(gyr / GYRO_LSB), -32768, 32767) * GYRO_LSB
    return acc, gyr


def lost_mask(spec: ImuSpec, n: int, rng: np.random.Generator,
              gaps: list[tuple[float, float]] = (), t: np.ndarray | None = None) -> np.ndarray:
    """Boolean keep-mask: whole packets lost with probability spec.loss, plus gaps (s)."""
    n_pk = -(-n // spec.packet)
    keep = np.repeat(rng.random(n_pk) >= spec.loss, spec.packet)[:n]
    if t is not None:
        for g0, g1 in gaps:
            keep &= ~((t >= g0) & (t < g1))
    return keep
