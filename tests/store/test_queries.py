"""Queries: sessions, exchanges filtered by session / athlete / time, newest last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from batonsense.model import Exchange, Hand, Role, SensorInfo
from batonsense.store import SessionWriter, Store, StoredSensor

from .conftest import SENSORS

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def _fill(store: Store, db_path: Path) -> tuple[int, int]:
    a = store.start_session("a", SENSORS, started_at=T0)
    b = store.start_session("b", SENSORS, started_at=T0 + timedelta(hours=1))
    plan = [  # (session, giver, receiver, minutes after T0)
        (a, "ANA", "BEA", 1), (a, "BEA", "CAT", 2), (b, "CAT", "ANA", 61), (b, "DIA", "EVA", 62),
        (a, "ANA", "BEA", 3),  # committed late, into the older session
    ]  # fmt: skip
    writers = {sid: SessionWriter(db_path, sid) for sid in (a, b)}
    for sid, giver, receiver, minutes in plan:
        ex = Exchange(giver, receiver, None, float(minutes), None)
        writers[sid].add_exchange(ex, created_at=T0 + timedelta(minutes=minutes))
    for w in writers.values():
        w.close()
    return a, b


def test_sessions_listed_oldest_first(store: Store, db_path: Path) -> None:
    a, b = _fill(store, db_path)
    store.end_session(a, T0 + timedelta(minutes=30))
    got = store.sessions()
    assert [(s.id, s.name) for s in got] == [(a, "a"), (b, "b")]
    assert got[0].ended_at == T0 + timedelta(minutes=30) and got[1].ended_at is None
    store.update_session(b, name="b2", notes="rain")
    assert (store.session(b).name, store.session(b).notes) == ("b2", "rain")


def test_exchange_filters(store: Store, db_path: Path) -> None:
    a, b = _fill(store, db_path)

    def grabs(**kw: object) -> list[float | None]:
        return [x.exchange.grab_s for x in store.exchanges(**kw)]  # type: ignore[arg-type]

    assert grabs() == [1, 2, 61, 62, 3]  # newest (last committed) last
    assert grabs(session_id=a) == [1, 2, 3]
    assert grabs(session_id=b) == [61, 62]
    assert grabs(athlete="ANA") == [1, 61, 3]
    assert grabs(athlete="ANA", session_id=b) == [61]
    assert grabs(athlete="ZOE") == []
    assert grabs(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=62)) == [2, 61, 3]
    plus2 = T0.astimezone(__import__("datetime").timezone(timedelta(hours=2)))
    assert grabs(since=plus2 + timedelta(minutes=62)) == [62]  # any timezone, compared in UTC


def test_athletes_and_sensors(store: Store) -> None:
    store.add_athlete("ZOE", notes="new")
    for s in SENSORS:
        store.put_sensor(s)
    assert store.athletes() == ["ANA", "BEA", "ZOE"]
    assert store.sensors() == sorted(SENSORS, key=lambda s: s.info.id)
    moved = StoredSensor(SensorInfo("w1", Role.WRIST, "ZOE", Hand.LEFT), address="AA:01")
    store.put_sensor(moved)
    assert [s for s in store.sensors() if s.info.id == "w1"] == [moved]
