"""Replay a raw notification file through the live pipeline and detector."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from batonsense.errors import InputError
from batonsense.model import Exchange, Recording, SensorInfo
from batonsense.sources.raw import RawReader

from ._consumers import BlockRecorder, LiveDetector
from ._pipeline import Pipeline
from ._stats import SensorStats
from ._untimed import Route


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """exchanges: as the live detector found them (host clock); recording: the
    mapped samples (if asked for); stats: per sensor id; unknown: notifications
    of sensors not in the sensors file; skipped_bytes: unreadable tail of the file."""

    exchanges: tuple[Exchange, ...]
    recording: Recording | None
    stats: Mapping[str, SensorStats]
    unknown: int
    skipped_bytes: int


def replay_raw(
    path: str | Path,
    sensors: Sequence[SensorInfo],
    *,
    aliases: Mapping[str, str] | None = None,
    detect: bool = True,
    record: bool = False,
    routes: Mapping[str, Route] | None = None,
) -> ReplayResult:
    """Run a raw file (`sources.raw`) through the same Pipeline + LiveDetector as live.

    routes: per sensor id, its protocol (`read_routes`); default: ours."""
    live = LiveDetector(sensors) if detect else None
    recorder = BlockRecorder(sensors) if record else None
    consumers = [c for c in (live, recorder) if c is not None]
    pipeline = Pipeline(sensors, aliases=aliases, consumers=consumers, routes=routes)
    reader = RawReader(path)
    pipeline.feed_records(reader)
    pipeline.flush()
    return ReplayResult(
        exchanges=tuple(live.flush()) if live is not None else (),
        recording=recorder.recording() if recorder is not None else None,
        stats=pipeline.stats,
        unknown=pipeline.unknown,
        skipped_bytes=reader.skipped_bytes,
    )


def read_aliases(path: str | Path) -> dict[str, str]:
    """Optional `address` and `name` keys of a sensors file: BLE address or name → id.

    (`io.read_sensors` validates the file and ignores these keys.)
    """
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(path, str(e)) from None
    aliases: dict[str, str] = {}
    for table in doc.get("sensor", []):
        if not isinstance(table, dict) or not isinstance(table.get("id"), str):
            continue
        for key in ("address", "name"):
            value = table.get(key)
            if isinstance(value, str) and value:
                aliases[value] = table["id"]
                aliases[value.upper()] = table["id"]
    return aliases


def read_routes(path: str | Path) -> dict[str, Route]:
    """Optional `protocol` ("batonsense_v1" or "witmotion") and `rate_hz` keys of a
    sensors file: sensor id → Route, for the sensors that have a `protocol` key.

    InputError for an unknown protocol or a WitMotion sensor without a rate.
    (`io.read_sensors` validates the file and ignores these keys.)
    """
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(path, str(e)) from None
    routes: dict[str, Route] = {}
    for table in doc.get("sensor", []):
        if not isinstance(table, dict) or not isinstance(table.get("id"), str):
            continue
        protocol = table.get("protocol")
        if protocol is None:
            continue
        rate = table.get("rate_hz")
        try:
            if not isinstance(protocol, str) or not (
                rate is None or (isinstance(rate, (int, float)) and not isinstance(rate, bool))
            ):
                raise ValueError("protocol must be a string and rate_hz a number")
            routes[table["id"]] = Route(protocol, None if rate is None else float(rate))
        except ValueError as e:
            raise InputError(path, f"sensor '{table['id']}': {e}") from None
    return routes
