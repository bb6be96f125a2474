"""Bad inputs raise a StoreError subclass and leave the file as it was."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from batonsense.errors import BatonsenseError
from batonsense.model import Exchange, SensorStream
from batonsense.store import (
    NotABatonsenseDatabase,
    SessionEndedError,
    SessionWriter,
    Store,
    StoreError,
    UnknownSensorError,
    UnknownSessionError,
)

from .conftest import SENSORS, block


def _digest(store: Store) -> str:
    """A digest of every row of every table (the content, whatever the page layout)."""
    h = hashlib.sha256()
    tables = [r[0] for r in store.conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")]
    for t in sorted(tables):
        for row in store.conn.execute(f"SELECT * FROM {t} ORDER BY rowid"):
            h.update(repr(tuple(row)).encode())
    return h.hexdigest()


@pytest.mark.parametrize("bad_id", [999, -1, "1", 1.0, None, True])
def test_unknown_session_id(store: Store, db_path: Path, bad_id: object) -> None:
    store.start_session("s", SENSORS)
    before = _digest(store)
    for call in (
        lambda: store.session(bad_id),  # type: ignore[arg-type]
        lambda: store.end_session(bad_id),  # type: ignore[arg-type]
        lambda: store.exchanges(session_id=bad_id if bad_id is not None else 0),  # type: ignore[arg-type]
        lambda: list(store.raw_records(bad_id)),  # type: ignore[arg-type]
        lambda: store.sample_blocks(bad_id),  # type: ignore[arg-type]
        lambda: store.recording(bad_id),  # type: ignore[arg-type]
        lambda: SessionWriter(db_path, bad_id),  # type: ignore[arg-type]
    ):
        with pytest.raises(UnknownSessionError, match="unknown session id"):
            call()
    assert _digest(store) == before and store.integrity_check() == "ok"
    assert issubclass(UnknownSessionError, BatonsenseError)


def test_bad_writes_are_refused_before_they_reach_the_file(store: Store, db_path: Path) -> None:
    sid = store.start_session("s", SENSORS)
    with SessionWriter(db_path, sid) as w:
        w(block("baton", 0.0, 10))
        w.add_exchange(Exchange("ANA", "BEA", 1.0, 2.0, 3.0))
        before = _digest(store)
        with pytest.raises(UnknownSensorError, match="'w9'"):
            w(block("w9", 0.0, 10))
        with pytest.raises(StoreError, match="not float32/float64"):
            w(SensorStream("w1", np.arange(3.0), np.zeros((3, 3), int), np.zeros((3, 3), int)))
        with pytest.raises(StoreError, match="NaN"):
            w.add_exchange(Exchange("ANA", "BEA", float("nan"), 2.0, 3.0))
        with pytest.raises(StoreError, match="not JSON"):
            w.add_exchange(Exchange("ANA", "BEA", 1.0, 2.0, 3.0, extra={"x": object()}))
        with pytest.raises(StoreError, match="no timezone"):
            w.add_exchange(Exchange("ANA", "BEA", 1.0, 2.0, 3.0), created_at=datetime(2026, 1, 1))
        assert _digest(store) == before
        w(block("baton", 0.05, 10))  # the writer still works
    assert len(store.sample_blocks(sid)) == 2 and store.integrity_check() == "ok"


def test_ended_session_cannot_be_written(store: Store, db_path: Path) -> None:
    sid = store.start_session("s", SENSORS)
    store.end_session(sid)
    with pytest.raises(SessionEndedError):
        SessionWriter(db_path, sid)


def test_bad_session_and_sensor_definitions(store: Store) -> None:
    before = _digest(store)
    with pytest.raises(StoreError, match="duplicate sensor ids"):
        store.start_session("s", [SENSORS[0], SENSORS[0]])
    with pytest.raises(StoreError, match="no timezone"):
        store.start_session("s", started_at=datetime(2026, 1, 1))
    with pytest.raises(StoreError, match="athlete name is empty"):
        store.add_athlete("")
    with pytest.raises(StoreError, match="unknown exchange id"):
        store.exchange(5)
    assert _digest(store) == before


def test_foreign_files_are_refused_untouched(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_bytes(b"not a database at all, but long enough to look like a header" * 20)
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    for path in (text, other):
        content = path.read_bytes()
        with pytest.raises(NotABatonsenseDatabase):
            Store(path)
        assert path.read_bytes() == content
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path)


def test_newer_schema_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        Store(db_path)
