"""Exchange detection (stub until the detector lands)."""

from __future__ import annotations

from collections.abc import Callable

from batonsense.model import Exchange, Recording


def detect_exchanges(
    recording: Recording, progress: Callable[[float], None] | None = None
) -> list[Exchange]:
    """All exchanges in a recording, sorted by time.  progress(fraction 0..1) is optional."""
    raise NotImplementedError
