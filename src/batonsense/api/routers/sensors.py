"""GET /api/sensors (live status), PUT /api/sensors/{id} (configuration)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from batonsense.api.deps import Guard, RuntimeDep
from batonsense.api.schemas import ERRORS, UNAUTHORIZED, SensorPut, SensorRow
from batonsense.model import Hand, Role, SensorInfo
from batonsense.store import StoredSensor

router = APIRouter(prefix="/api/sensors", tags=["sensors"], responses=ERRORS)

SensorId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$", description="sensor id")
]


@router.get("", response_model=list[SensorRow])
async def sensors(runtime: RuntimeDep) -> list[dict]:
    """Every configured sensor with its live status (connected, battery, rate, loss, clock)."""
    return runtime.sensor_rows()


@router.put("/{sensor_id}", response_model=SensorRow, dependencies=Guard, responses=UNAUTHORIZED)
async def put_sensor(sensor_id: SensorId, body: SensorPut, runtime: RuntimeDep) -> dict:
    """Add or change a sensor's configuration in the database.

    Takes effect the next time the service starts (the sensors being
    streamed now keep their configuration)."""
    info = SensorInfo(
        sensor_id, Role(body.role), body.athlete, None if body.hand is None else Hand(body.hand)
    )
    runtime.store.put_sensor(StoredSensor(info, body.address, body.name))
    live = {r["id"]: r for r in runtime.sensor_rows()}
    row = live.get(sensor_id, {"connected": False, "state": "configured"})
    return {
        **row,
        "id": sensor_id,
        "role": body.role,
        "athlete": body.athlete,
        "hand": body.hand,
        "address": body.address,
        "name": body.name,
    }
