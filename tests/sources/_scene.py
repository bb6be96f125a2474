"""Virtual scenes for the BLE tests: N sensors on one radio, fed by the simulator."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from batonsense.model import SensorStream
from batonsense.sim import simulate
from batonsense.sources.ble.bumble_backend import BumbleBackend, bumble_backend
from batonsense.sources.virtual import SensorClock, VirtualRadio, VirtualSensor


@functools.cache
def streams(duration_s: float = 1.5, seed: int = 0) -> tuple[SensorStream, ...]:
    """Simulator streams (~200 Hz) of one short 'stand' scene, cut to duration_s."""
    rec = simulate("stand", seed=seed, duration_s=duration_s + 0.5).recording
    out = []
    for s in rec.streams.values():
        out.append(s.between(float(s.t_s[0]), float(s.t_s[0]) + duration_s))
    return tuple(out)


async def scene(
    n: int, **sensor_kwargs: Any
) -> tuple[VirtualRadio, list[VirtualSensor], BumbleBackend]:
    """Start n virtual sensors (drifting clocks with different offsets)."""
    radio = VirtualRadio()
    pool = streams()
    sensors = [
        VirtualSensor(
            radio,
            pool[i % len(pool)],
            clock=SensorClock(offset_s=10.0 * i, drift_ppm=(-30.0, 20.0, 45.0)[i % 3]),
            seed=i,
            **sensor_kwargs,
        )
        for i in range(n)
    ]
    for s in sensors:
        await s.start()
    return radio, sensors, bumble_backend(radio)


def run(coro_fn: Callable[[], Awaitable[Any]], timeout_s: float = 15.0) -> Any:
    """Run an async test body with a hard timeout (no test may hang)."""

    async def guarded() -> Any:
        return await asyncio.wait_for(coro_fn(), timeout_s)

    return asyncio.run(guarded())
