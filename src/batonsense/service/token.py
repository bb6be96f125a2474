"""The API token that guards state-changing endpoints off loopback."""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from pathlib import Path


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost"; False for anything else (0.0.0.0 too)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_or_create_token(path: Path) -> str:
    """The token kept in `path` (created with mode 0600 if absent or empty).

    An existing file readable by others is tightened to 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = ""
    if token:
        os.chmod(path, 0o600)
        return token
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)  # O_CREAT's mode is masked by the umask
    return token


def token_matches(expected: str, authorization: str | None) -> bool:
    """Whether an `Authorization: Bearer <token>` header carries the expected token."""
    if not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())
