"""Virtual sensors for `batonsense demo`: drills played over the in-process radio."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from batonsense.model import SensorInfo
from batonsense.pipeline.session import Target


class _FiniteDrill:
    def __init__(self, drill: Any) -> None:
        self.drill = drill
        self.targets = drill.targets

    async def stop(self) -> None:
        for v in self.drill.sensors.values():
            await v.stop()


async def start_demo_sensors(
    sensors: Sequence[SensorInfo],
    targets: Sequence[Target],
    *,
    now: Callable[[], float],
    seed: int = 1,
) -> tuple[Any, Any]:
    """(virtual drill with .targets and .stop(), bleak backend) for the configured sensors."""
    from batonsense.pipeline.session import start_virtual_sensors
    from batonsense.sim import simulate
    from batonsense.sources.ble.bumble_backend import bumble_backend
    from batonsense.sources.virtual import VirtualRadio

    radio = VirtualRadio()
    sim = simulate("demo", seed=seed, n_reps=3)
    drill = await start_virtual_sensors(radio, sensors, targets, sim=sim, now=now, seed=seed)
    return _FiniteDrill(drill), bumble_backend(radio)
