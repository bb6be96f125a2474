"""VirtualTimeLoop: timers fire in order at their virtual times, without waiting."""

from __future__ import annotations

import asyncio
import time

from batonsense.sources.virtual import VirtualTimeLoop


def test_sleeps_take_virtual_not_wall_time() -> None:
    async def body() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        log: list[tuple[str, float]] = []

        async def tick(name: str, every_s: float, n: int) -> None:
            for _ in range(n):
                await asyncio.sleep(every_s)
                log.append((name, loop.time()))

        await asyncio.gather(tick("a", 0.03, 1000), tick("b", 0.045, 600))
        return log

    wall = time.perf_counter()
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        log = runner.run(body())
    assert time.perf_counter() - wall < 5.0  # 30 s of virtual time
    times = [t for _, t in log]
    assert times == sorted(times) and abs(times[-1] - (1000.0 + 30.0)) < 1e-6
    a = [t for n, t in log if n == "a"]
    assert abs(a[0] - 1000.03) < 1e-9


def test_time_stands_still_while_computing() -> None:
    async def body() -> float:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        sum(range(200_000))
        return loop.time() - t0

    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(start_s=5.0)) as runner:
        assert runner.run(body()) == 0.0
