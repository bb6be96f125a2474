"""A simulated drill streamed by virtual sensors through bleak → Ingestor → Pipeline.

Runs on `VirtualTimeLoop` (event-driven virtual time): ~75 s of drill in a
few seconds of CPU, deterministically.  The scene maps simulator time t_sim
to host time `origin_host_s + t_sim`, so the truth's times map the same way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from batonsense.model import Exchange, SensorInfo
from batonsense.pipeline import LiveDetector, Pipeline, SensorStats
from batonsense.pipeline.session import VIRTUAL_LINKS
from batonsense.sim import SimResult, simulate
from batonsense.sources.ble.bumble_backend import bumble_backend
from batonsense.sources.ble.ingest import Ingestor, SensorLink
from batonsense.sources.raw import RawFileSink
from batonsense.sources.virtual import SensorClock, VirtualRadio, VirtualSensor, VirtualTimeLoop

#: per sensor: clock offset (s), drift (ppm), connection interval (s), loss
LINKS = VIRTUAL_LINKS


@dataclass
class DrillRun:
    sim: SimResult
    sensors: tuple[SensorInfo, ...]
    origin_host_s: float
    exchanges: list[Exchange]
    stats: dict[str, SensorStats]
    links: dict[str, SensorLink]
    virtual: dict[str, VirtualSensor]
    raw_path: Path
    sensors_path: Path
    duration_s: float

    def truth_on_host(self) -> list[Exchange]:
        """The simulator's exchanges with times moved to the host clock."""
        return [e.shifted(self.origin_host_s) for e in self.sim.truth]


def stream_drill(tmp: Path, seed: int = 3, n_reps: int = 2) -> DrillRun:
    """Stream the drill live; the raw file is tmp/session.raw."""
    from batonsense.io import write_sensors_toml

    sim = simulate("drill_200hz", seed=seed, n_reps=n_reps)
    sensors = sim.recording.sensors
    sensors_path = tmp / "sensors.toml"
    write_sensors_toml(sensors_path, sensors)
    raw_path = tmp / "session.raw"
    box: dict[str, object] = {}

    async def body() -> None:
        loop = asyncio.get_running_loop()
        now = loop.time
        radio = VirtualRadio()
        virtual = {}
        for i, info in enumerate(sensors):
            offset_s, drift_ppm, interval_s, loss = LINKS[i % len(LINKS)]
            virtual[info.id] = VirtualSensor(
                radio,
                sim.recording.streams[info.id],
                clock=SensorClock(offset_s, drift_ppm),
                connection_interval_s=interval_s,
                max_packets_per_event=4,
                loss=loss,
                latency_jitter_s=0.002,
                seed=seed * 10 + i,
                now=now,
            )
        origin = now() + 1.0
        for info in sensors:
            stream = sim.recording.streams[info.id]
            await virtual[info.id].start(origin_host_s=origin + float(stream.t_s[0]))
        aliases = {v.address: sid for sid, v in virtual.items()}
        live = LiveDetector(sensors)
        with RawFileSink(raw_path) as raw:
            pipeline = Pipeline(sensors, aliases=aliases, consumers=[live], raw_sink=raw)
            async with Ingestor(
                backend=bumble_backend(radio), on_raw=pipeline.on_notification, now=now
            ) as ingest:
                await ingest.connect_all(await ingest.scan(timeout_s=0.3))
                await asyncio.gather(*(v.finished.wait() for v in virtual.values()))
                await asyncio.sleep(0.1)
                await ingest.drain()
            pipeline.flush()
        box.update(
            origin=origin,
            exchanges=live.flush(),
            stats=pipeline.stats,
            links={aliases[a]: link for a, link in ingest.links.items()},
            virtual=virtual,
            duration=now() - origin,
        )

    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        runner.run(asyncio.wait_for(body(), 600.0))
    return DrillRun(
        sim,
        sensors,
        box["origin"],
        box["exchanges"],
        box["stats"],
        box["links"],  # type: ignore[arg-type]
        box["virtual"],
        raw_path,
        sensors_path,
        box["duration"],  # type: ignore[arg-type]
    )
