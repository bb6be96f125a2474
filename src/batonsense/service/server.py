"""Run the service: the Runtime and the API under uvicorn, on one event loop."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable

import uvicorn
from fastapi import FastAPI

from .config import PracticeConfig, ServerSettings
from .runtime import Runtime
from .token import is_loopback, load_or_create_token

_LOG = logging.getLogger(__name__)


class ListenError(Exception):
    """The service cannot listen where it was asked to (port taken, no such address)."""


def listen(host: str, port: int) -> list[socket.socket]:
    """Sockets bound and listening on every address of host (port 0: one free port).

    Done before anything else starts, so a port in use is one clear error and
    leaves nothing behind (no session, no database change).  Raises ListenError."""
    try:
        infos = socket.getaddrinfo(host.strip("[]") or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)  # fmt: skip
    except (socket.gaierror, UnicodeError) as e:
        raise ListenError(f"cannot listen on {host}: no such address ({e})") from None
    socks: list[socket.socket] = []
    try:
        for family, address in dict.fromkeys((i[0], i[4][0]) for i in infos):
            if socks:  # port 0: every address on the first one's port
                port = socks[0].getsockname()[1]
            try:
                socks.append(socket.create_server((address, port), family=family, backlog=2048))
            except OSError as e:  # IPv6 turned off: "localhost" still serves 127.0.0.1
                if not (family == socket.AF_INET6 and e.errno == errno.EADDRNOTAVAIL):
                    raise
        if not socks:
            raise OSError(errno.EADDRNOTAVAIL, os.strerror(errno.EADDRNOTAVAIL))
    except OSError as e:
        for s in socks:
            s.close()
        reason = os.strerror(e.errno) if e.errno else str(e)
        raise ListenError(f"cannot listen on {host}:{port}: {reason}") from None
    return socks


def build(
    settings: ServerSettings,
    config: PracticeConfig,
    *,
    demo: bool,
    seed: int = 1,
    session_name: str | None = None,
    port: int | None = None,
) -> tuple[FastAPI, Runtime, str | None]:
    """The app, its runtime (started by the app's lifespan) and the token (None on loopback).

    port: the port actually served (default settings.port), for the Host check."""
    from batonsense.api import create_app

    settings.db.parent.mkdir(parents=True, exist_ok=True)
    token = None if is_loopback(settings.host) else load_or_create_token(settings.token_path)
    runtime = Runtime(settings.db, config, demo=demo, seed=seed, session_name=session_name)
    served_port = settings.port if port is None else port
    app = create_app(runtime, token=token, host=settings.host, port=served_port)

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
    """Serve until Ctrl-C / SIGTERM (uvicorn handles both and runs the shutdown).

    Raises ListenError, before anything starts, if it cannot listen."""
    sockets = listen(settings.host, settings.port)
    port = sockets[0].getsockname()[1]
    try:
        app, _runtime, token = build(
            settings, config, demo=demo, seed=seed, session_name=session_name, port=port
        )
    except BaseException:
        for s in sockets:
            s.close()
        raise
    url_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    announce(f"batonsense {'demo' if demo else 'service'}: http://{url_host}:{port}/")
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
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=5,
        ),
    )
    server.run(sockets=sockets)


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
