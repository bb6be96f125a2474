"""Which sensor protocol an advertisement belongs to, and the battery it tells (pure).

    recognise(["6ce60001-…"], "BSNS-0001")   -> Recognised(Protocol.BATONSENSE_V1, "service uuid")
    advertised_battery_percent({"0000180f-…": b"\\x4d"})   -> 77

The service UUID decides when it is advertised (our firmware, Movesense and
WitMotion put theirs in the advertisement).  Polar sensors usually advertise
only their heart-rate service and a "Polar <model> <id>" name, and WitMotion
modules often only a "WT…" name, so a name prefix is the fallback, reported
as such (`by == "name"`) because names are easy to fake or change.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from batonsense.protocols import batonsense_v1, movesense, polar_pmd, witmotion

BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
_BASE_UUID_TAIL = "-0000-1000-8000-00805f9b34fb"


class Protocol(Enum):
    """A sensor family we can decode (values match each decoder's PROTOCOL)."""

    BATONSENSE_V1 = batonsense_v1.PROTOCOL
    MOVESENSE = movesense.PROTOCOL
    POLAR_PMD = polar_pmd.PROTOCOL
    WITMOTION = witmotion.PROTOCOL
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        """Human name for tables."""
        return _LABELS[self]


_LABELS = {
    Protocol.BATONSENSE_V1: "batonsense v1",
    Protocol.MOVESENSE: "Movesense",
    Protocol.POLAR_PMD: "Polar PMD",
    Protocol.WITMOTION: "WitMotion",
    Protocol.UNKNOWN: "-",
}

_BY_SERVICE = {
    batonsense_v1.SERVICE_UUID: Protocol.BATONSENSE_V1,
    movesense.SERVICE_UUID: Protocol.MOVESENSE,
    polar_pmd.SERVICE_UUID: Protocol.POLAR_PMD,
    witmotion.SERVICE_UUID: Protocol.WITMOTION,
}

# Name prefixes (case-sensitive, as the vendors' firmware sets them).
_BY_NAME_PREFIX = (
    (batonsense_v1.NAME_PREFIX, Protocol.BATONSENSE_V1),
    ("Movesense", Protocol.MOVESENSE),
    ("Polar ", Protocol.POLAR_PMD),
    ("WT901", Protocol.WITMOTION),
    ("BWT901", Protocol.WITMOTION),
)


@dataclass(frozen=True, slots=True)
class Recognised:
    """The protocol found and what it was found by: "service uuid", "name" or "" (unknown)."""

    protocol: Protocol
    by: str


def normalise_uuid(value: str) -> str:
    """A UUID as bleak writes it (128-bit, lower case, dashes); 16/32-bit short forms
    ("180f", "0x180F", "0000180f") are expanded on the Bluetooth base UUID.

    Raises ValueError for anything else."""
    text = value.strip().lower().removeprefix("0x")
    if len(text) in (4, 8) and all(c in "0123456789abcdef" for c in text):
        return text.zfill(8) + _BASE_UUID_TAIL
    return str(uuid.UUID(text))


def _normalised(uuids: Iterable[str]) -> list[str]:
    out = []
    for u in uuids:
        try:
            out.append(normalise_uuid(u))
        except ValueError:
            continue  # a malformed UUID in an advertisement is ignored, never fatal
    return out


def recognise(service_uuids: Iterable[str], local_name: str | None = None) -> Recognised:
    """The protocol of a device from its advertised service UUIDs, else its name."""
    for u in _normalised(service_uuids):
        protocol = _BY_SERVICE.get(u)
        if protocol is not None:
            return Recognised(protocol, "service uuid")
    if local_name:
        for prefix, protocol in _BY_NAME_PREFIX:
            if local_name.startswith(prefix):
                return Recognised(protocol, "name")
    return Recognised(Protocol.UNKNOWN, "")


def advertised_battery_percent(service_data: Mapping[str, bytes]) -> int | None:
    """Battery level (0..100 %) from Battery Service data in an advertisement, if any.

    The first byte of the 0x180F service data is the level, as in the Battery
    Level characteristic; a value above 100 is not a level and gives None."""
    for key, value in service_data.items():
        try:
            if normalise_uuid(key) != BATTERY_SERVICE_UUID:
                continue
        except ValueError:
            continue
        if len(value) >= 1 and value[0] <= 100:
            return int(value[0])
    return None


__all__ = [
    "BATTERY_SERVICE_UUID",
    "Protocol",
    "Recognised",
    "advertised_battery_percent",
    "normalise_uuid",
    "recognise",
]
