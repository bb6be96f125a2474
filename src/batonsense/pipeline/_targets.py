"""How a configured sensor is recognised over BLE: its address and/or advertised name."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from batonsense.errors import InputError
from batonsense.model import SensorInfo


@dataclass(frozen=True, slots=True)
class Target:
    """How to recognise one configured sensor: its BLE address and/or advertised name."""

    sensor_id: str
    address: str | None = None
    name: str | None = None

    @property
    def matchable(self) -> bool:
        return bool(self.address or self.name)

    def matches(self, address: str, name: str | None) -> bool:
        if self.address and address.upper() == self.address.upper():
            return True
        return bool(self.name) and name == self.name

    def describe(self) -> str:
        keys = [
            f"address {self.address}" if self.address else "",
            f"name {self.name!r}" if self.name else "",
        ]
        return " or ".join(k for k in keys if k) or "no address or name key"


def read_targets(path: str | Path, sensors: Sequence[SensorInfo]) -> list[Target]:
    """The `address` / `name` keys of each sensor of a (validated) sensors file, in file order."""
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(path, str(e)) from None
    keys: dict[str, dict[str, str]] = {}
    for table in doc.get("sensor", []):
        if isinstance(table, dict) and isinstance(table.get("id"), str):
            keys[table["id"]] = {
                k: v for k in ("address", "name") if isinstance(v := table.get(k), str) and v
            }
    return [Target(s.id, **keys.get(s.id, {})) for s in sensors]
