"""Sensor changes through the API: stored at once, streamed from the next session on,
refused whole when the set would be invalid; sessions keep the sensors they started with."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx

from tests.service._service import ServiceProcess


def _rows(svc: ServiceProcess) -> dict[str, dict]:
    return {r["id"]: r for r in svc.get("/api/sensors").json()}


def _running(svc: ServiceProcess) -> int:
    return next(s["id"] for s in svc.get("/api/sessions").json() if s["running"])


def _wait_connected(svc: ServiceProcess, ids: tuple[str, ...], timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    rows = _rows(svc)
    while time.monotonic() < deadline and not all(rows[s]["connected"] for s in ids):
        time.sleep(0.5)
        rows = _rows(svc)
    return rows


def _athletes(exchanges: list[dict]) -> set[str]:
    return {e["giver"] for e in exchanges} | {e["receiver"] for e in exchanges}


def test_a_changed_sensor_streams_from_the_next_session(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path).start()
    try:
        first = _running(svc)
        streamed = ("baton", "w1", "w2", "w3", "w4")
        assert all(r["connected"] for r in _wait_connected(svc, streamed).values())
        # DEV's sensor w4 goes to a new athlete (name left out: it keeps its own),
        # a wrist no radio has is added, and one added by mistake is taken out again
        r = httpx.put(svc.url + "/api/sensors/w4",
                      json={"role": "wrist", "athlete": "EVE", "hand": "left"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["athlete"] == "EVE" and r.json()["state"] == "next session"
        assert r.json()["name"] == "BSNS-DEV-L"
        w9 = {"role": "wrist", "athlete": "EVE", "hand": "right", "name": "BSNS-EVE-R"}
        assert httpx.put(svc.url + "/api/sensors/w9", json=w9).status_code == 200
        w7 = {"role": "wrist", "athlete": "FAY", "hand": "right", "name": "BSNS-FAY-R"}
        assert httpx.put(svc.url + "/api/sensors/w7", json=w7).status_code == 200
        r = httpx.delete(svc.url + "/api/sensors/w7", headers={"X-Requested-With": "test"})
        assert r.status_code == 200 and r.json()["state"] == "removed", r.text
        rows = _rows(svc)
        assert rows["w9"]["state"] == rows["w4"]["state"] == "next session"
        assert "w7" not in rows
        assert rows["w1"]["connected"]  # the running stream is untouched

        # a set that is no longer valid is refused and changes nothing
        before = _rows(svc)
        for method, sid, body, status, why in (
            ("PUT", "b2", {"role": "baton"}, 409, "more than one baton"),
            ("PUT", "w8", {"role": "wrist", "athlete": "ANA", "hand": "right"}, 409,
             "both on ANA's right"),
            ("PUT", "baton", {"role": "wrist", "athlete": "ANA", "hand": "left"}, 409, "no baton"),
            ("DELETE", "baton", None, 409, "no baton"),
            ("DELETE", "w5", None, 404, "no sensor"),
        ):  # fmt: skip
            r = httpx.request(method, svc.url + f"/api/sensors/{sid}", json=body,
                              headers={"X-Requested-With": "test"})  # fmt: skip
            assert r.status_code == status, r.text
            assert why in r.json()["detail"]
        after = _rows(svc)
        assert set(after) == set(before)
        assert after["baton"]["role"] == "baton" and after["w4"]["athlete"] == "EVE"

        # the next session streams the new set; the first keeps what it started with
        r = svc.post("/api/sessions", json={"name": "with EVE"})
        assert r.status_code == 201, r.text
        second = r.json()["id"]
        assert second != first
        rows = _wait_connected(svc, streamed)
        assert rows["w4"]["athlete"] == "EVE" and rows["w4"]["connected"], rows["w4"]
        assert rows["w9"]["state"] != "next session" and not rows["w9"]["connected"]
        deadline = time.monotonic() + 90.0
        got: list[dict] = []
        while time.monotonic() < deadline and not got:
            got = svc.get("/api/exchanges", params={"session": second}).json()
            time.sleep(1.0)
        assert got, svc.output()
        assert all(e["session_id"] == second for e in got)
        assert "DEV" not in _athletes(got)
        old = svc.get("/api/exchanges", params={"session": first}).json()
        assert "EVE" not in _athletes(old)  # the old stream's last ones stayed in the old session
    finally:
        svc.stop()
    with sqlite3.connect(svc.db) as db:
        kept = dict(db.execute(
            "SELECT session_id, athlete FROM session_sensors WHERE sensor_id = 'w4'"))  # fmt: skip
        ids = {sid for (sid,) in db.execute("SELECT sensor_id FROM session_sensors "
                                            "WHERE session_id = ?", (second,))}  # fmt: skip
    assert kept == {first: "DEV", second: "EVE"}
    assert ids == {"baton", "w1", "w2", "w3", "w4", "w9"}
