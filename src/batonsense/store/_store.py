"""The database: sessions, athletes, sensors, and the queries over what was recorded."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Self

import numpy as np

from batonsense.model import Exchange, Hand, Recording, Role, SensorInfo, SensorStream
from batonsense.sources.raw import RawRecord
from batonsense.sync import HOST_CLOCK

from ._errors import StoreError, UnknownSessionError
from ._rows import EXCHANGE_COLUMNS, parse_utc, row_block, row_exchange, utc_text
from ._schema import connect


@dataclass(frozen=True, slots=True)
class Session:
    """One recorded session; ended_at None while it runs (or if the process died)."""

    id: int
    name: str
    started_at: datetime
    ended_at: datetime | None
    notes: str | None
    clock: str


@dataclass(frozen=True, slots=True)
class StoredSensor:
    """A sensor as configured: its SensorInfo plus the BLE address/name that find it."""

    info: SensorInfo
    address: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class StoredExchange:
    """An exchange as stored: id, session, the exchange, when it was committed (UTC)."""

    id: int
    session_id: int
    exchange: Exchange
    created_at: datetime


class Store:
    """The batonsense SQLite database (one file, WAL).  Writing samples: `SessionWriter`.

    All methods commit before they return.  Bad ids and values raise a
    StoreError subclass and leave the file as it was.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.conn = connect(self.path)
        self.conn.row_factory = sqlite3.Row

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- athletes and sensors -------------------------------------------------

    def add_athlete(self, name: str, notes: str | None = None) -> int:
        """Add an athlete (or update the notes of an existing one); returns its id."""
        if not name:
            raise StoreError("athlete name is empty")
        with self._tx():
            self.conn.execute(
                "INSERT INTO athletes (name, notes) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET notes = coalesce(excluded.notes, notes)",
                (name, notes),
            )
            return int(self._one("SELECT id FROM athletes WHERE name = ?", (name,))[0])

    def athletes(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM athletes ORDER BY name")]

    def put_sensor(self, sensor: StoredSensor) -> None:
        """Add or replace a sensor (its athlete is added if new)."""
        info = sensor.info
        if not info.id:
            raise StoreError("sensor id is empty")
        with self._tx():
            if info.athlete:
                self.conn.execute(
                    "INSERT OR IGNORE INTO athletes (name) VALUES (?)", (info.athlete,)
                )
            self.conn.execute(
                "INSERT OR REPLACE INTO sensors (id, role, athlete, hand, address, name) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                _sensor_values(sensor),
            )

    def sensors(self) -> list[StoredSensor]:
        rows = self.conn.execute("SELECT * FROM sensors ORDER BY id")
        return [_stored_sensor(r, r["id"]) for r in rows]

    # -- sessions -------------------------------------------------------------

    def start_session(
        self,
        name: str,
        sensors: Sequence[StoredSensor | SensorInfo] = (),
        *,
        notes: str | None = None,
        started_at: datetime | None = None,
        clock: str = HOST_CLOCK,
    ) -> int:
        """A new session with a snapshot of its sensors; returns its id."""
        stored = [s if isinstance(s, StoredSensor) else StoredSensor(s) for s in sensors]
        if len({s.info.id for s in stored}) != len(stored):
            raise StoreError("duplicate sensor ids in the session's sensors")
        with self._tx():
            cur = self.conn.execute(
                "INSERT INTO sessions (name, started_at, notes, clock) VALUES (?, ?, ?, ?)",
                (name, utc_text(started_at), notes, clock),
            )
            session_id = int(cur.lastrowid or 0)
            self.conn.executemany(
                "INSERT INTO session_sensors "
                "(session_id, sensor_id, role, athlete, hand, address, name) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(session_id, *_sensor_values(s)) for s in stored],
            )
        return session_id

    def end_session(self, session_id: int, ended_at: datetime | None = None) -> None:
        self.session(session_id)
        with self._tx():
            self.conn.execute(
                "UPDATE sessions SET ended_at = ? WHERE id = ?", (utc_text(ended_at), session_id)
            )

    def update_session(
        self, session_id: int, *, name: str | None = None, notes: str | None = None
    ) -> None:
        self.session(session_id)
        with self._tx():
            self.conn.execute(
                "UPDATE sessions SET name = coalesce(?, name), notes = coalesce(?, notes) "
                "WHERE id = ?",
                (name, notes, session_id),
            )

    def session(self, session_id: int) -> Session:
        """The session with this id; UnknownSessionError if there is none."""
        row = self.conn.execute(
            "SELECT * FROM sessions WHERE id = ?", (_session_id(session_id),)
        ).fetchone()
        if row is None:
            raise UnknownSessionError(session_id)
        return _session(row)

    def sessions(self) -> list[Session]:
        """All sessions, oldest first."""
        return [_session(r) for r in self.conn.execute("SELECT * FROM sessions ORDER BY id")]

    def session_sensors(self, session_id: int) -> list[StoredSensor]:
        self.session(session_id)
        rows = self.conn.execute(
            "SELECT * FROM session_sensors WHERE session_id = ? ORDER BY rowid", (session_id,)
        )
        return [_stored_sensor(r, r["sensor_id"]) for r in rows]

    # -- what was recorded ----------------------------------------------------

    def exchanges(
        self,
        *,
        session_id: int | None = None,
        athlete: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[StoredExchange]:
        """Exchanges, newest last; filters: session, athlete (giver or receiver),
        committed at since <= created_at < until (aware datetimes)."""
        where: list[str] = ["1"]
        args: list[Any] = []
        if session_id is not None:
            self.session(session_id)
            where.append("session_id = ?")
            args.append(session_id)
        if athlete is not None:
            where.append("(giver = ? OR receiver = ?)")
            args += [athlete, athlete]
        if since is not None:
            where.append("created_at >= ?")
            args.append(utc_text(since))
        if until is not None:
            where.append("created_at < ?")
            args.append(utc_text(until))
        rows = self.conn.execute(
            f"SELECT * FROM exchanges WHERE {' AND '.join(where)} ORDER BY id", args
        )
        return [_stored_exchange(r) for r in rows]

    def exchange(self, exchange_id: int) -> StoredExchange:
        row = self.conn.execute("SELECT * FROM exchanges WHERE id = ?", (exchange_id,)).fetchone()
        if row is None:
            raise StoreError(f"unknown exchange id {exchange_id!r}")
        return _stored_exchange(row)

    def raw_records(self, session_id: int) -> Iterator[RawRecord]:
        """The session's raw notifications in receive order (feed them to Pipeline.feed_records)."""
        self.session(session_id)
        rows = self.conn.execute(
            "SELECT sensor, host_s, payload FROM raw_notifications "
            "WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
        for sensor, host_s, payload in rows:
            yield RawRecord(sensor, host_s, bytes(payload))

    def sample_blocks(self, session_id: int, sensor_id: str | None = None) -> list[SensorStream]:
        """The session's sample blocks in the order written (optionally one sensor's)."""
        self.session(session_id)
        sql, args = "SELECT * FROM sample_blocks WHERE session_id = ?", [session_id]
        if sensor_id is not None:
            sql += " AND sensor_id = ?"
            args.append(sensor_id)
        return [row_block(r) for r in self.conn.execute(sql + " ORDER BY id", args)]

    def recording(self, session_id: int) -> Recording:
        """The session's samples joined per sensor, on the session's clock."""
        sensors = tuple(s.info for s in self.session_sensors(session_id))
        parts: dict[str, list[SensorStream]] = {s.id: [] for s in sensors}
        for block in self.sample_blocks(session_id):
            parts.setdefault(block.sensor_id, []).append(block)
        streams = {sid: _join(sid, blocks) for sid, blocks in parts.items()}
        return Recording(sensors, streams, clock=self.session(session_id).clock)

    def integrity_check(self) -> str:
        """SQLite's `PRAGMA integrity_check`: "ok" for a sound file."""
        return "; ".join(r[0] for r in self.conn.execute("PRAGMA integrity_check"))

    # -- helpers --------------------------------------------------------------

    def _one(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Row:
        row = self.conn.execute(sql, args).fetchone()
        assert row is not None
        return row

    def _tx(self) -> _Transaction:
        return _Transaction(self.conn)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error (sqlite errors → StoreError)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, _tb: object
    ) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
            return
        self.conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"rejected by the database: {exc}") from exc


def _session_id(session_id: object) -> int:
    if isinstance(session_id, bool) or not isinstance(session_id, int):
        raise UnknownSessionError(session_id)
    return session_id


def _session(row: sqlite3.Row) -> Session:
    started = parse_utc(row["started_at"])
    assert started is not None
    return Session(
        row["id"], row["name"], started, parse_utc(row["ended_at"]), row["notes"], row["clock"]
    )


def _sensor_values(s: StoredSensor) -> tuple[Any, ...]:
    info = s.info
    hand = None if info.hand is None else Hand(info.hand).value
    return (info.id, Role(info.role).value, info.athlete, hand, s.address, s.name)


def _stored_sensor(row: sqlite3.Row, sensor_id: str) -> StoredSensor:
    hand = None if row["hand"] is None else Hand(row["hand"])
    info = SensorInfo(sensor_id, Role(row["role"]), row["athlete"], hand)
    return StoredSensor(info, row["address"], row["name"])


def _stored_exchange(row: sqlite3.Row) -> StoredExchange:
    created = parse_utc(row["created_at"])
    assert created is not None
    return StoredExchange(row["id"], row["session_id"], row_exchange(row), created)


def _join(sensor_id: str, blocks: list[SensorStream]) -> SensorStream:
    if not blocks:
        return SensorStream(sensor_id, np.empty(0), np.empty((0, 3)), np.empty((0, 3)))
    return SensorStream(
        sensor_id,
        np.concatenate([b.t_s for b in blocks]),
        np.concatenate([b.acc_mps2 for b in blocks]),
        np.concatenate([b.gyro_radps for b in blocks]),
    )


__all__ = ["EXCHANGE_COLUMNS", "Session", "Store", "StoredExchange", "StoredSensor"]
