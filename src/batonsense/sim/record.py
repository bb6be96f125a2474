"""Render a scene to a Recording: chunked truth on the internal grid, sampled by
each sensor's ImuSpec.  Memory stays bounded by the chunk length."""

from __future__ import annotations

import numpy as np

from batonsense.model import Recording, SensorStream
from batonsense.sim.imu import ImuSpec, box_average, lost_mask, measure
from batonsense.sim.scene import Scene

CHUNK_S = 10.0


def render(scene: Scene, specs: dict[str, ImuSpec], t_end: float, seed: int,
           gaps: dict[str, list[tuple[float, float]]] | None = None) -> Recording:
    """Sample every sensor of `scene` from its first sample to t_end (true time, s)."""
    fs = scene.fs
    times = {sid: sp.sample_times(t_end) for sid, sp in specs.items()}
    margin = int(np.ceil(max(sp.period_s for sp in specs.values()) * fs)) + 4
    parts: dict[str, tuple[list, list]] = {sid: ([], []) for sid in specs}
    n_total = int(np.ceil(t_end * fs)) + 1
    step = int(CHUNK_S * fs)
    for i0 in range(0, n_total, step):
        i1 = min(i0 + step, n_total)
        truth = scene.truth(i0 - margin, i1 + 2)
        for sid, sp in specs.items():
            t = times[sid]
            a, b = np.searchsorted(t, [i0 / fs, i1 / fs])
            if a == b:
                continue
            f, w = truth[sid]
            g0 = (i0 - margin) / fs
            parts[sid][0].append(box_average(g0, fs, f, t[a:b], sp.period_s))
            parts[sid][1].append(box_average(g0, fs, w, t[a:b], sp.period_s))
    streams = {}
    for k, (sid, sp) in enumerate(specs.items()):
        rng = np.random.default_rng([seed, 7919, k])
        t = times[sid]
        f = np.concatenate(parts[sid][0]) if parts[sid][0] else np.zeros((0, 3))
        w = np.concatenate(parts[sid][1]) if parts[sid][1] else np.zeros((0, 3))
        acc, gyr = measure(sp, f, w, rng)
        keep = lost_mask(sp, len(t), rng, (gaps or {}).get(sid, []), t)
        streams[sid] = SensorStream(sid, t[keep] + sp.clock_err_s, acc[keep], gyr[keep])
    infos = tuple(s.info for s in scene.sensors)
    return Recording(sensors=infos, streams=streams)
