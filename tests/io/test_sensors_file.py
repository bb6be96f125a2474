"""Sensors file (TOML): valid files, every rejected case with its exact line, round trip."""

from __future__ import annotations

import pytest

from batonsense.errors import InputError
from batonsense.io import read_sensors, write_sensors_toml
from batonsense.model import Hand, Role, SensorInfo
from tests.io._data import SENSORS, SENSORS_TOML, write

BATON = '[[sensor]]\nid = "baton"\nrole = "baton"\n'


def wrist(sid: str, athlete: str = "ANA", hand: str = "right") -> str:
    return f'\n[[sensor]]\nid = "{sid}"\nrole = "wrist"\nathlete = "{athlete}"\nhand = "{hand}"\n'


TWO_WRISTS = wrist("w1", "ANA", "right") + wrist("w2", "BEA", "left")


def test_reads_example(tmp_path):
    assert read_sensors(write(tmp_path, "s.toml", SENSORS_TOML)) == SENSORS


def test_round_trip_with_awkward_names(tmp_path):
    sensors = (
        SensorInfo("b-1", Role.BATON),
        SensorInfo("wrist ä", Role.WRIST, 'Zoë "Z" O\'Neil', Hand.LEFT),
        SensorInfo("w\\2", Role.WRIST, "Zoë \"Z\" O'Neil", Hand.RIGHT),
    )
    p = tmp_path / "s.toml"
    write_sensors_toml(p, sensors)
    assert read_sensors(p) == sensors


def test_unknown_keys_are_ignored(tmp_path):
    text = BATON + 'model = "WT901"\n' + TWO_WRISTS
    assert len(read_sensors(write(tmp_path, "s.toml", text))) == 3


# (name, text, expected line, distinctive part of the message)
CASES = [
    ("toml syntax", BATON + "id = \n" + TWO_WRISTS, 4, "TOML syntax error"),
    ("no tables", 'title = "x"\n', None, "no [[sensor]] tables"),
    ("no role", '[[sensor]]\nid = "baton"\n' + TWO_WRISTS, 1, "has no role"),
    ("unknown role", '[[sensor]]\nid = "baton"\nrole = "stick"\n' + TWO_WRISTS, 3,
     "unknown role 'stick'"),
    ("no baton", TWO_WRISTS, None, "no baton sensor"),
    ("two batons", BATON + '\n[[sensor]]\nid = "b2"\nrole = "baton"\n' + TWO_WRISTS, 7,
     "more than one baton sensor ('baton' and 'b2')"),
    ("duplicate id", BATON + TWO_WRISTS + wrist("w1", "CAT", "left"), 18,
     "duplicate sensor id 'w1'"),
    ("wrist without athlete", BATON + '\n[[sensor]]\nid = "w1"\nrole = "wrist"\nhand = "left"\n'
     + wrist("w2", "BEA"), 5, "wrist sensor 'w1' has no athlete"),
    ("wrist without hand", BATON + '\n[[sensor]]\nid = "w1"\nrole = "wrist"\nathlete = "A"\n'
     + wrist("w2", "BEA"), 5, "wrist sensor 'w1' has no hand"),
    ("bad hand", BATON + wrist("w1", "ANA", "middle") + wrist("w2", "BEA"), 9,
     "bad hand 'middle'"),
    ("same athlete and hand", BATON + wrist("w1", "ANA", "right") + wrist("w2", "ANA", "right"),
     15, "'w1' and 'w2' are both on ANA's right hand"),
    ("one wrist", BATON + wrist("w1"), None, "need at least 2 wrist sensors, found 1"),
    ("empty id", BATON + '\n[[sensor]]\nid = ""\nrole = "wrist"\nathlete = "A"\nhand = "left"\n'
     + wrist("w2", "BEA"), 6, "empty id"),
    ("id with comma", BATON + wrist("w,1") + wrist("w2", "BEA"), 6, "no comma"),
    ("no id", BATON + '\n[[sensor]]\nrole = "wrist"\n' + wrist("w2", "BEA"), 5, "has no id"),
    ("empty athlete", BATON + wrist("w1", "") + wrist("w2", "BEA"), 8,
     "athlete must be a non-empty string"),
]


@pytest.mark.parametrize(("name", "text", "line", "message"), CASES, ids=[c[0] for c in CASES])
def test_rejects(tmp_path, name, text, line, message):
    p = write(tmp_path, "s.toml", text)
    with pytest.raises(InputError) as info:
        read_sensors(p)
    assert info.value.line == line
    assert message in info.value.problem
    assert info.value.path == str(p)
    assert str(info.value).startswith(f"{p}:{line}:" if line else f"{p}:")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="cannot read file"):
        read_sensors(tmp_path / "nope.toml")


def test_not_utf8(tmp_path):
    p = tmp_path / "s.toml"
    p.write_bytes(b'[[sensor]]\nid = "\xff"\n')
    with pytest.raises(InputError, match="not valid UTF-8"):
        read_sensors(p)


@pytest.mark.parametrize("name", ["example_sensors.toml", "example_4x100.toml"])
def test_shipped_examples_are_valid(name):
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "config" / name
    sensors = read_sensors(path)
    assert sum(s.role is Role.BATON for s in sensors) == 1
    assert len(sensors) == 5
