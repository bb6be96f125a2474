"""The FastAPI app: routers per resource, the trackside page, local /docs, error mapping."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from batonsense import __version__
from batonsense.service.runtime import Runtime
from batonsense.service.token import is_loopback
from batonsense.store import StorageError, StoreError, UnknownSessionError

from .guard import BrowserGuard, served_names
from .routers import athletes, exchanges, health, sensors, sessions


def create_app(
    runtime: Runtime,
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
) -> FastAPI:
    """The app around a Runtime (started and stopped by the caller, see `service.server`).

    token: required (Bearer) on state-changing endpoints; None on loopback.
    host, port: where the service listens; on loopback the Host header must name
    this computer and `port` (None: any port), see `api.guard`."""
    from batonsense.web import STATIC_DIR

    app = FastAPIOffline(
        title="batonsense",
        version=__version__,
        description=(
            "Relay baton exchange timing. Times (`*_s`) are on the host's monotonic "
            "clock (`clock`), the same instants as ISO-8601 UTC in `*_utc`."
        ),
        static_url="/static-docs",
    )
    app.state.runtime = runtime
    app.state.token = token
    for r in (health, sensors, exchanges, sessions, athletes):
        app.include_router(r.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(
        BrowserGuard, served_names=served_names(host, is_loopback(host)), port=port or None
    )

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.exception_handler(UnknownSessionError)
    async def unknown_session(_r: Request, exc: UnknownSessionError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(StoreError)
    async def store_error(_r: Request, exc: StoreError) -> JSONResponse:
        # the disk refused the change (full, I/O error): 507, and nothing changed
        status = 507 if isinstance(exc, StorageError) else 409
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_r: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes the input, which JSON cannot always carry
        # (NaN, Infinity, a lone surrogate "\ud800", a body of bytes that are not
        # UTF-8): it failed with a 500
        return JSONResponse({"detail": jsonable_encoder(_renderable(exc.errors()))}, 422)

    return app


def _renderable(value: Any) -> Any:
    """value with what strict JSON in UTF-8 cannot hold spelled out as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {_renderable(k): _renderable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_renderable(v) for v in value]
    return value
