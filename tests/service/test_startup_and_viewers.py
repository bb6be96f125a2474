"""A port already in use, and viewers that leave mid-stream (issue 13)."""

from __future__ import annotations

import asyncio
import gc
import logging
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from batonsense.api.routers.exchanges import stream
from batonsense.service.hub import ExchangeHub

from ._service import ServiceProcess


def test_a_port_in_use_is_one_line_exit_2_and_no_session(
    service: ServiceProcess, tmp_path: Path
) -> None:
    """A second service on the first one's port: it says so in one line and touches no
    database (it used to exit 3 with uvicorn's message after starting a session)."""
    db = tmp_path / "second.db"
    r = subprocess.run(
        [sys.executable, "-m", "batonsense", "demo", "--config", str(service.config),
         "--port", str(service.port), "--db", str(db)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert lines == [f"batonsense: cannot listen on 127.0.0.1:{service.port}: "
                     "Address already in use"], r.stderr  # fmt: skip
    assert not db.exists()  # no session, no database
    assert service.get("/api/health").status_code == 200  # the first one is unharmed


class _Store:
    def exchanges(self, **_kw: object) -> list[object]:
        return []

    def sessions(self) -> list[object]:
        return []


@pytest.mark.parametrize("last", [None, 5])
def test_a_viewer_leaving_mid_wait_leaves_no_pending_task(
    last: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    """Each disconnecting viewer logged "Task was destroyed but it is pending!": the
    viewer's queue read was left pending and garbage-collected with the stream."""

    async def viewers_leave() -> int:
        hub = ExchangeHub()
        runtime = SimpleNamespace(hub=hub, store=_Store(), held_exchanges=list)
        for _ in range(5):
            events = stream(runtime, last)  # the route's own generator
            pending = asyncio.ensure_future(events.__anext__())
            await asyncio.sleep(0.01)  # now waiting for the next exchange
            pending.cancel()  # the viewer is gone: FastAPI cancels the producer
            with pytest.raises(asyncio.CancelledError):
                await pending
            await events.aclose()
            del events, pending
        for _ in range(3):
            await asyncio.sleep(0)
            gc.collect()
        return hub.viewers

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        assert asyncio.run(viewers_leave()) == 0
        gc.collect()
    destroyed = [r for r in caplog.records if "Task was destroyed" in r.getMessage()]
    assert destroyed == []
