"""A small raw session of hand-made v1 packets (three still sensors), for replay tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from batonsense.protocols import batonsense_v1 as v1
from batonsense.sources.raw import RawFileSink, RawRecord

PERIOD_US = 5000  # 200 Hz
N = 4  # samples per packet
ADDRESSES = {"baton": "C0:00:00:00:00:01", "w1": "C0:00:00:00:00:02", "w2": "C0:00:00:00:00:03"}

SENSORS_TOML = "".join(
    f'[[sensor]]\nid = "{sid}"\nrole = "{"baton" if sid == "baton" else "wrist"}"\n'
    + (f'athlete = "{sid.upper()}"\nhand = "right"\n' if sid != "baton" else "")
    + f'address = "{address}"\n\n'
    for sid, address in ADDRESSES.items()
)


def packet(seq: int, t0_us: int, flags: int = 0) -> bytes:
    """One v1 packet of N still samples (z up) starting at t0_us."""
    acc = np.tile([0.0, 0.0, 9.80665], (N, 1))
    return v1.encode_packet(
        seq=seq,
        t0_us=t0_us,
        period_us=PERIOD_US,
        acc_mps2=acc,
        gyro_radps=np.zeros((N, 3)),
        flags=flags,
    )


def session_records(n_packets: int = 200, key: str = "id") -> list[RawRecord]:
    """n_packets per sensor (20 ms each), interleaved in receive order.

    key: "id" (records carry sensor ids) or "address" (their BLE address)."""
    out = []
    for k in range(n_packets):
        for i, sid in enumerate(ADDRESSES):
            t0_us = k * N * PERIOD_US + 1000 * i
            host_s = 50.0 + (t0_us + N * PERIOD_US) * 1e-6 + 0.0003 * i
            flags = v1.Flag.BOOT if k == 0 else 0
            name = sid if key == "id" else ADDRESSES[sid]
            out.append(RawRecord(name, host_s, packet(k, t0_us, flags)))
    return out


def write_session(tmp: Path, records: list[RawRecord]) -> tuple[Path, Path]:
    """(raw file, sensors file) in tmp."""
    raw, sensors = tmp / "s.raw", tmp / "sensors.toml"
    raw.unlink(missing_ok=True)
    with RawFileSink(raw) as sink:
        for r in records:
            sink.write(r.sensor_id, r.host_s, r.payload)
    sensors.write_text(SENSORS_TOML, encoding="utf-8")
    return raw, sensors
