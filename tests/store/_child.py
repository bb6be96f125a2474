"""Child process for the kill -9 test: streams samples and exchanges into a session.

argv: db path, session id.  Writes 3 sensors × 200 Hz in 10-sample blocks on
time.monotonic() (CLOCK_MONOTONIC, the same clock in the parent), one raw
notification per block, and an exchange every 0.75 s (so most commits are the
background ones); prints "ready" once
streaming and "exchange ID" after each exchange is committed.  Runs until killed.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from batonsense.model import Exchange, SensorStream
from batonsense.store import SessionWriter

RATE_HZ, BLOCK = 200.0, 10


def main() -> None:
    writer = SessionWriter(sys.argv[1], int(sys.argv[2]))
    sensors = ("baton", "w1", "w2")
    k = 0
    t0 = time.monotonic()
    next_exchange_s = t0 + 0.75
    print("ready", flush=True)
    while True:
        t = t0 + (k * BLOCK + np.arange(BLOCK)) / RATE_HZ
        time.sleep(max(0.0, t[-1] - time.monotonic()))
        for i, sid in enumerate(sensors):
            values = np.full((BLOCK, 3), k + i, dtype=np.float32)
            writer(SensorStream(sid, t, values, values))
            writer.write(sid, float(t[-1]), k.to_bytes(4, "little") + bytes([i]))
        if t[-1] >= next_exchange_s:
            next_exchange_s += 0.75
            ex = Exchange("ANA", "BEA", float(t[0]), float(t[-1]), float(t[-1]) + 0.1)
            print(f"exchange {writer.add_exchange(ex)}", flush=True)
        k += 1


if __name__ == "__main__":
    main()
