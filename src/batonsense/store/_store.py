"""The database: sessions, athletes, sensors, and the queries over what was recorded."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import numpy as np

from batonsense.model import Exchange, Hand, Recording, Role, SensorInfo, SensorStream
from batonsense.sources.raw import RawRecord
from batonsense.sync import HOST_CLOCK

from ._errors import StoreError, UnknownSessionError
from ._rows import EXCHANGE_COLUMNS, parse_utc, row_block, row_exchange, utc_text
from ._schema import connect

#: ids per `IN (...)` query (SQLite allows 32766 parameters; older builds 999)
_IDS_PER_QUERY = 900


class StorageError(StoreError):
    """The database cannot be written now (disk full, I/O error); nothing was changed."""


@dataclass(frozen=True, slots=True)
class Session:
    """One recorded session; ended_at None while it runs (or if the process died).

    host_zero_unix_s: for a session on the host clock, the UTC time (unix s)
    at host_s = 0, so that host-clock time t is the instant host_zero_unix_s + t;
    None when unknown.
    """

    id: int
    name: str
    started_at: datetime
    ended_at: datetime | None
    notes: str | None
    clock: str
    host_zero_unix_s: float | None = None

    def utc(self, t_s: float | None) -> datetime | None:
        """A time on this session's clock as an aware UTC datetime (None if not known)."""
        if t_s is None or self.host_zero_unix_s is None:
            return None
        return datetime.fromtimestamp(self.host_zero_unix_s + t_s, UTC)


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


@dataclass(frozen=True, slots=True)
class ReadRecording:
    """A session's samples as read back, and what was left out to read them.

    dropped: sensor id → stored samples left out (only sensors with any): each
    sensor's samples are kept in strictly increasing time at 1 µs (a sample not
    later than every one before it, such as a repeat or one 0.3 µs out of order, is
    left out) and finite.  Only a database written before samples were stored that
    way (or by another program) has any."""

    recording: Recording
    dropped: Mapping[str, int]

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


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

    def athlete_notes(self) -> dict[str, str | None]:
        """Every athlete's name → notes, by name."""
        rows = self.conn.execute("SELECT name, notes FROM athletes ORDER BY name")
        return {r[0]: r[1] for r in rows}

    def exchange_counts(self, held: Sequence[StoredExchange] = ()) -> dict[int, int]:
        """session id → number of its exchanges (sessions without any are absent).

        held: exchanges kept by a SessionWriter, not yet written (`SessionWriter.held()`,
        taken before this call): counted too, once, whether written meanwhile or not."""
        with self._snapshot():
            rows = self.conn.execute(
                "SELECT session_id, count(*) FROM exchanges GROUP BY session_id"
            ).fetchall()
            unwritten = self._unwritten(held)
        counts = {r[0]: r[1] for r in rows}
        for h in unwritten:
            counts[h.session_id] = counts.get(h.session_id, 0) + 1
        return counts

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
        host_zero_unix_s: float | None = None,
        ending: int | None = None,
    ) -> int:
        """A new session with a snapshot of its sensors; returns its id.

        host_zero_unix_s: UTC (unix s) at host_s = 0 of the clock its times are on;
        ending: a running session ended in the same transaction (both or neither)."""
        if ending is not None:
            self.session(ending)
        stored = [s if isinstance(s, StoredSensor) else StoredSensor(s) for s in sensors]
        if len({s.info.id for s in stored}) != len(stored):
            raise StoreError("duplicate sensor ids in the session's sensors")
        with self._tx():
            cur = self.conn.execute(
                "INSERT INTO sessions (name, started_at, notes, clock, host_zero_unix_s) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, utc_text(started_at), notes, clock, host_zero_unix_s),
            )
            session_id = int(cur.lastrowid or 0)
            if ending is not None:
                self.conn.execute(
                    "UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
                    (utc_text(None), ending),
                )
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
        after_id: int = 0,
        held: Sequence[StoredExchange] = (),
    ) -> list[StoredExchange]:
        """Exchanges, newest last; filters: session, athlete (giver or receiver),
        committed at since <= created_at < until (aware datetimes), id > after_id.

        held: exchanges kept by a SessionWriter, not yet written (`SessionWriter.held()`,
        taken before this call): those matching the filters are merged in by id, each
        once (one written meanwhile is in the rows read, and its held copy is left out)."""
        where: list[str] = ["id > ?"]
        args: list[Any] = [after_id]
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
        found = [_stored_exchange(r) for r in rows]
        ids = {e.id for e in found}
        more = [
            h for h in held
            if h.id not in ids and h.id > after_id
            and (session_id is None or h.session_id == session_id)
            and (athlete is None or athlete in (h.exchange.giver, h.exchange.receiver))
            and (since is None or h.created_at >= since)
            and (until is None or h.created_at < until)
        ]  # fmt: skip
        return sorted(found + more, key=lambda e: e.id) if more else found

    def exchange(self, exchange_id: int, held: Sequence[StoredExchange] = ()) -> StoredExchange:
        """The exchange with this id, stored or among `held` (see `exchanges`);
        StoreError if there is none."""
        row = self.conn.execute("SELECT * FROM exchanges WHERE id = ?", (exchange_id,)).fetchone()
        if row is not None:
            return _stored_exchange(row)
        for h in held:
            if h.id == exchange_id:
                return h
        raise StoreError(f"unknown exchange id {exchange_id!r}")

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

    def samples_between(
        self, session_id: int, sensor_id: str, start_s: float, end_s: float
    ) -> SensorStream:
        """One sensor's samples with start_s <= t_s <= end_s (on the session's clock)."""
        self.session(session_id)
        # A block starting before start_s may reach into the window: look one
        # block further back than t0_s >= start_s alone would.
        first = self.conn.execute(
            "SELECT max(id) FROM sample_blocks WHERE session_id = ? AND sensor_id = ? "
            "AND t0_s <= ?",
            (session_id, sensor_id, start_s),
        ).fetchone()[0]
        rows = self.conn.execute(
            "SELECT * FROM sample_blocks WHERE session_id = ? AND sensor_id = ? "
            "AND id >= ? AND t0_s <= ? ORDER BY id",
            (session_id, sensor_id, first or 0, end_s),
        )
        whole = _join(sensor_id, [row_block(r) for r in rows])
        keep = (whole.t_s >= start_s) & (whole.t_s <= end_s)
        return SensorStream(
            sensor_id, whole.t_s[keep], whole.acc_mps2[keep], whole.gyro_radps[keep]
        )

    def close_interrupted(self, ended_at: datetime | None = None) -> list[int]:
        """End every session left running by a process that died; returns their ids.

        Each gets ended_at = the time of its last stored raw notification (on
        its host clock, when that clock's UTC origin is known), else ended_at
        (default now)."""
        closed = []
        for s in self.sessions():
            if s.ended_at is not None:
                continue
            last = self.conn.execute(
                "SELECT max(host_s) FROM raw_notifications WHERE session_id = ?", (s.id,)
            ).fetchone()[0]
            when = s.utc(last) if last is not None else None
            self.end_session(s.id, max(when, s.started_at) if when else ended_at)
            closed.append(s.id)
        return closed

    def recording(self, session_id: int) -> Recording:
        """The session's samples joined per sensor, on the session's clock."""
        return self.read_recording(session_id).recording

    def read_recording(self, session_id: int) -> ReadRecording:
        """The session's recording, and per sensor the stored samples left out of it
        (out of time order or repeated at 1 µs, or not finite: see `ReadRecording`)."""
        sensors = tuple(s.info for s in self.session_sensors(session_id))
        parts: dict[str, list[SensorStream]] = {s.id: [] for s in sensors}
        for block in self.sample_blocks(session_id):
            parts.setdefault(block.sensor_id, []).append(block)
        streams: dict[str, SensorStream] = {}
        dropped: dict[str, int] = {}
        for sid, blocks in parts.items():
            streams[sid], n = _read_back(sid, blocks)
            if n:
                dropped[sid] = n
        recording = Recording(sensors, streams, clock=self.session(session_id).clock)
        return ReadRecording(recording, dropped)

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

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        """One read transaction: the queries inside see the same state of the file."""
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    def _unwritten(self, held: Sequence[StoredExchange]) -> list[StoredExchange]:
        """The held exchanges whose ids are not in the file (yet)."""
        if not held:
            return []
        ids = [h.id for h in held]
        written = set()
        for i in range(0, len(ids), _IDS_PER_QUERY):
            part = ids[i : i + _IDS_PER_QUERY]
            rows = self.conn.execute(
                f"SELECT id FROM exchanges WHERE id IN ({','.join('?' * len(part))})", part
            )
            written.update(r[0] for r in rows)
        return [h for h in held if h.id not in written]


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error (sqlite errors → StoreError;
    a database that cannot be written now, e.g. a full disk → StorageError)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise _store_error(e) from e

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, _tb: object
    ) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
                return
            except sqlite3.Error as e:  # e.g. the disk filled up at the commit
                exc = e
        if self.conn.in_transaction:  # SQLite may have rolled back by itself
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        if isinstance(exc, sqlite3.Error):
            raise _store_error(exc) from exc


def _store_error(e: sqlite3.Error) -> StoreError:
    if isinstance(e, sqlite3.OperationalError):
        return StorageError(f"the database cannot be written now: {e}")
    return StoreError(f"rejected by the database: {e}")


def _session_id(session_id: object) -> int:
    if isinstance(session_id, bool) or not isinstance(session_id, int):
        raise UnknownSessionError(session_id)
    return session_id


def _session(row: sqlite3.Row) -> Session:
    started = parse_utc(row["started_at"])
    assert started is not None
    return Session(
        row["id"],
        row["name"],
        started,
        parse_utc(row["ended_at"]),
        row["notes"],
        row["clock"],
        row["host_zero_unix_s"],
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
    """One sensor's blocks in stored order as one stream a recording CSV can hold
    (what `_read_back` keeps)."""
    return _read_back(sensor_id, blocks)[0]


def _read_back(sensor_id: str, blocks: list[SensorStream]) -> tuple[SensorStream, int]:
    """One sensor's blocks in stored order, keeping only finite samples later (at 1 µs)
    than every sample before them; and how many were left out.

    A database written before samples were kept in order (or by another program) may
    hold samples out of order, repeated or not finite; a recording CSV cannot.  Time
    is read as float64, as the CSV checks it (a float32 time rounded to 1 µs in
    float32 could make two kept samples equal)."""
    if not blocks:
        return SensorStream(sensor_id, np.empty(0), np.empty((0, 3)), np.empty((0, 3))), 0
    t_s = np.concatenate([np.asarray(b.t_s, dtype=np.float64) for b in blocks])
    acc = np.concatenate([b.acc_mps2 for b in blocks])
    gyro = np.concatenate([b.gyro_radps for b in blocks])
    finite = np.isfinite(t_s) & np.isfinite(acc).all(axis=1) & np.isfinite(gyro).all(axis=1)
    if not finite.all():
        t_s, acc, gyro = t_s[finite], acc[finite], gyro[finite]
    kept = SensorStream(sensor_id, t_s, acc, gyro).after_us()[0]
    return kept, len(finite) - len(kept)


__all__ = [
    "EXCHANGE_COLUMNS",
    "ReadRecording",
    "Session",
    "StorageError",
    "Store",
    "StoredExchange",
    "StoredSensor",
]
