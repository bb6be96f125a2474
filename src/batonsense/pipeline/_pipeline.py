"""Many sensors, one pipeline: route notifications, record them raw, hand blocks on."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np

from batonsense.model import SensorInfo, SensorStream
from batonsense.protocols import batonsense_v1 as v1
from batonsense.protocols import witmotion as wm
from batonsense.sources.raw import RawRecord, RawSink

from ._held_up import HeldUpAwareMapper
from ._sensor import CATCH_UP_MAX_S, Decoder, SensorPipeline
from ._stats import SensorStats
from ._untimed import DejitteredSensorPipeline, Route

BlockSink = Callable[[SensorStream], None]

class Notification(Protocol):
    """What the ingestion hands on (`sources.ble.ingest.RawNotification`)."""

    @property
    def sensor(self) -> str: ...
    @property
    def host_s(self) -> float: ...
    @property
    def data(self) -> bytes: ...


class Pipeline:
    """Notifications of all sensors → per-sensor SensorPipeline → block consumers.

    feed(key, host_s, payload): key is a sensor id of `sensors` or an alias
    of one (`aliases`: BLE address or name → id).  Every notification is
    first written to `raw_sink` (under its sensor id, or its key if unknown),
    so a replay of that file repeats this run exactly; notifications of
    unknown sensors are counted in `unknown` and go no further.  Each block
    (host monotonic clock, see SensorPipeline) is passed to every consumer in
    `consumers`, in the order the notifications came.

    routes: sensor id (or alias) → `Route` (protocol, nominal rate); sensors
    not named take our protocol with `decode`.  A WitMotion route goes
    through `DejitteredSensorPipeline` (receive-time de-jittered, accuracy
    about one connection interval).  `set_route` routes a sensor later, e.g.
    from the Ingestor's `on_armed` once its GATT services are known, as long
    as none of its notifications has arrived yet.

    Whatever the delivery (duplicates, reordering, a clock fit restarting
    after a stall), each sensor's samples reach the consumers in strictly
    increasing time at 1 µs resolution (the recording CSV's): a sample that
    would not be is dropped and counted in `out_of_order[sensor id]`.
    A notification held up on the host (a stall, a busy process: later than
    the clock fit allows a radio, `HeldUpAwareMapper`) is not fitted, and its
    samples are mapped once the fit has fresh data after the stall, so the
    catch-up is placed where it belongs.  While any sensor keeps such samples
    back, the blocks of the others wait too (at most `CATCH_UP_MAX_S` of
    receive time): the consumers get every sensor's catch-up together, and the
    live detector never takes the one still waiting for gone.
    """

    def __init__(
        self,
        sensors: Sequence[SensorInfo],
        *,
        aliases: Mapping[str, str] | None = None,
        consumers: Iterable[BlockSink] = (),
        raw_sink: RawSink | None = None,
        decode: Decoder = v1.decode_packet,
        warmup_s: float = 2.0,
        routes: Mapping[str, Route] | None = None,
    ) -> None:
        self.sensors = tuple(sensors)
        self.consumers = list(consumers)
        self.raw_sink = raw_sink
        self.unknown = 0
        self.out_of_order: dict[str, int] = {s.id: 0 for s in self.sensors}
        self._last_us: dict[str, float] = {}
        self._ids = {s.id: s.id for s in self.sensors} | dict(aliases or {})
        self._decode = decode
        self._warmup_s = warmup_s
        self._mappers: dict[str, list[HeldUpAwareMapper]] = {}
        # (receive s, block) kept while a sensor's clock fit settles after a stall
        self._kept: list[tuple[float, SensorStream]] = []
        self._kept_since_host_s: float | None = None
        self._paths: dict[str, SensorPipeline | DejitteredSensorPipeline] = {
            s.id: self._timed(s.id) for s in self.sensors
        }
        for key, route in (routes or {}).items():
            self.set_route(key, route)

    def set_route(self, key: str, route: Route) -> None:
        """Route a sensor (id or alias) to `route`'s path; unknown keys are ignored.

        Raises ValueError if the sensor already has notifications on another path."""
        sensor_id = self.resolve(key)
        if sensor_id is None:
            return
        old = self._paths[sensor_id]
        if old.stats.notifications:
            if isinstance(old, DejitteredSensorPipeline) == (route.protocol == wm.PROTOCOL):
                return
            raise ValueError(f"{sensor_id}: cannot change protocol after data has arrived")
        if route.protocol == wm.PROTOCOL:
            assert route.rate_hz is not None
            self._paths[sensor_id] = DejitteredSensorPipeline(
                sensor_id, rate_hz=route.rate_hz, warmup_s=self._warmup_s
            )
        else:
            self._paths[sensor_id] = self._timed(sensor_id)

    def _timed(self, sensor_id: str) -> SensorPipeline:
        return SensorPipeline(
            sensor_id,
            decode=self._decode,
            warmup_s=self._warmup_s,
            make_mapper=lambda: self._new_mapper(sensor_id),
        )

    def _new_mapper(self, sensor_id: str) -> HeldUpAwareMapper:
        mapper = HeldUpAwareMapper()
        self._mappers.setdefault(sensor_id, []).append(mapper)
        return mapper

    def resolve(self, key: str) -> str | None:
        """The sensor id for a notification key (id, address or name), None if unknown."""
        return self._ids.get(key)

    def feed(self, key: str, host_s: float, payload: bytes) -> None:
        """One notification: sensor key, host receive time (s), bytes."""
        sensor_id = self.resolve(key)
        if self.raw_sink is not None:
            self.raw_sink.write(sensor_id or key, host_s, payload)
        if sensor_id is None:
            self.unknown += 1
            return
        block = self._paths[sensor_id].feed(host_s, payload)
        if not self._catching_up(host_s):
            self._emit(block)
            return
        if block is not None:
            self._kept.append((host_s, block))
        if not any(p.waiting for p in self._timed_paths()) or (
            host_s - self._kept_since_host_s >= CATCH_UP_MAX_S
        ):
            self._release_kept()

    def on_notification(self, item: Notification) -> None:
        """The Ingestor's on_raw hook."""
        self.feed(item.sensor, item.host_s, item.data)

    def feed_records(self, records: Iterable[RawRecord]) -> None:
        """Replay raw records (in file order)."""
        for r in records:
            self.feed(r.sensor_id, r.host_s, r.payload)

    def flush(self) -> None:
        """End of data: emit every sensor's held-back samples."""
        self._release_kept()
        for path in self._paths.values():
            self._emit(path.flush())

    def _timed_paths(self) -> list[SensorPipeline]:
        return [p for p in self._paths.values() if isinstance(p, SensorPipeline)]

    def _catching_up(self, host_s: float) -> bool:
        """Some sensor keeps samples back for its clock fit after a stall
        (SensorPipeline.holding), or blocks are kept for it: keep this one too."""
        if not self._kept and not any(p.holding for p in self._timed_paths()):
            return False
        if self._kept_since_host_s is None:
            self._kept_since_host_s = host_s
        return True

    def _release_kept(self) -> None:
        """Every sensor's kept samples, mapped with the fits as they are now, and the
        blocks kept meanwhile, in the order they were received (so the consumers see
        the sensors catch up side by side, as they came)."""
        items = list(self._kept)
        for path in self._timed_paths():
            items += path.take_held()
        items.sort(key=lambda item: item[0])  # stable: one sensor's stay in order
        self._kept, self._kept_since_host_s = [], None
        for _, block in items:
            self._emit(block)

    def set_battery(self, key: str, percent: int | None) -> None:
        sensor_id = self.resolve(key)
        if sensor_id is not None:
            self._paths[sensor_id].set_battery(percent)

    @property
    def stats(self) -> dict[str, SensorStats]:
        """Per sensor id: a snapshot of its counters and clock fit."""
        return {sid: p.stats for sid, p in self._paths.items()}

    def _emit(self, block: SensorStream | None) -> None:
        if block is None:
            return
        block = self._in_order(block)
        if not len(block):
            return
        for consumer in self.consumers:
            consumer(block)

    @property
    def last_sample_s(self) -> dict[str, float]:
        """Per sensor id: the time (host clock, s) of its newest sample handed on."""
        return {sid: us * 1e-6 for sid, us in dict(self._last_us).items()}

    @property
    def held_up(self) -> dict[str, int]:
        """Per sensor id: notifications held up on the host, mapped but not fitted."""
        return {sid: sum(m.held_up for m in ms) for sid, ms in self._mappers.items()}

    def _in_order(self, block: SensorStream) -> SensorStream:
        """The block's samples that come strictly after the sensor's last one, at 1 µs."""
        sid = block.sensor_id
        if not len(block):
            return block
        kept, self._last_us[sid] = block.after_us(self._last_us.get(sid, -np.inf))
        if len(kept) < len(block):
            self.out_of_order[sid] = self.out_of_order.get(sid, 0) + len(block) - len(kept)
        return kept
