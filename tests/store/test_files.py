"""Files on disk: the database is private, exports leave no temp files, reads are bounded,
CSV exports are inert in a spreadsheet (issue 13)."""

from __future__ import annotations

import csv
import io
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from batonsense.errors import InputError
from batonsense.io import read_recording_csv, read_sensors
from batonsense.io._atomic import EXIT_SIGTERM, atomic_write
from batonsense.store import Store
from batonsense.store.export import CSV_COLUMNS, exchanges_csv

ROOT = Path(__file__).resolve().parents[2]
SENSORS = ROOT / "config" / "example_sensors.toml"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ------------------------------------------------------------------ database mode


def test_a_new_database_and_its_wal_are_private(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    old = os.umask(0o022)  # the usual umask: files would be 0644
    try:
        with Store(db) as store:
            store.add_athlete("ANA")
            for suffix in ("", "-wal", "-shm"):
                path = db.with_name(db.name + suffix)
                assert path.exists() and _mode(path) == 0o600, path
    finally:
        os.umask(old)


def test_an_existing_database_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with Store(db) as store:
        store.add_athlete("ANA")
    db.chmod(0o644)
    with Store(db) as store:
        assert _mode(db) == 0o600
        assert store.athletes() == ["ANA"]


# ------------------------------------------------------------------ CSV injection


def _record(**over: object) -> dict[str, object]:
    base: dict[str, object] = {c: None for c in CSV_COLUMNS}
    base.update(id=1, session_id=1, session_name="s", outcome="completed", clock="host")
    base.update(over)
    return base


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://evil.example","x")', "+1+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"],
)
def test_text_cells_that_start_a_formula_get_a_quote(text: str) -> None:
    out = exchanges_csv([_record(session_name=text, giver=text, technique=text)])
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert len(rows) == 1  # a CR inside a cell is quoted, not a row break
    row = rows[0]
    for column in ("session_name", "giver", "technique"):
        assert row[column] == "'" + text


def test_numbers_and_plain_text_are_unchanged() -> None:
    out = exchanges_csv(
        [_record(session_name="Tuesday -3", giver="ANA", overlap_ms=-12.5, reach_s=-0.25,
                 confidence=0.9, hands_without_sensor=["giver"], hand_mismatch=False)]
    )  # fmt: skip
    row = next(csv.DictReader(io.StringIO(out)))
    assert row["overlap_ms"] == "-12.5" and row["reach_s"] == "-0.25"  # numbers stay numbers
    assert row["session_name"] == "Tuesday -3" and row["giver"] == "ANA"
    assert row["hands_without_sensor"] == "giver" and row["hand_mismatch"] == "false"


# ------------------------------------------------------------------ atomic writes

WRITER = textwrap.dedent(
    """
    import sys, time
    from batonsense.io._atomic import atomic_write
    with atomic_write(sys.argv[1]) as f:
        f.write("partial\\n")
        f.flush()
        print("writing", flush=True)
        time.sleep(60)
    """
)


def _temps(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_sigterm_while_writing_leaves_no_temp_file(tmp_path: Path) -> None:
    """`kill` during an export: the temp file goes, the target is untouched."""
    target = tmp_path / "out.csv"
    target.write_text("before\n")
    with subprocess.Popen([sys.executable, "-c", WRITER, str(target)],
                          stdout=subprocess.PIPE, text=True) as proc:  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        assert len(_temps(tmp_path)) == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == EXIT_SIGTERM
    assert _temps(tmp_path) == []
    assert target.read_text() == "before\n"


def test_temp_files_of_killed_writers_are_removed_by_the_next_write(tmp_path: Path) -> None:
    """SIGKILL cannot be caught: the next write to the same file tidies up after it."""
    target = tmp_path / "out.csv"
    with subprocess.Popen([sys.executable, "-c", WRITER, str(target)],
                          stdout=subprocess.PIPE, text=True) as proc:  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        proc.kill()
        proc.wait(20)
    assert len(_temps(tmp_path)) == 1  # left by the killed writer
    live = tmp_path / f".out.csv.{os.getpid()}.abcdefgh.tmp"  # a writer still running
    live.write_text("x")
    other = tmp_path / ".other.csv.1.abcdefgh.tmp"  # another file's: not ours to judge
    other.write_text("x")
    with atomic_write(target) as f:
        f.write("after\n")
    assert target.read_text() == "after\n"
    assert _temps(tmp_path) == sorted([live.name, other.name])


# ------------------------------------------------------------------ bounded reads


def test_analyze_refuses_a_device_at_once() -> None:
    """/dev/zero grew to 24 GB before the kernel killed it."""
    t0 = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "batonsense", "analyze", "/dev/zero", "--sensors", str(SENSORS)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert "/dev/zero: not a regular file" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert time.monotonic() - t0 < 30


def test_a_fifo_and_an_oversized_file_are_refused(tmp_path: Path) -> None:
    sensors = read_sensors(SENSORS)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    # a reader that opens the FIFO would block for ever: a writer comes and goes so a
    # test of a reader that does read it fails instead of hanging
    threading.Thread(target=_open_and_close_writer, args=(fifo,), daemon=True).start()
    with pytest.raises(InputError, match="not a regular file"):
        read_recording_csv(fifo, sensors)
    big = tmp_path / "big.csv"
    big.write_text("sensor,t_s,ax,ay,az,gx,gy,gz\n" + "baton,0.0,0,0,9.8,0,0,0\n" * 1000)
    with pytest.raises(InputError, match="MiB a recording may have"):
        read_recording_csv(big, sensors, max_bytes=1000)


def _open_and_close_writer(fifo: Path, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # ENXIO until a reader
            return
        except OSError:
            time.sleep(0.05)
