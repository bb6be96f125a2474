"""Recording CSV: valid variants, every rejected case with its exact line, round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import batonsense.io.recording_csv as rc
from batonsense.errors import InputError
from batonsense.io import read_recording_csv, write_recording_csv
from batonsense.io._csv_fast import fast_read
from batonsense.model import Recording, SensorStream
from tests.io._data import HEADER, SENSORS, VALID_CSV, random_recording, write

IDS = [s.id for s in SENSORS]


def both_paths(path: Path) -> tuple[dict | None, dict]:
    """(fast path result or None, exact path result); the exact one may raise."""
    size = path.stat().st_size
    fast = fast_read(path, IDS, size, None)
    slow = rc._slow_read(path, IDS, size, rc.read_header(path), None)
    return fast, slow


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        for x, y in zip(a[k], b[k]):
            np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------------ valid files


def test_reads_comments_and_interleaving(tmp_path):
    rec = read_recording_csv(write(tmp_path, "r.csv", VALID_CSV), SENSORS)
    assert isinstance(rec, Recording)
    assert rec.sensors == SENSORS
    baton, w1, w2 = (rec.streams[i] for i in IDS)
    np.testing.assert_array_equal(baton.t_s, [12.004512, 12.009512])
    np.testing.assert_array_equal(baton.acc_mps2[0], [0.1241, 9.8012, 0.0410])
    np.testing.assert_array_equal(baton.gyro_radps[0], [0.00213, -0.01120, 0.00534])
    np.testing.assert_array_equal(w1.t_s, [12.005, 12.01])
    np.testing.assert_array_equal(w2.acc_mps2, [[1.5, 2.5, 3.5]])
    assert rec.start_s == 12.004512 and rec.end_s == 12.01


def test_fast_path_takes_valid_files(tmp_path, monkeypatch):
    """Valid files (comments, blank lines, CRLF, BOM) never need the slow pass."""
    def no_slow(*a, **k):
        raise AssertionError("slow path used")

    monkeypatch.setattr(rc, "_slow_read", no_slow)
    for text in (VALID_CSV, VALID_CSV.replace("\n", "\r\n"), "\ufeff" + VALID_CSV,
                 VALID_CSV + "\n\n# trailing comment, with commas,,\n",
                 VALID_CSV.rstrip("\n"), "#,,,#\n#x,y\n" + VALID_CSV):
        rec = read_recording_csv(write(tmp_path, "r.csv", text), SENSORS)
        assert len(rec.streams["baton"]) == 2


@pytest.mark.parametrize("text", [
    VALID_CSV,
    VALID_CSV.replace("\n", "\r\n"),
    "\ufeff" + VALID_CSV,
    VALID_CSV + "   \n\t\n",
    VALID_CSV.replace("baton,12.009512", '"baton",12.009512'),
    VALID_CSV.replace("w1,12.005000,1.0", "w1, 12.005000 ,1.0"),
], ids=["lf", "crlf", "bom", "blank lines", "quoted", "spaces around numbers"])
def test_fast_and_exact_paths_agree(tmp_path, text):
    fast, slow = both_paths(write(tmp_path, "r.csv", text))
    if fast is not None:
        assert_same(fast, slow)
    assert len(slow["baton"][0]) == 2


def test_wrist_without_rows_gets_empty_stream(tmp_path):
    text = HEADER + "baton,1.0,0,0,0,0,0,0\nw1,1.0,0,0,0,0,0,0\n"
    rec = read_recording_csv(write(tmp_path, "r.csv", text), SENSORS)
    assert len(rec.streams["w2"]) == 0
    assert rec.streams["w2"].acc_mps2.shape == (0, 3)


def test_numeric_looking_ids(tmp_path):
    sensors = tuple(type(s)(sid, s.role, s.athlete, s.hand) for s, sid in
                    zip(SENSORS, ["007", "1", "1.0"]))
    text = HEADER + "007,1.0,0,0,0,0,0,0\n1,1.0,0,0,0,0,0,0\n1.0,1.5,0,0,0,0,0,0\n"
    rec = read_recording_csv(write(tmp_path, "r.csv", text), sensors)
    assert {k: len(v) for k, v in rec.streams.items()} == {"007": 1, "1": 1, "1.0": 1}


def test_progress_reaches_one(tmp_path):
    seen: list[float] = []
    path = tmp_path / "r.csv"
    write_recording_csv(path, random_recording())
    read_recording_csv(path, SENSORS, progress=seen.append)
    assert seen and seen[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in seen)


# ------------------------------------------------------------------ round trip


def test_round_trip(tmp_path):
    rec = random_recording()
    path = tmp_path / "r.csv"
    write_recording_csv(path, rec, comment="made by a test\nsecond line")
    back = read_recording_csv(path, SENSORS)
    for sid, s in rec.streams.items():
        b = back.streams[sid]
        np.testing.assert_allclose(b.t_s, s.t_s, rtol=0, atol=5e-7)
        # 9 significant digits: float32 data comes back exactly
        np.testing.assert_array_equal(b.acc_mps2.astype(np.float32), s.acc_mps2.astype(np.float32))
        np.testing.assert_array_equal(b.gyro_radps.astype(np.float32),
                                      s.gyro_radps.astype(np.float32))
    lines = path.read_text().splitlines()
    assert lines[:3] == ["# made by a test", "# second line", HEADER.strip()]
    times = [float(line.split(",")[1]) for line in lines[3:]]
    assert times == sorted(times), "rows are interleaved by time"


def test_write_is_atomic_on_error(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("old contents\n")
    rec = random_recording()
    bad = dict(rec.streams)
    s = bad["w1"]
    acc = s.acc_mps2.copy()
    acc[3, 0] = np.nan
    bad["w1"] = SensorStream("w1", s.t_s, acc, s.gyro_radps)
    with pytest.raises(ValueError, match="non-finite"):
        write_recording_csv(path, Recording(SENSORS, bad))
    assert path.read_text() == "old contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"], "no temp file left behind"


def test_write_refuses_times_that_collide_at_1us(tmp_path):
    rec = random_recording()
    s = rec.streams["baton"]
    t = s.t_s.copy()
    t[1] = t[0] + 1e-7
    streams = {**rec.streams, "baton": SensorStream("baton", t, s.acc_mps2, s.gyro_radps)}
    with pytest.raises(ValueError, match="1 µs"):
        write_recording_csv(tmp_path / "r.csv", Recording(SENSORS, streams))


# ------------------------------------------------------------------ bad input

L3 = "baton,12.004512,0.1241,9.8012,0.0410,0.00213,-0.01120,0.00534\n"


def replace_line(n: int, new: str) -> str:
    """VALID_CSV with its 1-based line n replaced by `new` (no newline needed)."""
    lines = VALID_CSV.splitlines(keepends=True)
    lines[n - 1] = new + "\n"
    return "".join(lines)


# (name, text, expected line, distinctive part of the message)
BAD = [
    ("missing header column", replace_line(2, "sensor,t_s,ax,ay,az,gx,gy"), 2,
     "header is missing column 'gz'"),
    ("wrong header column", replace_line(2, "sensor,time,ax,ay,az,gx,gy,gz"), 2,
     "header column 2 is 'time', expected 't_s'"),
    ("extra header column", replace_line(2, "sensor,t_s,ax,ay,az,gx,gy,gz,temp"), 2,
     "header has an extra column 'temp'"),
    ("no header at all", "# only a comment\n" + L3, 2, "header column 1 is 'baton'"),
    ("unknown sensor", replace_line(6, "w9,12.0051,1,2,3,4,5,6"), 6, "unknown sensor id 'w9'"),
    ("unparsable number", replace_line(4, "w1,12.005,1.0,abc,3.0,0.1,0.2,0.3"), 4,
     "column 'ay': cannot parse 'abc' as a number"),
    ("empty field", replace_line(4, "w1,12.005,1.0,,3.0,0.1,0.2,0.3"), 4,
     "column 'ay': cannot parse '' as a number"),
    ("NA", replace_line(8, "w1,12.01,NA,2,3,4,5,6"), 8, "column 'ax': cannot parse 'NA'"),
    ("trailing hash note", replace_line(8, "w1,12.01,1,2,3,4,5,6 # note"), 8,
     "column 'gz': cannot parse '6 # note'"),
    ("too few fields", replace_line(7, "baton,12.01,1,2"), 7, "expected 8 fields, found 4"),
    ("too many fields", replace_line(7, "baton,12.01,1,2,3,4,5,6,7"), 7,
     "expected 8 fields, found 9"),
    ("first row too many fields", replace_line(3, "baton,12.0,1,2,3,4,5,6,7"), 3,
     "expected 8 fields, found 9"),
    ("trailing comma", replace_line(7, "baton,12.01,1,2,3,4,5,6,"), 7,
     "expected 8 fields, found 9"),
    ("indented comment", replace_line(5, "  # indented"), 5, "expected 8 fields, found 1"),
    ("nan", replace_line(7, "baton,12.01,1,nan,3,4,5,6"), 7, "column 'ay': value 'nan' is not"),
    ("inf", replace_line(7, "baton,12.01,1,2,3,4,5,-inf"), 7, "column 'gz': value '-inf' is not"),
    ("non-finite time", replace_line(7, "baton,inf,1,2,3,4,5,6"), 7, "column 't_s': value 'inf'"),
    ("time backwards", replace_line(7, "baton,12.0,1,2,3,4,5,6"), 7,
     "sensor 'baton': time goes backwards (previous t_s 12.004512, this t_s 12.000000)"),
    ("time repeats", replace_line(8, "w1,12.005,1,2,3,4,5,6"), 8,
     "sensor 'w1': time repeats (previous t_s 12.005000, this t_s 12.005000)"),
    ("baton has no rows", HEADER + "w1,1.0,0,0,0,0,0,0\nw2,1.0,0,0,0,0,0,0\n", None,
     "baton sensor 'baton' has no rows"),
    ("empty file", "", None, "empty file"),
    ("only comments", "# nothing here\n\n# at all\n", None, "empty file"),
]


@pytest.mark.parametrize(("name", "text", "line", "message"), BAD, ids=[c[0] for c in BAD])
def test_rejects(tmp_path, name, text, line, message):
    path = write(tmp_path, "r.csv", text)
    with pytest.raises(InputError) as info:
        read_recording_csv(path, SENSORS)
    assert info.value.line == line
    assert message in info.value.problem
    assert info.value.path == str(path)


@pytest.mark.parametrize(("name", "text", "line", "message"), BAD, ids=[c[0] for c in BAD])
def test_fast_path_never_accepts_bad_files(tmp_path, name, text, line, message):
    path = write(tmp_path, "r.csv", text)
    if path.stat().st_size and "header" not in message and "empty" not in message:
        data = fast_read(path, IDS, path.stat().st_size, None)
        assert data is None or len(data["baton"][0]) == 0


def test_time_error_far_into_a_big_file_has_exact_line(tmp_path):
    path = tmp_path / "r.csv"
    write_recording_csv(path, random_recording(n=5000))
    lines = path.read_text().splitlines(keepends=True)
    n = 9000
    sid, t = lines[n - 1].split(",")[:2]
    prev = next(ln for ln in reversed(lines[: n - 1]) if ln.startswith(sid + ","))
    lines[n - 1] = lines[n - 1].replace(t, "0.5", 1)
    path.write_text("".join(lines))
    with pytest.raises(InputError) as info:
        read_recording_csv(path, SENSORS)
    assert info.value.line == n
    assert f"previous t_s {prev.split(',')[1]}, this t_s 0.500000" in info.value.problem


def test_invalid_utf8_line(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(VALID_CSV.encode() + b"w2,13.0,1,2,3,4,5,\xff\n")
    with pytest.raises(InputError) as info:
        read_recording_csv(path, SENSORS)
    assert info.value.line == 9
    assert "not valid UTF-8" in info.value.problem


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="cannot read file"):
        read_recording_csv(tmp_path / "nope.csv", SENSORS)


def test_giant_field_is_an_input_error(tmp_path):
    path = write(tmp_path, "r.csv", VALID_CSV + "w1," + "1" * 200_000 + ",1,2,3,4,5,6\n")
    with pytest.raises(InputError) as info:
        read_recording_csv(path, SENSORS)
    assert info.value.line == 9
    assert "malformed CSV: field larger than field limit" in info.value.problem
