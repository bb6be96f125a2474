"""Browser safety: the Host a request names, and where a change comes from.

A page on another site open in the coach's browser can send simple
cross-site requests (a form POST, a `no-cors` fetch) to the service on
127.0.0.1, and a DNS-rebinding page (evil.example resolving to 127.0.0.1)
can even read the answers.  Three rules stop both, before any route runs:

- Host: on loopback the Host header must name this computer (127.0.0.1,
  localhost or [::1], or the address the service is bound to) with the
  port it serves; a rebinding page names its own host.  Off loopback (LAN
  mode) phones use whatever address the laptop has, so any Host is served
  and the token rules guard changes.  Refused with 421.
- A change (POST, PUT, PATCH, DELETE) needs `Content-Type: application/json`
  or an `X-Requested-With` header: neither can be sent cross-site without a
  CORS preflight, which this service never grants.  Refused with 415.
- A change whose request carries an `Origin` must come from this origin
  (`http://<the Host header>`); `Origin: null` (sandboxed frames, files)
  is refused.  Refused with 403.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: the names of this computer a browser may use for a service on loopback
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: the custom header that, like a JSON content type, a cross-site form cannot send
CUSTOM_HEADER = "x-requested-with"


def split_host(value: str) -> tuple[str, int | None] | None:
    """A Host header value as (lower-case name, port or None); None if malformed."""
    try:
        parts = urlsplit(f"//{value.strip()}")
        port = parts.port
    except ValueError:
        return None
    name = parts.hostname
    if not name or parts.username is not None or parts.path or parts.query:
        return None
    return (f"[{name}]" if ":" in name else name), port


class BrowserGuard:
    """ASGI middleware enforcing the module's three rules.

    served_names: the host names the Host header may carry (lower case, IPv6
    in brackets), or None to accept any (LAN mode); port: the port served
    (None: any port, e.g. while bound to port 0 or behind a forward).
    """

    def __init__(self, app: ASGIApp, served_names: frozenset[str] | None,
                 port: int | None) -> None:  # fmt: skip
        self.app = app
        self.served_names = served_names
        self.port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.refusal(scope["method"], headers)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, detail = refusal
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    def refusal(self, method: str, headers: dict[str, str]) -> tuple[int, str] | None:
        """(status, reason) if the request breaks a rule, else None."""
        host = headers.get("host", "")
        if self.served_names is not None and not self._served(host):
            return 421, (
                f"this service answers requests to {', '.join(sorted(self.served_names))} "
                f"only, not to Host {host!r} (a guard against DNS rebinding)"
            )
        if method.upper() not in CHANGES:
            return None
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json" and not headers.get(CUSTOM_HEADER):
            return 415, (
                "a change needs 'Content-Type: application/json' (or an 'X-Requested-With' "
                "header when there is no body): a guard against cross-site forms"
            )
        origin = headers.get("origin")
        if origin is not None and not _same_origin(origin, host):
            return 403, (
                f"a change from origin {origin!r} is refused: only this service's own "
                f"pages (http://{host}) may change it"
            )
        return None

    def _served(self, host: str) -> bool:
        parsed = split_host(host)
        if parsed is None or self.served_names is None:
            return parsed is not None
        name, port = parsed
        port_ok = self.port is None or port == self.port or (port is None and self.port == 80)
        return name in self.served_names and port_ok


def _same_origin(origin: str, host: str) -> bool:
    """Whether an Origin header names http(s)://<host> (host: the request's Host header)."""
    try:
        o = urlsplit(origin.strip())
        o_port = o.port
    except ValueError:
        return False
    if o.scheme not in ("http", "https") or not o.hostname or o.path not in ("", "/"):
        return False
    mine = split_host(host)
    if mine is None:
        return False
    o_name = f"[{o.hostname}]" if ":" in o.hostname else o.hostname
    default = 80 if o.scheme == "http" else 443
    return (o_name, o_port or default) == (mine[0], mine[1] or default)


def served_names(host: str, loopback: bool) -> frozenset[str] | None:
    """The Host names a service bound to `host` serves: None (any) off loopback."""
    if not loopback:
        return None
    bound = host.strip().lower()
    if ":" in bound and not bound.startswith("["):
        bound = f"[{bound}]"
    return frozenset({*LOOPBACK_NAMES, bound})
