"""Exchanges kept in memory while the disk is full (a real 3 MB tmpfs, needs root) are
listed, exported and counted by the API at once, with the ids they are written with
later, in order, and each once, also while they are being written."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import httpx

from batonsense.api.app import create_app
from batonsense.api.routers.exchanges import stream
from batonsense.model import Exchange, Hand
from batonsense.service.config import read_config
from batonsense.service.runtime import Runtime
from batonsense.store import SessionWriter, StorageError

from .._small_fs import fill

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"


def _exchange(t_s: float, giver: str = "ANA", receiver: str = "BEA") -> Exchange:
    return Exchange(giver, receiver, t_s, t_s + 0.1, t_s + 0.25, giver_hand=Hand.RIGHT,
                    receiver_hand=Hand.LEFT, confidence=0.9, clock="host_monotonic",
                    extra={"grab_pm_ms": 2.5})  # fmt: skip


def _until_full(writer: SessionWriter) -> float:
    """Feed raw notifications until a commit fails for want of space; returns a time (s)."""
    t_s = 100.0
    while True:
        for _ in range(10):
            writer.write("baton", t_s, bytes(4096))
            t_s += 0.01
        try:
            writer.flush()
        except StorageError:
            return round(t_s)
        assert t_s < 10_000, "the disk never filled"


class _Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def json(self, path: str) -> Any:
        r = await self.client.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()

    async def csv_ids(self, path: str) -> list[int]:
        r = await self.client.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return [int(row["id"]) for row in csv.DictReader(io.StringIO(r.text))]

    async def views(self, session_id: int) -> dict[str, Any]:
        """Every view of the session's exchanges (ids, records, counts)."""
        sessions = await self.json("/api/sessions")
        return {
            "list": await self.json("/api/exchanges"),
            "by_session": await self.json(f"/api/exchanges?session_id={session_id}"),
            "by_athlete": [e["id"] for e in await self.json("/api/exchanges?athlete=CAT")],
            "newest_2": [e["id"] for e in await self.json("/api/exchanges?limit=2")],
            "export_json": (await self.json("/api/exchanges/export?format=json"))["exchanges"],
            "export_csv": await self.csv_ids("/api/exchanges/export?format=csv"),
            "session_json": (await self.json(f"/api/sessions/{session_id}/export?format=json"))[
                "exchanges"
            ],
            "session_csv": await self.csv_ids(f"/api/sessions/{session_id}/export"),
            "count": (await self.json(f"/api/sessions/{session_id}"))["exchange_count"],
            "counts": {s["id"]: s["exchange_count"] for s in sessions},
        }


async def _resumed_ids(runtime: Runtime, last_event_id: int, n: int) -> list[int]:
    """The ids of the first n events of the stream route resumed after last_event_id."""
    events = stream(runtime, last_event_id)  # the route's own generator
    try:
        return [int((await anext(events)).id) for _ in range(n)]
    finally:
        await events.aclose()


def test_exchanges_kept_on_a_full_disk_are_listed_with_their_ids(small_fs: Path) -> None:
    async def go() -> None:
        runtime = Runtime(small_fs / "b.db", read_config(DEMO))
        filler = small_fs / "filler"
        try:
            session = runtime.start_session("full disk")
            writer = runtime.writer
            assert writer is not None
            writer.retry_every_s = 0.05
            written = [writer.add_exchange(_exchange(10.0)), writer.add_exchange(_exchange(20.0))]
            filler = fill(small_fs)
            t_s = _until_full(writer)
            exchanges = [_exchange(t_s), _exchange(t_s + 5, "CAT", "DEV"), _exchange(t_s + 9)]
            held = [writer.add_exchange(ex) for ex in exchanges]
            assert writer.problem is not None and writer.backlog()["exchanges"] == 3
            ids = written + held
            assert ids == list(range(ids[0], ids[0] + 5))  # handed out in order

            transport = httpx.ASGITransport(app=create_app(runtime))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                api = _Api(c)
                while_full = await api.views(session.id)
                assert [e["id"] for e in while_full["list"]] == ids
                assert while_full["list"] == while_full["by_session"]
                assert while_full["list"] == while_full["export_json"]
                assert while_full["list"] == while_full["session_json"]
                assert while_full["export_csv"] == while_full["session_csv"] == ids
                assert while_full["by_athlete"] == [held[1]]
                assert while_full["newest_2"] == ids[-2:]
                assert while_full["count"] == 5 and while_full["counts"] == {session.id: 5}
                one = await api.json(f"/api/exchanges/{held[1]}")
                assert one == while_full["list"][3]
                assert (one["giver"], one["receiver"]) == ("CAT", "DEV")
                assert one["grab_s"] == (t_s + 5) + 0.1
                missing = await c.get(f"/api/exchanges/{ids[-1] + 1}")
                assert missing.status_code == 404
                # a viewer reconnecting with Last-Event-ID gets the kept ones too
                assert await _resumed_ids(runtime, written[0], n=4) == ids[1:]

                # the writer catches up in its own thread while the API
                # is read; every answer has each exchange once, in order, same ids
                filler.unlink()  # space returns
                answers = 0
                while writer.backlog()["exchanges"] or answers < 3:
                    got = await api.json("/api/exchanges")
                    assert [e["id"] for e in got] == ids
                    counts = await api.json("/api/sessions")
                    assert counts[0]["exchange_count"] == 5
                    answers += 1
                    assert answers < 2000, "never written"
                assert writer.problem is None
                after = await api.views(session.id)
            assert after == while_full  # the same objects, now read from the file
            stored = runtime.store.exchanges(session_id=session.id)
            assert [e.id for e in stored] == ids
            assert [e.exchange for e in stored[2:]] == exchanges
        finally:
            filler.unlink(missing_ok=True)  # a failed check is reported, not a full disk
            runtime.store.close()
            if runtime.writer is not None:
                runtime.writer.close()

    asyncio.run(go())
