"""Virtual sensors playing one finite simulated drill for the configured sensors
(`batonsense record --virtual`; the endless demo drill is `sources.virtual.drills`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from batonsense.model import Exchange, Role, SensorInfo

from ._targets import Target

#: per virtual sensor (cycled): clock offset (s), drift (ppm), connection interval (s), loss
VIRTUAL_LINKS = (
    (3.0, -40.0, 0.030, 0.03),
    (120.5, 25.0, 0.045, 0.05),
    (7.25, 50.0, 0.050, 0.02),
)


@dataclass
class VirtualDrill:
    """Virtual sensors playing a simulated drill: `sensors[id]` for each configured
    sensor given one, `targets` to find them, `sim` the simulation (its truth
    on the host clock is origin_host_s + t)."""

    sim: Any
    sensors: dict[str, Any]
    targets: list[Target]
    origin_host_s: float

    async def finished(self) -> None:
        """Until every virtual sensor has played its whole stream."""
        await asyncio.gather(*(v.finished.wait() for v in self.sensors.values()))


def map_simulated(
    sim_sensors: Sequence[SensorInfo], sensors: Sequence[SensorInfo]
) -> dict[str, str]:
    """Configured sensor id → simulated sensor id: the baton to the baton, the
    wrists in file order to the simulated wrists in order (extra configured
    wrists get none: they are "out of range")."""
    out: dict[str, str] = {}
    for role in (Role.BATON, Role.WRIST):
        sim_ids = [s.id for s in sim_sensors if s.role is role]
        mine = [s.id for s in sensors if s.role is role]
        out.update(zip(mine, sim_ids, strict=False))
    return out


async def start_virtual_sensors(
    radio: Any,
    sensors: Sequence[SensorInfo],
    targets: Sequence[Target],
    *,
    sim: Any,
    now: Callable[[], float],
    seed: int = 1,
    lead_s: float = 1.0,
    links: Sequence[tuple[float, float, float, float]] = VIRTUAL_LINKS,
) -> VirtualDrill:
    """Virtual sensors on `radio` playing `sim`'s streams for the configured sensors.

    Mapping: `map_simulated`.  Each virtual sensor advertises the configured
    `name` (when given) and is found by its virtual address; configured
    sensors without a simulated counterpart keep their own address/name and
    are not in range.  Link i gets offset, drift, connection interval and
    loss from `links[i % len(links)]`.  Streams start lead_s after now().
    """
    from batonsense.sources.virtual import SensorClock, VirtualSensor

    mapping = map_simulated(sim.recording.sensors, sensors)
    by_id = {t.sensor_id: t for t in targets}
    virtual: dict[str, Any] = {}
    out_targets: list[Target] = []
    for i, s in enumerate(sensors):
        target = by_id.get(s.id, Target(s.id))
        if s.id not in mapping:
            out_targets.append(target)
            continue
        offset_s, drift_ppm, interval_s, loss = links[i % len(links)]
        name = target.name if target.name and len(target.name.encode()) <= 11 else None
        v = VirtualSensor(
            radio,
            sim.recording.streams[mapping[s.id]],
            name=name,
            clock=SensorClock(offset_s, drift_ppm),
            connection_interval_s=interval_s,
            max_packets_per_event=4,
            loss=loss,
            latency_jitter_s=0.002,
            seed=seed * 10 + i,
            now=now,
        )
        virtual[s.id] = v
        out_targets.append(Target(s.id, address=v.address))
    origin = now() + lead_s
    for v in virtual.values():
        await v.start(origin_host_s=origin + float(v.stream.t_s[0]))
    return VirtualDrill(sim, virtual, out_targets, origin)


def truth_on_host(drill: VirtualDrill) -> list[Exchange]:
    """The simulation's true exchanges moved to the host clock."""
    return [e.shifted(drill.origin_host_s) for e in drill.sim.truth]
