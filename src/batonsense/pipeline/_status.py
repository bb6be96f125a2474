"""A live session's per-sensor status row and its rich table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._stats import SensorStats


@dataclass(frozen=True, slots=True)
class SensorStatus:
    """One row of the live status table.

    state: "searching" (scanning), "connecting", "connected", "reconnecting"
    (dropped, being reconnected by the Ingestor), "not found", "connect
    failed" or "stopped" (disconnected at the end);
    last_seen_ago_s: host seconds since its last notification (None: never).
    The numbers come from the sensor's SensorStats (`stats`).
    """

    sensor_id: str
    state: str
    address: str | None
    connected: bool
    reconnects: int
    last_seen_ago_s: float | None
    stats: SensorStats

    @property
    def rate_hz(self) -> float | None:
        return self.stats.rate_hz

    @property
    def lost_pct(self) -> float:
        return self.stats.lost_pct

    @property
    def offset_s(self) -> float | None:
        return self.stats.offset_s

    @property
    def drift_ppm(self) -> float | None:
        return self.stats.drift_ppm

    @property
    def battery_pct(self) -> int | None:
        return self.stats.battery_pct

    def to_dict(self) -> dict[str, Any]:
        d = self.stats.to_dict()
        d.update(
            state=self.state,
            address=self.address,
            connected=self.connected,
            reconnects=self.reconnects,
            last_seen_ago_s=self.last_seen_ago_s,
        )
        return d


def status_table(
    rows: Sequence[SensorStatus], title: str = "Sensors (drift ppm, seen s ago)"
) -> Any:
    """A rich Table of the rows (the live display of `batonsense record`): rate in
    Hz, lost %, clock offset s, drift ppm, battery %, seen = s since the last
    notification, recon = reconnects, pkts = packets decoded."""
    from rich import box
    from rich.table import Table

    # Compact enough for an 80-column terminal.
    table = Table(
        title=title, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    for col in (
        "sensor",
        "state",
        "Hz",
        "lost%",
        "offset s",
        "drift",
        "bat%",
        "seen",
        "recon",
        "pkts",
    ):
        left = col in ("sensor", "state")
        table.add_column(col, justify="left" if left else "right", no_wrap=True)

    def f(v: float | None, fmt: str) -> str:
        return "–" if v is None else format(v, fmt)

    styles = {
        "connected": "green",
        "reconnecting": "yellow",
        "connecting": "yellow",
        "not found": "red",
        "connect failed": "red",
    }
    for r in rows:
        style = styles.get(r.state)
        table.add_row(
            r.sensor_id,
            f"[{style}]{r.state}[/{style}]" if style else r.state,
            f(r.rate_hz, ".1f"),
            f"{r.lost_pct:.1f}",
            f(r.offset_s, ".3f"),
            f(r.drift_ppm, ".1f"),
            f(r.battery_pct, "d"),
            f(r.last_seen_ago_s, ".1f"),
            str(r.reconnects),
            str(r.stats.packets),
        )
    return table
