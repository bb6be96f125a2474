"""The FastAPI app: routers per resource, the trackside page, local /docs, error mapping."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from batonsense import __version__
from batonsense.service.runtime import Runtime
from batonsense.store import StoreError, UnknownSessionError

from .routers import athletes, exchanges, health, sensors, sessions


def create_app(runtime: Runtime, *, token: str | None = None) -> FastAPI:
    """The app around a Runtime (started and stopped by the caller, see `service.server`).

    token: required (Bearer) on state-changing endpoints; None on loopback."""
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

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.exception_handler(UnknownSessionError)
    async def unknown_session(_r: Request, exc: UnknownSessionError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(StoreError)
    async def store_error(_r: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    return app
