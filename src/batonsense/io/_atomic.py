"""Atomic file writes: a temp file in the target's directory, then os.replace.

The temp file is `.<name>.<pid>.<random>.tmp`.  It is removed on any
exception, on SIGTERM (`kill`) while it is written from the main thread of a
process that had left SIGTERM at its default (the command line: the signal
becomes SystemExit(143), so the cleanup runs), and, after a SIGKILL or a
power cut, by the next write to the same target (temp files of processes no
longer running).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

#: the exit status of a process ended by SIGTERM, as the shell reports it
EXIT_SIGTERM = 128 + signal.SIGTERM


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Open a temp file beside `path`; on success fsync and rename it over `path`.

    On any exception (and on SIGTERM, see the module docstring) the temp file is
    removed and `path` is left untouched, so a reader never sees a half-written
    file.  mode is "w" (text, UTF-8, "\\n") or "wb".
    """
    path = Path(path)
    directory = path.parent or Path(".")
    _remove_orphans(directory, path.name)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=directory)
    try:
        with _sigterm_raises():
            kwargs = {} if "b" in mode else {"encoding": "utf-8", "newline": "\n"}
            with os.fdopen(fd, mode, **kwargs) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644 & ~_umask())
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While the body runs, SIGTERM raises SystemExit(143) in the main thread instead of
    ending the process on the spot, if nobody else handles SIGTERM (a server does)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def _exit(_signum: int, _frame: Any) -> None:
        raise SystemExit(EXIT_SIGTERM)

    signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _remove_orphans(directory: Path, name: str) -> None:
    """Remove temp files for `name` left by processes that no longer run (SIGKILL)."""
    pattern = re.compile(rf"\.{re.escape(name)}\.([0-9]+)\.[^.]+\.tmp")
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            m = pattern.fullmatch(entry.name)
            if m and not _running(int(m.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process: not ours to judge
    return True


def _umask() -> int:
    """The process umask (read without changing it for longer than a moment)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
