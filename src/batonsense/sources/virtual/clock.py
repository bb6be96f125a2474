"""Virtual time for the in-process radio: run a drill faster than real time.

`VirtualTimeLoop` is an asyncio event loop whose clock (`loop.time()`, s) is
event-driven: while callbacks are ready, time stands still (computing costs no
virtual time); when the loop would otherwise wait for its next timer, the
clock jumps to that timer at once.  Everything in batonsense's virtual stack
is asyncio on one thread (bumble's LocalLink, the bleak backend over it, the
virtual sensors, the ingestion), so a 70 s drill streams in the seconds of CPU
it costs, and the run is deterministic.

Give the virtual sensors and the ingestion this clock as their host clock
(`now=loop.time`): their `asyncio.sleep` calls wait on the same clock.

    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        runner.run(body())          # inside: now = asyncio.get_running_loop().time

Limits: real I/O and threads still run in real time; a coroutine awaiting one
while a timer is pending sees that timer fire "early" (virtual time jumps).
"""

from __future__ import annotations

import asyncio
import selectors


class _JumpSelector(selectors.DefaultSelector):  # type: ignore[misc, valid-type]
    """Never sleeps on a timeout: polls for I/O, then advances the virtual clock."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list:  # type: ignore[override]
        if timeout is None:  # nothing scheduled: only I/O can wake the loop
            return super().select(None)
        events = super().select(0)
        if not events and timeout > 0:
            self._loop.advance(timeout)
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop on event-driven virtual time, starting at start_s (s)."""

    def __init__(self, start_s: float = 1000.0) -> None:
        self._virtual_s = float(start_s)
        super().__init__(selector=_JumpSelector(self))

    def time(self) -> float:
        return self._virtual_s

    def advance(self, dt_s: float) -> None:
        """Move the clock forward by dt_s (s)."""
        self._virtual_s += dt_s
