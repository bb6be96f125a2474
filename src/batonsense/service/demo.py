"""Virtual sensors for `batonsense demo`: endless drills over the in-process radio."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from batonsense.model import SensorInfo
from batonsense.pipeline.session import Target


async def start_demo_sensors(
    sensors: Sequence[SensorInfo],
    targets: Sequence[Target],
    *,
    now: Callable[[], float],
    seed: int = 1,
) -> tuple[Any, Any]:
    """(the EndlessDrill: .targets, .truth_on_host(), .stop(); a bleak backend on its radio)."""
    from batonsense.sources.ble.bumble_backend import bumble_backend
    from batonsense.sources.virtual import VirtualRadio
    from batonsense.sources.virtual.drills import start_endless_drill

    radio = VirtualRadio()
    drill = await start_endless_drill(radio, sensors, targets, now=now, seed=seed)
    return drill, bumble_backend(radio)
