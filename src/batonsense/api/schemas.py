"""Request and response models of the HTTP API (pydantic lives only at this boundary)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError("name must not be blank")
    return v.strip()


#: a name (session, athlete): 1..200 characters, not blank, stored stripped.  (pydantic
#: itself refuses text UTF-8 cannot hold, such as a lone surrogate "\\ud800")
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]
Notes = Annotated[str, Field(max_length=2000)]


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    mode: Literal["demo", "live"]
    session_id: int | None
    host_s: float = Field(description="now on the host clock (s)")
    utc: str
    clock: str = Field(description="the clock every *_s time of this service is on")
    viewers: int
    messages: list[str] = Field(description="recent events worth knowing, oldest first")


class SensorRow(BaseModel):
    id: str
    role: Literal["baton", "wrist"]
    athlete: str | None
    hand: Literal["left", "right"] | None
    address: str | None
    name: str | None
    connected: bool
    state: str
    battery_pct: int | None = None
    rate_hz: float | None = None
    lost_pct: float | None = None
    offset_s: float | None = None
    drift_ppm: float | None = None
    last_seen_ago_s: float | None = None
    packets: int | None = None
    sync_state: str | None = None
    overflow_samples: int | None = None  # samples the sensor itself dropped (OVERFLOW)


class _SensorPutBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str | None = Field(None, max_length=64)
    name: str | None = Field(None, max_length=64)


class BatonPut(_SensorPutBase):
    """The baton sensor: no athlete, no hand."""

    role: Literal["baton"]
    athlete: None = None
    hand: None = None


class WristPut(_SensorPutBase):
    """A wrist sensor: whose, and which hand."""

    role: Literal["wrist"]
    athlete: str = Field(min_length=1, max_length=200)
    hand: Literal["left", "right"]


#: PUT /api/sensors/{id}: the role decides which fields are needed (in the OpenAPI
#: schema too, so a client knows a wrist needs an athlete and a hand)
SensorPut = Annotated[BatonPut | WristPut, Field(discriminator="role")]


class Problem(BaseModel):
    """An error the request caused: what is wrong, in words."""

    detail: str


#: error responses every router declares (the 422 of validation is FastAPI's own)
ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": Problem, "description": "the body is not valid JSON, or a header is malformed"},
    404: {"model": Problem, "description": "no such session, exchange or data"},
    409: {
        "model": Problem,
        "description": "the database refused the change, or the sensors would not make a valid set",
    },
    421: {"model": Problem, "description": "the Host header names another host (on loopback)"},
}
#: and the ones that change state (401: when the service listens off loopback)
CHANGE_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": Problem, "description": "the token is missing or wrong"},
    403: {"model": Problem, "description": "the Origin header names another site"},
    415: {"model": Problem,
          "description": "neither Content-Type: application/json nor X-Requested-With"},
}  # fmt: skip


class ExchangeOut(BaseModel):
    id: int
    session_id: int
    session_name: str
    giver: str | None
    receiver: str | None
    reach_s: float | None
    grab_s: float | None
    release_s: float | None
    overlap_ms: float | None
    reach_ms: float | None
    outcome: Literal["completed", "dropped"]
    drop_s: float | None
    giver_hand: Literal["left", "right"] | None
    receiver_hand: Literal["left", "right"] | None
    hand_mismatch: bool | None
    hands_without_sensor: list[Literal["giver", "receiver"]]
    technique: str | None
    confidence: float | None
    grab_pm_ms: float | None = None
    release_pm_ms: float | None = None
    clock: str
    reach_utc: str | None
    grab_utc: str | None
    release_utc: str | None
    drop_utc: str | None
    created_at: str


class SessionOut(BaseModel):
    id: int
    name: str
    started_at: str
    ended_at: str | None
    notes: str | None
    clock: str
    exchange_count: int
    running: bool


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    notes: Notes | None = None


class SessionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    notes: Notes | None = None


class AthleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    notes: Notes | None = None


class AthleteOut(BaseModel):
    name: str
    notes: str | None


class Series(BaseModel):
    sensor: str
    role: Literal["baton", "wrist"]
    athlete: str | None
    hand: Literal["left", "right"] | None
    t_s: list[float]
    acc_mps2: list[float] = Field(description="|a| (m/s²), specific force magnitude")
    gyro_rads: list[float] = Field(description="|ω| (rad/s)")


class Marks(BaseModel):
    reach_s: float | None
    grab_s: float | None
    release_s: float | None
    drop_s: float | None


class Signals(BaseModel):
    exchange_id: int
    clock: str
    marks: Marks
    series: list[Series]
