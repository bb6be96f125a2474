"""How soon after the release the live detector reports an exchange (data time).

The live detector (`ExchangeDetector.push/poll`) is fed the simulated recording
in notification-sized blocks; for every exchange, the latency is the data time
of the block whose poll() returned it minus the release time.  This is the
detector's own share of the release → screen latency (the live-service issue
targets p95 ≤ 300 ms end to end); radio, clock mapping and HTTP come on top.

    .venv/bin/python benchmarks/live_latency.py [--block-ms 50]
"""

from __future__ import annotations

import argparse

import numpy as np

from batonsense.detect import ExchangeDetector
from batonsense.sim import simulate

CASES = [("drill_200hz", 1), ("drill_100hz", 101), ("drill_400hz", 401), ("relay_4x100", 601),
         ("lossy", 501)]


def latencies_ms(scenario: str, seed: int, block_s: float) -> list[float]:
    rec = simulate(scenario, seed=seed).recording
    det = ExchangeDetector(rec.sensors)
    out = []
    for start in np.arange(rec.start_s, rec.end_s + block_s, block_s):
        for s in rec.streams.values():
            part = s.between(start, start + block_s)
            if len(part):
                det.push(part)
        for e in det.poll():
            if e.release_s is not None:
                out.append((start + block_s - e.release_s) * 1000.0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--block-ms", type=float, default=50.0)
    args = ap.parse_args()
    allv: list[float] = []
    for sc, seed in CASES:
        v = latencies_ms(sc, seed, args.block_ms / 1000.0)
        allv += v
        print(f"{sc:12s} seed {seed:4d}: n={len(v):2d}  median {np.median(v):5.0f} ms  "
              f"max {np.max(v):5.0f} ms")
    a = np.array(allv)
    print(f"all: n={a.size}  median {np.median(a):.0f} ms  p95 {np.percentile(a, 95):.0f} ms  "
          f"max {a.max():.0f} ms  (detector share; live-service target p95 ≤ 300 ms end to end)")


if __name__ == "__main__":
    main()
