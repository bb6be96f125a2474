"""A database on a small filesystem that fills up (a real tmpfs of a few MB, mounted
for the test; needs root, skipped otherwise): nothing raised into the live path,
exchanges and samples kept and written in order when space returns, one log line
(no traceback), a refused session change changes nothing."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest

from batonsense.model import Exchange
from batonsense.store import SessionWriter, StorageError, Store

from .._small_fs import fill
from .conftest import SENSORS, block


def _until(cond, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_full_disk_keeps_everything_and_writes_it_when_space_returns(
    small_fs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = small_fs / "b.db"
    store = Store(db)
    sid = store.start_session("s", SENSORS)
    caplog.set_level(logging.INFO)
    with SessionWriter(db, sid, retry_every_s=0.2) as w:
        w(block("baton", 0.0, 100))
        w.flush()
        filler = fill(small_fs)
        t0, ids, n_blocks = 0.5, [], 0
        while w.problem is None or n_blocks < 40:  # samples keep coming: never raised
            w(block("baton", t0, 200, seed=n_blocks))
            w.write("baton", t0, bytes(100))
            t0, n_blocks = t0 + 1.0, n_blocks + 1
            if n_blocks % 10 == 0:
                ids.append(w.add_exchange(Exchange("ANA", "BEA", t0, t0 + 0.1, t0 + 0.2)))
            assert n_blocks < 2000, "the disk never filled"
        assert "full" in w.problem
        assert ids == list(range(ids[0], ids[0] + len(ids)))  # ids handed out in order
        kept = w.backlog()
        assert kept["exchanges"] >= 3 and kept["dropped_samples"] == 0
        # a session change is refused and changes nothing
        before = [(s.id, s.ended_at) for s in store.sessions()]
        with pytest.raises(StorageError):
            store.start_session("next", SENSORS, ending=sid)
        with pytest.raises(StorageError):
            w.flush()
        assert [(s.id, s.ended_at) for s in store.sessions()] == before
        filler.unlink()  # space returns
        _until(lambda: w.problem is None)
        assert w.backlog()["exchanges"] == 0
    stored = store.exchanges(session_id=sid)
    assert [e.id for e in stored][-len(ids):] == ids
    t = store.recording(sid).streams["baton"].t_s
    assert len(t) == 100 + 200 * n_blocks and np.all(np.diff(t) > 0)
    assert store.integrity_check() == "ok"
    store.close()
    storage_lines = [r for r in caplog.records if r.getMessage().startswith("storage:")]
    assert 1 <= len(storage_lines) <= 3, [r.getMessage() for r in storage_lines]
    assert not any(r.exc_info for r in caplog.records)


def test_memory_is_bounded_while_full(small_fs: Path) -> None:
    db = small_fs / "b.db"
    with Store(db) as store:
        sid = store.start_session("s", SENSORS)
    with SessionWriter(db, sid, retry_every_s=0.2, max_backlog_bytes=200_000) as w:
        filler = fill(small_fs)
        w(block("baton", 0.0, 200))
        with pytest.raises(StorageError):
            w.flush()
        for i in range(1, 300):  # ~6.6 kB per block of 200 samples: 2 MB offered
            w(block("baton", float(i), 200, seed=i))
        assert w.problem is not None
        kept = w.backlog()
        assert kept["bytes"] <= 200_000 and kept["dropped_samples"] > 0
        first_kept = kept["samples"]
        filler.unlink()
        w.flush()
        assert w.problem is None
    with Store(db) as store:
        t = store.recording(sid).streams["baton"].t_s
    # the oldest were dropped (counted), the newest kept, in order
    assert len(t) >= first_kept and t[-1] == pytest.approx(299.0 + 199 / 200, abs=0.01)
    assert np.all(np.diff(t) > 0)
