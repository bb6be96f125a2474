"""Helpers for the clock-sync tests: run a simulated stream through a mapper."""

from __future__ import annotations

import numpy as np
import pytest

from batonsense.sync import ClockMapper
from batonsense.sync.simulate import Stream


def run_live(
    stream: Stream, mapper: ClockMapper, *, queued: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Feed the received packets in receive order; map each packet's samples as it arrives.

    queued: fit on the packets' queue stamps (protocol v2) instead of the last sample.

    Returns (receive time of each mapped sample, mapped − true host time), in s.
    """
    rx, err = [], []
    for p in stream.received:
        stamp = float(stream.queued_raw_s[p]) if queued else None
        mapped = mapper.map_block(
            stream.sample_raw_s[p], stream.receive_s[p], stamp,
            event_stamp=queued and stream.event_stamped,
        )
        err.append(mapped - stream.true_host_s[p])
        rx.append(np.full(mapped.shape, stream.receive_s[p]))
    return np.concatenate(rx), np.concatenate(err)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)
