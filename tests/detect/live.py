"""Feeding a recording to the live detector in notification-sized blocks."""

from __future__ import annotations

import numpy as np

from batonsense.detect import ExchangeDetector
from batonsense.model import Exchange, Recording


def stream_live(rec: Recording, block_s: float) -> list[Exchange]:
    """Push every sensor's samples in blocks of block_s, polling after each; then flush."""
    det = ExchangeDetector(rec.sensors)
    found: list[Exchange] = []
    for start in np.arange(rec.start_s, rec.end_s + block_s, block_s):
        for s in rec.streams.values():
            part = s.between(start, start + block_s)
            if len(part):
                det.push(part)
        found += det.poll()
    return found + det.flush()
