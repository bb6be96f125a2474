"""Off loopback, changes need the token (kept 0600); reading stays open; loopback needs none.

Browser safety on loopback (api/guard.py): a cross-site form or a no-cors
fetch cannot change anything, a DNS-rebinding page (another Host) gets
nothing, and the database is private (0600) like the token."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from batonsense.service.token import is_loopback, load_or_create_token, token_matches

from ._service import ServiceProcess


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.9.9.9", True), ("localhost", True), ("::1", True),
     ("[::1]", True), ("0.0.0.0", False), ("::", False), ("192.168.1.20", False),
     ("trackside.local", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_token_file_is_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "db.token"
    token = load_or_create_token(path)
    assert len(token) >= 24
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_token(path) == token  # the same on the next start
    path.chmod(0o644)
    assert load_or_create_token(path) == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # tightened
    assert token_matches(token, f"Bearer {token}")
    assert token_matches(token, f"bearer {token}")
    for bad in (None, "", token, f"Basic {token}", f"Bearer {token}x", "Bearer "):
        assert not token_matches(token, bad)


def test_off_loopback_changes_need_the_token(tmp_path: Path) -> None:
    # listens on every address; the test talks to it over loopback only
    svc = ServiceProcess(tmp_path, host="0.0.0.0").start()
    try:
        token_path = svc.db.with_name(svc.db.name + ".token")
        token = token_path.read_text().strip()
        assert stat.S_IMODE(token_path.stat().st_mode) == 0o600
        assert token in svc.output()  # printed at start for the coach
        # viewing stays open
        assert svc.get("/api/health").status_code == 200
        assert svc.get("/api/sessions").status_code == 200
        assert svc.get("/").status_code == 200
        before = svc.get("/api/sessions").json()
        denied = [
            svc.post("/api/sessions", json={"name": "x"}),
            svc.post("/api/sessions", json={"name": "x"}, headers={"Authorization": "Bearer no"}),
            svc.post("/api/athletes", json={"name": "EVE"}),
            svc.post(f"/api/sessions/{before[0]['id']}/end", headers={"X-Requested-With": "t"}),
            httpx.patch(svc.url + f"/api/sessions/{before[0]['id']}", json={"name": "y"}),
            httpx.put(svc.url + "/api/sensors/w9", json={"role": "baton"}),
        ]
        assert [r.status_code for r in denied] == [401] * len(denied)
        assert all(r.headers["www-authenticate"] == "Bearer" for r in denied)
        assert svc.get("/api/sessions").json() == before  # nothing changed
        auth = {"Authorization": f"Bearer {token}"}
        r = svc.post("/api/sessions", json={"name": "with token"}, headers=auth)
        assert r.status_code == 201 and r.json()["name"] == "with token"
        assert svc.post("/api/athletes", json={"name": "EVE"}, headers=auth).status_code == 201
        # LAN mode: phones reach the laptop by whatever address it has, so any Host is
        # served; the cross-site rules still hold, before the token is even looked at
        assert svc.get("/api/sessions", headers={"Host": "192.168.1.20:8000"}).status_code == 200
        form = {"Content-Type": "application/x-www-form-urlencoded", **auth}
        assert svc.post("/api/athletes", content=b"name=MAL", headers=form).status_code == 415
        evil = {"Origin": "http://evil.example", **auth}
        assert svc.post("/api/athletes", json={"name": "MAL"}, headers=evil).status_code == 403
        assert "MAL" not in {a["name"] for a in svc.get("/api/athletes").json()}
    finally:
        svc.stop()


def test_loopback_needs_no_token(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path).start()
    try:
        assert not svc.db.with_name(svc.db.name + ".token").exists()
        assert svc.post("/api/athletes", json={"name": "EVE"}).status_code == 201
        assert {"name": "EVE", "notes": None} in svc.get("/api/athletes").json()
    finally:
        svc.stop()


def _running(svc: ServiceProcess) -> list[dict]:
    return [s for s in svc.get("/api/sessions").json() if s["running"]]


def test_cross_site_requests_change_nothing(service: ServiceProcess) -> None:
    """What a page on another site can send without a CORS preflight: a form POST, a
    text/plain or bodyless no-cors POST, or a JSON one naming its own Origin."""
    session_id = _running(service)[0]["id"]
    end = f"/api/sessions/{session_id}/end"
    attempts = {
        "form": service.post(end, content=b"x=1",
                             headers={"Content-Type": "application/x-www-form-urlencoded"}),
        "text/plain": service.post(end, content=b"{}", headers={"Content-Type": "text/plain"}),
        "multipart": service.post(end, files={"f": ("a", b"b")}),
        "no body, no type": service.post(end),
        "json from evil.example": service.post(
            "/api/athletes", json={"name": "MAL"}, headers={"Origin": "http://evil.example"}),
        "json from a sandboxed frame": service.post(
            "/api/athletes", json={"name": "MAL"}, headers={"Origin": "null"}),
        "json from another port": service.post(
            "/api/athletes", json={"name": "MAL"},
            headers={"Origin": f"http://127.0.0.1:{service.port + 1}"}),
        "delete, no type": httpx.delete(service.url + "/api/sensors/w4"),
    }  # fmt: skip
    got = {k: r.status_code for k, r in attempts.items()}
    assert got == {
        "form": 415, "text/plain": 415, "multipart": 415, "no body, no type": 415,
        "json from evil.example": 403, "json from a sandboxed frame": 403,
        "json from another port": 403, "delete, no type": 415,
    }, {k: r.text for k, r in attempts.items()}  # fmt: skip
    for r in attempts.values():
        assert r.headers["content-type"] == "application/json" and r.json()["detail"]
    assert _running(service)[0]["id"] == session_id  # still recording
    assert "MAL" not in {a["name"] for a in service.get("/api/athletes").json()}
    assert "w4" in {s["id"] for s in service.get("/api/sensors").json()}


def test_same_origin_and_scripted_changes_pass(service: ServiceProcess) -> None:
    """The service's own page (same Origin, JSON) and scripts (X-Requested-With)."""
    own = {"Origin": service.url}
    assert service.post("/api/athletes", json={"name": "OWN"}, headers=own).status_code == 201
    r = service.post(f"/api/sessions/{987654321}/end", headers={"X-Requested-With": "curl"})
    assert r.status_code == 404  # past the guard: the session is unknown
    r = service.post("/api/athletes", content=b'{"name": "CT"}',
                     headers={"Content-Type": "application/json; charset=utf-8"})  # fmt: skip
    assert r.status_code == 201


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:{port}", "127.0.0.1:{other}", "localhost.evil.example:{port}",
     "127.0.0.1.nip.io:{port}", "", "[::1", "user@127.0.0.1:{port}"],
)  # fmt: skip
def test_rebinding_host_is_refused(service: ServiceProcess, host: str) -> None:
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: no reads, no changes."""
    host = host.format(port=service.port, other=service.port + 1)
    for method, path in (("GET", "/api/sessions"), ("GET", "/"), ("GET", "/static/app.js"),
                         ("POST", "/api/athletes")):  # fmt: skip
        r = httpx.request(method, service.url + path, json={"name": "RB"}, headers={"Host": host})
        assert r.status_code == 421, (method, path, host, r.text)
        assert "rebinding" in r.json()["detail"]


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST"])
def test_loopback_names_are_served(service: ServiceProcess, name: str) -> None:
    r = service.get("/api/sessions", headers={"Host": f"{name}:{service.port}"})
    assert r.status_code == 200


def test_database_files_are_private(service: ServiceProcess) -> None:
    """The running service's database and its -wal/-shm: 0600, like the token."""
    service.wait_exchanges(1)
    for suffix in ("", "-wal", "-shm"):
        path = service.db.with_name(service.db.name + suffix)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
