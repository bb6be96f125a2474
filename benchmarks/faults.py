"""Fault benchmark: the same seeded demo drill run quiet, then under each fault, compared
exchange by exchange.

    .venv/bin/python benchmarks/faults.py [--quick] [--drill-s 100] [--seed 1]

Each run is a real `batonsense demo --seed S` process (virtual sensors, the real
pipeline, detector, SQLite store, API) with its own database.  Runs:

- quiet: nothing done to it (twice: the second shows the run-to-run spread of
  the same drill, from the clock fit on real receive times);
- stall: SIGSTOP for `stall_s` (30 s; the whole process: loop, threads and the
  virtual sensors), then SIGCONT;
- full disk: the database on a 64 MB tmpfs (needs root: mount), filled by a
  filler file for `full_s` (60 s), then freed;
- load: 200 GET/s on the API, 50 SSE viewers connected, two CPU-hog processes,
  for `load_s` (60 s).

Sensor drop-outs/reboots and duplicated/reordered notifications cannot be
injected into a running demo from outside (the virtual sensors have no control
API); they are covered by tests/pipeline (test_stream_oddities.py).

A run lasts until its data reach `drill_s` of drill time and /api/health is
"ok" again.  Compared with the quiet run on drill time (the demo logs where
drill time 0 is on the host clock): exchanges matched within 1 ms (same giver,
receiver, outcome; grab, release, drop within 1 ms), exchanges lost (no match
even within 20 ms),
samples lost (stored samples in [5 s, drill_s - 5 s] vs quiet, all sensors),
the largest ingest lag /api/health reported, tracebacks in the log.  Targets:
0 exchanges lost, 0 tracebacks.

The clock mapping is compared apart from the detector: the virtual sensor takes
sample k of the simulated IMU at host time drill origin + t_k (t_k on the
simulator's own grid, `Cast`), so every stored sample's mapped time minus its
t_k is the clock fit's error ("clock vs truth": range of the samples' errors,
all sensors); "clock vs quiet" is the largest difference of the same samples'
mapped times between the run and the first quiet run (ms).  An exchange
difference far above it comes from the detector, not the clock.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from batonsense.model import Recording
from batonsense.pipeline.session import map_simulated
from batonsense.sim.live import Cast
from batonsense.store import Store

ROOT = Path(__file__).resolve().parents[1]
_ORIGIN = re.compile(r"drill time 0 at host ([0-9.]+) s")


class Demo:
    """One `batonsense demo` process with its database in `db_dir`."""

    def __init__(self, tmp: Path, db_dir: Path, seed: int, port: int) -> None:
        self.db = db_dir / "faults.db"
        self.log = tmp / f"demo-{port}.log"
        self.url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "batonsense", "demo", "--seed", str(seed),
               "--port", str(port), "--db", str(self.db)]  # fmt: skip
        self._log = self.log.open("w")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
        self.max_lag_s = 0.0
        self.origin_s = self._wait_origin()

    def health(self) -> dict[str, Any]:
        h = httpx.get(self.url + "/api/health", timeout=30).json()
        self.max_lag_s = max(self.max_lag_s, float(h.get("ingest", {}).get("max_lag_s", 0)))
        return h

    def _wait_origin(self) -> float:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                for m in self.health()["messages"]:
                    if found := _ORIGIN.search(m):
                        return float(found.group(1))
            time.sleep(0.2)
        raise RuntimeError(f"no drill origin:\n{self.log.read_text()}")

    def drill_s(self) -> float:
        return float(self.health()["host_s"]) - self.origin_s

    def wait_drill(self, t_s: float) -> None:
        while self.drill_s() < t_s:
            time.sleep(0.5)

    def wait_ok(self, timeout_s: float = 300.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if self.health()["status"] == "ok":
                    return
            time.sleep(1.0)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        self._log.close()

    def tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -------------------------------------------------------------- faults


def stall(demo: Demo, at_s: float, length_s: float) -> None:
    demo.wait_drill(at_s)
    os.kill(demo.proc.pid, signal.SIGSTOP)
    time.sleep(length_s)
    os.kill(demo.proc.pid, signal.SIGCONT)


def full_disk(demo: Demo, at_s: float, length_s: float) -> None:
    demo.wait_drill(at_s)
    filler = demo.db.parent / "filler"
    with filler.open("wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\1" * 4096)
    t_end = time.monotonic() + length_s
    while time.monotonic() < t_end:
        demo.health()  # records what it says while full
        time.sleep(2.0)
    filler.unlink()


def load(demo: Demo, at_s: float, length_s: float) -> None:
    demo.wait_drill(at_s)
    stop = threading.Event()
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]

    def viewer() -> None:
        with contextlib.suppress(httpx.HTTPError):
            with httpx.stream("GET", demo.url + "/api/exchanges/stream", timeout=None) as r:
                for _ in r.iter_lines():
                    if stop.is_set():
                        return

    def getter() -> None:  # 4 threads x 50/s = 200 GET/s
        with httpx.Client(timeout=10) as c:
            while not stop.is_set():
                t0 = time.monotonic()
                with contextlib.suppress(httpx.HTTPError):
                    c.get(demo.url + "/api/sensors")
                time.sleep(max(0.0, 0.02 - (time.monotonic() - t0)))

    threads = [threading.Thread(target=viewer, daemon=True) for _ in range(50)]
    threads += [threading.Thread(target=getter, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(length_s)
    stop.set()
    for h in hogs:
        h.kill()


# -------------------------------------------------------------- clock


def clock_errors(
    rec: Recording, origin_s: float, seed: int, until_s: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per stored sensor: (index k of each sample on its simulated IMU's grid, mapped
    drill time − true drill time t_k in s), samples before until_s of drill time.

    t_k = t_first + k·period + clock_err (`ImuSpec`, the demo's 200 Hz cast); k is
    the nearest grid index, unwrapped so that the error changes smoothly from one
    sample to the next (an error beyond half a period is still told apart)."""
    cast = Cast.random(seed, 200.0)
    sim_id = map_simulated(cast.infos, rec.sensors)
    out = {}
    for sid, stream in rec.streams.items():
        if sid not in sim_id or not len(stream):
            continue
        sp = cast.specs[sim_id[sid]]
        rel = stream.t_s - origin_s
        k = np.rint((rel - sp.t_first_s - sp.clock_err_s) / sp.period_s)
        err = rel - (sp.t_first_s + k * sp.period_s + sp.clock_err_s)
        k += np.concatenate([[0.0], np.cumsum(np.rint(np.diff(err) / sp.period_s))])
        err = rel - (sp.t_first_s + k * sp.period_s + sp.clock_err_s)
        keep = rel < until_s
        out[sid] = (k[keep].astype(np.int64), err[keep])
    return out


def clock_vs_quiet_ms(quiet: dict[str, Any], r: dict[str, Any]) -> float:
    """Largest |difference| (ms) of the same samples' mapped times, run − quiet."""
    worst = 0.0
    for sid, (kq, eq) in quiet["clock"].items():
        if sid not in r["clock"]:
            continue
        kr, er = r["clock"][sid]
        _, iq, ir = np.intersect1d(kq, kr, return_indices=True)
        if len(iq):
            worst = max(worst, float(np.abs(er[ir] - eq[iq]).max()))
    return 1e3 * worst


def _truth_range_ms(r: dict[str, Any]) -> str:
    errs = [e for _, e in r["clock"].values() if len(e)]
    if not errs:
        return "-"
    e = 1e3 * np.concatenate(errs)
    return f"{e.min():.2f}..{e.max():.2f}"


# -------------------------------------------------------------- one run


def run(name: str, fault: Any, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    db_dir = tmp / name
    db_dir.mkdir()
    mounted = False
    if name == "full disk":
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(db_dir)],
                           capture_output=True, check=False)  # fmt: skip
        if r.returncode != 0:
            return {"name": name, "skipped": "cannot mount a tmpfs (needs root)"}
        mounted = True
    demo = Demo(tmp, db_dir, args.seed, _free_port())
    try:
        if fault is not None:
            fault(demo)
        demo.wait_drill(args.drill_s)
        demo.wait_ok()
        demo.wait_drill(demo.drill_s() + 3.0)
    finally:
        demo.stop()
    with Store(demo.db) as store:
        exchanges = [s.exchange.shifted(-demo.origin_s) for s in store.exchanges(session_id=1)]
        rec = store.recording(1)
    samples = sum(
        int(((s.t_s - demo.origin_s >= 5.0) & (s.t_s - demo.origin_s < args.drill_s - 5.0)).sum())
        for s in rec.streams.values()
    )
    if mounted:
        subprocess.run(["umount", "-l", str(db_dir)], check=False)
    kept = [e for e in exchanges if e.time_s < args.drill_s - 5.0]
    return {"name": name, "exchanges": kept, "samples": samples,
            "clock": clock_errors(rec, demo.origin_s, args.seed, args.drill_s - 5.0),
            "max_lag_s": demo.max_lag_s, "tracebacks": demo.tracebacks()}  # fmt: skip


def _same(a: Any, b: Any, tol_s: float = 0.001) -> bool:
    if (a.giver, a.receiver, a.outcome) != (b.giver, b.receiver, b.outcome):
        return False
    for k in ("grab_s", "release_s", "drop_s"):
        x, y = getattr(a, k), getattr(b, k)
        if (x is None) != (y is None) or (x is not None and abs(x - y) > tol_s):
            return False
    return True


def _lost(quiet: list[Any], found: list[Any], tol_s: float) -> tuple[int, float]:
    """(quiet-run exchanges that no exchange of `found` matches within tol_s, the
    largest time difference of those matched, ms)."""
    left, lost, worst_s = list(found), 0, 0.0
    for q in quiet:
        hit = next((e for e in left if _same(q, e, tol_s)), None)
        if hit is None:
            lost += 1
            continue
        left.remove(hit)
        for k in ("grab_s", "release_s", "drop_s"):
            if getattr(q, k) is not None:
                worst_s = max(worst_s, abs(getattr(q, k) - getattr(hit, k)))
    return lost, 1e3 * worst_s


def _differences(quiet: list[Any], found: list[Any]) -> list[str]:
    """One line per quiet-run exchange that the run does not match within 1 ms: the
    run's nearest exchange (by time) and how far each of its events moved, ms."""
    out = []
    for q in quiet:
        if any(_same(q, e) for e in found):
            continue
        near = min(found, key=lambda e: abs(e.time_s - q.time_s), default=None)
        if near is None or abs(near.time_s - q.time_s) > 1.0:
            out.append(f"  {q.giver}->{q.receiver} at {q.time_s:.2f} s: nothing within 1 s")
            continue
        moved = ", ".join(
            f"{k[:-2]} {1e3 * (getattr(near, k) - getattr(q, k)):+.2f}"
            for k in ("grab_s", "release_s", "drop_s")
            if getattr(q, k) is not None and getattr(near, k) is not None
        )
        who = "" if (near.giver, near.receiver) == (q.giver, q.receiver) else (
            f" (named {near.giver}->{near.receiver})")
        out.append(f"  {q.giver}->{q.receiver} at {q.time_s:.2f} s{who}: {moved}")
    return out


def compare(quiet: dict[str, Any], r: dict[str, Any]) -> str:
    if "skipped" in r:
        return f"| {r['name']} | skipped: {r['skipped']} | | | | | | | |"
    n = len(quiet["exchanges"])
    within_1ms = n - _lost(quiet["exchanges"], r["exchanges"], 0.001)[0]
    lost, worst_ms = _lost(quiet["exchanges"], r["exchanges"], 0.020)
    lost_samples = max(0, quiet["samples"] - r["samples"])
    return (f"| {r['name']} | {within_1ms}/{n} | {worst_ms:.1f} | "
            f"{clock_vs_quiet_ms(quiet, r):.2f} | {_truth_range_ms(r)} | {lost} | {lost_samples} "
            f"({100 * lost_samples / max(quiet['samples'], 1):.2f} %) | "
            f"{r['max_lag_s']:.1f} | {r['tracebacks']} |")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter drill and faults (~4 min)")
    ap.add_argument("--drill-s", type=float, default=None, help="drill time compared (s)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    fault_s = 15.0 if args.quick else None
    if args.drill_s is None:
        args.drill_s = 60.0 if args.quick else 110.0
    faults = {
        "quiet again": None,  # run-to-run spread of the same drill (clock fit, timing)
        "stall": lambda d: stall(d, 15.0, fault_s or 30.0),
        "full disk": lambda d: full_disk(d, 15.0, fault_s or 60.0),
        "load": lambda d: load(d, 15.0, fault_s or 60.0),
    }
    with tempfile.TemporaryDirectory(prefix="bs-faults-") as t:
        tmp = Path(t)
        t0 = time.monotonic()
        quiet = run("quiet", None, args, tmp)
        rows = [compare(quiet, quiet)]
        for name, fault in faults.items():
            r = run(name, fault, args, tmp)
            rows.append(compare(quiet, r))
            if "skipped" not in r:
                print("\n".join([f"{name}: exchanges not within 1 ms of quiet"]
                                 + _differences(quiet["exchanges"], r["exchanges"])), flush=True)
            print(rows[-1], file=sys.stderr, flush=True)
    print(f"seed {args.seed}, drill {args.drill_s:.0f} s compared, faults of "
          f"{fault_s or '30/60/60'} s, {time.monotonic() - t0:.0f} s wall\n")  # fmt: skip
    print("| run | exchanges as quiet within 1 ms | largest difference ms | "
          "clock vs quiet ms | clock vs truth ms | "
          "exchanges lost (none within 20 ms) | samples lost | "
          "max ingest lag s | tracebacks |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\ntargets: 0 exchanges lost, 0 tracebacks")
    print(f"quiet run: {len(quiet['exchanges'])} exchanges, {quiet['samples']} samples; "
          f"samples lost = quiet's stored samples minus the run's, drill 5..{args.drill_s - 5:.0f} s")


if __name__ == "__main__":
    main()
