"""Faults a track-side laptop meets, on a real `batonsense demo` process: a stalled
host (SIGSTOP/SIGCONT) loses no exchange and raises nothing, health tells the truth
while it catches up; the recording stays strictly increasing."""

from __future__ import annotations

import io
import os
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ._drill_truth import drill_origin_s, drill_truth, unmatched
from ._service import ServiceProcess


def _wait_caught_up(svc: ServiceProcess, timeout_s: float) -> dict:
    """Until /api/health says all is well again (no lag, every sensor fresh)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        h = svc.get("/api/health").json()
        if h["status"] == "ok":
            return h
        time.sleep(1.0)
    raise TimeoutError(f"not caught up after {timeout_s} s: {h}\n{svc.output()[-3000:]}")


def test_a_stalled_host_catches_up_and_loses_no_exchange(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path).start()
    assert svc.proc is not None
    try:
        svc.wait_exchanges(1, timeout_s=90)
        os.kill(svc.proc.pid, signal.SIGSTOP)  # the whole process: loop, threads, sensors
        time.sleep(20.0)
        os.kill(svc.proc.pid, signal.SIGCONT)
        time.sleep(2.0)
        during = svc.get("/api/health").json()
        # it says it is behind: old samples still coming in, or the queue lagging
        assert during["status"] == "degraded", during
        assert any("no data" in p or "behind" in p for p in during["problems"]), during
        rows = svc.get("/api/sensors").json()
        assert not any(r["state"] == "connected" for r in rows), rows  # none shown streaming
        health = _wait_caught_up(svc, timeout_s=180)
        svc.wait_exchanges(5, timeout_s=120)  # two after the stall at least
        found = svc.get("/api/exchanges").json()
        origin_s = drill_origin_s(health["messages"])
        now_drill_s = svc.get("/api/health").json()["host_s"] - origin_s
        truth = drill_truth(1, now_drill_s - 5.0)
        assert len(truth) >= 4
        seen = [(f["giver"], f["receiver"], f["outcome"], f["grab_s"] and f["grab_s"] - origin_s,
                 f["release_s"] and f["release_s"] - origin_s) for f in found]  # fmt: skip
        # within 10 ms of the truth: the detector's own error here is ~2-4 ms
        assert unmatched(truth, found, origin_s) == [], (seen, truth)
        assert health["ingest"]["errors"] == 0 and health["ingest"]["overflows"] == 0
        csv = svc.get(f"/api/sessions/{found[0]['session_id']}/recording.csv")
        assert csv.status_code == 200, csv.text[:300]
    finally:
        svc.stop()
    assert "Traceback" not in svc.output(), svc.output()[-5000:]
    rec = pd.read_csv(io.StringIO(csv.text), comment="#")
    for sid, g in rec.groupby("sensor"):
        t = g["t_s"].to_numpy()
        assert np.all(np.diff(np.round(t, 6)) > 0), sid
        # no hole the length of the stall: the stalled samples came late, not never
        assert np.diff(t).max() < 5.0, (sid, float(np.diff(t).max()))
