"""GET /api/health: is the service up, which session runs, what happened lately."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter

from batonsense import __version__
from batonsense.api.deps import RuntimeDep
from batonsense.api.schemas import Health
from batonsense.sync import HOST_CLOCK

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health)
async def health(runtime: RuntimeDep) -> Health:
    return Health(
        status="ok",
        version=__version__,
        mode="demo" if runtime.demo else "live",
        session_id=runtime.session_id,
        host_s=time.monotonic(),
        utc=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        clock=HOST_CLOCK,
        viewers=runtime.hub.viewers,
        messages=[f"{when} {text}" for when, text in runtime.messages],
    )
