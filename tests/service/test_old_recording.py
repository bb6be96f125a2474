"""A database written by an older version, whose sample blocks hold samples out of time
order (0.3 µs apart), repeated or not finite, still gives its recording CSV through
a real service (`batonsense demo` on 127.0.0.1): the samples that can be kept, and
how many were left out (header, comment line, log line), never a 500."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from batonsense.io import read_recording_csv, read_sensors
from batonsense.store import Store, StoredSensor

from ._service import ServiceProcess

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"

#: where the samples sit on the host clock (s): 10 days after boot
T0 = 864_000.0
_BLOCK_SQL = (
    "INSERT INTO sample_blocks (session_id, sensor_id, t0_s, n, t_dtype, value_dtype, "
    "t_s, acc_mps2, gyro_radps) VALUES (?,?,?,?,?,?,?,?,?)"
)


def _insert(conn: sqlite3.Connection, session_id: int, sensor_id: str, t_s: list[float],
            *, t_dtype: str = "<f8", nan_at: int | None = None) -> None:  # fmt: skip
    """One sample block row, written as an older version (or another program) might."""
    n = len(t_s)
    acc = np.tile([0.1, 9.81, 0.2], (n, 1)) + np.arange(n)[:, None] * 0.01
    if nan_at is not None:
        acc[nan_at, 1] = np.nan
    gyro = np.full((n, 3), 0.5)
    conn.execute(_BLOCK_SQL, (
        session_id, sensor_id, float(t_s[0]), n, t_dtype, "<f4",
        np.asarray(t_s, dtype=t_dtype).tobytes(), acc.astype("<f4").tobytes(),
        gyro.astype("<f4").tobytes(),
    ))  # fmt: skip


def _old_database(db: Path) -> int:
    sensors = read_sensors(DEMO)
    with Store(db) as store:
        session_id = store.start_session("older version", [StoredSensor(s) for s in sensors])
    conn = sqlite3.connect(db)
    with conn:
        # the baton: blocks overlap (one sample 0.3 µs before the last kept one, then a
        # block repeating two samples)
        _insert(conn, session_id, "baton", [T0 + 0.000, T0 + 0.005, T0 + 0.010])
        _insert(conn, session_id, "baton", [T0 + 0.0099997, T0 + 0.015, T0 + 0.020])
        _insert(conn, session_id, "baton", [T0 + 0.015, T0 + 0.020, T0 + 0.025])
        # w2: two samples 0.3 µs out of order inside one block (the case)
        _insert(conn, session_id, "w2", [T0 + 1.000, T0 + 1.005, T0 + 1.0049997,
                                          T0 + 1.010, T0 + 1.015])  # fmt: skip
        # w1: a sample that is not finite
        _insert(conn, session_id, "w1", [T0 + 2.000, T0 + 2.005, T0 + 2.010, T0 + 2.015],
                nan_at=1)  # fmt: skip
        # w3: float32 times (1/16 s apart this far along the clock), one repeated
        _insert(conn, session_id, "w3", [T0 + 3.0, T0 + 3.0625, T0 + 3.0625, T0 + 3.125],
                t_dtype="<f4")  # fmt: skip
        conn.execute("UPDATE sessions SET ended_at = started_at WHERE id = ?", (session_id,))
    conn.close()
    return session_id


def test_recording_of_an_old_database_with_samples_out_of_order(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    session_id = _old_database(db)
    svc = ServiceProcess(tmp_path, db=db).start()
    try:
        r = svc.get(f"/api/sessions/{session_id}/recording.csv")
    finally:
        svc.stop()
    assert r.status_code == 200, r.text[:500]
    assert r.headers["x-dropped-samples"] == "6"
    comments = [line for line in r.text.splitlines() if line.startswith("#")]
    assert any("left out 6 stored samples" in c and "baton: 3" in c for c in comments), comments
    assert "left out 6 stored samples" in svc.output()  # one log line says so too
    assert "Traceback" not in svc.output()

    csv_path = tmp_path / "recording.csv"
    csv_path.write_bytes(r.content)
    rec = read_recording_csv(csv_path, read_sensors(DEMO))  # what `analyze` reads
    t = {sid: np.round(s.t_s, 6).tolist() for sid, s in rec.streams.items() if len(s)}
    expected = {
        "baton": [0.0, 0.005, 0.01, 0.015, 0.02, 0.025],
        "w2": [1.0, 1.005, 1.01, 1.015],
        "w1": [2.0, 2.01, 2.015],
        "w3": [3.0, 3.0625, 3.125],
    }
    assert t == {sid: np.round(T0 + np.array(ts), 6).tolist() for sid, ts in expected.items()}
    # the kept samples keep their own values (the one after the dropped repeat too)
    assert rec.streams["w2"].acc_mps2[2, 1] == pytest.approx(9.81 + 0.03, abs=1e-5)
    done = subprocess.run(
        [sys.executable, "-m", "batonsense", "analyze", str(csv_path), "--sensors", str(DEMO),
         "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert io.StringIO(done.stdout).read().lstrip().startswith("{")
