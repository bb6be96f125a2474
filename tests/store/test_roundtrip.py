"""What goes in comes back out: exchanges equal, raw bytes bit-exact, arrays equal."""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from batonsense.model import Exchange, Hand, Outcome
from batonsense.sources.raw import RawFileSink, read_raw
from batonsense.store import SCHEMA_VERSION, SessionWriter, Store

from .conftest import SENSORS, block

EXCHANGES = (
    Exchange("ANA", "BEA", 10.123456789, 10.5, 10.75, Outcome.COMPLETED, Hand.RIGHT, Hand.LEFT,
             confidence=0.8731, technique="upsweep", clock="host_monotonic"),
    Exchange(None, None, None, None, None, Outcome.DROPPED, drop_s=math.pi, extra={"k": [1, 2]}),
    Exchange("BEA", "ANA", 1e9 + 1 / 3, -0.0, float("inf"), clock="recording"),
)  # fmt: skip


def test_schema_is_versioned_and_wal(store: Store) -> None:
    conn = store.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.integrity_check() == "ok"


def test_reopen_keeps_everything(db_path: Path) -> None:
    with Store(db_path) as s:
        sid = s.start_session("morning", SENSORS, notes="windy")
    with Store(db_path) as s:
        (session,) = s.sessions()
        assert (session.id, session.name, session.notes, session.ended_at) == (
            sid,
            "morning",
            "windy",
            None,
        )
        assert session.started_at.tzinfo is not None
        assert s.session_sensors(sid) == list(SENSORS)


def test_session_times_are_utc_iso(store: Store) -> None:
    start = datetime(2026, 5, 1, 11, 30, tzinfo=UTC) + timedelta(microseconds=7)
    sid = store.start_session("s", started_at=start.astimezone(timezone_plus_2()))
    store.end_session(sid, start + timedelta(hours=1))
    row = store.conn.execute("SELECT started_at, ended_at FROM sessions").fetchone()
    assert tuple(row) == ("2026-05-01T11:30:00.000007+00:00", "2026-05-01T12:30:00.000007+00:00")
    assert store.session(sid).started_at == start


def timezone_plus_2():  # type: ignore[no-untyped-def]
    from datetime import timezone

    return timezone(timedelta(hours=2))


def test_exchanges_round_trip(store: Store, db_path: Path) -> None:
    sid = store.start_session("s", SENSORS)
    with SessionWriter(db_path, sid) as w:
        ids = [w.add_exchange(ex) for ex in EXCHANGES]
    got = store.exchanges(session_id=sid)
    assert [g.id for g in got] == ids
    assert [g.exchange for g in got] == list(EXCHANGES)
    assert all(g.session_id == sid for g in got)
    assert store.exchange(ids[1]).exchange == EXCHANGES[1]


def test_raw_notifications_are_bit_exact(store: Store, db_path: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    records = [
        (f"w{i % 3}" if i % 7 else "AA:BB:CC:DD:EE:FF", float(rng.uniform(0, 1e5)),
         rng.bytes(int(rng.integers(0, 300))))
        for i in range(2000)
    ]  # fmt: skip
    sid = store.start_session("s", SENSORS)
    with SessionWriter(db_path, sid) as w, RawFileSink(tmp_path / "s.raw") as f:
        for rec in records:
            w.write(*rec)
            f.write(*rec)
    stored = list(store.raw_records(sid))
    assert [(r.sensor_id, r.host_s, r.payload) for r in stored] == records
    assert stored == read_raw(tmp_path / "s.raw")  # same records as the raw file's


@pytest.mark.parametrize("dtype", ["<f4", "<f8", ">f4"])
def test_sample_blocks_round_trip(store: Store, db_path: Path, dtype: str) -> None:
    sid = store.start_session("s", SENSORS)
    blocks = [block(s.info.id, 100.0 + k * 0.05, 10, dtype, seed=k) for k in range(20)
              for s in SENSORS]  # fmt: skip
    with SessionWriter(db_path, sid) as w:
        for b in blocks:
            w(b)
    got = store.sample_blocks(sid)
    assert len(got) == len(blocks)
    for a, b in zip(got, blocks, strict=True):
        assert a.sensor_id == b.sensor_id
        assert a.acc_mps2.dtype == np.dtype(dtype).newbyteorder("=")
        assert np.array_equal(a.t_s, b.t_s) and a.t_s.dtype == np.float64
        assert np.array_equal(a.acc_mps2, b.acc_mps2)
        assert np.array_equal(a.gyro_radps, b.gyro_radps)
    rec = store.recording(sid)
    assert rec.clock == "host_monotonic"
    assert [s.id for s in rec.sensors] == ["baton", "w1", "w2"]
    w1 = [b for b in blocks if b.sensor_id == "w1"]
    assert np.array_equal(rec.streams["w1"].acc_mps2, np.concatenate([b.acc_mps2 for b in w1]))
    assert len(rec.streams["baton"]) == 200


def test_migrating_an_old_file_keeps_its_data(db_path: Path) -> None:
    with Store(db_path) as s:
        sid = s.start_session("s")
    # a file from before a future migration: re-opening applies nothing, loses nothing
    with Store(db_path) as s:
        assert [x.id for x in s.sessions()] == [sid]
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_event_uncertainty_is_kept_and_exported(store: Store) -> None:
    from batonsense.store.export import exchange_record, exchanges_csv

    ex = Exchange("ANA", "BEA", 10.0, 10.5, 10.75, confidence=0.13,
                  extra={"grab_pm_ms": 2.5, "release_pm_ms": 47.5})  # fmt: skip
    sid = store.start_session("s")
    with SessionWriter(store.path, sid) as w:
        w.add_exchange(ex)
    back = store.exchanges(session_id=sid)[0]
    assert (back.exchange.grab_pm_ms, back.exchange.release_pm_ms) == (2.5, 47.5)
    record = exchange_record(back, store.session(sid))
    assert (record["grab_pm_ms"], record["release_pm_ms"]) == (2.5, 47.5)
    header, row = exchanges_csv([record]).splitlines()[:2]
    cols = dict(zip(header.split(","), row.split(",")))
    assert (cols["grab_pm_ms"], cols["release_pm_ms"]) == ("2.5", "47.5")
    assert Exchange.from_dict(ex.to_dict()).release_pm_ms == 47.5
    with pytest.raises(ValueError, match="release_pm_ms"):
        Exchange.from_dict(ex.to_dict() | {"release_pm_ms": -1})


def test_samples_stored_out_of_order_still_export(tmp_path: Path) -> None:
    # a database written before samples were kept in order: two blocks overlap and one
    # sample repeats at 1 µs; the session's recording keeps a strictly increasing stream
    from batonsense.io import write_recording_csv
    from batonsense.model import SensorStream
    from batonsense.store._store import _join

    a = SensorStream("w1", np.array([0.0, 0.01, 0.02]), np.ones((3, 3)), np.zeros((3, 3)))
    b = SensorStream("w1", np.array([0.015, 0.0200003, 0.03]), np.ones((3, 3)), np.zeros((3, 3)))
    joined = _join("w1", [a, b])
    assert list(joined.t_s) == [0.0, 0.01, 0.02, 0.03]
    assert joined.acc_mps2.shape == (4, 3)
    from batonsense.model import Recording, Role, SensorInfo

    rec = Recording((SensorInfo("w1", Role.WRIST, "ANA", Hand.LEFT),), {"w1": joined})
    write_recording_csv(tmp_path / "r.csv", rec)  # raised "not strictly increasing" before
