"""The HTTP API of a real demo service: reads, filters, SSE, sessions, exports, bad requests."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from batonsense.store.export import CSV_COLUMNS

from ._service import ServiceProcess, sse_events


def _utc(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    assert when.utcoffset() == timedelta(0)
    return when


def test_health_and_sensors(service: ServiceProcess) -> None:
    h = service.get("/api/health").json()
    assert h["status"] == "ok" and h["mode"] == "demo"
    assert h["clock"] == "host_monotonic"
    assert isinstance(h["session_id"], int)
    assert any("session" in m for m in h["messages"])
    service.wait_exchanges(1)
    rows = service.get("/api/sensors").json()
    assert [r["id"] for r in rows] == ["baton", "w1", "w2", "w3", "w4"]
    assert all(r["connected"] and r["state"] == "connected" for r in rows)
    for r in rows:
        assert 150 < r["rate_hz"] < 250  # the drill's sensors run at about 200 Hz
        assert 0 <= r["lost_pct"] < 20
        assert r["battery_pct"] is not None
        assert r["overflow_samples"] == 0  # counted by the pipeline, shown per sensor
    athletes = service.get("/api/athletes").json()
    assert {"name": "ANA", "notes": "leg 1"} in athletes


def test_exchanges_have_times_on_the_host_clock_and_in_utc(service: ServiceProcess) -> None:
    got = service.wait_exchanges(2)
    sessions = service.get("/api/sessions").json()
    running = [s for s in sessions if s["running"]]
    assert running and running[0]["name"] == "test practice"
    for ex in got:
        assert ex["clock"] == "host_monotonic"
        # how sure the times are, and a technique, come with every completed pass
        if ex["outcome"] == "completed" and ex["grab_s"] is not None:
            assert ex["grab_pm_ms"] is not None and ex["grab_pm_ms"] > 0
        assert {ex["giver"], ex["receiver"]} <= {"ANA", "BEA", "CAT", "DEV"}
        assert ex["giver"] != ex["receiver"]
        if ex["outcome"] == "completed":
            assert 0 < ex["overlap_ms"] < 1000
            assert ex["overlap_ms"] == pytest.approx(
                (ex["release_s"] - ex["grab_s"]) * 1e3, abs=0.2
            )
            # UTC and host-clock times are the same instants
            dt = (_utc(ex["release_utc"]) - _utc(ex["grab_utc"])).total_seconds()
            assert dt == pytest.approx(ex["release_s"] - ex["grab_s"], abs=0.002)
        # stored after the release, within seconds
        lag_s = (_utc(ex["created_at"]) - _utc(ex["release_utc"] or ex["drop_utc"])).total_seconds()
        assert 0 < lag_s < 5
    one = service.get(f"/api/exchanges/{got[0]['id']}").json()
    assert one == got[0]
    # newest last; the id order is the detection order
    assert [e["id"] for e in got] == sorted(e["id"] for e in got)


def test_filters(service: ServiceProcess) -> None:
    got = service.wait_exchanges(2)
    sid = got[0]["session_id"]
    assert service.get(f"/api/exchanges?session_id={sid}").json()[: len(got)] == got
    assert service.get("/api/exchanges?limit=1").json()[0]["id"] >= got[-1]["id"]
    ana = service.get("/api/exchanges?athlete=ANA").json()
    assert ana and all("ANA" in (e["giver"], e["receiver"]) for e in ana)
    assert service.get("/api/exchanges?athlete=NOBODY").json() == []
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert service.get("/api/exchanges", params={"since": future}).json() == []
    assert len(service.get("/api/exchanges", params={"until": future}).json()) >= len(got)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/exchanges/0", 422),
        ("/api/exchanges/abc", 422),
        ("/api/exchanges/999999", 404),
        ("/api/exchanges/999999/signals", 404),
        ("/api/exchanges?session_id=999999", 404),
        ("/api/exchanges?since=2026-01-01T00:00:00", 422),  # no timezone
        ("/api/exchanges?since=yesterday", 422),
        ("/api/exchanges?limit=0", 422),
        ("/api/sessions/999999", 404),
        ("/api/sessions/999999/export?format=csv", 404),
        ("/api/sessions/1/export?format=xml", 422),
        ("/api/sessions/999999/recording.csv", 404),
        ("/api/exchanges/1/signals?before_s=-1", 422),
    ],
)
def test_bad_requests_get_clear_errors(service: ServiceProcess, path: str, status: int) -> None:
    r = service.get(path)
    assert r.status_code == status, r.text
    assert "detail" in r.json()


def test_bad_bodies_are_refused_and_change_nothing(service: ServiceProcess) -> None:
    before = service.get("/api/sessions").json()
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": "x", "bogus": 1}):
        r = service.post("/api/sessions", json=body)
        assert r.status_code == 422, r.text
    r = service.post(
        "/api/sessions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert service.get("/api/sessions").json() == before
    r = httpx.put(service.url + "/api/sensors/w1", json={"role": "wrist"})
    assert r.status_code == 422
    assert {e["loc"][-1] for e in r.json()["detail"]} == {"athlete", "hand"}  # a wrist needs both
    r = httpx.put(service.url + "/api/sensors/bad%20id", json={"role": "baton"})
    assert r.status_code == 422


def test_signals_around_an_exchange(service: ServiceProcess) -> None:
    ex = next(e for e in service.wait_exchanges(1) if e["outcome"] == "completed")
    sig = service.get(f"/api/exchanges/{ex['id']}/signals").json()
    assert sig["exchange_id"] == ex["id"]
    assert sig["marks"]["grab_s"] == pytest.approx(ex["grab_s"], abs=1e-3)
    by_athlete = {"ANA": "w1", "BEA": "w2", "CAT": "w3", "DEV": "w4"}
    want = ["baton", by_athlete[ex["giver"]], by_athlete[ex["receiver"]]]
    assert [s["sensor"] for s in sig["series"]] == want
    for s in sig["series"]:
        assert 100 < len(s["t_s"]) <= 600
        assert len(s["t_s"]) == len(s["acc_mps2"]) == len(s["gyro_rads"])
        assert s["t_s"][0] <= ex["grab_s"] <= ex["release_s"] <= s["t_s"][-1]
        assert max(s["acc_mps2"]) > 9.0  # gravity at least: real samples, not zeros


def test_sse_delivers_each_new_exchange(service: ServiceProcess) -> None:
    before = service.wait_exchanges(1)
    events = sse_events(service.url + "/api/exchanges/stream", n=1, timeout_s=90)
    ev = events[0]
    assert ev["event"] == "exchange"
    assert int(ev["id"]) == ev["data"]["id"] > before[-1]["id"]
    assert service.get(f"/api/exchanges/{ev['id']}").json() == ev["data"]


def test_sse_resumes_after_last_event_id(service: ServiceProcess) -> None:
    got = service.wait_exchanges(2)
    events = sse_events(
        service.url + "/api/exchanges/stream",
        n=len(got) - 1,
        timeout_s=30,
        headers={"Last-Event-ID": str(got[0]["id"])},
    )
    assert [int(e["id"]) for e in events] == [e["id"] for e in got[1:]]


def test_many_viewers_get_the_same_event(service: ServiceProcess) -> None:
    service.wait_exchanges(1)
    results: list[list[dict]] = [[] for _ in range(8)]

    def view(i: int) -> None:
        results[i] = sse_events(service.url + "/api/exchanges/stream", n=1, timeout_s=90)

    threads = [threading.Thread(target=view, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(100)
    ids = {r[0]["id"] for r in results if r}
    assert len(ids) == 1 and all(results), results


def test_exports_parse_back(service: ServiceProcess) -> None:
    got = service.wait_exchanges(2)
    sid = got[0]["session_id"]
    listed = service.get(f"/api/exchanges?session_id={sid}").json()
    js = service.get(f"/api/sessions/{sid}/export?format=json")
    assert js.status_code == 200
    doc = js.json()
    assert list(doc) == ["exchanges"]
    exported = doc["exchanges"][: len(listed)]
    assert [e["id"] for e in exported] == [e["id"] for e in listed]
    r = service.get(f"/api/sessions/{sid}/export?format=csv")
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    by_id = {int(row["id"]): row for row in rows}
    for e in listed:
        row = by_id[e["id"]]
        assert row["giver"] == e["giver"] and row["outcome"] == e["outcome"]
        assert float(row["release_s"]) == pytest.approx(e["release_s"], abs=1e-4)
        assert _utc(row["grab_utc"]) == _utc(e["grab_utc"])
        if e["overlap_ms"] is not None:
            assert float(row["overlap_ms"]) == pytest.approx(e["overlap_ms"])
    across = service.get("/api/exchanges/export?format=csv&athlete=BEA")
    assert all(
        "BEA" in (r["giver"], r["receiver"]) for r in csv.DictReader(io.StringIO(across.text))
    )
