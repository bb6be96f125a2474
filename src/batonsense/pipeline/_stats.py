"""Per-sensor health: what the trackside status page and `replay` report."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from batonsense.sync import ClockFit


@dataclass(slots=True)
class SensorStats:
    """Counters and clock state of one sensor's pipeline (updated as packets arrive).

    notifications: received (decodable or not); packets: decoded; samples:
    decoded samples; lost_packets: sequence numbers skipped (gaps, left as
    gaps); decode_errors: undecodable notifications; reboots: BOOT flag, seq
    back to 0 or sensor time going back; clock_resets: all restarts of the
    clock fit (reboots and clock jumps); restarts: START flags after the
    first (streaming re-armed, e.g. after a reconnect; samples in between were
    never measured); dropped_samples: samples whose mapped time was not after
    the previous one's (never emitted out of order); duplicates:
    notifications that repeated a packet already received (same seq and
    sensor time; dropped, not counted as packets); reordered: packets that
    arrived after a later one (within `REORDER_WINDOW_PACKETS`; received, so
    not lost; their samples are emitted if still held back for the clock
    fit's warm-up, else dropped and counted in dropped_samples);
    overflow_samples: samples the sensor itself lost before a packet with
    the OVERFLOW flag (IMU FIFO overrun), counted from its sensor time
    (`firmware_notes/clock_sync.md`); offset_s, drift_ppm,
    sync_state, sync_uncertainty_ms: the clock fit (host = offset + (1 +
    drift)·sensor); rate_hz: measured sample rate on the host clock;
    battery_pct: last known battery level (None: unknown); low_battery: the
    sensor's LOW_BATTERY flag; last_seen_host_s: receive time (s, host) of
    the last notification; protocol: the decoder's name; timing: how sample
    times are found — "sensor clock" (timestamps mapped by the clock fit,
    ~0.5 ms) or "receive-time de-jittered" (no timestamps, e.g. WitMotion:
    accuracy floor about one BLE connection interval, 7.5–50 ms).
    """

    sensor_id: str
    notifications: int = 0
    packets: int = 0
    samples: int = 0
    lost_packets: int = 0
    decode_errors: int = 0
    reboots: int = 0
    clock_resets: int = 0
    restarts: int = 0
    dropped_samples: int = 0
    duplicates: int = 0
    reordered: int = 0
    overflow_samples: int = 0
    offset_s: float | None = None
    drift_ppm: float | None = None
    sync_state: str = "empty"
    sync_uncertainty_ms: float | None = None
    rate_hz: float | None = None
    battery_pct: int | None = None
    low_battery: bool = False
    last_seen_host_s: float | None = None
    protocol: str = "batonsense_v1"
    timing: str = "sensor clock"

    @property
    def lost_pct(self) -> float:
        """Lost packets in % of the packets sent (received + lost); 0 before any."""
        sent = self.packets + self.lost_packets
        return 100.0 * self.lost_packets / sent if sent else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["lost_pct"] = round(self.lost_pct, 3)
        for k, v in d.items():
            if isinstance(v, float) and not math.isfinite(v):
                d[k] = None
        return d


def with_fit(stats: SensorStats, fit: ClockFit, rate_hz: float | None) -> SensorStats:
    """A snapshot of stats with the clock fit's offset, drift, state and uncertainty.

    rate_hz: the measured rate on the host clock, as the caller finds it.
    """
    finite = math.isfinite(fit.offset_s)
    return replace(
        stats,
        offset_s=fit.offset_s if finite else None,
        drift_ppm=fit.drift_ppm if finite else None,
        sync_state=fit.state.value,
        sync_uncertainty_ms=fit.uncertainty_s * 1e3 if finite else None,
        rate_hz=rate_hz,
    )
