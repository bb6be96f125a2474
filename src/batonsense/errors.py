"""One root exception for everything batonsense raises on purpose."""

from __future__ import annotations

from pathlib import Path


class BatonsenseError(Exception):
    """Root of all batonsense errors."""


class InputError(BatonsenseError):
    """Bad user input: names the file, the line (1-based, if known) and the problem."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class DecodeError(BatonsenseError):
    """Bytes from a sensor that do not form a valid packet of the expected protocol."""
