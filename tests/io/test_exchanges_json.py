"""Exchanges JSON: round trip, atomic write, malformed files."""

from __future__ import annotations

import json

import pytest

from batonsense.errors import InputError
from batonsense.io import dump_exchanges_json, load_exchanges_json
from batonsense.model import Exchange, Hand, Outcome
from tests.io._data import write

EXCHANGES = [
    Exchange("ANA", "BEA", 20.1, 20.512, 20.7035, giver_hand=Hand.RIGHT,
             receiver_hand=Hand.LEFT, confidence=0.93, technique="upsweep"),
    Exchange("BEA", "CAT", None, 31.0, None, outcome=Outcome.DROPPED, drop_s=31.2),
]


def test_round_trip(tmp_path):
    path = tmp_path / "x.json"
    dump_exchanges_json(path, EXCHANGES)
    doc = json.loads(path.read_text())
    assert list(doc) == ["exchanges"]
    assert doc["exchanges"][0]["overlap_ms"] == 191.5
    back = load_exchanges_json(path)
    assert [x.to_dict() for x in back] == [x.to_dict() for x in EXCHANGES]


@pytest.mark.parametrize(("text", "line", "message"), [
    ('{"exchanges": [\n  {"giver": "A",}\n]}', 2, "JSON syntax error"),
    ('[]', None, 'expected an object {"exchanges"'),
    ('{"exchanges": [1]}', None, "exchange #1 is not an object"),
    ('{"exchanges": [{"outcome": "fumbled"}]}', None, "exchange #1"),
])
def test_rejects(tmp_path, text, line, message):
    with pytest.raises(InputError) as info:
        load_exchanges_json(write(tmp_path, "x.json", text))
    assert info.value.line == line
    assert message in info.value.problem
