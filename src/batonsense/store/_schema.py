"""Schema of the batonsense database and how a connection to it is opened.

One SQLite file in WAL mode.  `PRAGMA user_version` is the number of
migrations applied; `MIGRATIONS[k]` takes the schema from version k to k+1
in one transaction.  `PRAGMA application_id` marks the file as ours, so
another program's database is refused, never altered.

Times of day are ISO-8601 UTC text (`2026-05-01T09:30:00.000000+00:00`,
one fixed format, so text order is time order); times on a sensor or host
clock are REAL seconds.  `raw_notifications.sensor` is the key the
notification came under (a sensor id, or a BLE address/name for an unknown
device), so it is not a foreign key.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from ._errors import NotABatonsenseDatabase, StoreError

APPLICATION_ID = 0x42534E53  # "BSNS"

_V1 = (
    """CREATE TABLE athletes (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE CHECK (name <> ''),
        notes TEXT
    )""",
    """CREATE TABLE sensors (
        id TEXT PRIMARY KEY CHECK (id <> ''),
        role TEXT NOT NULL CHECK (role IN ('baton', 'wrist')),
        athlete TEXT REFERENCES athletes(name) ON UPDATE CASCADE,
        hand TEXT CHECK (hand IN ('left', 'right')),
        address TEXT,
        name TEXT
    )""",
    """CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        notes TEXT,
        clock TEXT NOT NULL
    )""",
    # the sensors as configured when the session started (they may change later)
    """CREATE TABLE session_sensors (
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        sensor_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('baton', 'wrist')),
        athlete TEXT,
        hand TEXT CHECK (hand IN ('left', 'right')),
        address TEXT,
        name TEXT,
        PRIMARY KEY (session_id, sensor_id)
    )""",
    """CREATE TABLE raw_notifications (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        sensor TEXT NOT NULL,
        host_s REAL NOT NULL,
        payload BLOB NOT NULL
    )""",
    "CREATE INDEX raw_by_session ON raw_notifications(session_id, id)",
    """CREATE TABLE sample_blocks (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        sensor_id TEXT NOT NULL,
        t0_s REAL NOT NULL,
        n INTEGER NOT NULL CHECK (n > 0),
        t_dtype TEXT NOT NULL CHECK (t_dtype IN ('<f4', '<f8')),
        value_dtype TEXT NOT NULL CHECK (value_dtype IN ('<f4', '<f8')),
        t_s BLOB NOT NULL,
        acc_mps2 BLOB NOT NULL,
        gyro_radps BLOB NOT NULL
    )""",
    "CREATE INDEX blocks_by_session ON sample_blocks(session_id, sensor_id, id)",
    """CREATE TABLE exchanges (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        giver TEXT,
        receiver TEXT,
        reach_s REAL,
        grab_s REAL,
        release_s REAL,
        outcome TEXT NOT NULL CHECK (outcome IN ('completed', 'dropped')),
        giver_hand TEXT CHECK (giver_hand IN ('left', 'right')),
        receiver_hand TEXT CHECK (receiver_hand IN ('left', 'right')),
        drop_s REAL,
        confidence REAL,
        technique TEXT,
        clock TEXT NOT NULL,
        extra TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX exchanges_by_session ON exchanges(session_id, id)",
    "CREATE INDEX exchanges_by_created ON exchanges(created_at)",
)

# v2: where a live session's host clock sits in UTC (unix s at host_s = 0), so
# host-clock times can be shown and exported as times of day; NULL for
# sessions on another clock.
# A time index on sample blocks serves the page's "signals around an exchange".
_V2 = (
    "ALTER TABLE sessions ADD COLUMN host_zero_unix_s REAL",
    "CREATE INDEX blocks_by_time ON sample_blocks(session_id, sensor_id, t0_s)",
)

#: MIGRATIONS[k]: the statements that take the schema from version k to k + 1
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: str | Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open (creating or migrating if needed) the database at path.

    The connection is in autocommit mode (`isolation_level=None`): callers
    write `BEGIN`/`COMMIT` themselves.  synchronous=FULL makes every commit
    durable on disk, not only through a process kill (WAL commits are one
    append + fsync).  Raises NotABatonsenseDatabase for a file that is not
    ours (the file is not written), StoreError for a newer schema.  The file and
    its -wal/-shm are private to the user (0600), like the token beside it.
    """
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"{path}: is a directory, not a database file")
    try:
        _make_private(path)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except (sqlite3.Error, OSError) as e:
        raise StoreError(f"{path}: cannot open: {e}") from e
    try:
        _check_ours(conn, path)
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


#: the database's companions; SQLite creates -wal and -shm with the database's own mode
_COMPANIONS = ("", "-wal", "-shm", "-journal")


def _make_private(path: Path) -> None:
    """Create the database file 0600 if absent (an empty file is an empty database);
    tighten an existing one and its companions to 0600."""
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for suffix in _COMPANIONS:
        with contextlib.suppress(OSError):  # gone, or not ours to change (read-only)
            companion = path.with_name(path.name + suffix)
            if companion.stat().st_mode & 0o077:
                os.chmod(companion, 0o600)


def _check_ours(conn: sqlite3.Connection, path: Path) -> None:
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
    except sqlite3.DatabaseError as e:
        raise NotABatonsenseDatabase(f"{path}: not a batonsense database ({e})") from e
    if app_id != APPLICATION_ID and (app_id != 0 or tables != 0):
        raise NotABatonsenseDatabase(f"{path}: another program's SQLite database, not ours")


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute("BEGIN IMMEDIATE")  # another process may be migrating: wait for it
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path}: schema version {version} is newer than this batonsense's "
                f"{SCHEMA_VERSION}; upgrade batonsense"
            )
        for statements in MIGRATIONS[version:]:
            for sql in statements:
                conn.execute(sql)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
