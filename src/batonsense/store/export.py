"""Timing logs out of the database: one exchange object (API, SSE, JSON) and CSV rows.

An exchange object is `Exchange.to_dict()` (times on the session's clock in
s, durations in ms) plus `id`, `session_id`, `session_name`, `created_at`
and the four event times as ISO-8601 UTC (`reach_utc`, `grab_utc`,
`release_utc`, `drop_utc`; null when the time or the session clock's UTC
origin is unknown).  The CSV has one row per exchange with units in the
column names and the same UTC times.  Text cells a spreadsheet would run as a
formula (starting with `=`, `+`, `-`, `@`, tab or CR: a session named
`=HYPERLINK(...)`) get a leading `'` (OWASP's CSV-injection guidance); numbers,
negative ones too, stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ._store import Session, StoredExchange

#: CSV columns, in order (units in names; *_utc: ISO-8601 UTC; *_s: the session's clock)
CSV_COLUMNS = (
    "id", "session_id", "session_name", "giver", "receiver", "outcome",
    "reach_utc", "grab_utc", "release_utc", "drop_utc", "overlap_ms", "reach_ms",
    "giver_hand", "receiver_hand", "hand_mismatch", "technique", "confidence",
    "grab_pm_ms", "release_pm_ms", "clock", "reach_s", "grab_s", "release_s", "drop_s", "created_at",
    "hands_without_sensor",
)  # fmt: skip


def iso_utc(when: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and a Z (e.g. 2026-11-22T09:30:01.234Z)."""
    if when is None:
        return None
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def exchange_record(stored: StoredExchange, session: Session) -> dict[str, Any]:
    """The exchange object of one stored exchange (see the module docstring)."""
    ex = stored.exchange
    d: dict[str, Any] = {"id": stored.id, "session_id": stored.session_id}
    d["session_name"] = session.name
    d.update(ex.to_dict())
    for event in ("reach", "grab", "release", "drop"):
        d[f"{event}_utc"] = iso_utc(session.utc(getattr(ex, f"{event}_s")))
    d["created_at"] = iso_utc(stored.created_at)
    return d


def exchanges_json(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The JSON export document: {"exchanges": [...]}."""
    return {"exchanges": list(records)}


def exchanges_csv(records: Iterable[dict[str, Any]]) -> str:
    """The CSV export (header + one row per exchange object; empty cells for null).

    Rows end in CRLF (RFC 4180), which also makes the csv module quote a cell
    holding a lone CR, so no text breaks a row in a spreadsheet."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(CSV_COLUMNS)
    for r in records:
        out.writerow(["" if r.get(c) is None else _cell(r[c]) for c in CSV_COLUMNS])
    return buf.getvalue()


#: what a spreadsheet reads as the start of a formula in a text cell
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    text = ";".join(str(x) for x in v) if isinstance(v, list) else str(v)
    return inert_text(text)


def inert_text(text: str) -> str:
    """A text cell a spreadsheet shows as text, never runs: `'` before a formula start."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


__all__ = [
    "CSV_COLUMNS", "exchange_record", "exchanges_csv", "exchanges_json", "inert_text", "iso_utc",
]  # fmt: skip
