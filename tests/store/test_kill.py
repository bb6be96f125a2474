"""kill -9 of a writing process: nothing earlier lost, ≤ 1 s of samples lost, no exchange lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from batonsense.model import Exchange
from batonsense.store import SessionWriter, Store

from .conftest import SENSORS, block

CHILD = Path(__file__).with_name("_child.py")
# how long each child streams before it is killed: 0.4-0.7 s after its last exchange
RUNS_S = (1.4, 1.9, 2.2)


def _run_and_kill(db_path: Path, session_id: int, run_s: float) -> tuple[list[int], float]:
    """Start the child, kill -9 it after run_s of streaming; (exchange ids it reported, kill time)."""
    env = os.environ | {"PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(db_path), str(session_id)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(child.stdout), daemon=True)
    reader.start()
    time.sleep(run_s)
    kill_s = time.monotonic()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    reader.join(5)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    ids = [int(line.split()[1]) for line in lines if line.startswith("exchange ")]
    return ids, kill_s


def test_kill_9_loses_at_most_one_second_and_no_exchange(db_path: Path) -> None:
    with Store(db_path) as s:
        done = s.start_session("earlier", SENSORS)
        with SessionWriter(db_path, done) as w:
            for k in range(50):
                w(block("baton", k * 0.05, 10, seed=k))
            w.add_exchange(Exchange("ANA", "BEA", 1.0, 1.2, 1.4))
        s.end_session(done)
    killed: list[tuple[int, list[int], float]] = []
    for run_s in RUNS_S:
        with Store(db_path) as s:
            sid = s.start_session(f"killed after {run_s} s", SENSORS)
        ids, kill_s = _run_and_kill(db_path, sid, run_s)
        killed.append((sid, ids, kill_s))
        with Store(db_path) as s:  # restart: everything before is intact
            assert s.integrity_check() == "ok"
            assert [x.id for x in s.sessions()] == [done] + [k[0] for k in killed]
            assert len(s.sample_blocks(done)) == 50 and len(s.exchanges(session_id=done)) == 1
            for kid, kids, k_s in killed:
                _check_killed_session(s, kid, kids, k_s)


def _check_killed_session(s: Store, sid: int, ids: list[int], kill_s: float) -> None:
    stored = {x.id for x in s.exchanges(session_id=sid)}
    assert ids and set(ids) <= stored  # every exchange reported committed is there
    for sensor in ("baton", "w1", "w2"):
        t = np.concatenate([b.t_s for b in s.sample_blocks(sid, sensor)])
        assert np.all(np.diff(t) > 0)  # committed data has no holes: only the tail is lost
        assert np.allclose(np.diff(t), 1 / 200.0)
        lost_s = kill_s - t[-1]
        print(f"session {sid} {sensor}: {len(t)} samples kept, {lost_s * 1000:.0f} ms lost")
        assert lost_s <= 1.0
    raw = list(s.raw_records(sid))
    assert kill_s - raw[-1].host_s <= 1.0
