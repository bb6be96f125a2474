"""recognise(): protocol from advertised service UUIDs, else the name; advertised battery."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batonsense.protocols import batonsense_v1, movesense, polar_pmd, witmotion
from batonsense.sources.ble.recognise import (
    Protocol,
    advertised_battery_percent,
    normalise_uuid,
    recognise,
)

HEART_RATE = "0000180d-0000-1000-8000-00805f9b34fb"


@pytest.mark.parametrize(
    ("uuids", "protocol"),
    [
        ([batonsense_v1.SERVICE_UUID], Protocol.BATONSENSE_V1),
        (["34802252-7185-4D5D-B431-630E7050E8F0"], Protocol.MOVESENSE),  # upper case
        (["FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8"], Protocol.POLAR_PMD),
        (["ffe5"], Protocol.WITMOTION),  # 16-bit short form
        (["0xFFE5"], Protocol.WITMOTION),
        ([HEART_RATE, polar_pmd.SERVICE_UUID], Protocol.POLAR_PMD),  # among others
        ([movesense.SERVICE_UUID, witmotion.SERVICE_UUID], Protocol.MOVESENSE),  # first wins
    ],
)
def test_by_service_uuid(uuids: list[str], protocol: Protocol) -> None:
    found = recognise(uuids, local_name="anything")
    assert found.protocol is protocol and found.by == "service uuid"


@pytest.mark.parametrize(
    ("name", "protocol"),
    [
        ("BSNS-00A1", Protocol.BATONSENSE_V1),
        ("Movesense 220330000123", Protocol.MOVESENSE),
        ("Polar Sense B5A9A12F", Protocol.POLAR_PMD),
        ("WT901BLE68", Protocol.WITMOTION),
        ("BWT901BLECL5.0", Protocol.WITMOTION),
    ],
)
def test_by_name_when_no_known_service(name: str, protocol: Protocol) -> None:
    found = recognise([HEART_RATE], local_name=name)
    assert found.protocol is protocol and found.by == "name"


@pytest.mark.parametrize("name", [None, "", "Forerunner 265", "polar sense"])
def test_unknown(name: str | None) -> None:
    assert recognise([HEART_RATE, "not-a-uuid"], name).protocol is Protocol.UNKNOWN
    assert recognise([], name).by == ""


def test_protocol_values_match_decoders() -> None:
    assert Protocol.BATONSENSE_V1.value == batonsense_v1.PROTOCOL
    assert {p.value for p in Protocol} >= {movesense.PROTOCOL, polar_pmd.PROTOCOL}
    assert all(p.label for p in Protocol)


def test_normalise_uuid() -> None:
    assert normalise_uuid("180F") == "0000180f-0000-1000-8000-00805f9b34fb"
    assert normalise_uuid("0000180f") == "0000180f-0000-1000-8000-00805f9b34fb"
    assert normalise_uuid(batonsense_v1.SERVICE_UUID.upper()) == batonsense_v1.SERVICE_UUID
    with pytest.raises(ValueError):
        normalise_uuid("18g0")


def test_advertised_battery() -> None:
    assert advertised_battery_percent({"0000180f-0000-1000-8000-00805f9b34fb": b"\x4d"}) == 77
    assert advertised_battery_percent({"180f": b"\x00\x01"}) == 0
    assert advertised_battery_percent({"180f": b"\xff"}) is None  # not a percentage
    assert advertised_battery_percent({"180f": b""}) is None
    assert advertised_battery_percent({HEART_RATE: b"\x40", "zz": b"\x01"}) is None
    assert advertised_battery_percent({}) is None


@given(
    st.lists(st.text(max_size=40), max_size=5),
    st.one_of(st.none(), st.text(max_size=30)),
    st.dictionaries(st.text(max_size=40), st.binary(max_size=4), max_size=4),
)
def test_arbitrary_advertisements_never_raise(
    uuids: list[str], name: str | None, service_data: dict[str, bytes]
) -> None:
    assert isinstance(recognise(uuids, name).protocol, Protocol)
    level = advertised_battery_percent(service_data)
    assert level is None or 0 <= level <= 100
