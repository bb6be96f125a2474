"""Feeding a recording to the live detector in notification-sized blocks."""

from __future__ import annotations

import numpy as np

from batonsense.detect import ExchangeDetector
from batonsense.model import Exchange, Recording


def stream_live(rec: Recording, block_s: float) -> list[Exchange]:
    """Push every sensor's samples in blocks of block_s, polling after each; then flush."""
    return list(live_detector(rec, block_s).exchanges_)


def live_detector(rec: Recording, block_s: float) -> ExchangeDetector:
    """The detector after the recording was streamed in blocks of block_s (polled after
    each, then flushed); its exchanges_ in the order they became final."""
    det = ExchangeDetector(rec.sensors)
    for start in np.arange(rec.start_s, rec.end_s + block_s, block_s):
        for s in rec.streams.values():
            part = s.between(start, start + block_s)
            if len(part):
                det.push(part)
        det.poll()
    det.flush()
    return det
