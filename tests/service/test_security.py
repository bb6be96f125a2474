"""Off loopback, changes need the token (kept 0600); reading stays open; loopback needs none."""

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
            svc.post(f"/api/sessions/{before[0]['id']}/end"),
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
