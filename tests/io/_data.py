"""Small hand-built sensors files and recordings for io and CLI tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from batonsense.model import Hand, Recording, Role, SensorInfo, SensorStream

SENSORS_TOML = """\
[[sensor]]
id = "baton"
role = "baton"

[[sensor]]
id = "w1"
role = "wrist"
athlete = "ANA"
hand = "right"

[[sensor]]
id = "w2"
role = "wrist"
athlete = "BEA"
hand = "left"
"""

SENSORS = (
    SensorInfo("baton", Role.BATON),
    SensorInfo("w1", Role.WRIST, "ANA", Hand.RIGHT),
    SensorInfo("w2", Role.WRIST, "BEA", Hand.LEFT),
)

HEADER = "sensor,t_s,ax,ay,az,gx,gy,gz\n"

# A tiny valid recording: line numbers matter to the tests (header is line 2).
VALID_CSV = (
    "# recorded by a test\n"                                   # 1
    + HEADER                                                   # 2
    + "baton,12.004512,0.1241,9.8012,0.0410,0.00213,-0.01120,0.00534\n"  # 3
    + "w1,12.005000,1.0,2.0,3.0,0.1,0.2,0.3\n"                # 4
    + "# a comment between rows\n"                             # 5
    + "w2,12.005100,1.5,2.5,3.5,0.15,0.25,0.35\n"             # 6
    + "baton,12.009512,0.2,9.7,0.1,0.002,-0.011,0.005\n"      # 7
    + "w1,12.010000,1.1,2.1,3.1,0.11,0.21,0.31\n"             # 8
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write text (UTF-8, as given, no newline translation) and return the path."""
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8"))
    return p


def random_recording(n: int = 200, rate_hz: float = 100.0, seed: int = 0) -> Recording:
    """3 sensors, float32-valued samples, slightly offset clocks, one short gap."""
    rng = np.random.default_rng(seed)
    streams = {}
    for k, s in enumerate(SENSORS):
        t = 10.0 + np.arange(n) / rate_hz + 0.00137 * k
        t = np.delete(t, range(50, 60))  # a gap of lost packets
        acc = rng.normal(0, 20, (len(t), 3)).astype(np.float32).astype(float)
        gyro = rng.normal(0, 5, (len(t), 3)).astype(np.float32).astype(float)
        streams[s.id] = SensorStream(s.id, t, acc, gyro)
    return Recording(SENSORS, streams)
