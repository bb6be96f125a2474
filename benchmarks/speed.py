"""Speed and memory of the real pipeline: read_recording_csv + detect_exchanges.

A 30-minute recording at 200 Hz (default: simulate("carry", duration_s=1800,
rate_hz=200); if the simulator would take too long for that, a shorter
simulation tiled with shifted times) is written with write_sensors_toml +
write_recording_csv to a temp dir.  Then a fresh child process, on one core
(OMP/OPENBLAS/MKL threads = 1 before numpy is imported, CPU affinity pinned to
one CPU where the OS allows), times reading the CSV plus detecting the
exchanges (best of --repeat runs), and a second child measures peak memory of
the same work with tracemalloc (its overhead would distort the timing).

Targets:
  * speed: >= 300x real time (30 min of recording in <= 6 s), one core;
  * memory: the work does not grow beyond the recording itself: tracemalloc
    peak <= --mem-factor (default 3) x the recording's arrays (t, acc, gyro of
    every sensor, float64), and the peak RSS growth (VmHWM over the post-import
    RSS, which also counts the allocator's and pandas' overheads) within the same
    factor.

    .venv/bin/python benchmarks/speed.py [--minutes 30] [--rate 200] [--scenario carry]
                                         [--repeat 3] [--json PATH] [--strict]

Exit code 0 (a report); with --strict, 1 if a target is missed.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
           "VECLIB_MAXIMUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

TARGET_X_REALTIME = 300.0


def _pin_one_core() -> str:
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})
        return f"cpu {cpus[-1]}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity)"


def _rss_kb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _hwm_kb() -> int:
    """Peak resident set of this process (VmHWM), in kB.

    Not ru_maxrss: Linux carries a parent's ru_maxrss over into a child started
    with fork+exec, so a child would report the simulating parent's peak.
    VmHWM starts afresh at exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(directory: Path, mode: str) -> dict:
    """Child process: read + detect once; 'time' or 'mem' (tracemalloc) mode."""
    import tracemalloc

    pinned = _pin_one_core()
    import numpy as np  # noqa: F401  (imports are not part of the measurement)

    from batonsense.detect import detect_exchanges
    from batonsense.io import read_recording_csv, read_sensors

    sensors = read_sensors(directory / "sensors.toml")
    rss0 = _rss_kb()
    if mode == "mem":
        tracemalloc.start()
    t0 = time.perf_counter()
    rec = read_recording_csv(directory / "recording.csv", sensors)
    t1 = time.perf_counter()
    maxrss_read = _hwm_kb()
    found = detect_exchanges(rec)
    t2 = time.perf_counter()
    out = {
        "pinned": pinned,
        "read_s": t1 - t0,
        "detect_s": t2 - t1,
        "total_s": t2 - t0,
        "n_exchanges": len(found),
        "rss_after_import_kb": rss0,
        "ru_maxrss_after_read_kb": maxrss_read,
        "ru_maxrss_kb": _hwm_kb(),
        "array_bytes": sum(
            s.t_s.nbytes + s.acc_mps2.nbytes + s.gyro_radps.nbytes for s in rec.streams.values()
        ),
    }
    if mode == "mem":
        out["tracemalloc_peak_bytes"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return out


def _child(directory: Path, mode: str) -> dict:
    env = dict(os.environ)
    r = subprocess.run(
        [sys.executable, __file__, "--measure", str(directory), "--mode", mode],
        env=env, capture_output=True, text=True, check=False,
    )
    if r.returncode != 0:
        raise RuntimeError(f"measuring child failed ({r.returncode}):\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def build_recording(scenario: str, duration_s: float, rate_hz: float, budget_s: float):  # noqa: ANN201
    """simulate() the whole duration if it fits the time budget, else tile a shorter run."""
    import numpy as np

    from batonsense.model import Recording, SensorStream
    from batonsense.sim import simulate

    probe_s = min(60.0, duration_s)
    t0 = time.perf_counter()
    try:
        probe = simulate(scenario, seed=0, duration_s=probe_s, rate_hz=rate_hz).recording
        how = f"duration_s={probe_s:g}"
    except TypeError:  # an exchange scenario: sized by its reps (~50 s each), tiled
        probe = simulate(scenario, seed=0, n_reps=2, rate_hz=rate_hz).recording
        probe_s = probe.end_s - probe.start_s
        how, budget_s = "n_reps=2", -1.0
    per_s = (time.perf_counter() - t0) / probe_s
    if per_s * duration_s <= budget_s:
        t0 = time.perf_counter()
        rec = simulate(scenario, seed=0, duration_s=duration_s, rate_hz=rate_hz).recording
        return rec, f"simulate({scenario!r}, duration_s={duration_s:g}, rate_hz={rate_hz:g}) " \
                    f"in {time.perf_counter() - t0:.1f} s"
    # tile the probe with shifted times
    span = probe.end_s - probe.start_s + 1.0 / rate_hz
    k = int(np.ceil(duration_s / span))
    streams = {}
    for sid, s in probe.streams.items():
        t = np.concatenate([s.t_s + i * span for i in range(k)])
        keep = t < probe.start_s + duration_s
        streams[sid] = SensorStream(
            sid, t[keep],
            np.concatenate([s.acc_mps2] * k)[keep],
            np.concatenate([s.gyro_radps] * k)[keep],
        )
    rec = Recording(probe.sensors, streams, probe.clock)
    why = ("an exchange scenario is sized by reps, not duration" if budget_s < 0 else
           f"full simulation projected at {per_s * duration_s:.0f} s > budget {budget_s:g} s")
    return rec, f"{k} tiles of simulate({scenario!r}, {how}, rate_hz={rate_hz:g}) ({why})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--scenario", default="carry")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sim-budget-s", type=float, default=120.0,
                    help="simulate the whole duration only if projected under this; else tile")
    ap.add_argument("--mem-factor", type=float, default=3.0)
    ap.add_argument("--json", type=Path, metavar="PATH")
    ap.add_argument("--strict", action="store_true")
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--mode", choices=("time", "mem"), default="time", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.measure:
        print(json.dumps(measure(args.measure, args.mode)))
        return 0

    from batonsense.io import write_recording_csv, write_sensors_toml

    duration = args.minutes * 60.0
    with tempfile.TemporaryDirectory(prefix="batonsense-speed-") as td:
        d = Path(td)
        t0 = time.perf_counter()
        rec, how = build_recording(args.scenario, duration, args.rate, args.sim_budget_s)
        print(f"recording: {how}")
        print(f"  {len(rec.sensors)} sensors ({', '.join(s.id for s in rec.sensors)}), "
              f"{rec.end_s - rec.start_s:.0f} s, "
              f"{sum(len(s) for s in rec.streams.values()):,} samples"
              + ("" if len(rec.sensors) == 3 else "  [note: the target assumes 3 sensors]"))
        write_sensors_toml(d / "sensors.toml", rec.sensors)
        write_recording_csv(d / "recording.csv", rec)
        real_s = rec.end_s - rec.start_s
        del rec
        size = (d / "recording.csv").stat().st_size
        print(f"  CSV {size / 1e6:.0f} MB written, {time.perf_counter() - t0:.1f} s to prepare")

        runs = [_child(d, "time") for _ in range(max(1, args.repeat))]
        mem = _child(d, "mem")

    best = min(runs, key=lambda r: r["total_s"])
    med = statistics.median(r["total_s"] for r in runs)
    x_rt = real_s / best["total_s"]
    arrays = best["array_bytes"]
    peak = mem["tracemalloc_peak_bytes"]
    rss_growth = (best["ru_maxrss_kb"] - best["rss_after_import_kb"]) * 1024
    speed_ok = x_rt >= TARGET_X_REALTIME
    mem_ok = peak <= args.mem_factor * arrays

    print(f"one core ({best['pinned']}), best of {len(runs)}:")
    print(f"  read_recording_csv  {best['read_s']:7.2f} s")
    print(f"  detect_exchanges    {best['detect_s']:7.2f} s   ({best['n_exchanges']} exchanges)")
    print(f"  total               {best['total_s']:7.2f} s   (median {med:.2f} s)")
    print(f"  {x_rt:,.0f}× real time   target ≥ {TARGET_X_REALTIME:.0f}×   "
          f"{'PASS' if speed_ok else 'FAIL'}")
    print("memory:")
    print(f"  recording arrays    {arrays / 2**20:7.1f} MiB")
    print(f"  tracemalloc peak    {peak / 2**20:7.1f} MiB   = {peak / arrays:.2f}× arrays   "
          f"target ≤ {args.mem_factor:g}×   {'PASS' if mem_ok else 'FAIL'}")
    rss_read = (best["ru_maxrss_after_read_kb"] - best["rss_after_import_kb"]) * 1024
    rss_ok = rss_growth <= args.mem_factor * arrays
    print(f"  peak RSS growth     {rss_growth / 2**20:7.1f} MiB   = {rss_growth / arrays:.2f}× arrays "
          f"(over {best['rss_after_import_kb'] / 1024:.0f} MiB after imports; "
          f"{rss_read / 2**20:.0f} MiB of it reached while reading)   "
          f"target ≤ {args.mem_factor:g}×   {'PASS' if rss_ok else 'FAIL'}")
    print("  (tracemalloc sees Python and numpy allocations, not the CSV parser's C buffers;")
    print("   the peak RSS (VmHWM) sees everything, including freed-but-kept allocator pages)")
    mem_ok = mem_ok and rss_ok

    if args.json:
        args.json.write_text(json.dumps({
            "recording": how, "real_s": real_s, "csv_bytes": size, "runs": runs, "mem": mem,
            "x_realtime": x_rt, "speed_pass": speed_ok, "mem_ratio": peak / arrays,
            "rss_growth_ratio": rss_growth / arrays, "mem_pass": mem_ok,
        }, indent=2) + "\n")
        print(f"figures saved to {args.json}")
    return 1 if args.strict and not (speed_ok and mem_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
