"""The writer as the live pipeline's raw sink, block consumer and exchange callback.

A virtual drill's notifications go through Pipeline + LiveDetector into the
store; the stored raw notifications replay to the same exchanges, and the
stored blocks rebuild the same Recording as the pipeline's own recorder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from batonsense.pipeline import BlockRecorder, LiveDetector, Pipeline, replay_raw
from batonsense.sources.raw import read_raw
from batonsense.store import SessionWriter, Store

from ..pipeline._drill import DrillRun, stream_drill


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> DrillRun:
    return stream_drill(tmp_path_factory.mktemp("drill"), n_reps=1)


def test_live_session_stored_and_replayed(drill: DrillRun, tmp_path: Path) -> None:
    db_path = tmp_path / "live.db"
    with Store(db_path) as store:
        sid = store.start_session("drill", drill.sensors)
    recorder = BlockRecorder(drill.sensors)
    with SessionWriter(db_path, sid) as writer:
        live = LiveDetector(drill.sensors, on_exchange=writer.add_exchange)
        pipeline = Pipeline(drill.sensors, consumers=[live, recorder, writer], raw_sink=writer)
        pipeline.feed_records(read_raw(drill.raw_path))
        pipeline.flush()
        live.flush()
    with Store(db_path) as store:
        assert list(store.raw_records(sid)) == read_raw(drill.raw_path)
        stored = [x.exchange for x in store.exchanges(session_id=sid)]
        assert stored == live.exchanges and len(stored) >= 1
        assert stored == list(replay_raw(drill.raw_path, drill.sensors).exchanges)
        replayed = LiveDetector(drill.sensors)
        again = Pipeline(drill.sensors, consumers=[replayed])
        again.feed_records(store.raw_records(sid))
        again.flush()
        assert replayed.flush() == stored
        rec, want = store.recording(sid), recorder.recording()
        assert rec.sensors == want.sensors and rec.clock == "host_monotonic"
        for s in want.sensors:
            a, b = rec.streams[s.id], want.streams[s.id]
            assert np.array_equal(a.t_s, b.t_s) and np.array_equal(a.acc_mps2, b.acc_mps2)
            assert (
                np.array_equal(a.gyro_radps, b.gyro_radps) and a.acc_mps2.dtype == b.acc_mps2.dtype
            )
