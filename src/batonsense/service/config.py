"""What the service runs with: the practice config file and the server settings.

The config file is a sensors file (see `batonsense.io.sensors_file`) whose
`[[sensor]]` tables may also carry `address` / `name` (how to find the
sensor over BLE), plus optional tables::

    [[athlete]]
    name = "ANA"
    notes = "leg 1, carries right"

    [session]
    name = "Tuesday blind hand-offs"    # name of the session started at launch

Server settings come from the command line, else the environment
(`BATONSENSE_HOST`, `BATONSENSE_PORT`, `BATONSENSE_DB`), else the defaults
(127.0.0.1, 8000, the user's data directory).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from batonsense.errors import InputError
from batonsense.io.sensors_file import read_sensors
from batonsense.model import SensorInfo
from batonsense.pipeline.session import Target, read_targets


def default_db_path() -> Path:
    """batonsense.db in the user's data directory (created on first use)."""
    return Path(platformdirs.user_data_dir("batonsense", appauthor=False)) / "batonsense.db"


class ServerSettings(BaseSettings):
    """Where the service listens and keeps its data."""

    model_config = SettingsConfigDict(env_prefix="BATONSENSE_")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    db: Path = Field(default_factory=default_db_path)

    @property
    def token_path(self) -> Path:
        """The API token file, beside the database (mode 0600)."""
        return self.db.with_name(self.db.name + ".token")


@dataclass(frozen=True, slots=True)
class AthleteEntry:
    name: str
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class PracticeConfig:
    """A validated config file: the sensors, how to find them, athletes, session name."""

    path: Path
    sensors: tuple[SensorInfo, ...]
    targets: tuple[Target, ...]
    athletes: tuple[AthleteEntry, ...] = ()
    session_name: str | None = None


def read_config(path: str | Path) -> PracticeConfig:
    """Parse and validate a config file; InputError naming file, line and problem if bad."""
    path = Path(path)
    sensors = read_sensors(path)  # reads, decodes and validates the [[sensor]] tables
    targets = tuple(read_targets(path, sensors))
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    athletes = []
    for i, table in enumerate(_tables(path, doc, "athlete")):
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InputError(path, f"athlete #{i + 1}: `name` must be a non-empty string")
        notes = table.get("notes")
        if notes is not None and not isinstance(notes, str):
            raise InputError(path, f"athlete {name!r}: `notes` must be a string")
        athletes.append(AthleteEntry(name.strip(), notes))
    session = doc.get("session", {})
    if not isinstance(session, dict):
        raise InputError(path, "`session` must be a table ([session])")
    name = session.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise InputError(path, "[session] name must be a non-empty string")
    return PracticeConfig(path, sensors, targets, tuple(athletes), name)


def _tables(path: Path, doc: dict, key: str) -> list[dict]:
    tables = doc.get(key, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise InputError(path, f"`{key}` must be an array of tables ([[{key}]])")
    return tables
