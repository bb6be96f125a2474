"""PUT /api/sensors: stored at once, streamed from the next session, refused whole if invalid."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.service._service import ServiceProcess


def _rows(svc: ServiceProcess) -> dict[str, dict]:
    return {r["id"]: r for r in svc.get("/api/sensors").json()}


def _running(svc: ServiceProcess) -> int:
    return next(s["id"] for s in svc.get("/api/sessions").json() if s["running"])


def test_a_changed_sensor_streams_from_the_next_session(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path).start()
    try:
        first = _running(svc)
        # DEV's sensor w4 goes to a new athlete, and a wrist no radio has is added
        w4 = {"role": "wrist", "athlete": "EVE", "hand": "left", "name": "BSNS-DEV-L"}
        r = httpx.put(svc.url + "/api/sensors/w4", json=w4)
        assert r.status_code == 200, r.text
        assert r.json()["athlete"] == "EVE" and r.json()["state"] == "next session"
        w9 = {"role": "wrist", "athlete": "EVE", "hand": "right", "name": "BSNS-EVE-R"}
        r = httpx.put(svc.url + "/api/sensors/w9", json=w9)
        assert r.status_code == 200, r.text
        rows = _rows(svc)
        assert rows["w9"]["state"] == rows["w4"]["state"] == "next session"

        # a set that is no longer valid is refused and changes nothing
        before = _rows(svc)
        for sid, body, why in (
            ("b2", {"role": "baton"}, "more than one baton"),
            ("w8", {"role": "wrist", "athlete": "ANA", "hand": "right"}, "both on ANA's right"),
            ("baton", {"role": "wrist", "athlete": "ANA", "hand": "left"}, "no baton"),
        ):
            r = httpx.put(svc.url + f"/api/sensors/{sid}", json=body)
            assert r.status_code == 409, r.text
            assert why in r.json()["detail"]
        after = _rows(svc)
        assert set(after) == set(before)  # no b2, no w8
        assert after["baton"]["role"] == "baton" and after["w4"]["athlete"] == "EVE"

        # the running session is not touched; the next one streams the new set
        r = svc.post("/api/sessions", json={"name": "with EVE"})
        assert r.status_code == 201, r.text
        second = r.json()["id"]
        assert second != first
        deadline = time.monotonic() + 60.0
        rows = _rows(svc)
        while time.monotonic() < deadline and not all(
            rows[s]["connected"] for s in ("baton", "w1", "w2", "w3", "w4")
        ):
            time.sleep(0.5)
            rows = _rows(svc)
        assert rows["w4"]["athlete"] == "EVE" and rows["w4"]["connected"], rows["w4"]
        assert rows["w9"]["state"] != "next session" and not rows["w9"]["connected"]
        # and it keeps detecting, with the new names, into the new session
        deadline = time.monotonic() + 90.0
        got: list[dict] = []
        while time.monotonic() < deadline and not got:
            got = svc.get("/api/exchanges", params={"session": second}).json()
            time.sleep(1.0)
        assert got, svc.output()
        assert all(e["session_id"] == second for e in got)
        assert "DEV" not in {e["giver"] for e in got} | {e["receiver"] for e in got}
    finally:
        svc.stop()
