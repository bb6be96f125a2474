"""SessionWriter: one session's live data into the database, batched, crash-bounded,
and kept in memory while the database cannot be written (a full disk).

Raw notifications and sample blocks are buffered in memory and committed
together by a background thread every `commit_every_s` (default 0.5 s), so
a `kill -9` loses at most the data of the last commit_every_s plus one
commit's duration (measured: well under 1 s).  An exchange is committed
before `add_exchange` returns (samples buffered so far are committed first),
so an exchange whose id was returned is never lost while the disk works.

When a commit fails for want of storage (SQLite's "database or disk is
full", an I/O error: `sqlite3.OperationalError`) nothing is raised into the
live path: `problem` says what is wrong (and since when), one log line says
so at once and then once a minute, and the writer keeps, in memory and in
order, every exchange (with the id it will have: `add_exchange` still
returns one, so viewers can be told at once) and the newest samples and raw
notifications up to `max_backlog_bytes` (older ones are dropped first, and
counted).  It retries every `retry_every_s`, exchanges first, then the
backlog in chunks, oldest first; when space returns everything kept is
written and `problem` clears.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any, Self

import numpy as np

from batonsense.model import Exchange, SensorStream

from ._errors import SessionEndedError, StoreError, UnknownSensorError, UnknownSessionError
from ._rows import EXCHANGE_COLUMNS, block_row, exchange_row, parse_utc, row_exchange, utc_text
from ._schema import connect
from ._store import StorageError, StoredExchange

_LOG = logging.getLogger(__name__)

_RAW_SQL = "INSERT INTO raw_notifications (session_id, sensor, host_s, payload) VALUES (?,?,?,?)"
_BLOCK_SQL = (
    "INSERT INTO sample_blocks (session_id, sensor_id, t0_s, n, t_dtype, value_dtype, "
    "t_s, acc_mps2, gyro_radps) VALUES (?,?,?,?,?,?,?,?,?)"
)
_EXCHANGE_KEYS = ("id", "session_id", *EXCHANGE_COLUMNS, "created_at")
_EXCHANGE_SQL = (
    f"INSERT INTO exchanges ({', '.join(_EXCHANGE_KEYS)}) "
    f"VALUES ({', '.join('?' * len(_EXCHANGE_KEYS))})"
)

#: samples and raw notifications kept while the disk is full: the demo's 5
#: sensors at 200 Hz keep 165 kB/s (measured, with Python's overheads): ~6.5 min
MAX_BACKLOG_BYTES = 64 * 2**20
#: rows written per transaction when catching up (keeps each commit short)
CATCH_UP_ROWS = 2_000
#: a storage problem is logged again at most this often (s)
LOG_EVERY_S = 60.0
_ROW_OVERHEAD_BYTES = 200  # a tuple, its floats and strings


class SessionWriter:
    """Writes one running session: a RawSink (`write`), a BlockSink (call) and exchanges.

    Use with `Pipeline(raw_sink=writer, consumers=[..., writer])` and
    `LiveDetector(on_exchange=writer.add_exchange)`.  Thread-safe.  Bad input
    (unknown sensor, bad dtype, NaN) raises StoreError; a database that cannot
    be written never raises here (module docstring) except from `flush()` and
    `close()`, which raise StorageError when what is kept could not be written.
    Each sensor's samples are stored in strictly increasing time at 1 µs
    (a sample that is not is dropped and counted in `out_of_order`).
    """

    def __init__(
        self,
        path: str | Path,
        session_id: int,
        *,
        commit_every_s: float = 0.5,
        max_pending: int = 20_000,
        max_backlog_bytes: int = MAX_BACKLOG_BYTES,
        retry_every_s: float = 2.0,
    ) -> None:
        if not 0 < commit_every_s <= 1.0:
            raise StoreError(f"commit_every_s={commit_every_s}: must be in (0, 1] s")
        self.session_id = session_id
        self.commit_every_s = commit_every_s
        self.max_pending = max_pending
        self.max_backlog_bytes = max_backlog_bytes
        self.retry_every_s = retry_every_s
        self.commits = 0
        self.max_commit_s = 0.0
        self._conn = connect(path)
        try:
            self._sensor_ids = self._check_session(session_id)
        except BaseException:
            self._conn.close()
            raise
        self._raw: deque[tuple[Any, ...]] = deque()
        self._blocks: deque[tuple[Any, ...]] = deque()
        #: exchange rows with their ids, not yet written (changed under both locks)
        self._exchanges: list[tuple[Any, ...]] = []
        self._bytes = 0
        self._samples = 0  # in _blocks
        self._last_us: dict[str, float] = {}
        self._pending_lock = threading.Lock()
        self._db_lock = threading.Lock()
        #: what keeps the database from being written (None: it is written)
        self.problem: str | None = None
        self.problem_since_s: float | None = None  # time.monotonic() of the first failure
        self._logged_s = 0.0
        self.dropped_samples = 0
        self.dropped_raw = 0
        self.out_of_order = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    # -- sinks ----------------------------------------------------------------

    def write(self, sensor_id: str, host_s: float, payload: bytes) -> None:
        """One raw notification (RawSink): committed within commit_every_s."""
        row = (self.session_id, str(sensor_id), float(host_s), bytes(payload))
        self._append(self._raw, row)

    def __call__(self, block: SensorStream) -> None:
        """One sample block (BlockSink); its sensor must be one of the session's."""
        if block.sensor_id not in self._sensor_ids:
            raise UnknownSensorError(
                f"sensor {block.sensor_id!r} is not a sensor of session {self.session_id}"
            )
        block = self._in_order(block)
        if len(block) == 0:
            return
        self._append(self._blocks, (self.session_id, *block_row(block)))

    add_block = __call__

    def add_exchange(self, exchange: Exchange, created_at: datetime | None = None) -> int:
        """Commit an exchange (and the samples buffered before it) now; returns its id.

        While the database cannot be written, the exchange is kept (with the id
        returned) and written, in order, when it can."""
        values = (self.session_id, *exchange_row(exchange), utc_text(created_at))
        with self._db_lock:
            if self.problem is None and not self._exchanges:
                try:
                    self._write_samples()
                    cur = self._commit(lambda: self._conn.execute(_EXCHANGE_SQL, (None, *values)))
                    return int(cur.lastrowid or 0)
                except sqlite3.OperationalError as e:
                    self._failed(e)
            row = (self._next_exchange_id(), *values)
            with self._pending_lock:
                self._exchanges.append(row)
        return int(row[0])

    # -- state ----------------------------------------------------------------

    def held(self) -> list[StoredExchange]:
        """The exchanges kept in memory, not yet written, oldest first, each as it will
        read back once written (same id and values).  An exchange leaves this list only
        after it is committed: take this list *before* querying the database and drop
        the ids found there, and none is missed or shown twice."""
        with self._pending_lock:
            rows = list(self._exchanges)
        return [_held_exchange(r) for r in rows]

    def backlog(self) -> dict[str, Any]:
        """What is kept in memory, not yet written: exchanges, blocks, raw notifications,
        samples, bytes (estimated), the time span of the samples (s); dropped so far."""
        with self._pending_lock:
            blocks, raw, nbytes = len(self._blocks), len(self._raw), self._bytes
            span = self._blocks[-1][2] - self._blocks[0][2] if blocks > 1 else 0.0
            samples = self._samples
        return {
            "exchanges": len(self._exchanges),
            "blocks": blocks,
            "raw": raw,
            "samples": samples,
            "bytes": nbytes,
            "span_s": float(span),
            "dropped_samples": self.dropped_samples,
            "dropped_raw": self.dropped_raw,
        }

    # -- commits --------------------------------------------------------------

    def flush(self) -> None:
        """Commit everything kept so far; StorageError (everything still kept) if it cannot."""
        with self._db_lock:
            self._write_kept()
            if self.problem is not None:
                raise StorageError(
                    f"session {self.session_id} cannot be written now ({self.problem})"
                )

    def close(self) -> None:
        """Commit what is pending and close (idempotent).  Raises StorageError (and
        closes all the same) if what was kept could not be written."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        try:
            self.flush()
        except StorageError as e:
            b = self.backlog()
            raise StorageError(
                f"{e}: lost {b['exchanges']} exchanges and {b['samples']} samples "
                f"({b['span_s']:.0f} s) at close"
            ) from None
        finally:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------

    def _check_session(self, session_id: int) -> set[str]:
        if isinstance(session_id, bool) or not isinstance(session_id, int):
            raise UnknownSessionError(session_id)
        row = self._conn.execute(
            "SELECT ended_at FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is None:
            raise UnknownSessionError(session_id)
        if row[0] is not None:
            raise SessionEndedError(f"session {session_id} ended at {row[0]}")
        rows = self._conn.execute(
            "SELECT sensor_id FROM session_sensors WHERE session_id = ?", (session_id,)
        )
        return {r[0] for r in rows}

    def _in_order(self, block: SensorStream) -> SensorStream:
        sid = block.sensor_id
        kept, self._last_us[sid] = block.after_us(self._last_us.get(sid, -np.inf))
        self.out_of_order += len(block) - len(kept)
        return kept

    def _append(self, rows: deque[tuple[Any, ...]], row: tuple[Any, ...]) -> None:
        with self._pending_lock:
            rows.append(row)
            self._count(row, 1)
            while self._bytes > self.max_backlog_bytes and (self._raw or self._blocks):
                self._drop_oldest()
            full = len(self._raw) + len(self._blocks) >= self.max_pending
        if full and self.problem is None:
            with self._db_lock:
                self._write_kept()

    def _drop_oldest(self) -> None:
        """Drop the oldest raw notification or block (by time); caller holds _pending_lock."""
        raw, blocks = self._raw, self._blocks
        if raw and (not blocks or raw[0][2] <= blocks[0][2]):
            row = raw.popleft()
            self.dropped_raw += 1
        else:
            row = blocks.popleft()
            self.dropped_samples += int(row[3])
        self._count(row, -1)

    def _count(self, row: tuple[Any, ...], sign: int) -> None:
        """Keep the byte and sample counts of what is kept (caller holds _pending_lock)."""
        self._bytes += sign * _row_bytes(row)
        if len(row) > 4:  # a block
            self._samples += sign * int(row[3])

    def _next_exchange_id(self) -> int:
        """The id the next exchange will have (caller holds _db_lock)."""
        if self._exchanges:
            return int(self._exchanges[-1][0]) + 1
        top = self._conn.execute("SELECT max(id) FROM exchanges").fetchone()[0]
        return int(top or 0) + 1

    def _write_samples(self) -> None:
        """Write the kept raw notifications and blocks in chunks, oldest first (caller
        holds _db_lock); a chunk that fails goes back in front and the error is raised."""
        while True:
            with self._pending_lock:
                raw = [self._raw.popleft() for _ in range(min(CATCH_UP_ROWS, len(self._raw)))]
                n = min(CATCH_UP_ROWS, len(self._blocks))
                blocks = [self._blocks.popleft() for _ in range(n)]
                for r in raw + blocks:
                    self._count(r, -1)
            if not raw and not blocks:
                return
            try:
                self._commit(lambda r=raw, b=blocks: self._insert(r, b))  # type: ignore[misc]
            except BaseException:
                with self._pending_lock:  # back in front, in order
                    self._raw.extendleft(reversed(raw))
                    self._blocks.extendleft(reversed(blocks))
                    for r in raw + blocks:
                        self._count(r, 1)
                raise

    def _write_kept(self) -> None:
        """Write the kept samples, then the exchanges, oldest first; on a storage
        failure keep the rest and note the problem (caller holds _db_lock)."""
        try:
            self._write_samples()
            while self._exchanges:
                self._commit(lambda: self._insert_exchange(self._exchanges[0]))
                with self._pending_lock:
                    self._exchanges.pop(0)
        except sqlite3.OperationalError as e:
            self._failed(e)
            return
        self._recovered()

    def _insert(self, raw: list[tuple[Any, ...]], blocks: list[tuple[Any, ...]]) -> None:
        self._conn.executemany(_RAW_SQL, raw)
        self._conn.executemany(_BLOCK_SQL, blocks)

    def _insert_exchange(self, row: tuple[Any, ...]) -> None:
        try:
            self._conn.execute(_EXCHANGE_SQL, row)
        except sqlite3.IntegrityError:  # its id was taken meanwhile: the next free one
            self._conn.execute(_EXCHANGE_SQL, (None, *row[1:]))

    def _commit(self, work: Any) -> Any:
        """Run work() in one transaction (caller holds _db_lock); sqlite3.OperationalError
        (storage) passes through, other database errors become StoreError."""
        t0 = time.perf_counter()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            result = work()
            self._conn.execute("COMMIT")
        except BaseException as e:
            if self._conn.in_transaction:
                try:
                    self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            if isinstance(e, sqlite3.Error) and not isinstance(e, sqlite3.OperationalError):
                raise StoreError(f"commit to session {self.session_id} failed: {e}") from e
            raise
        self.commits += 1
        self.max_commit_s = max(self.max_commit_s, time.perf_counter() - t0)
        return result

    def _failed(self, e: sqlite3.OperationalError) -> None:
        now = time.monotonic()
        first = self.problem is None
        self.problem = str(e)
        if first:
            self.problem_since_s = now
        if first or now - self._logged_s >= LOG_EVERY_S:
            self._logged_s = now
            b = self.backlog()
            _LOG.warning(
                "storage: session %d cannot be written (%s) for %.0f s: keeping %d exchanges "
                "and %.0f s of samples in memory (up to %d MB; %d samples dropped so far), "
                "retrying every %g s",
                self.session_id, e, now - (self.problem_since_s or now), b["exchanges"],
                b["span_s"], self.max_backlog_bytes // 2**20, self.dropped_samples,
                self.retry_every_s,
            )  # fmt: skip

    def _recovered(self) -> None:
        if self.problem is None:
            return
        down_s = time.monotonic() - (self.problem_since_s or time.monotonic())
        _LOG.warning(
            "storage: session %d written again after %.0f s (%s); %d samples were dropped",
            self.session_id, down_s, self.problem, self.dropped_samples,
        )  # fmt: skip
        self.problem = self.problem_since_s = None

    def _run(self) -> None:
        while not self._stop.wait(
            self.commit_every_s if self.problem is None else self.retry_every_s
        ):
            try:
                with self._db_lock:
                    self._write_kept()
            except Exception:  # noqa: BLE001 - a writer thread that dies loses everything
                _LOG.exception("storage: background commit failed")


def _held_exchange(row: tuple[Any, ...]) -> StoredExchange:
    """A kept exchange row (values of _EXCHANGE_KEYS) as the database will give it back."""
    values = dict(zip(_EXCHANGE_KEYS, row, strict=True))
    created = parse_utc(values["created_at"])
    assert created is not None
    return StoredExchange(values["id"], values["session_id"], row_exchange(values), created)


def _row_bytes(row: tuple[Any, ...]) -> int:
    return _ROW_OVERHEAD_BYTES + sum(len(x) for x in row if isinstance(x, bytes))
