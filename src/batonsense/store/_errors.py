"""Errors of the store; all derive from BatonsenseError."""

from __future__ import annotations

from batonsense.errors import BatonsenseError


class StoreError(BatonsenseError):
    """The database cannot do what was asked (bad input, wrong file, newer schema)."""


class NotABatonsenseDatabase(StoreError):
    """The file is not SQLite, or is another program's SQLite database (left untouched)."""


class UnknownSessionError(StoreError):
    """No session with this id."""

    def __init__(self, session_id: object) -> None:
        self.session_id = session_id
        super().__init__(f"unknown session id {session_id!r}")


class SessionEndedError(StoreError):
    """The session has ended; nothing more can be written to it."""


class UnknownSensorError(StoreError):
    """A sample block for a sensor that is not among the session's sensors."""
