"""GET /api/sensors (live status), PUT and DELETE /api/sensors/{id} (configuration)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from batonsense.api.deps import Guard, RuntimeDep
from batonsense.api.schemas import ERRORS, CHANGE_ERRORS, SensorPut, SensorRow
from batonsense.model import Hand, Role, SensorInfo
from batonsense.service.runtime import config_row
from batonsense.store import StoredSensor

router = APIRouter(prefix="/api/sensors", tags=["sensors"], responses=ERRORS)

SensorId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$", description="sensor id")
]


@router.get("", response_model=list[SensorRow])
async def sensors(runtime: RuntimeDep) -> list[dict]:
    """Every configured sensor with its live status (connected, battery, rate, loss, clock)."""
    return runtime.sensor_rows()


@router.put("/{sensor_id}", response_model=SensorRow, dependencies=Guard, responses=CHANGE_ERRORS)
async def put_sensor(sensor_id: SensorId, body: SensorPut, runtime: RuntimeDep) -> dict:
    """Add or change a sensor's configuration.

    Stored at once and streamed from the next session on (`POST
    /api/sessions`): the running session keeps the sensors it started with,
    so its recording stays whole.  Until then the sensor's `state` is "next
    session".  `address` and `name` left out keep the sensor's current ones.
    409 if the sensors would no longer be a valid set (exactly one baton, one
    sensor per athlete's hand, at least two wrists); nothing changes then.  To
    put a new baton sensor in, change the baton's `address` or `name`.  The
    config file is read again at the next service start."""
    info = SensorInfo(
        sensor_id, Role(body.role), body.athlete, None if body.hand is None else Hand(body.hand)
    )
    now = runtime.configured(sensor_id)
    address = body.address if "address" in body.model_fields_set or now is None else now[1].address
    name = body.name if "name" in body.model_fields_set or now is None else now[1].name
    try:
        runtime.put_sensor(StoredSensor(info, address, name))
    except ValueError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    return next(r for r in runtime.sensor_rows() if r["id"] == sensor_id)  # in the set now


@router.delete(
    "/{sensor_id}", response_model=SensorRow, dependencies=Guard, responses=CHANGE_ERRORS
)
async def delete_sensor(sensor_id: SensorId, runtime: RuntimeDep) -> dict:
    """Take a sensor out of the set from the next session on (its state says so until
    then).  404 if it is not in the set; 409 if the rest would not be a valid set."""
    before = runtime.configured(sensor_id)
    if before is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sensor {sensor_id!r}")
    try:
        runtime.remove_sensor(sensor_id)
    except ValueError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    # a streamed sensor is listed until the next session; one added since, no more
    rows = {r["id"]: r for r in runtime.sensor_rows()}
    return rows.get(sensor_id) or config_row(*before, "removed")
