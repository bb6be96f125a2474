"""Exchanges: list with filters, live stream (SSE), export, one, and its signals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import JSONResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from batonsense.api.deps import (
    MAX_ID,
    RuntimeDep,
    in_utc_range,
    plain_id,
    resume_after,
    rfc3339,
)
from batonsense.api.schemas import ERRORS, ExchangeOut, Signals
from batonsense.model import Role
from batonsense.store import Store, StoredExchange, StoredSensor, StoreError
from batonsense.store.export import exchange_record, exchanges_csv, exchanges_json

router = APIRouter(prefix="/api/exchanges", tags=["exchanges"], responses=ERRORS)

# (Path/Query before the validators, or their limits drop out of the OpenAPI schema)
ExchangeId = Annotated[
    int, Path(ge=1, le=MAX_ID, description="exchange id"), BeforeValidator(plain_id)
]
SessionQ = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description="only this session"), BeforeValidator(plain_id)
]
AthleteQ = Annotated[
    str | None, Query(min_length=1, max_length=200, description="giver or receiver")
]
SinceQ = Annotated[
    AwareDatetime | None,
    Query(description="RFC 3339 date-time with an offset, e.g. 2026-05-01T09:30:00Z; inclusive"),
    BeforeValidator(rfc3339),
    AfterValidator(in_utc_range),
]
UntilQ = Annotated[
    AwareDatetime | None,
    Query(description="RFC 3339 date-time with an offset, e.g. 2026-05-01T09:30:00Z; exclusive"),
    BeforeValidator(rfc3339),
    AfterValidator(in_utc_range),
]
FormatQ = Annotated[Literal["csv", "json"], Query(description="csv or json")]
MAX_POINTS = 600


def query_records(
    store: Store,
    held: list[StoredExchange],
    *,
    session_id: int | None = None,
    athlete: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int = 0,
) -> list[dict[str, Any]]:
    """Exchange objects (newest last) matching the filters; since/until on created_at.

    held: `Runtime.held_exchanges()`, taken before (the exchanges kept while the disk
    is full are listed too, with the ids viewers were sent)."""
    if session_id is not None:
        store.session(session_id)  # 404 if unknown
    rows = store.exchanges(
        session_id=session_id,
        athlete=athlete,
        since=since,
        until=until,
        after_id=after_id,
        held=held,
    )
    sessions = {s.id: s for s in store.sessions()}
    return [exchange_record(r, sessions[r.session_id]) for r in rows]


@router.get("", response_model=list[ExchangeOut])
def exchanges(
    runtime: RuntimeDep,
    session_id: SessionQ = None,
    athlete: AthleteQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
    limit: Annotated[int | None, Query(ge=1, le=100_000, description="the newest N")] = None,
) -> list[dict[str, Any]]:
    """Exchanges, newest last (filters: session, athlete as giver or receiver, time)."""
    held = runtime.held_exchanges()
    with runtime.reading() as store:
        records = query_records(
            store, held, session_id=session_id, athlete=athlete, since=since, until=until
        )
    return records[-limit:] if limit else records


@router.get("/stream", response_class=EventSourceResponse)
async def stream(
    runtime: RuntimeDep, last: Annotated[int | None, Depends(resume_after)]
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events: `event: exchange`, `id: <exchange id>`, data = the exchange object.

    With Last-Event-ID (the browser sends it when it reconnects) the
    exchanges stored since that id come first; an id beyond the newest stored
    one resumes from now; a malformed one is a 400 before the stream starts."""
    sub = runtime.hub.subscribe()
    sent = 0  # the newest id sent from the store: live events up to it are repeats
    try:
        if last is not None:
            held = runtime.held_exchanges()
            for rec in query_records(runtime.store, held, after_id=last):
                sent = rec["id"]
                yield ServerSentEvent(data=rec, event="exchange", id=str(rec["id"]))
        async for exchange_id, rec in sub.events():
            if exchange_id > sent:
                yield ServerSentEvent(data=rec, event="exchange", id=str(exchange_id))
    finally:
        runtime.hub.unsubscribe(sub)


@router.get(
    "/export",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
    response_class=Response,
)
def export(
    runtime: RuntimeDep,
    format: FormatQ = "csv",
    session_id: SessionQ = None,
    athlete: AthleteQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
) -> Response:
    """The timing log across sessions (same filters as the list) as CSV or JSON."""
    held = runtime.held_exchanges()
    with runtime.reading() as store:
        records = query_records(
            store, held, session_id=session_id, athlete=athlete, since=since, until=until
        )
    return export_response(records, format, "batonsense-exchanges")


def export_response(records: list[dict[str, Any]], format: str, stem: str) -> Response:
    """A CSV or JSON download of exchange objects."""
    disposition = {"Content-Disposition": f'attachment; filename="{stem}.{format}"'}
    if format == "json":
        return JSONResponse(exchanges_json(records), headers=disposition)
    return Response(exchanges_csv(records), media_type="text/csv", headers=disposition)


@router.get("/{exchange_id}", response_model=ExchangeOut)
def exchange(exchange_id: ExchangeId, runtime: RuntimeDep) -> dict[str, Any]:
    held = runtime.held_exchanges()
    with runtime.reading() as store:
        stored = _stored_or_404(store, exchange_id, held)
        return exchange_record(stored, store.session(stored.session_id))


@router.get("/{exchange_id}/signals", response_model=Signals)
def signals(
    exchange_id: ExchangeId,
    runtime: RuntimeDep,
    before_s: Annotated[float, Query(ge=0.0, le=10.0)] = 1.5,
    after_s: Annotated[float, Query(ge=0.0, le=10.0)] = 1.0,
) -> dict[str, Any]:
    """|a| (m/s²) and |ω| (rad/s) of the baton and the two athletes' wrists around the
    exchange (from before_s before its first event to after_s after its last)."""
    held = runtime.held_exchanges()
    with runtime.reading() as store:
        stored = _stored_or_404(store, exchange_id, held)
        ex = stored.exchange
        times = [t for t in (ex.reach_s, ex.grab_s, ex.release_s, ex.drop_s) if t is not None]
        if not times:
            raise HTTPException(404, f"exchange {exchange_id} has no event time")
        start_s, end_s = min(times) - before_s, max(times) + after_s
        series = []
        for s in _exchange_sensors(store.session_sensors(stored.session_id), ex):
            block = store.samples_between(stored.session_id, s.info.id, start_s, end_s)
            series.append(_series(s, block))
    return {
        "exchange_id": exchange_id,
        "clock": ex.clock,
        "marks": {k: getattr(ex, k) for k in ("reach_s", "grab_s", "release_s", "drop_s")},
        "series": series,
    }


def _stored_or_404(store: Store, exchange_id: int, held: list[StoredExchange]) -> Any:
    try:
        return store.exchange(exchange_id, held)
    except StoreError:
        raise HTTPException(404, f"no exchange with id {exchange_id}") from None


def _exchange_sensors(sensors: list[StoredSensor], ex: Any) -> list[StoredSensor]:
    """The baton, then the giver's and the receiver's wrist (the hand used, if known)."""
    out = [s for s in sensors if s.info.role is Role.BATON]
    for athlete, hand in ((ex.giver, ex.giver_hand), (ex.receiver, ex.receiver_hand)):
        mine = [s for s in sensors if s.info.athlete == athlete and athlete is not None]
        mine.sort(key=lambda s: s.info.hand != hand)  # the hand used first
        out += mine[:1]
    return out


def _series(sensor: StoredSensor, block: Any) -> dict[str, Any]:
    acc = np.linalg.norm(block.acc_mps2, axis=1) if len(block) else np.empty(0)
    gyro = np.linalg.norm(block.gyro_radps, axis=1) if len(block) else np.empty(0)
    t = np.asarray(block.t_s, dtype=float)
    k = max(1, -(-len(t) // MAX_POINTS))
    if k > 1:  # keep each bin's peak, so a grab's spike survives the thinning
        n = len(t) // k * k
        t = t[:n:k]
        acc = acc[:n].reshape(-1, k).max(axis=1)
        gyro = gyro[:n].reshape(-1, k).max(axis=1)
    info = sensor.info
    return {
        "sensor": info.id,
        "role": info.role.value,
        "athlete": info.athlete,
        "hand": None if info.hand is None else info.hand.value,
        "t_s": np.round(t, 4).tolist(),
        "acc_mps2": np.round(acc, 3).tolist(),
        "gyro_rads": np.round(gyro, 4).tolist(),
    }
