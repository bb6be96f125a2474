"""Virtual sensors that run drills on their own, forever (`batonsense demo`).

    drill = await start_endless_drill(radio, sensors, targets, now=loop.time, seed=1)
    session = RecordSession(sensors, drill.targets, sink, backend=bumble_backend(radio),
                            now=loop.time)
    ...                                   # drill.truth_on_host(): exchanges played so far
    await drill.stop()

The drill is `batonsense.sim.live.LiveDrill` (four athletes in turn, a rep
every ~20 s, a long reach 1 in 5, a drop 1 in 8).  Its segments (one rep,
~20 s of samples, ~0.5 s of CPU each) are simulated ahead of playback and
appended to each open-ended `VirtualSensor` (`extend`), so every sensor
streams one continuous stream: sample times on one grid, seq numbers and
the sensor clock continuing.  A segment is simulated as soon as less than
`ahead_s` of samples is left to play; played samples are dropped, so
memory stays at about two segments per sensor.

Simulation is CPU-heavy, so on a normal event loop it runs in a worker
thread (the loop only appends the finished arrays).  Under
`VirtualTimeLoop` it runs on the loop itself: computing costs no virtual
time there, so virtual time never runs past the samples simulated, and a
run is deterministic.

Host clock: global drill time t (s) plays at host time origin_host_s + t
(the virtual sensors' samples and the truth alike).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from batonsense.model import Exchange, SensorInfo
from batonsense.pipeline.session import VIRTUAL_LINKS, Target, map_simulated
from batonsense.sim.live import LiveDrill, LiveSegment
from batonsense.sources.virtual._packets import SensorClock
from batonsense.sources.virtual.clock import VirtualTimeLoop
from batonsense.sources.virtual.radio import VirtualRadio
from batonsense.sources.virtual.sensor import VirtualSensor

TRUTH_KEPT = 10_000  # exchanges kept for truth_on_host (~55 h of drill)
PACKET_LOG = 2_000  # packet records kept per virtual sensor


@dataclass(frozen=True, slots=True)
class SegmentLog:
    """One simulated segment: index, drill time span [start_s, end_s) (s),
    CPU (wall) time it took to simulate (s), rep kind."""

    index: int
    start_s: float
    end_s: float
    simulate_s: float
    kind: str


class EndlessDrill:
    """Virtual sensors playing `LiveDrill` forever (see the module docstring).

    sensors: configured sensor id → its `VirtualSensor`; targets: to find
    them (`RecordSession`); segments: the last segments simulated
    (`SegmentLog`, bounded); origin_host_s: host time of drill time 0.
    """

    def __init__(
        self,
        live: LiveDrill,
        sensors: dict[str, VirtualSensor],
        sim_ids: dict[str, str],
        targets: list[Target],
        *,
        now: Callable[[], float],
        ahead_s: float,
        background: bool,
    ) -> None:
        self.live = live
        self.sensors = sensors
        self.targets = targets
        self.origin_host_s = 0.0
        self.segments: deque[SegmentLog] = deque(maxlen=100)
        self._sim_ids = sim_ids
        self._now = now
        self._ahead_s = ahead_s
        self._truth: deque[Exchange] = deque(maxlen=TRUTH_KEPT)
        self._fed_until_s = 0.0  # drill time simulated so far, s
        self._executor = ThreadPoolExecutor(1, "endless-drill") if background else None
        self._task: asyncio.Task[None] | None = None

    # -- simulation ----------------------------------------------------------

    def _simulate(self) -> tuple[LiveSegment, float]:
        wall = time.perf_counter()
        seg = self.live.next_segment()
        return seg, time.perf_counter() - wall

    async def next_segment(self) -> LiveSegment:
        """Simulate the next segment (in the worker thread when background)."""
        if self._executor is None:
            seg, cpu_s = self._simulate()
        else:
            loop = asyncio.get_running_loop()
            seg, cpu_s = await loop.run_in_executor(self._executor, self._simulate)
        self.segments.append(SegmentLog(seg.index, seg.start_s, seg.end_s, cpu_s, seg.kind))
        self._truth.extend(seg.truth)
        self._fed_until_s = seg.end_s
        return seg

    def feed(self, seg: LiveSegment) -> None:
        """Append a segment's samples to every virtual sensor."""
        for cid, v in self.sensors.items():
            v.extend(seg.streams[self._sim_ids[cid]])

    def buffered_s(self) -> float:
        """Seconds of samples simulated but not yet due (host clock)."""
        return self.origin_host_s + self._fed_until_s - self._now()

    async def _run(self) -> None:
        while True:
            wait_s = self.buffered_s() - self._ahead_s
            if wait_s > 0:
                await asyncio.sleep(wait_s)
                continue
            self.feed(await self.next_segment())

    def start_feeding(self) -> None:
        self._task = asyncio.create_task(self._run(), name="endless-drill-feed")

    # -- truth and shutdown ----------------------------------------------------

    def truth_on_host(self, until_host_s: float | None = None) -> list[Exchange]:
        """True exchanges on the host clock whose first event (grab, else release or
        drop) is due by until_host_s (default now), oldest first."""
        until = self._now() if until_host_s is None else until_host_s
        out = [e.shifted(self.origin_host_s) for e in self._truth]
        return [e for e in out if e.time_s <= until]

    async def stop(self) -> None:
        """Stop simulating and streaming; disconnect every virtual sensor."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        for v in self.sensors.values():
            v.close()
            await v.stop()


def _virtual_sensors(
    radio: VirtualRadio,
    sensors: Sequence[SensorInfo],
    targets: Sequence[Target],
    first: LiveSegment,
    mapping: dict[str, str],
    links: Sequence[tuple[float, float, float, float]],
    seed: int,
    now: Callable[[], float],
) -> tuple[dict[str, VirtualSensor], list[Target]]:
    """One open-ended VirtualSensor per mapped configured sensor (as
    `start_virtual_sensors` does: link i from links[i % len]); targets to find them."""
    by_id = {t.sensor_id: t for t in targets}
    virtual: dict[str, VirtualSensor] = {}
    out: list[Target] = []
    for i, s in enumerate(sensors):
        target = by_id.get(s.id, Target(s.id))
        if s.id not in mapping:
            out.append(target)
            continue
        offset_s, drift_ppm, interval_s, loss = links[i % len(links)]
        name = target.name if target.name and len(target.name.encode()) <= 11 else None
        virtual[s.id] = VirtualSensor(
            radio,
            first.streams[mapping[s.id]],
            name=name,
            clock=SensorClock(offset_s, drift_ppm),
            connection_interval_s=interval_s,
            max_packets_per_event=4,
            loss=loss,
            latency_jitter_s=0.002,
            battery_drain_pct_per_h=1.0,
            seed=seed * 10 + i,
            now=now,
            open_ended=True,
            packet_log=PACKET_LOG,
        )
        out.append(Target(s.id, address=virtual[s.id].address))
    return virtual, out


async def start_endless_drill(
    radio: VirtualRadio,
    sensors: Sequence[SensorInfo],
    targets: Sequence[Target],
    *,
    now: Callable[[], float],
    seed: int = 1,
    rate_hz: float = 200.0,
    lead_s: float = 1.0,
    ahead_s: float = 25.0,
    links: Sequence[tuple[float, float, float, float]] = VIRTUAL_LINKS,
    background: bool | None = None,
) -> EndlessDrill:
    """Virtual sensors on `radio` playing an endless drill for the configured sensors.

    Mapping as `map_simulated` (baton → baton, wrists in file order → the
    simulated wrists w1..w4 of ANA right, BEA left, CAT right, DEV left;
    extra configured wrists are out of range).  now: host clock (s; the
    loop's `time`).  Samples start lead_s (s) after the call returns;
    ahead_s (s): how much simulated drill to keep ahead of playback.
    background: simulate in a worker thread (default: yes, unless the
    running loop is a `VirtualTimeLoop`).  Call `await drill.stop()` at the end.
    """
    live = LiveDrill(seed, rate_hz)
    mapping = map_simulated(live.sensors, sensors)
    if background is None:
        background = not isinstance(asyncio.get_running_loop(), VirtualTimeLoop)
    drill = EndlessDrill(live, {}, mapping, [], now=now, ahead_s=ahead_s, background=background)
    first = await drill.next_segment()
    drill.sensors, drill.targets = _virtual_sensors(
        radio, sensors, targets, first, mapping, links, seed, now
    )
    drill.origin_host_s = now() + lead_s
    for v in drill.sensors.values():
        await v.start(origin_host_s=drill.origin_host_s + float(v.stream.t_s[0]))
    drill.start_feeding()
    return drill
