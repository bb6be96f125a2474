"""Storage: one SQLite file (stdlib sqlite3, WAL) for sessions and what they recorded.

Tables (schema versioned by `PRAGMA user_version`, see `_schema.MIGRATIONS`):
sessions (ISO-8601 UTC start/end), athletes, sensors (role, athlete, hand,
BLE address/name), session_sensors (the sensors as configured when the
session started), raw_notifications (sensor key, host receive time in s,
bytes: replays bit-exactly), sample_blocks (t0_s, n, float32/float64 arrays
as little-endian BLOBs, dtype noted) and exchanges (every `Exchange` field,
its clock, created_at).

`Store` manages sessions, athletes and sensors and answers queries;
`SessionWriter` writes one running session: raw notifications and sample
blocks batched and committed every 0.5 s by a background thread (a `kill
-9` loses at most the last second of samples), every exchange committed
before `add_exchange` returns (none lost).  While the database cannot be
written (a full disk) the writer keeps exchanges and the newest samples in
memory and writes them when it can (`SessionWriter.problem` says why).
Every bad input raises a `StoreError` (a BatonsenseError) and leaves the
file as it was; a database that cannot be written now raises `StorageError`.
"""

from ._errors import (
    NotABatonsenseDatabase,
    SessionEndedError,
    StoreError,
    UnknownSensorError,
    UnknownSessionError,
)
from ._schema import MIGRATIONS, SCHEMA_VERSION, connect
from ._store import ReadRecording, Session, StorageError, Store, StoredExchange, StoredSensor
from ._writer import SessionWriter

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "NotABatonsenseDatabase",
    "ReadRecording",
    "Session",
    "SessionEndedError",
    "SessionWriter",
    "StorageError",
    "Store",
    "StoreError",
    "StoredExchange",
    "StoredSensor",
    "UnknownSensorError",
    "UnknownSessionError",
    "connect",
]
