"""The raw notification file: round trip, append, torn tail, corruption."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batonsense.errors import InputError
from batonsense.sources.raw import MAGIC, RawFileSink, RawReader, RawRecord, encode_record, read_raw

RECORDS = [
    RawRecord("baton", 1000.000123456789, b"\x01\x02\x03"),
    RawRecord("C0:00:00:00:00:01", 1000.5, b""),
    RawRecord("w1", 1e9 + 0.1, bytes(range(256)) * 3),
]


def _write(path: Path, records: list[RawRecord], **kw: object) -> None:
    with RawFileSink(path, **kw) as sink:  # type: ignore[arg-type]
        for r in records:
            sink.write(r.sensor_id, r.host_s, r.payload)


def test_round_trip_is_exact_and_appends(tmp_path: Path) -> None:
    path = tmp_path / "s.raw"
    _write(path, RECORDS[:2])
    _write(path, RECORDS[2:], fsync=True)  # reopened: appended, no second magic
    assert read_raw(path) == RECORDS
    assert path.read_bytes().count(MAGIC) == 1


def test_torn_tail_keeps_everything_before(tmp_path: Path) -> None:
    path = tmp_path / "s.raw"
    _write(path, RECORDS)
    whole = path.read_bytes()
    last = len(encode_record(RECORDS[-1].sensor_id, RECORDS[-1].host_s, RECORDS[-1].payload))
    for cut in (1, 5, last - 1):
        path.write_bytes(whole[:-cut])
        reader = RawReader(path)
        assert list(reader) == RECORDS[:-1]
        assert reader.skipped_bytes == last - cut


def test_corrupt_record_stops_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "s.raw"
    _write(path, RECORDS)
    data = bytearray(path.read_bytes())
    first = len(MAGIC) + len(
        encode_record(RECORDS[0].sensor_id, RECORDS[0].host_s, b"\x01\x02\x03")
    )
    data[first + 20] ^= 0xFF  # inside the second record
    path.write_bytes(bytes(data))
    reader = RawReader(path)
    assert list(reader) == RECORDS[:1] and reader.skipped_bytes == len(data) - first


def test_flush_hands_records_to_the_os(tmp_path: Path) -> None:
    path = tmp_path / "s.raw"
    sink = RawFileSink(path, flush_every=2)
    sink.write("a", 1.0, b"x")
    sink.write("a", 2.0, b"y")  # second write flushes: readable while the sink is open
    assert [r.payload for r in read_raw(path)] == [b"x", b"y"]
    sink.close()


def test_not_a_raw_file(tmp_path: Path) -> None:
    path = tmp_path / "x.raw"
    path.write_bytes(b"sensor,t_s\n")
    with pytest.raises(InputError, match="not a batonsense raw file"):
        read_raw(path)


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=20).filter(lambda s: len(s.encode()) <= 255),
            st.floats(allow_nan=False),
            st.binary(max_size=300),
        ),
        max_size=20,
    )
)
def test_any_records_round_trip(tmp_path_factory: pytest.TempPathFactory, items: list) -> None:
    path = tmp_path_factory.mktemp("h") / "s.raw"
    _write(path, [RawRecord(*i) for i in items])
    assert read_raw(path) == [RawRecord(*i) for i in items]


def test_cli_replay_rejects_a_file_that_is_not_raw(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from batonsense.cli import main

    bad = tmp_path / "x.raw"
    bad.write_bytes(b"nope")
    sensors = Path(__file__).parents[2] / "config" / "example_sensors.toml"
    for cmd in (["replay", str(bad)], ["export", str(bad), "--out", str(tmp_path / "o.csv")]):
        res = CliRunner().invoke(main, [*cmd, "--sensors", str(sensors)])
        assert res.exit_code == 2 and "not a batonsense raw file" in res.stderr
