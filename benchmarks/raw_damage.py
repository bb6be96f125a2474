"""Damaged raw files and BLE stream oddities, replayed: what survives.

Records the demo drill once with virtual sensors (`batonsense record --virtual
--fast --seed S`, ~110 s of drill, three sensors at 200 Hz), then replays
(`pipeline.replay_raw`, the same code as `batonsense replay`):

- the intact file (the reference exchanges and per-sensor stats);
- copies with K random bit flips anywhere after the header (K = 1, 10, 100,
  1000; one seeded draw each): records read, damaged spans reported, and
  whether the exchanges are the reference's (same giver and receiver, grab
  and release within 1 ms);
- one notification of each sensor delivered twice in the middle: lost %,
  reboots, duplicates, samples exported;
- two neighbouring notifications of each sensor swapped: lost %, reboots,
  reordered, samples out of order;
- 1 MB of random bytes after a valid header: the reader's verdict and time.

    .venv/bin/python benchmarks/raw_damage.py [--seed 1] [--keep DIR]

A report, not a test: prints a table and exits 0 (`--strict`: exit 1 if any
damaged copy loses more records than it has flips, or changes an exchange).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from batonsense.errors import InputError
from batonsense.io import read_sensors
from batonsense.model import Exchange
from batonsense.pipeline import ReplayResult, read_aliases, replay_raw
from batonsense.sources.raw import MAGIC, RawFileSink, RawReader, RawRecord, read_raw

TOLERANCE_S = 1e-3


def record_demo(out: Path, seed: int) -> tuple[Path, Path]:
    raw = out / "demo.raw"
    cmd = [
        str(Path(sys.executable).parent / "batonsense"),
        "record",
        "--virtual",
        "--fast",
        "--seed",
        str(seed),
        "--out",
        str(raw),
        "--no-status",
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    return raw, out / "demo.sensors.toml"


def replay(raw: Path, sensors: Path, *, record: bool = False) -> ReplayResult:
    return replay_raw(raw, read_sensors(sensors), aliases=read_aliases(sensors), record=record)


def same_exchanges(a: tuple[Exchange, ...], b: tuple[Exchange, ...]) -> bool:
    def key(x: Exchange) -> tuple[float, float]:
        return (x.grab_s or 0.0, x.release_s or 0.0)

    return len(a) == len(b) and all(
        x.giver == y.giver
        and x.receiver == y.receiver
        and all(abs(p - q) <= TOLERANCE_S for p, q in zip(key(x), key(y)))
        for x, y in zip(a, b)
    )


def write(path: Path, records: list[RawRecord]) -> Path:
    path.unlink(missing_ok=True)
    with RawFileSink(path) as sink:
        for r in records:
            sink.write(r.sensor_id, r.host_s, r.payload)
    return path


def flips(raw: Path, sensors: Path, ref: ReplayResult, n_records: int, seed: int) -> bool:
    ok = True
    print(f"\n{'flips':>6} {'records read':>14} {'damaged spans':>14} {'exchanges same':>15}")
    for k in (1, 10, 100, 1000):
        rng = random.Random(seed * 1000 + k)
        data = bytearray(raw.read_bytes())
        for _ in range(k):
            data[rng.randrange(len(MAGIC), len(data))] ^= 1 << rng.randrange(8)
        path = raw.with_name(f"flip{k}.raw")
        path.write_bytes(bytes(data))
        got = replay(path, sensors)
        same = same_exchanges(got.exchanges, ref.exchanges)
        ok &= got.records >= n_records - k and same
        print(f"{k:>6} {got.records:>8}/{n_records} {len(got.damaged):>14} {same!s:>15}")
    return ok


def oddities(raw: Path, sensors: Path, ref: ReplayResult, records: list[RawRecord]) -> None:
    def next_of(sid: str, start: int) -> int:
        return next(i for i in range(start, len(records)) if records[i].sensor_id == sid)

    mid = len(records) // 2
    picks = sorted(next_of(sid, mid) for sid in ref.stats)
    dup = list(records)
    for k in reversed(picks):
        dup.insert(k + 1, records[k])
    swapped = list(records)
    for k in picks:
        j = next_of(records[k].sensor_id, k + 1)
        swapped[k], swapped[j] = swapped[j], swapped[k]
    runs = {
        "intact": replay(raw, sensors, record=True),
        "1 duplicate each": replay(write(raw.with_name("dup.raw"), dup), sensors, record=True),
        "1 swap each": replay(write(raw.with_name("swap.raw"), swapped), sensors, record=True),
    }
    print(
        f"\n{'file':<18} {'sensor':<7} {'lost %':>7} {'reboots':>8} {'dups':>5} "
        f"{'reord':>6} {'samples':>8} {'t increasing':>13} {'exchanges same':>15}"
    )
    for name, res in runs.items():
        same = same_exchanges(res.exchanges, ref.exchanges)
        for sid, st in res.stats.items():
            assert res.recording is not None
            t = res.recording.streams[sid].t_s
            print(
                f"{name:<18} {sid:<7} {st.lost_pct:>7.2f} {st.reboots:>8} {st.duplicates:>5} "
                f"{st.reordered:>6} {len(t):>8} {bool(np.all(np.diff(t) > 0))!s:>13} "
                f"{same!s:>15}"
            )


def garbage(out: Path) -> None:
    path = out / "garbage.raw"
    path.write_bytes(MAGIC + random.Random(1).randbytes(1_000_000))
    t = time.perf_counter()
    try:
        list(RawReader(path))
        verdict = "read (unexpected)"
    except InputError as e:
        verdict = f"InputError: {str(e).split(': ', 1)[1][:60]}…"
    print(f"\n1 MB of garbage after the header: {verdict} in {time.perf_counter() - t:.2f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, default=None, help="keep the files in this directory")
    ap.add_argument("--strict", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        raw, sensors = record_demo(out, args.seed)
        records = read_raw(raw)
        ref = replay(raw, sensors)
        print(
            f"demo drill, seed {args.seed}: {len(records)} records, {raw.stat().st_size} bytes, "
            f"{len(ref.exchanges)} exchanges"
        )
        ok = flips(raw, sensors, ref, len(records), args.seed)
        oddities(raw, sensors, ref, records)
        garbage(out)
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
