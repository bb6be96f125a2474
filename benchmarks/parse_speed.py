"""Parse speed of the recording CSV reader against its target.

Target: a 30-minute recording of 3 sensors at 200 Hz (1.08 M rows, ~70 MB)
parses in <= 1.5 s.  Generates two synthetic files in a temp dir: one in the
compact style of the contract example (4-5 decimals, ~70 MB) and one written
by write_recording_csv (9 significant digits, ~90 MB), and times the parse
(best and median of --repeat runs) plus the exact fallback pass and writing.

Memory target: reading grows the process by at most RSS_TARGET_X times the
recording's arrays (t, acc, gyro of every sensor, float64).  Measured in a
fresh child process per file: peak resident set (VmHWM) minus the resident set
after the imports; for short recordings a fixed ~10 MiB (parser buffers,
first-use allocations) dominates the ratio.  (Not ru_maxrss: Linux carries it
over across exec, so a child started by a big parent would report the
parent's peak.)

    .venv/bin/python benchmarks/parse_speed.py [--repeat 5] [--minutes 30]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from batonsense.io import read_recording_csv, write_recording_csv
from batonsense.io.recording_csv import COLUMNS, _slow_read, read_header
from batonsense.model import Hand, Recording, Role, SensorInfo, SensorStream

TARGET_S = 1.5
RSS_TARGET_X = 2.0
RATE_HZ = 200.0
SENSORS = (
    SensorInfo("baton", Role.BATON),
    SensorInfo("w1", Role.WRIST, "ANA", Hand.RIGHT),
    SensorInfo("w2", Role.WRIST, "BEA", Hand.LEFT),
)


def synthetic_recording(minutes: float, seed: int = 0) -> Recording:
    """3 sensors at 200 Hz with slightly different phases; float32-like noise values."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * RATE_HZ)
    streams = {}
    for k, s in enumerate(SENSORS):
        t = 12.0 + np.arange(n) / RATE_HZ + 0.0013 * k
        acc = (rng.normal(0, 5, (n, 3)) + [0, 9.81, 0]).astype(np.float32).astype(float)
        gyro = rng.normal(0, 2, (n, 3)).astype(np.float32).astype(float)
        streams[s.id] = SensorStream(s.id, t, acc, gyro)
    return Recording(SENSORS, streams)


def write_compact(path: Path, rec: Recording) -> None:
    """The contract example's style: t_s 6 decimals, acc 4, gyro 5 (~65 bytes a row)."""
    rows = []
    for s in rec.streams.values():
        rows += [
            (t, f"{s.sensor_id},{t:.6f},{a[0]:.4f},{a[1]:.4f},{a[2]:.4f},"
                f"{g[0]:.5f},{g[1]:.5f},{g[2]:.5f}\n")
            for t, a, g in zip(s.t_s.tolist(), s.acc_mps2.tolist(), s.gyro_radps.tolist())
        ]
    rows.sort(key=lambda r: r[0])
    with open(path, "w") as f:
        f.write("# synthetic, compact style\n" + ",".join(COLUMNS) + "\n")
        f.writelines(r[1] for r in rows)


def time_parse(path: Path, repeat: int) -> tuple[float, float, float]:
    """(best s, median s, peak traced MB of one extra run)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        read_recording_csv(path, SENSORS)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    rec = read_recording_csv(path, SENSORS)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    del rec
    return min(times), statistics.median(times), peak


def _status_kb(key: str) -> int | None:
    """A VmRSS/VmHWM figure of this process in kB (None without /proc)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def measure_rss(path: Path) -> dict:
    """Child process: read once; resident memory before and at peak, array bytes."""
    rss0 = _status_kb("VmRSS")
    t0 = time.perf_counter()
    rec = read_recording_csv(path, SENSORS)
    read_s = time.perf_counter() - t0
    hwm = _status_kb("VmHWM")
    if rss0 is None or hwm is None:  # no /proc: ru_maxrss (may include a parent's peak)
        rss0, hwm = 0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    arrays = sum(s.t_s.nbytes + s.acc_mps2.nbytes + s.gyro_radps.nbytes
                 for s in rec.streams.values())
    return {"rss_before_kb": rss0, "peak_kb": hwm, "array_bytes": arrays, "read_s": read_s}


def rss_growth(path: Path) -> tuple[float, float]:
    """(peak RSS growth in MiB, as a multiple of the arrays) of one read in a fresh process."""
    r = subprocess.run([sys.executable, __file__, "--measure-rss", str(path)],
                       capture_output=True, text=True, check=True)
    m = json.loads(r.stdout.strip().splitlines()[-1])
    growth = (m["peak_kb"] - m["rss_before_kb"]) * 1024
    return growth / 2**20, growth / m["array_bytes"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--measure-rss", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure_rss:
        print(json.dumps(measure_rss(args.measure_rss)))
        return
    rec = synthetic_recording(args.minutes)
    n_rows = sum(len(s) for s in rec.streams.values())
    arrays_mb = sum(s.t_s.nbytes + s.acc_mps2.nbytes + s.gyro_radps.nbytes
                    for s in rec.streams.values()) / 1e6
    print(f"{n_rows:,} rows; the arrays alone take {arrays_mb:.0f} MB "
          f"({arrays_mb / 1.048576:.0f} MiB); targets: parse <= {TARGET_S} s, "
          f"peak RSS growth <= {RSS_TARGET_X:g}x the arrays")
    with tempfile.TemporaryDirectory() as tmp:
        compact, full = Path(tmp) / "compact.csv", Path(tmp) / "full.csv"
        write_compact(compact, rec)
        t0 = time.perf_counter()
        write_recording_csv(full, rec)
        print(f"write_recording_csv: {time.perf_counter() - t0:.2f} s")
        for label, path in (("compact (contract example style)", compact),
                            ("written by write_recording_csv", full)):
            best, med, peak = time_parse(path, args.repeat)
            ok = "OK" if med <= TARGET_S else "TOO SLOW"
            print(f"{label}: {path.stat().st_size / 1e6:.0f} MB, parse best {best:.2f} s, "
                  f"median {med:.2f} s [{ok}], peak traced memory {peak:.0f} MB")
            mib, x = rss_growth(path)
            mem_ok = "OK" if x <= RSS_TARGET_X else "TOO MUCH"
            print(f"    peak RSS growth (fresh process) {mib:.0f} MiB = {x:.2f}x the arrays "
                  f"[{mem_ok}, target <= {RSS_TARGET_X:g}x]")
        t0 = time.perf_counter()
        _slow_read(full, [s.id for s in SENSORS], full.stat().st_size, read_header(full), None)
        print(f"exact fallback pass (only on bad or unusual files): "
              f"{time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
