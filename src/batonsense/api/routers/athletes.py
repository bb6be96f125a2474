"""GET /api/athletes, POST /api/athletes."""

from __future__ import annotations

from fastapi import APIRouter, status

from batonsense.api.deps import Guard, RuntimeDep
from batonsense.api.schemas import CHANGE_ERRORS, ERRORS, AthleteIn, AthleteOut

router = APIRouter(prefix="/api/athletes", tags=["athletes"], responses=ERRORS)


@router.get("", response_model=list[AthleteOut])
async def athletes(runtime: RuntimeDep) -> list[AthleteOut]:
    return [AthleteOut(name=n, notes=v) for n, v in runtime.store.athlete_notes().items()]


@router.post(
    "",
    response_model=AthleteOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=Guard,
    responses=CHANGE_ERRORS,
)
async def add_athlete(body: AthleteIn, runtime: RuntimeDep) -> AthleteOut:
    """Add an athlete (adding an existing name updates its notes)."""
    runtime.store.add_athlete(body.name, body.notes)
    return AthleteOut(name=body.name, notes=runtime.store.athlete_notes().get(body.name))
