"""Read connections to the database for the API's worker threads and the ingest thread.

SQLite's WAL lets readers run beside the writer; each connection is used by
one thread at a time."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

from batonsense.store import Session, Store


class ReadPool:
    """`readers` read connections lent to worker threads (`reading()`), and one of the
    ingest thread's own (`session()`), so a reader lent to a long export never holds
    up ingest."""

    def __init__(self, db_path: Path, readers: int) -> None:
        self.db_path = db_path
        self._idle: queue.Queue[Store] = queue.Queue()
        for _ in range(readers):
            self._idle.put(Store(db_path))
        self._ingest: Store | None = None  # opened when first needed
        self._ingest_lock = threading.Lock()

    @contextlib.contextmanager
    def reading(self) -> Iterator[Store]:
        """A read connection for a worker thread (returned to the pool afterwards)."""
        store = self._idle.get()
        try:
            yield store
        finally:
            self._idle.put(store)

    def session(self, session_id: int) -> Session:
        """The session as stored now (its name may have changed), on the ingest
        thread's own connection; readable on a full disk."""
        with self._ingest_lock:
            if self._ingest is None:
                self._ingest = Store(self.db_path)
            return self._ingest.session(session_id)

    def close(self) -> None:
        with self._ingest_lock:
            if self._ingest is not None:
                self._ingest.close()
                self._ingest = None
        while not self._idle.empty():
            self._idle.get_nowait().close()
