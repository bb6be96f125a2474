"""Records ↔ rows: exchanges, sample blocks, times of day."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from batonsense.model import Exchange, Hand, Outcome, SensorStream

from ._errors import StoreError

EXCHANGE_COLUMNS = (
    "giver", "receiver", "reach_s", "grab_s", "release_s", "outcome", "giver_hand",
    "receiver_hand", "drop_s", "confidence", "technique", "clock", "extra",
)  # fmt: skip
_FLOATS = ("reach_s", "grab_s", "release_s", "drop_s", "confidence")
_DTYPES = {np.dtype("<f4"): "<f4", np.dtype("<f8"): "<f8"}


def utc_text(when: datetime | None = None) -> str:
    """A timezone-aware time (default now) as fixed-format ISO-8601 UTC text."""
    when = datetime.now(UTC) if when is None else when
    if when.tzinfo is None or when.utcoffset() is None:
        raise StoreError(f"time {when!r} has no timezone; pass an aware datetime")
    try:
        return when.astimezone(UTC).isoformat(timespec="microseconds")
    except OverflowError:  # e.g. 9999-12-31T23:59:59-23:59 is past year 9999 in UTC
        raise StoreError(f"time {when.isoformat()} is outside years 1..9999 in UTC") from None


def parse_utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def exchange_row(ex: Exchange) -> tuple[Any, ...]:
    """The values of EXCHANGE_COLUMNS for ex.  NaN is refused (SQLite would store NULL)."""
    for name in _FLOATS:
        v = getattr(ex, name)
        if v is not None and math.isnan(v):
            raise StoreError(f"exchange {name} is NaN; store None for an unknown time")
    try:
        extra = json.dumps(dict(ex.extra), allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as e:
        raise StoreError(f"exchange extra is not JSON: {e}") from e
    return (
        ex.giver, ex.receiver, _f(ex.reach_s), _f(ex.grab_s), _f(ex.release_s),
        Outcome(ex.outcome).value, _hand(ex.giver_hand), _hand(ex.receiver_hand),
        _f(ex.drop_s), _f(ex.confidence), ex.technique, ex.clock, extra,
    )  # fmt: skip


def row_exchange(row: sqlite3.Row | Mapping[str, Any]) -> Exchange:
    """Inverse of exchange_row (row: a Row or mapping with EXCHANGE_COLUMNS)."""
    return Exchange(
        giver=row["giver"],
        receiver=row["receiver"],
        reach_s=row["reach_s"],
        grab_s=row["grab_s"],
        release_s=row["release_s"],
        outcome=Outcome(row["outcome"]),
        giver_hand=None if row["giver_hand"] is None else Hand(row["giver_hand"]),
        receiver_hand=None if row["receiver_hand"] is None else Hand(row["receiver_hand"]),
        drop_s=row["drop_s"],
        confidence=row["confidence"],
        technique=row["technique"],
        clock=row["clock"],
        extra=json.loads(row["extra"]),
    )


def block_row(block: SensorStream) -> tuple[Any, ...]:
    """(sensor_id, t0_s, n, t_dtype, value_dtype, t_s, acc, gyro blobs), little-endian.

    t_s keeps its own dtype; acc and gyro share one (float32 or float64).
    """
    n = len(block)
    if n == 0:
        raise StoreError(f"sensor {block.sensor_id!r}: empty sample block")
    t_dtype = _dtype(block.sensor_id, "t_s", block.t_s)
    value_dtype = _dtype(block.sensor_id, "acc_mps2", block.acc_mps2)
    if _dtype(block.sensor_id, "gyro_radps", block.gyro_radps) != value_dtype:
        raise StoreError(f"sensor {block.sensor_id!r}: acc and gyro dtypes differ")

    def blob(a: np.ndarray, dtype: str) -> bytes:
        return np.ascontiguousarray(a, dtype=dtype).tobytes()

    return (
        block.sensor_id, float(block.t_s[0]), n, t_dtype, value_dtype,
        blob(block.t_s, t_dtype), blob(block.acc_mps2, value_dtype),
        blob(block.gyro_radps, value_dtype),
    )  # fmt: skip


def row_block(row: sqlite3.Row) -> SensorStream:
    """Inverse of block_row: arrays with the stored dtypes (native order), writable."""
    n, t_dtype, v_dtype = row["n"], np.dtype(row["t_dtype"]), np.dtype(row["value_dtype"])

    def arr(blob: bytes, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
        a = np.frombuffer(blob, dtype=dtype)
        if a.size != int(np.prod(shape)):
            raise StoreError(f"sample block {row['id']}: {a.size} values, expected {shape}")
        return a.astype(dtype.newbyteorder("="), copy=True).reshape(shape)

    return SensorStream(
        row["sensor_id"],
        arr(row["t_s"], t_dtype, (n,)),
        arr(row["acc_mps2"], v_dtype, (n, 3)),
        arr(row["gyro_radps"], v_dtype, (n, 3)),
    )


def _dtype(sensor_id: str, name: str, a: np.ndarray) -> str:
    code = _DTYPES.get(a.dtype.newbyteorder("<"))
    if code is None:
        raise StoreError(f"sensor {sensor_id!r}: {name} is {a.dtype}, not float32/float64")
    return code


def _f(v: float | None) -> float | None:
    return None if v is None else float(v)


def _hand(h: Hand | None) -> str | None:
    return None if h is None else Hand(h).value
