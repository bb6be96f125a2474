"""A session change the database refuses (a full disk: a real 3 MB tmpfs, needs
root) changes nothing: the running session runs on, no new session appears."""

from __future__ import annotations

from pathlib import Path

import pytest

from batonsense.service.config import read_config
from batonsense.service.runtime import Runtime
from batonsense.store import StorageError

from .._small_fs import fill

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"


def test_refused_session_start_and_end_change_nothing(small_fs: Path) -> None:
    runtime = Runtime(small_fs / "b.db", read_config(DEMO))
    try:
        first = runtime.start_session("one")
        filler = fill(small_fs)
        before = [(s.id, s.ended_at) for s in runtime.store.sessions()]
        with pytest.raises(StorageError):
            runtime.start_session("two")
        with pytest.raises(StorageError):
            runtime.end_session(first.id)
        assert [(s.id, s.ended_at) for s in runtime.store.sessions()] == before
        assert runtime.session_id == first.id  # still recording into the first
        filler.unlink()
        second = runtime.start_session("two")
        assert runtime.session_id == second.id != first.id
        assert runtime.store.session(first.id).ended_at is not None
    finally:
        runtime.store.close()
        if runtime.writer is not None:
            runtime.writer.close()


def test_a_refused_start_is_a_507_with_the_reason(small_fs: Path) -> None:
    import asyncio

    import httpx

    from batonsense.api.app import create_app

    async def go() -> tuple[int, str, list[int]]:
        runtime = Runtime(small_fs / "b.db", read_config(DEMO))
        try:
            runtime.start_session("one")
            filler = fill(small_fs)
            app = create_app(runtime)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                r = await c.post("/api/sessions", json={"name": "two"})
            filler.unlink()
            return r.status_code, r.text, [s.id for s in runtime.store.sessions()]
        finally:
            runtime.store.close()
            if runtime.writer is not None:
                runtime.writer.close()

    code, text, ids = asyncio.run(go())
    assert code == 507, text
    assert "detail" in text and len(ids) == 1
