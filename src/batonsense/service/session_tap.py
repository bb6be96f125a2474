"""SessionTap: the pipeline's raw and block sink, in front of whichever session is
being written now."""

from __future__ import annotations

import threading

from batonsense.model import SensorStream
from batonsense.store import SessionWriter


class SessionTap:
    """Raw sink and block sink in front of whichever SessionWriter is current.

    `writer` is None while no session runs (what arrives is not stored); hold
    `lock` to change it, so nothing arrives between a flush and the switch."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writer: SessionWriter | None = None

    def write(self, sensor_id: str, host_s: float, payload: bytes) -> None:
        with self.lock:
            if self.writer is not None:
                self.writer.write(sensor_id, host_s, payload)

    def __call__(self, block: SensorStream) -> None:
        with self.lock:
            if self.writer is not None:
                self.writer(block)
