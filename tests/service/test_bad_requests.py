"""Hostile and malformed requests to a real demo service: each is a 4xx with a reason.

Every request here crashed a handler (500) or was read as something it was
not before issue 13; the service must answer with a 4xx JSON `detail`, log
no traceback, and keep recording.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ._service import ServiceProcess, sse_events

JSON = {"Content-Type": "application/json"}
STREAM = "/api/exchanges/stream"
#: a valid ISO-8601 time with an offset whose UTC equivalent is past year 9999
PAST_9999 = "9999-12-31T23:59:59-23:59"


def _reason(r: httpx.Response) -> Any:
    assert 400 <= r.status_code < 500, f"{r.request.method} {r.request.url} -> {r.status_code} {r.text}"
    detail = r.json()["detail"]
    assert detail, r.text
    return detail


@pytest.mark.parametrize(
    ("path", "param"),
    [("/api/exchanges", "since"), ("/api/exchanges", "until"),
     ("/api/exchanges/export", "since"), ("/api/exchanges/export", "until")],
)  # fmt: skip
def test_a_time_past_year_9999_in_utc_is_a_422(service: ServiceProcess, path: str,
                                              param: str) -> None:  # fmt: skip
    r = service.get(path, params={param: PAST_9999})
    assert r.status_code == 422, r.text
    assert "UTC" in _reason(r)[0]["msg"]


@pytest.mark.parametrize(
    "body",
    [b'{"name": "x", "notes": NaN}', b'{"name": "x", "extra": Infinity}',
     b'{"name": -Infinity}', b'{"name": "\\ud800"}', b'{"name": "ok", "notes": "\\udfff x"}',
     b'{"name": "x", "\\ud800": 1}'],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/api/athletes", "/api/sessions"])
def test_bodies_json_cannot_echo_are_a_422(service: ServiceProcess, path: str,
                                           body: bytes) -> None:  # fmt: skip
    """NaN, Infinity and lone surrogates: the validation error used to fail to render."""
    before = service.get("/api/sessions").json()
    r = service.post(path, content=body, headers=JSON)
    assert r.status_code == 422, r.text
    json.loads(r.content.decode("utf-8"))  # strict UTF-8 JSON
    assert _reason(r)[0]["loc"][0] == "body"
    assert service.get("/api/sessions").json() == before


@pytest.mark.parametrize("bad", ["+1", "01", "1.0", "1e0", " 1", "0x1", "١"])
def test_ids_are_plain_decimal_digits(service: ServiceProcess, bad: str) -> None:
    """`+1`, `01`, `1.0` ... were read as 1."""
    assert service.get("/api/sessions/1").status_code == 200
    for path in (f"/api/sessions/{bad}", f"/api/sessions/{bad}/export",
                 f"/api/exchanges/{bad}", f"/api/exchanges/{bad}/signals"):  # fmt: skip
        r = service.get(path)
        assert r.status_code == 422, (path, r.text)
        assert "plain decimal digits" in _reason(r)[0]["msg"]
    r = service.get("/api/exchanges", params={"session_id": bad})
    assert r.status_code == 422, r.text
    r = httpx.patch(f"{service.url}/api/sessions/{bad}", json={"notes": "n"})
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("name", ["", " ", "\t \n"])
def test_patch_refuses_a_blank_name(service: ServiceProcess, name: str) -> None:
    before = service.get("/api/sessions/1").json()
    r = httpx.patch(f"{service.url}/api/sessions/1", json={"name": name})
    assert r.status_code == 422, r.text
    assert service.get("/api/sessions/1").json()["name"] == before["name"]
    r = httpx.patch(f"{service.url}/api/sessions/1", json={"name": f"  {before['name']} "})
    assert r.status_code == 200 and r.json()["name"] == before["name"]  # stripped, as POST


@pytest.mark.parametrize("header", ["abc", "-1", "+5", "1.5", "0x10", "1 2", "01"])
def test_a_malformed_last_event_id_is_a_400_before_the_stream(
    service: ServiceProcess, header: str
) -> None:
    with httpx.stream("GET", service.url + STREAM, headers={"Last-Event-ID": header},
                      timeout=30.0) as r:  # a stream that started would never end  # fmt: skip
        assert r.status_code == 400, r.headers
        r.read()
    assert r.headers["content-type"] == "application/json"
    assert "Last-Event-ID" in _reason(r)


def test_a_last_event_id_beyond_any_id_resumes_from_now(service: ServiceProcess) -> None:
    """20 nines overflowed SQLite's INTEGER and killed the stream: now it is "from now",
    so both streams get the same next exchange."""
    got: dict[str, list[dict[str, Any]]] = {}

    def read(name: str, headers: dict[str, str]) -> None:
        got[name] = sse_events(service.url + STREAM, n=1, timeout_s=120.0, headers=headers)

    readers = [
        threading.Thread(target=read, args=("huge", {"Last-Event-ID": "9" * 20})),
        threading.Thread(target=read, args=("plain", {})),
    ]
    for t in readers:
        t.start()
    for t in readers:
        t.join(150.0)
    assert got["huge"] and got["plain"], got
    assert got["huge"][0]["id"] == got["plain"][0]["id"]
    assert "Traceback" not in service.output()


def test_csv_export_neutralises_formulas(service: ServiceProcess) -> None:
    """A session named like a formula shows as text in a spreadsheet (a leading ')."""
    ex = service.wait_exchanges(1)[-1]
    sid = ex["session_id"]
    name = service.get(f"/api/sessions/{sid}").json()["name"]
    formula = '=HYPERLINK("http://evil.example","x")'
    try:
        assert httpx.patch(f"{service.url}/api/sessions/{sid}", json={"name": formula}).is_success
        for path in (f"/api/sessions/{sid}/export", "/api/exchanges/export"):
            rows = list(csv.DictReader(io.StringIO(service.get(path).text)))
            row = next(r for r in rows if r["id"] == str(ex["id"]))
            assert row["session_name"] == "'" + formula, row
            assert float(row["overlap_ms"] or 0) == pytest.approx(ex["overlap_ms"] or 0)
        j = service.get(f"/api/sessions/{sid}/export", params={"format": "json"}).json()
        assert {e["session_name"] for e in j["exchanges"]} == {formula}  # JSON stays exact
    finally:
        httpx.patch(f"{service.url}/api/sessions/{sid}", json={"name": name})


def test_no_traceback_and_still_recording(service: ServiceProcess) -> None:
    """After all of the above (and the disconnecting viewers): no traceback, no
    'Task was destroyed' warning, and exchanges still arrive."""
    n = len(service.get("/api/exchanges").json())
    for _ in range(5):  # viewers that disconnect mid-wait
        with httpx.stream("GET", service.url + STREAM, timeout=5.0) as r:
            assert r.status_code == 200
    service.wait_exchanges(n + 1, timeout_s=120.0)
    time.sleep(1.0)
    out = service.output()
    assert "Traceback" not in out and "Task was destroyed" not in out, out[-3000:]


#: header text h11 can send: visible latin-1 and spaces inside (no CR, LF, NUL)
_HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                     exclude_characters="\x7f"), max_size=40)  # fmt: skip


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(header=st.one_of(_HEADER_TEXT, st.integers(-(2**70), 2**70).map(str)))
def test_the_stream_survives_any_last_event_id(service: ServiceProcess, header: str) -> None:
    """Any Last-Event-ID: a 400 with a reason, or a stream that starts (200)."""
    raw = header.strip().encode("latin-1")  # a header is bytes on the wire
    with httpx.stream("GET", service.url + STREAM, headers={"Last-Event-ID": raw},
                      timeout=30.0) as r:  # fmt: skip
        assert r.status_code in (200, 400), (header, r.status_code)
        if r.status_code == 400:
            r.read()
            assert "Last-Event-ID" in r.json()["detail"]


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(value=st.one_of(st.text(max_size=40), st.datetimes(timezones=st.timezones()).map(
    lambda d: d.isoformat())))  # fmt: skip
def test_any_time_filter_is_answered_without_a_server_error(
    service: ServiceProcess, value: str
) -> None:
    """since/until: any text, and any aware time in any zone (year 1 to 9999)."""
    for path in ("/api/exchanges", "/api/exchanges/export"):
        for param in ("since", "until"):
            r = service.get(path, params={param: value})
            assert r.status_code in (200, 422), (path, param, value, r.text)


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/octet-stream"])
def test_a_body_of_bytes_that_are_not_utf8_is_a_422(service: ServiceProcess,
                                                    content_type: str | None) -> None:  # fmt: skip
    """A script (X-Requested-With) sending raw bytes: the echo of them failed with a 500."""
    headers = {"X-Requested-With": "test"}
    if content_type:
        headers["Content-Type"] = content_type
    r = service.post("/api/athletes", content=b"\xff\xfe{", headers=headers)
    assert r.status_code == 422, r.text
    assert _reason(r)[0]["input"] == "\\xff\\xfe{"
