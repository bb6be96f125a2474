"""Shared dependencies of the routers: the runtime, and the token guard."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from batonsense.service.runtime import Runtime
from batonsense.service.token import token_matches


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def require_token(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer <token>")] = None,
) -> None:
    """State-changing endpoints: when the service listens off loopback, the token is needed."""
    token: str | None = request.app.state.token
    if token is not None and not token_matches(token, authorization):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "this service listens beyond this computer: changes need "
            "'Authorization: Bearer <token>' (printed at start, kept beside the database)",
            headers={"WWW-Authenticate": "Bearer"},
        )


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
Guard = [Depends(require_token)]
