"""SessionWriter: one session's live data into the database, batched, crash-bounded.

Raw notifications and sample blocks are buffered in memory and committed
together by a background thread every `commit_every_s` (default 0.5 s), so
a `kill -9` loses at most the data of the last commit_every_s plus one
commit's duration (measured: well under 1 s).  An exchange is committed
before `add_exchange` returns (samples buffered so far are committed first),
so an exchange whose id was returned is never lost.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from batonsense.model import Exchange, SensorStream

from ._errors import SessionEndedError, StoreError, UnknownSensorError, UnknownSessionError
from ._rows import EXCHANGE_COLUMNS, block_row, exchange_row, utc_text
from ._schema import connect

_RAW_SQL = "INSERT INTO raw_notifications (session_id, sensor, host_s, payload) VALUES (?,?,?,?)"
_BLOCK_SQL = (
    "INSERT INTO sample_blocks (session_id, sensor_id, t0_s, n, t_dtype, value_dtype, "
    "t_s, acc_mps2, gyro_radps) VALUES (?,?,?,?,?,?,?,?,?)"
)
_EXCHANGE_SQL = (
    f"INSERT INTO exchanges (session_id, {', '.join(EXCHANGE_COLUMNS)}, created_at) "
    f"VALUES ({', '.join('?' * (len(EXCHANGE_COLUMNS) + 2))})"
)


class SessionWriter:
    """Writes one running session: a RawSink (`write`), a BlockSink (call) and exchanges.

    Use with `Pipeline(raw_sink=writer, consumers=[..., writer])` and
    `LiveDetector(on_exchange=writer.add_exchange)`.  Thread-safe; `close()`
    commits what is pending.  A failed background commit is raised (as
    StoreError) by the next call.
    """

    def __init__(
        self,
        path: str | Path,
        session_id: int,
        *,
        commit_every_s: float = 0.5,
        max_pending: int = 20_000,
    ) -> None:
        if not 0 < commit_every_s <= 1.0:
            raise StoreError(f"commit_every_s={commit_every_s}: must be in (0, 1] s")
        self.session_id = session_id
        self.commit_every_s = commit_every_s
        self.max_pending = max_pending
        self.commits = 0
        self.max_commit_s = 0.0
        self._conn = connect(path)
        try:
            self._sensor_ids = self._check_session(session_id)
        except BaseException:
            self._conn.close()
            raise
        self._raw: list[tuple[Any, ...]] = []
        self._blocks: list[tuple[Any, ...]] = []
        self._pending_lock = threading.Lock()
        self._db_lock = threading.Lock()
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    # -- sinks ----------------------------------------------------------------

    def write(self, sensor_id: str, host_s: float, payload: bytes) -> None:
        """One raw notification (RawSink): committed within commit_every_s."""
        self._raise_error()
        row = (self.session_id, str(sensor_id), float(host_s), bytes(payload))
        with self._pending_lock:
            self._raw.append(row)
            full = len(self._raw) + len(self._blocks) >= self.max_pending
        if full:
            self.flush()

    def __call__(self, block: SensorStream) -> None:
        """One sample block (BlockSink); its sensor must be one of the session's."""
        self._raise_error()
        if block.sensor_id not in self._sensor_ids:
            raise UnknownSensorError(
                f"sensor {block.sensor_id!r} is not a sensor of session {self.session_id}"
            )
        if len(block) == 0:
            return
        row = (self.session_id, *block_row(block))
        with self._pending_lock:
            self._blocks.append(row)
            full = len(self._raw) + len(self._blocks) >= self.max_pending
        if full:
            self.flush()

    add_block = __call__

    def add_exchange(self, exchange: Exchange, created_at: datetime | None = None) -> int:
        """Commit an exchange (and the samples buffered before it) now; returns its id."""
        self._raise_error()
        row = (self.session_id, *exchange_row(exchange), utc_text(created_at))
        self.flush()
        with self._db_lock:
            cur = self._commit(lambda: self._conn.execute(_EXCHANGE_SQL, row))
        return int(cur.lastrowid or 0)

    # -- commits --------------------------------------------------------------

    def flush(self) -> None:
        """Commit everything buffered so far."""
        with self._db_lock:
            with self._pending_lock:
                raw, blocks = self._raw, self._blocks
                self._raw, self._blocks = [], []
            if not raw and not blocks:
                return
            try:
                self._commit(lambda: self._insert(raw, blocks))
            except BaseException:
                with self._pending_lock:  # keep them for a retry
                    self._raw[:0], self._blocks[:0] = raw, blocks
                raise

    def close(self) -> None:
        """Commit what is pending and close (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        try:
            self.flush()
            self._raise_error()
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

    def _insert(self, raw: list[tuple[Any, ...]], blocks: list[tuple[Any, ...]]) -> None:
        self._conn.executemany(_RAW_SQL, raw)
        self._conn.executemany(_BLOCK_SQL, blocks)

    def _commit(self, work: Any) -> Any:
        """Run work() in one transaction (caller holds _db_lock)."""
        t0 = time.perf_counter()
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            result = work()
            self._conn.execute("COMMIT")
        except BaseException as e:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise StoreError(f"commit to session {self.session_id} failed: {e}") from e
            raise
        self.commits += 1
        self.max_commit_s = max(self.max_commit_s, time.perf_counter() - t0)
        return result

    def _run(self) -> None:
        while not self._stop.wait(self.commit_every_s):
            try:
                self.flush()
            except Exception as e:  # noqa: BLE001 - reported by the next call
                self._error = e

    def _raise_error(self) -> None:
        if self._error is not None:
            e, self._error = self._error, None
            if isinstance(e, StoreError):
                raise e
            raise StoreError(f"background commit failed: {e}") from e
