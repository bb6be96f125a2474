"""The rows of `GET /api/sensors` (and the page): every sensor's configuration and
live status, and the sensors changed for the next session."""

from __future__ import annotations

from typing import Any

from batonsense.model import SensorInfo
from batonsense.pipeline.session import RecordSession, Target

from .health import STALE_S
from .sensor_set import SensorSet

#: the live status figures a row takes from the record session's SensorStatus
_STATUS_KEYS = (
    "battery_pct",
    "rate_hz",
    "lost_pct",
    "offset_s",
    "drift_ppm",
    "last_seen_ago_s",
    "packets",
    "sync_state",
    "overflow_samples",
)


def sensor_rows(
    sensor_set: SensorSet, record: RecordSession | None, problem: str | None
) -> list[dict[str, Any]]:
    """Status of every configured sensor: the streamed ones (live status from record,
    problem: why streaming is not running, or None), then those added next session."""
    status = {r.sensor_id: r for r in record.status()} if record else {}
    ages = _data_ages_s(record)
    rows = []
    for s in sensor_set.sensors:
        st = status.get(s.id)
        row = config_row(s, sensor_set.target(s.id), "starting")
        if st is not None:
            d = st.to_dict()
            row.update({k: d.get(k) for k in _STATUS_KEYS})
            row["address"] = st.address or row["address"]
            row["connected"] = st.connected
            row["state"] = problem if problem and not st.connected else st.state
            ago = _no_data_s(st.last_seen_ago_s, ages.get(s.id))
            if st.connected and (ago is None or ago >= STALE_S):
                row["state"] = "no data" if ago is None else f"no data for {ago:.0f} s"
        rows.append(row)
    return rows + _next_rows(sensor_set, rows)


def config_row(info: SensorInfo, target: Target, state: str) -> dict[str, Any]:
    """A sensor's row as `GET /api/sensors` lists it, from its configuration alone."""
    return {
        "id": info.id,
        "role": info.role.value,
        "athlete": info.athlete,
        "hand": None if info.hand is None else info.hand.value,
        "address": target.address,
        "name": target.name,
        "connected": False,
        "state": state,
    }


def _data_ages_s(record: RecordSession | None) -> dict[str, float]:
    """Per sensor: how old its newest sample handed on is (s; catching up after a
    stall, a sensor sends old samples: it is not streaming live)."""
    if record is None or record.pipeline is None:
        return {}
    now_s = record.now()
    return {sid: now_s - t for sid, t in record.pipeline.last_sample_s.items()}


def _next_rows(sensor_set: SensorSet, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sensors added or changed through the API, not streamed until the next session.

    A changed sensor's row in `rows` (its live status) takes the new configuration
    and the state "next session"; a new one gets a row of its own."""
    if sensor_set.next is None:
        return []
    streamed = {s.id: s for s in sensor_set.sensors}
    by_id = {r["id"]: r for r in rows}
    added = []
    sensors, targets = sensor_set.next
    for sid in set(streamed) - {s.id for s in sensors}:
        by_id[sid]["state"] = "removed next session"
    for s in sensors:
        t = targets.get(s.id, Target(s.id))
        if streamed.get(s.id) == s and sensor_set.target(s.id) == t:
            continue
        new = config_row(s, t, "next session")
        row = by_id.get(s.id)
        if row is None:
            added.append(new)
        else:  # keeps its live status
            row.update({k: v for k, v in new.items() if k != "connected"})
    return added


def _no_data_s(seen_ago_s: float | None, data_age_s: float | None) -> float | None:
    """How long a sensor has given no live data (s): since its last notification, or
    its newest sample's age less the ~1 s a sample may take to be handed on."""
    behind_s = None if data_age_s is None else data_age_s - 1.0
    ages = [a for a in (seen_ago_s, behind_s) if a is not None]
    return max(ages) if ages else None
