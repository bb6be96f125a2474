"""GET /api/sensors (live status), PUT /api/sensors/{id} (configuration)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

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
    """Add or change a sensor's configuration.

    Stored at once and streamed from the next session on (`POST
    /api/sessions`): the running session keeps the sensors it started with,
    so its recording stays whole.  Until then the sensor's `state` is "next
    session".  409 if the sensors would no longer be a valid set (exactly one
    baton, one sensor per athlete's hand, at least two wrists); nothing changes then.
    The config file is read again at the next service start."""
    info = SensorInfo(
        sensor_id, Role(body.role), body.athlete, None if body.hand is None else Hand(body.hand)
    )
    try:
        runtime.put_sensor(StoredSensor(info, body.address, body.name))
    except ValueError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    return next(r for r in runtime.sensor_rows() if r["id"] == sensor_id) | {
        "role": body.role,
        "athlete": body.athlete,
        "hand": body.hand,
        "address": body.address,
        "name": body.name,
    }
