"""Shared fixtures: a fresh database file and a small sensor set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from batonsense.model import Hand, Role, SensorInfo, SensorStream
from batonsense.store import Store, StoredSensor

SENSORS = (
    StoredSensor(SensorInfo("baton", Role.BATON), address="AA:00:00:00:00:01"),
    StoredSensor(SensorInfo("w1", Role.WRIST, "ANA", Hand.RIGHT), name="BSNS-w1"),
    StoredSensor(SensorInfo("w2", Role.WRIST, "BEA", Hand.LEFT)),
)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "batonsense.db"


@pytest.fixture
def store(db_path: Path):  # type: ignore[no-untyped-def]
    with Store(db_path) as s:
        yield s


def block(sensor_id: str, t0_s: float, n: int, dtype: str = "<f4", seed: int = 0) -> SensorStream:
    """n samples at 200 Hz from t0_s with random values of dtype."""
    rng = np.random.default_rng(seed)
    t = t0_s + np.arange(n) / 200.0
    return SensorStream(
        sensor_id,
        t,
        rng.normal(0, 9.8, (n, 3)).astype(dtype),
        rng.normal(0, 3.0, (n, 3)).astype(dtype),
    )
