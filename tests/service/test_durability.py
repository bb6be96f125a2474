"""Killing the service (-9) loses at most the last second of samples and no exchange;
live detection equals `analyze` on the recorded session; sessions can be started and ended."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from batonsense.detect import detect_exchanges
from batonsense.io import read_recording_csv, read_sensors
from batonsense.store import Store

from ._service import ServiceProcess


def test_kill_9_loses_no_exchange_and_at_most_a_second_of_samples(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path).start()
    try:
        before = svc.wait_exchanges(1)
        session_id = before[0]["session_id"]
        time.sleep(2.0)
        seen = svc.get("/api/exchanges").json()  # everything the API has confirmed
        killed_at_s = time.monotonic()  # host clock = the service's clock (CLOCK_MONOTONIC)
    finally:
        svc.kill()
    with Store(svc.db) as store:
        assert store.integrity_check() == "ok"
        stored = store.exchanges(session_id=session_id)
        assert [e.id for e in stored][: len(seen)] == [e["id"] for e in seen]
        newest = [
            float(store.samples_between(session_id, s, killed_at_s - 30, killed_at_s).t_s[-1])
            for s in ("baton", "w1", "w2")
        ]
    # samples are committed every 0.5 s: at most about a second is lost
    assert min(newest) > killed_at_s - 1.0, [killed_at_s - t for t in newest]

    again = ServiceProcess(tmp_path, db=svc.db).start()
    try:
        sessions = again.get("/api/sessions").json()
        assert len(sessions) == 2
        old, new = sessions
        assert old["id"] == session_id and not old["running"]
        assert old["ended_at"] is not None  # closed at its last stored data
        assert old["exchange_count"] == len(stored)
        assert new["running"] and new["ended_at"] is None
        assert any("interrupted" in m for m in again.get("/api/health").json()["messages"])
        kept = again.get(f"/api/exchanges?session_id={session_id}").json()
        assert [e["id"] for e in kept] == [e.id for e in stored]
    finally:
        assert again.stop() in (0, -15)
    with Store(svc.db) as store:  # a polite stop ends the running session
        assert all(s.ended_at is not None for s in store.sessions())
        assert store.integrity_check() == "ok"


def test_live_exchanges_equal_analyze_on_the_recorded_session(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path).start()
    try:
        live = svc.wait_exchanges(3, timeout_s=120)
        session_id = live[0]["session_id"]
        # end the session: what was recorded is complete
        r = svc.post(f"/api/sessions/{session_id}/end", headers={"X-Requested-With": "test"})
        assert r.status_code == 200 and r.json()["ended_at"] is not None
        live = svc.get(f"/api/exchanges?session_id={session_id}").json()
        csv_path = tmp_path / "session.csv"
        resp = svc.get(f"/api/sessions/{session_id}/recording.csv")
        assert resp.status_code == 200
        csv_path.write_bytes(resp.content)
    finally:
        assert svc.stop() in (0, -15)
    recording = read_recording_csv(csv_path, read_sensors(svc.config))
    offline = detect_exchanges(recording)
    assert len(offline) == len(live)
    for off, on in zip(offline, live, strict=True):
        assert (off.giver, off.receiver, off.outcome.value) == (
            on["giver"],
            on["receiver"],
            on["outcome"],
        )
        for k in ("grab_s", "release_s", "drop_s"):
            a, b = getattr(off, k), on[k]
            assert (a is None) == (b is None), k
            if a is not None:
                assert a == pytest.approx(b, abs=1e-3), k  # within 1 ms


def test_sessions_start_rename_end(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path).start()
    try:
        first = svc.get("/api/health").json()["session_id"]
        r = svc.post("/api/sessions", json={"name": "block 2", "notes": "wet track"})
        assert r.status_code == 201
        new = r.json()
        assert new["running"] and new["name"] == "block 2" and new["notes"] == "wet track"
        assert svc.get(f"/api/sessions/{first}").json()["ended_at"] is not None
        assert svc.get("/api/health").json()["session_id"] == new["id"]
        r = httpx.patch(svc.url + f"/api/sessions/{new['id']}", json={"name": "block 2b"})
        assert r.status_code == 200 and r.json()["name"] == "block 2b"
        script = {"X-Requested-With": "test"}  # a bodyless change (api/guard.py)
        ended = svc.post(f"/api/sessions/{new['id']}/end", headers=script).json()
        assert not ended["running"] and ended["ended_at"] is not None
        assert svc.get("/api/health").json()["session_id"] is None
    finally:
        assert svc.stop() in (0, -15)
