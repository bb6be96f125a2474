"""The raw notification file: round trip, append, torn tail, damage and resync, CLI reports."""

from __future__ import annotations

import json
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
        assert reader.skipped_bytes == reader.torn_tail_bytes == last - cut
        assert not reader.damaged


def _offsets(records: list[RawRecord]) -> list[int]:
    """Byte offset of each record in a file holding them (and of its end)."""
    out = [len(MAGIC)]
    for r in records:
        out.append(out[-1] + len(encode_record(r.sensor_id, r.host_s, r.payload)))
    return out


def test_a_damaged_record_is_skipped_and_the_reader_resyncs(tmp_path: Path) -> None:
    path = tmp_path / "s.raw"
    _write(path, RECORDS)
    at = _offsets(RECORDS)
    data = bytearray(path.read_bytes())
    data[at[1] + 20] ^= 0xFF  # inside the second record
    path.write_bytes(bytes(data))
    reader = RawReader(path)
    assert list(reader) == [RECORDS[0], RECORDS[2]]  # old reader: stopped after RECORDS[0]
    assert [(s.start, s.end, s.torn_tail) for s in reader.skipped] == [(at[1], at[2], False)]
    assert reader.records == 2 and reader.skipped_bytes == at[2] - at[1]


def test_a_wrong_length_is_damage_not_the_end(tmp_path: Path) -> None:
    """A record whose length field was hit claims bytes it does not own: skipped."""
    records = [RawRecord("w1", 10.0 + k, bytes([k]) * 30) for k in range(6)]
    path = tmp_path / "s.raw"
    _write(path, records)
    at = _offsets(records)
    data = bytearray(path.read_bytes())
    data[at[2] + 14] ^= 0x01  # payload length's high byte: +256 bytes
    path.write_bytes(bytes(data))
    reader = RawReader(path)
    assert list(reader) == records[:2] + records[3:]
    assert [(s.start, s.end) for s in reader.damaged] == [(at[2], at[3])]
    assert reader.records_estimate(reader.damaged[0]) == 1


def test_records_appended_after_a_torn_tail_are_read(tmp_path: Path) -> None:
    """`record --append` after a crash: the torn record is skipped, not what follows."""
    path = tmp_path / "s.raw"
    _write(path, RECORDS)
    path.write_bytes(path.read_bytes()[:-5])
    _write(path, RECORDS[:1])
    reader = RawReader(path)
    assert list(reader) == RECORDS[:2] + RECORDS[:1]
    assert len(reader.damaged) == 1 and reader.torn_tail_bytes == 0


def test_a_header_then_only_garbage_is_an_error(tmp_path: Path) -> None:
    import random

    path = tmp_path / "s.raw"
    path.write_bytes(MAGIC + random.Random(1).randbytes(20_000))
    with pytest.raises(InputError, match="no intact record"):
        read_raw(path)


def test_a_header_then_only_a_torn_record_is_an_error_and_a_header_alone_is_not(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.raw"
    path.write_bytes(MAGIC + encode_record("w1", 1.0, b"abc")[:-1])
    with pytest.raises(InputError, match="no intact record"):
        read_raw(path)
    path.write_bytes(MAGIC)
    assert read_raw(path) == []


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


def _cli(*args: object) -> object:
    from click.testing import CliRunner

    from batonsense.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_replay_and_export_report_the_damage_and_keep_the_rest(tmp_path: Path) -> None:
    from batonsense.io import read_recording_csv, read_sensors

    from ._raw_session import session_records, write_session

    records = session_records(200)
    raw, sensors = write_session(tmp_path, records)
    at = _offsets(records)
    data = bytearray(raw.read_bytes())
    data[at[300] + 30] ^= 0x40  # one flipped bit in the middle (record 300 of 600)
    raw.write_bytes(bytes(data))
    res = _cli("replay", raw, "--sensors", sensors, "--json")
    assert res.exit_code == 0, res.output
    assert f"skipped 1 damaged span ({at[301] - at[300]} bytes, about 1 record" in res.stderr
    assert f"at bytes {at[300]}-{at[301]}" in res.stderr and "599 intact records" in res.stderr
    assert "torn tail" not in res.stderr
    doc = json.loads(res.stdout)
    assert sum(s["packets"] for s in doc["sensors"].values()) == 599  # old: 300
    out = tmp_path / "o.csv"
    res = _cli("export", raw, "--sensors", sensors, "--out", out)
    assert res.exit_code == 0 and f"at bytes {at[300]}-{at[301]}" in res.stderr
    recording = read_recording_csv(out, read_sensors(sensors))
    assert sum(len(s) for s in recording.streams.values()) > 2000


def test_cli_torn_tail_is_a_short_note(tmp_path: Path) -> None:
    from ._raw_session import session_records, write_session

    raw, sensors = write_session(tmp_path, session_records(150))
    raw.write_bytes(raw.read_bytes()[:-7])
    res = _cli("replay", raw, "--sensors", sensors)
    assert res.exit_code == 0
    assert res.stderr.strip().endswith("(the last record, cut short)")
    assert "damaged" not in res.stderr


def test_cli_header_then_garbage_exits_2(tmp_path: Path) -> None:
    import random

    from ._raw_session import write_session

    raw, sensors = write_session(tmp_path, [])
    raw.write_bytes(MAGIC + random.Random(2).randbytes(5000))
    for cmd in (["replay", raw], ["export", raw, "--out", tmp_path / "o.csv"]):
        res = _cli(*cmd, "--sensors", sensors)
        assert res.exit_code == 2 and "no intact record" in res.stderr, res.output
    assert not (tmp_path / "o.csv").exists()


def test_cli_refuses_a_device_instead_of_reading_it_forever(tmp_path: Path) -> None:
    from ._raw_session import write_session

    _raw, sensors = write_session(tmp_path, [])
    res = _cli("replay", "/dev/zero", "--sensors", sensors)  # old: read until out of memory
    assert res.exit_code == 2 and "not a regular file" in res.stderr
