"""Run the service: the Runtime and the API under uvicorn, on one event loop."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable

import uvicorn
from fastapi import FastAPI

from .config import PracticeConfig, ServerSettings
from .runtime import Runtime
from .token import is_loopback, load_or_create_token

_LOG = logging.getLogger(__name__)


def build(
    settings: ServerSettings,
    config: PracticeConfig,
    *,
    demo: bool,
    seed: int = 1,
    session_name: str | None = None,
) -> tuple[FastAPI, Runtime, str | None]:
    """The app, its runtime (started by the app's lifespan) and the token (None on loopback)."""
    from batonsense.api import create_app

    settings.db.parent.mkdir(parents=True, exist_ok=True)
    token = None if is_loopback(settings.host) else load_or_create_token(settings.token_path)
    runtime = Runtime(settings.db, config, demo=demo, seed=seed, session_name=session_name)
    app = create_app(runtime, token=token)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app.router.lifespan_context = lifespan
    return app, runtime, token


def serve(
    settings: ServerSettings,
    config: PracticeConfig,
    *,
    demo: bool,
    seed: int = 1,
    session_name: str | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve until Ctrl-C / SIGTERM (uvicorn handles both and runs the shutdown)."""
    app, _runtime, token = build(settings, config, demo=demo, seed=seed, session_name=session_name)
    url_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    announce(f"batonsense {'demo' if demo else 'service'}: http://{url_host}:{settings.port}/")
    announce(f"database: {settings.db}")
    if token is not None:
        announce(
            f"listening beyond this computer: changes need the token {token} "
            f"(kept in {settings.token_path}, mode 0600); viewing stays open"
        )
    server = _Server(
        _runtime,
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            timeout_graceful_shutdown=5,
        ),
    )
    server.run()


class _Server(uvicorn.Server):
    """uvicorn's server, ending the live streams first when it shuts down.

    uvicorn waits for open connections (up to timeout_graceful_shutdown) before
    the app's lifespan ends; an SSE stream never ends by itself, so every
    viewer would hold the shutdown for the whole timeout and then be cut off.
    Closing the hub first ends each stream cleanly and the service stops at once.
    """

    def __init__(self, runtime: Runtime, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._runtime = runtime

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._runtime.hub.close()
        await super().shutdown(sockets)
