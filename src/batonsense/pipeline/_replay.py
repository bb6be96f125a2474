"""Replay a raw notification file through the live pipeline and detector."""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from batonsense.errors import InputError
from batonsense.model import Exchange, Recording, SensorInfo
from batonsense.sources.raw import RawReader, RawRecord, SkippedSpan

from ._consumers import BlockRecorder, LiveDetector
from ._pipeline import Pipeline
from ._stats import SensorStats
from ._untimed import Route


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """exchanges: as the live detector found them (host clock); recording: the
    mapped samples (if asked for); stats: per sensor id; unknown: notifications
    of sensors not in the sensors file, and `unknown_keys` the same per
    device key (id, address or name as the file holds it); skipped_bytes:
    all unreadable bytes; records: intact records read; damaged: the byte
    ranges skipped in the middle of the file (bad CRC or length) and
    damaged_records about how many records they held; torn_tail_bytes: a
    last record cut short (a crash while writing; the quiet case)."""

    exchanges: tuple[Exchange, ...]
    recording: Recording | None
    stats: Mapping[str, SensorStats]
    unknown: int
    skipped_bytes: int
    records: int = 0
    damaged: tuple[SkippedSpan, ...] = ()
    damaged_records: int = 0
    torn_tail_bytes: int = 0
    unknown_keys: Mapping[str, int] = field(default_factory=dict)


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

    routes: per sensor id, its protocol (`read_routes`); default: ours.
    A record's device key (sensor id, BLE address or name) matches a sensor
    whatever its case (unless two sensors' keys differ only in case).  Damaged
    records are skipped (`RawReader`) and reported in the result.  InputError
    if the file has nothing intact after its header, or if it has records
    but none of a sensor in `sensors`."""
    live = LiveDetector(sensors) if detect else None
    recorder = BlockRecorder(sensors) if record else None
    consumers = [c for c in (live, recorder) if c is not None]
    pipeline = Pipeline(sensors, aliases=aliases, consumers=consumers, routes=routes)
    reader = RawReader(path)
    unknown: Counter[str] = Counter()
    pipeline.feed_records(_matched(reader, _key_matcher(sensors, aliases), unknown))
    pipeline.flush()
    if reader.records and sum(unknown.values()) == reader.records:
        devices = ", ".join(f"{k!r} ({n})" for k, n in unknown.most_common(5))
        raise InputError(
            path,
            f"none of its {reader.records} records is from a sensor of the "
            f"sensors file (devices: {devices}); check the ids and `address`/`name` keys",
        )
    return ReplayResult(
        exchanges=tuple(live.flush()) if live is not None else (),
        recording=recorder.recording() if recorder is not None else None,
        stats=pipeline.stats,
        unknown=pipeline.unknown,
        skipped_bytes=reader.skipped_bytes,
        records=reader.records,
        damaged=tuple(reader.damaged),
        damaged_records=sum(reader.records_estimate(s) for s in reader.damaged),
        torn_tail_bytes=reader.torn_tail_bytes,
        unknown_keys=dict(unknown),
    )


def _key_matcher(
    sensors: Sequence[SensorInfo], aliases: Mapping[str, str] | None
) -> dict[str, str]:
    """Case-folded device key (id, address, name) → sensor id; keys that fold
    together onto different sensors are left out (only their exact spelling matches)."""
    keys = {s.id: s.id for s in sensors} | dict(aliases or {})
    folded: dict[str, str] = {}
    clash: set[str] = set()
    for key, sensor_id in keys.items():
        k = key.casefold()
        if folded.setdefault(k, sensor_id) != sensor_id:
            clash.add(k)
    exact = {key: sensor_id for key, sensor_id in keys.items()}
    return exact | {k: v for k, v in folded.items() if k not in clash and k not in exact}


def _matched(
    records: Iterable[RawRecord], keys: Mapping[str, str], unknown: Counter[str]
) -> Iterator[RawRecord]:
    """The records with each device key replaced by its sensor id where it
    matches (exactly, else case-folded); the others counted in `unknown`."""
    for r in records:
        sensor_id = keys.get(r.sensor_id) or keys.get(r.sensor_id.casefold())
        if sensor_id is None:
            unknown[r.sensor_id] += 1
        elif sensor_id != r.sensor_id:
            r = replace(r, sensor_id=sensor_id)
        yield r


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
