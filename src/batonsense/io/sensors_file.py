"""The sensors file (TOML): which sensor is the baton, which is on whose wrist.

::

    [[sensor]]
    id = "baton"
    role = "baton"

    [[sensor]]
    id = "w7"
    role = "wrist"
    athlete = "ANA"
    hand = "right"

Exactly one baton sensor, at least two wrist sensors, each wrist sensor with an
athlete and a hand ("left"/"right"), no two sensors on the same athlete's same
hand, ids unique, non-empty and usable in the recording CSV (no comma, quote,
line break, surrounding whitespace or leading '#').  Other keys are ignored.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from batonsense.errors import InputError
from batonsense.io._atomic import atomic_write
from batonsense.model import Hand, Role, SensorInfo

__all__ = ["read_sensors", "write_sensors_toml"]

_TABLE_RE = re.compile(r"^[ \t]*\[\[[ \t]*sensor[ \t]*\]\]", re.MULTILINE)
_TOML_POS_RE = re.compile(r"at line (\d+), column (\d+)")
_BAD_ID_CHARS = (",", '"', "\n", "\r")


class _Locator:
    """Finds the line of a sensor table, or of a key inside it, in the TOML text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [m.start() for m in _TABLE_RE.finditer(text)]

    def line(self, table: int, key: str | None = None) -> int | None:
        """1-based line of `key = ...` in the table'th [[sensor]] table (else of the table)."""
        if table >= len(self.starts):
            return None
        lo = self.starts[table]
        hi = self.starts[table + 1] if table + 1 < len(self.starts) else len(self.text)
        pos = lo
        if key is not None:
            m = re.compile(rf"^[ \t]*\"?{re.escape(key)}\"?[ \t]*=", re.MULTILINE).search(
                self.text, lo, hi
            )
            pos = m.start() if m else lo
            if m:
                pos += len(m.group(0)) - len(m.group(0).lstrip())
        return self.text.count("\n", 0, pos) + 1


def read_sensors(path: str | Path) -> tuple[SensorInfo, ...]:
    """Parse and validate a sensors file; InputError(path, problem, line) if bad."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise InputError(path, f"cannot read file: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise InputError(path, "file is not valid UTF-8 text") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = _TOML_POS_RE.search(str(e))
        raise InputError(path, f"TOML syntax error: {e}", int(m.group(1)) if m else None) from None
    tables = doc.get("sensor")
    if not isinstance(tables, list) or not tables:
        raise InputError(path, "no [[sensor]] tables: expected one baton and wrist sensors")
    loc = _Locator(text)
    sensors = [_parse_one(path, loc, i, t) for i, t in enumerate(tables)]
    _check_set(path, loc, sensors)
    return tuple(sensors)


def _parse_one(path: Path, loc: _Locator, i: int, table: Any) -> SensorInfo:
    """One [[sensor]] table → SensorInfo (per-sensor checks only)."""
    if not isinstance(table, dict):
        raise InputError(path, f"sensor #{i + 1} is not a table", loc.line(i))
    sid = table.get("id")
    if sid is None:
        raise InputError(path, f"sensor #{i + 1} has no id", loc.line(i))
    if not isinstance(sid, str) or not sid.strip():
        raise InputError(path, f"sensor #{i + 1}: empty id (id must be a non-empty string)",
                         loc.line(i, "id"))
    if sid != sid.strip() or sid.startswith("#") or any(c in sid for c in _BAD_ID_CHARS):
        raise InputError(
            path,
            f"sensor id {sid!r}: no comma, quote, line break, leading '#' or surrounding spaces",
            loc.line(i, "id"),
        )
    role = table.get("role")
    if role is None:
        raise InputError(path, f"sensor '{sid}' has no role (\"baton\" or \"wrist\")", loc.line(i))
    if role not in ("baton", "wrist"):
        raise InputError(
            path, f"sensor '{sid}': unknown role {role!r} (\"baton\" or \"wrist\")",
            loc.line(i, "role"),
        )
    if role == "baton":
        return SensorInfo(sid, Role.BATON)
    return SensorInfo(sid, Role.WRIST, _athlete(path, loc, i, sid, table),
                      _hand(path, loc, i, sid, table))


def _athlete(path: Path, loc: _Locator, i: int, sid: str, table: dict) -> str:
    athlete = table.get("athlete")
    if athlete is None:
        raise InputError(path, f"wrist sensor '{sid}' has no athlete", loc.line(i))
    if not isinstance(athlete, str) or not athlete.strip():
        raise InputError(path, f"wrist sensor '{sid}': athlete must be a non-empty string",
                         loc.line(i, "athlete"))
    return athlete


def _hand(path: Path, loc: _Locator, i: int, sid: str, table: dict) -> Hand:
    hand = table.get("hand")
    if hand is None:
        raise InputError(path, f"wrist sensor '{sid}' has no hand (\"left\" or \"right\")",
                         loc.line(i))
    if hand not in ("left", "right"):
        raise InputError(
            path, f"wrist sensor '{sid}': bad hand {hand!r} (\"left\" or \"right\")",
            loc.line(i, "hand"),
        )
    return Hand(hand)


def sensor_set_problem(sensors: Sequence[SensorInfo]) -> tuple[str, int | None, str | None] | None:
    """What is wrong with a set of sensors, or None: (message, index, key).

    Unique ids, exactly one baton, one sensor per athlete's hand, ≥ 2 wrists.
    index/key point at the sensor and field at fault (for a file's line).
    Shared by the sensors file and the service's `PUT /api/sensors`.
    """
    seen_ids: dict[str, int] = {}
    seen_hands: dict[tuple[str, Hand], str] = {}
    baton: str | None = None
    for i, s in enumerate(sensors):
        if s.id in seen_ids:
            return f"duplicate sensor id '{s.id}' (also sensor #{seen_ids[s.id] + 1})", i, "id"
        seen_ids[s.id] = i
        if s.role is Role.BATON:
            if baton is not None:
                return f"more than one baton sensor ('{baton}' and '{s.id}')", i, "role"
            baton = s.id
            continue
        key = (s.athlete or "", s.hand or Hand.LEFT)
        if key in seen_hands:
            msg = (f"sensors '{seen_hands[key]}' and '{s.id}' are both on {s.athlete}'s "
                   f"{key[1].value} hand")  # fmt: skip
            return msg, i, "hand"
        seen_hands[key] = s.id
    if baton is None:
        return "no baton sensor (one sensor needs role = \"baton\")", None, None
    if len(seen_hands) < 2:
        return f"need at least 2 wrist sensors, found {len(seen_hands)}", None, None
    return None


def _check_set(path: Path, loc: _Locator, sensors: list[SensorInfo]) -> None:
    problem = sensor_set_problem(sensors)
    if problem is not None:
        msg, i, key = problem
        raise InputError(path, msg, None if i is None else loc.line(i, key))


def write_sensors_toml(path: str | Path, sensors: Sequence[SensorInfo]) -> None:
    """Write a sensors file (atomically) that read_sensors reads back unchanged."""
    blocks = []
    for s in sensors:
        lines = ["[[sensor]]", f"id = {_q(s.id)}", f"role = {_q(s.role.value)}"]
        if s.athlete is not None:
            lines.append(f"athlete = {_q(s.athlete)}")
        if s.hand is not None:
            lines.append(f"hand = {_q(s.hand.value)}")
        blocks.append("\n".join(lines) + "\n")
    with atomic_write(path) as f:
        f.write("\n".join(blocks))


def _q(s: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML)."""
    return json.dumps(s, ensure_ascii=False)
