"""Shared dependencies of the routers: the runtime, and the token guard."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

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


#: ids in paths and queries: plain decimal digits, as the service writes them
#: (no sign, leading zero, point, exponent or spaces: `+1`, `01`, `1.0` are not 1)
_PLAIN_ID = re.compile(r"[1-9][0-9]{0,18}")
#: the ids the store hands out fit SQLite's signed 64-bit INTEGER
MAX_ID = 2**62


def plain_id(value: Any) -> Any:
    """Refuse an id written other than in plain decimal digits (before int parsing)."""
    if isinstance(value, str) and not _PLAIN_ID.fullmatch(value):
        raise ValueError("an id is written in plain decimal digits (no sign, leading zero, "
                         "point or spaces), e.g. 12")  # fmt: skip
    return value


#: a date-time as the OpenAPI `date-time` format (RFC 3339) has it: pydantic alone would
#: also read `0` or `1332` as seconds since 1970
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def rfc3339(value: Any) -> Any:
    """Refuse a time not written as an RFC 3339 date-time (before pydantic parses it)."""
    if isinstance(value, str) and not _RFC3339.fullmatch(value):
        raise ValueError("a time is an RFC 3339 date-time with an offset, "
                         "e.g. 2026-05-01T09:30:00Z or 2026-05-01T11:30:00.5+02:00")  # fmt: skip
    return value


def in_utc_range(when: datetime | None) -> datetime | None:
    """Refuse a time whose UTC equivalent has no date (e.g. 9999-12-31T23:59:59-23:59)."""
    if when is None:
        return None
    try:
        when.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is outside years 1..9999 once converted to UTC") from None
    return when


def resume_after(
    last_event_id: Annotated[
        str | None,
        Header(description="resume after this exchange id (plain decimal digits)"),
    ] = None,
) -> int | None:
    """The exchange id a stream resumes after: None (from now) without the header.

    Checked before the stream starts: anything but plain decimal digits is a
    400.  An id beyond the newest stored one (the database was replaced, or
    20 nines) resumes from now."""
    if last_event_id is None:
        return None
    text = last_event_id.strip()
    if text == "0" or re.fullmatch(r"[1-9][0-9]*", text):
        return MAX_ID if len(text) > 19 else min(int(text), MAX_ID)
    raise HTTPException(
        status.HTTP_400_BAD_REQUEST,
        f"Last-Event-ID {last_event_id[:40]!r} is not an exchange id (plain decimal digits)",
    )
