"""Sessions: list, start, rename, end, export timings, export the raw recording."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from typing import IO, Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from fastapi.responses import Response, StreamingResponse
from pydantic import BeforeValidator

from batonsense.api.deps import MAX_ID, Guard, RuntimeDep, plain_id
from batonsense.api.routers.exchanges import FormatQ, export_response, query_records
from batonsense.api.schemas import CHANGE_ERRORS, ERRORS, SessionCreate, SessionOut, SessionPatch
from batonsense.io.recording_csv import write_recording_csv
from batonsense.service.runtime import Runtime
from batonsense.store import Session, Store
from batonsense.store.export import iso_utc

router = APIRouter(prefix="/api/sessions", tags=["sessions"], responses=ERRORS)

SessionId = Annotated[
    int, Path(ge=1, le=MAX_ID, description="session id"), BeforeValidator(plain_id)
]
_CHUNK_BYTES = 1 << 16
_LOG = logging.getLogger(__name__)


def _out(runtime: Runtime, store: Store, s: Session, count: int | None = None) -> dict[str, Any]:
    if count is None:
        count = store.exchange_counts(runtime.held_exchanges()).get(s.id, 0)
    return {
        "id": s.id,
        "name": s.name,
        "started_at": iso_utc(s.started_at),
        "ended_at": iso_utc(s.ended_at),
        "notes": s.notes,
        "clock": s.clock,
        "exchange_count": count,
        "running": s.id == runtime.session_id,
    }


@router.get("", response_model=list[SessionOut])
def sessions(runtime: RuntimeDep) -> list[dict[str, Any]]:
    """Every session, oldest first."""
    held = runtime.held_exchanges()
    with runtime.reading() as store:
        counts = store.exchange_counts(held)
        return [_out(runtime, store, s, counts.get(s.id, 0)) for s in store.sessions()]


@router.post(
    "",
    response_model=SessionOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=Guard,
    responses=CHANGE_ERRORS,
)
async def start_session(body: SessionCreate, runtime: RuntimeDep) -> dict[str, Any]:
    """End the running session and start a new one: what is recorded from now goes there."""
    s = await runtime.begin_session(body.name, body.notes)
    return _out(runtime, runtime.store, s)


@router.get("/{session_id}", response_model=SessionOut)
def session(session_id: SessionId, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.reading() as store:
        return _out(runtime, store, store.session(session_id))


@router.patch(
    "/{session_id}", response_model=SessionOut, dependencies=Guard, responses=CHANGE_ERRORS
)
async def update_session(
    session_id: SessionId, body: SessionPatch, runtime: RuntimeDep
) -> dict[str, Any]:
    """Rename or annotate a session."""
    runtime.store.update_session(session_id, name=body.name, notes=body.notes)
    return _out(runtime, runtime.store, runtime.store.session(session_id))


@router.post(
    "/{session_id}/end", response_model=SessionOut, dependencies=Guard, responses=CHANGE_ERRORS
)
async def end_session(session_id: SessionId, runtime: RuntimeDep) -> dict[str, Any]:
    """End a session.  Ending the running one stops storing until a new session starts."""
    s = runtime.end_session(session_id)
    return _out(runtime, runtime.store, s)


@router.get(
    "/{session_id}/export",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
    response_class=Response,
)
def export(session_id: SessionId, runtime: RuntimeDep, format: FormatQ = "csv") -> Response:
    """The session's exchanges: CSV (one row per exchange, ISO-8601 UTC times, units in
    column names) or JSON {"exchanges": [...]}."""
    held = runtime.held_exchanges()
    with runtime.reading() as store:
        records = query_records(store, held, session_id=session_id)
    return export_response(records, format, f"batonsense-session-{session_id}")


@router.get(
    "/{session_id}/recording.csv",
    responses={200: {"content": {"text/csv": {}}}},
    response_class=StreamingResponse,
)
def recording_csv(session_id: SessionId, runtime: RuntimeDep) -> StreamingResponse:
    """The session's samples as the analysis recording CSV (host clock; `batonsense
    analyze` reads it with the session's sensors file).

    Stored samples a recording cannot hold (out of time order or repeated at 1 µs,
    not finite: only in a database written by an older version) are left out and
    counted: `X-Dropped-Samples` header, a comment line in the file, a log line."""
    with runtime.reading() as store:
        read = store.read_recording(session_id)
        if not any(len(s) for s in read.recording.streams.values()):
            raise HTTPException(404, f"session {session_id} has no samples")
        comment = f"batonsense session {session_id}"
        if read.dropped:
            said = dropped_text(read.dropped)
            _LOG.warning("recording of session %d: %s", session_id, said)
            comment += "\n" + said
        f = _written_and_unlinked(read.recording, comment)
    name = f"batonsense-session-{session_id}-recording.csv"
    return StreamingResponse(
        _chunks(f),
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(os.fstat(f.fileno()).st_size),
            "X-Dropped-Samples": str(read.dropped_total),
        },
    )


def dropped_text(dropped: Mapping[str, int]) -> str:
    """One line saying which stored samples a recording left out, per sensor."""
    per_sensor = ", ".join(f"{sid}: {n}" for sid, n in sorted(dropped.items()))
    total = sum(dropped.values())
    return (f"left out {total} stored sample{'s' if total != 1 else ''} out of time order, "
            f"repeated at 1 us or not finite ({per_sensor})")  # fmt: skip


def _written_and_unlinked(recording: Any, comment: str) -> IO[bytes]:
    """The recording CSV in a temp file, open for reading and already unlinked: nothing
    is left on disk once it is closed, whether the download ends, the viewer goes
    away mid-way or the service is killed (only a kill while writing can leave one)."""
    fd, tmp = tempfile.mkstemp(prefix="batonsense-recording-", suffix=".csv")
    os.close(fd)
    try:
        write_recording_csv(tmp, recording, comment=comment)
        return open(tmp, "rb")
    finally:
        os.unlink(tmp)


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    with f:
        while chunk := f.read(_CHUNK_BYTES):
            yield chunk
