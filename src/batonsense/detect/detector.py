"""The exchange detector: one causal algorithm for live streams and whole recordings.

Stages: samples → common grid → frame features (coupling per wrist) → holder
tracker (hand-overs, falls) → fine timing around each event → Exchange.

Live: `push()` sample blocks as they arrive, `poll()` returns the exchanges that
became final.  An exchange is final once the data reach `lookahead_s` past the
first frame of the new holder's confirmed hold (`fall_lookahead_s` past the frame
that saw the fall), so latency after the release is bounded.  Offline:
`detect(recording)` pushes the recording in chunks through exactly the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from batonsense.detect.config import DetectorConfig
from batonsense.detect.frames import frame_features
from batonsense.detect.grid import make_grid, resample
from batonsense.detect.handover import grips, time_fall, time_handover
from batonsense.detect.holder import Fall, Handover, HolderTracker
from batonsense.model import Exchange, Recording, Role, SensorInfo, SensorStream


class _Buffer:
    """Growing per-sensor sample buffer, trimmed from the front."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._cat: SensorStream | None = None
        self.sensor_id = ""

    def add(self, block: SensorStream) -> None:
        if len(block):
            self.parts.append((block.t_s, block.acc_mps2, block.gyro_radps))
            self._cat = None
            self.sensor_id = block.sensor_id

    def stream(self) -> SensorStream:
        if self._cat is None:
            if not self.parts:
                e = np.empty(0)
                self._cat = SensorStream(self.sensor_id, e, np.empty((0, 3)), np.empty((0, 3)))
            else:
                t = np.concatenate([p[0] for p in self.parts])
                a = np.concatenate([p[1] for p in self.parts])
                g = np.concatenate([p[2] for p in self.parts])
                self._cat = SensorStream(self.sensor_id, t, a, g)
                self.parts = [(t, a, g)]
        return self._cat

    @property
    def last_s(self) -> float:
        # trim() can leave one empty part (everything before the cut): no samples, -inf
        for t_s, _acc, _gyro in reversed(self.parts):
            if len(t_s):
                return float(t_s[-1])
        return -np.inf

    def trim(self, before_s: float) -> None:
        s = self.stream()
        i = int(np.searchsorted(s.t_s, before_s))
        if i > 0:
            self.parts = [(s.t_s[i:].copy(), s.acc_mps2[i:].copy(), s.gyro_radps[i:].copy())]
            self._cat = None


class ExchangeDetector:
    """Detects exchanges in sample streams.  Results accumulate in `exchanges_`."""

    def __init__(self, sensors: Sequence[SensorInfo], config: DetectorConfig | None = None):
        self.config = config or DetectorConfig()
        self.sensors = tuple(sensors)
        self.baton = next(s for s in self.sensors if s.role is Role.BATON)
        self.wrists = [s for s in self.sensors if s.role is Role.WRIST]
        self.tracker = HolderTracker([str(w.athlete) for w in self.wrists], self.config.holder)
        self._buf = {s.id: _Buffer() for s in self.sensors}
        for s in self.sensors:
            self._buf[s.id].sensor_id = s.id
        self._next_k: int | None = None
        self._pending: list[Handover | Fall] = []
        self.exchanges_: list[Exchange] = []
        self.clock = "recording"  # the clock of the pushed samples; stamped on every Exchange

    # -- live interface ------------------------------------------------------
    def push(self, block: SensorStream) -> None:
        """Append samples of one sensor (in time order, after what was pushed before)."""
        if block.sensor_id in self._buf:
            self._buf[block.sensor_id].add(block)

    def poll(self, final: bool = False) -> list[Exchange]:
        """Process what the data allow; return exchanges that became final."""
        cfg = self.config
        lasts = [b.last_s for b in self._buf.values() if b.parts]
        if not lasts:
            return []
        newest = max(lasts)
        # a sensor silent for stale_s (disconnected) no longer holds everyone back
        live = [t for t in lasts if t >= newest - cfg.stale_s]
        watermark = newest if final else min(live)
        if len(lasts) < len(self._buf) and not final:
            watermark = min(watermark, newest - cfg.stale_s)
        if self._next_k is None:
            first = min(float(b.stream().t_s[0]) for b in self._buf.values() if b.parts)
            self._next_k = int(np.ceil((first + cfg.window_s) / cfg.hop_s))
        end_k = int(np.floor(watermark / cfg.hop_s))
        batch = max(1, int(cfg.max_batch_s / cfg.hop_s))
        while self._next_k <= end_k:
            k1 = min(end_k, self._next_k + batch - 1)
            self._frames(self._next_k, k1)
            self._next_k = k1 + 1
        done = self._finish(watermark, final)
        for b in self._buf.values():
            b.trim(watermark - cfg.keep_s)
        return done

    def flush(self) -> list[Exchange]:
        """End of data: finish everything still pending."""
        return self.poll(final=True)

    # -- offline interface ---------------------------------------------------
    def detect(
        self,
        recording: Recording,
        chunk_s: float = 20.0,
        progress: Callable[[float], None] | None = None,
    ) -> ExchangeDetector:
        """Run over a whole recording in chunks of chunk_s (same code path as live)."""
        self.clock = recording.clock
        t0, t1 = recording.start_s, recording.end_s
        edges = np.arange(t0, t1 + chunk_s, chunk_s)
        for i in range(len(edges) - 1):
            for s in recording.streams.values():
                lo, hi = edges[i], edges[i + 1] if i < len(edges) - 2 else np.inf
                part = s.between(lo, hi)
                if len(part):
                    self.push(part)
            self.poll()
            if progress is not None:
                progress(min(1.0, (edges[i + 1] - t0) / max(t1 - t0, 1e-9)))
        self.flush()
        self.exchanges_.sort(key=lambda e: e.time_s)
        return self

    # -- internals -----------------------------------------------------------
    def _grid(self, start_s: float, end_s: float):
        cfg = self.config
        t = make_grid(start_s, end_s + 1e-9, cfg.grid_rate_hz)
        data = {sid: resample(b.stream(), t, cfg.grid.max_gap_s) for sid, b in self._buf.items()}
        return t, data

    def _frames(self, k0: int, k1: int) -> None:
        cfg = self.config
        t_first, t_last = k0 * cfg.hop_s, k1 * cfg.hop_s
        lookback_s = max(cfg.window_s, cfg.fast_window_s, cfg.parting_fit_s + cfg.parting_lag_s)
        t, data = self._grid(t_first - lookback_s - 2.0 / cfg.grid_rate_hz, t_last)
        if t.shape[0] < 2:
            return
        frame_t = np.arange(k0, k1 + 1) * cfg.hop_s
        idx = np.clip(np.searchsorted(t, frame_t - 1e-9), 0, t.shape[0] - 1)
        acc_b, gyro_b, valid_b = data[self.baton.id]
        ff = frame_features(
            t,
            acc_b,
            gyro_b,
            valid_b,
            [data[w.id][1] for w in self.wrists],
            [data[w.id][2] for w in self.wrists],
            idx,
            grid_rate_hz=cfg.grid_rate_hz,
            cfg=cfg.frames,
        )
        baton, wrists, fs, win_s = self.baton, self.wrists, cfg.grid_rate_hz, cfg.fast_window_s

        def grip(t_s: float, w: int) -> bool:
            return grips(t, data, baton, wrists[w], t_s - win_s, t_s, fs, cfg.sensors)

        self._pending.extend(self.tracker.update(ff, cfg.hop_s, grip))

    def _finish(self, watermark: float, final: bool) -> list[Exchange]:
        cfg = self.config
        done: list[Exchange] = []
        keep: list[Handover | Fall] = []
        for ev in self._pending:
            if isinstance(ev, Handover):
                ready_s = ev.receiver_first_s + cfg.lookahead_s
            else:  # the fall is timed on data up to where it was seen
                ready_s = ev.fall_s + cfg.fall_lookahead_s
            if watermark < ready_s and not final:
                keep.append(ev)
                continue
            ex = self._time(ev, min(ready_s, watermark))
            if ex is not None:
                done.append(replace(ex, clock=self.clock))
        self._pending = keep
        self.exchanges_.extend(done)
        return done

    def _time(self, ev: Handover | Fall, until_s: float) -> Exchange | None:
        cfg = self.config
        t, data = self._grid(ev.giver_last_s - cfg.context_s, until_s)
        if t.shape[0] < 10:
            return None
        native_hz = self._native_hz(t)
        if isinstance(ev, Handover):
            return time_handover(t, data, self.baton, self.wrists, ev, cfg, native_hz)
        native = self._buf[self.baton.id].stream().between(t[0], t[-1] + 1e-9)
        return time_fall(t, data, self.baton, self.wrists, ev, cfg, native, native_hz)

    def _native_hz(self, t: np.ndarray) -> dict[str, float]:
        """Each sensor's own sample rate (Hz) over grid times t: median sample interval."""
        out = {}
        for sid, b in self._buf.items():
            s = b.stream().between(t[0], t[-1] + 1e-9)
            if len(s) >= 3:
                out[sid] = 1.0 / float(np.median(np.diff(s.t_s)))
        return out


def detect_exchanges(
    recording: Recording,
    progress: Callable[[float], None] | None = None,
    config: DetectorConfig | None = None,
) -> list[Exchange]:
    """All exchanges in a recording, sorted by time (offline use of the live detector)."""
    det = ExchangeDetector(recording.sensors, config).detect(recording, progress=progress)
    return list(det.exchanges_)
