"""GET /api/health: is the service up and well, which session runs, what happened lately."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from batonsense import __version__
from batonsense.api.deps import RuntimeDep
from batonsense.api.schemas import Health
from batonsense.service import health as service_health
from batonsense.sync import HOST_CLOCK

router = APIRouter(prefix="/api", tags=["health"])


class HealthReport(Health):
    """Health, with what is wrong now (`status` "degraded" when anything is)."""

    status: Literal["ok", "degraded"] = Field(  # type: ignore[assignment]
        description='"ok", or "degraded" when `problems` lists anything'
    )
    problems: list[str] = Field(
        description="what is wrong now, most serious first (storage, ingest, sensors)"
    )
    ingest: dict[str, Any] = Field(
        description="the ingest thread: lag_s (s behind now), max_lag_s, queued, "
        "overflows (notifications refused), errors"
    )
    storage: dict[str, Any] | None = Field(
        description="null while the session is written; else the problem, for_s and "
        "what is kept in memory until it can be written"
    )


@router.get("/health", response_model=HealthReport)
async def health(runtime: RuntimeDep) -> HealthReport:
    report = service_health.report(runtime)
    return HealthReport(
        status="degraded" if report["problems"] else "ok",
        **report,
        version=__version__,
        mode="demo" if runtime.demo else "live",
        session_id=runtime.session_id,
        host_s=time.monotonic(),
        utc=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        clock=HOST_CLOCK,
        viewers=runtime.hub.viewers,
        messages=[f"{when} {text}" for when, text in runtime.messages],
    )
