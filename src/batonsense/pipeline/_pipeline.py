"""Many sensors, one pipeline: route notifications, record them raw, hand blocks on."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np

from batonsense.errors import DecodeError
from batonsense.model import SensorInfo, SensorStream
from batonsense.protocols import batonsense_v1 as v1
from batonsense.protocols import witmotion as wm
from batonsense.sources.raw import RawRecord, RawSink

from ._sensor import Decoder, SensorPipeline
from ._stats import SensorStats
from ._untimed import DejitteredSensorPipeline, Route

BlockSink = Callable[[SensorStream], None]

#: A packet later than this (s) after the time the clock fit gives its last
#: sample was held up on the host (a stalled or busy process), not by the
#: radio (< 0.1 s): it is fitted as if received this late, so a stall is not
#: taken for the sensor's clock jumping back (which would restart the fit on
#: the late receive times and misplace the catch-up by the stall's length).
HELD_UP_S = 0.5
#: ... for at most this long (s of sensor time) in a row: a sensor that stays
#: late beyond it has had its clock jump back, and the clock fit resets.
MAX_HELD_UP_S = 120.0


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
    A notification held up on the host (`HELD_UP_S`) is fitted as if it came
    HELD_UP_S after its expected time (counted in `held_up[sensor id]`; the
    raw sink gets the true receive time, and replay repeats the decision).
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
        self.held_up: dict[str, int] = {s.id: 0 for s in self.sensors}
        self._held_since: dict[str, float] = {}  # sensor s of the first held-up packet
        self._last_sensor_s: dict[str, float] = {}
        self._ids = {s.id: s.id for s in self.sensors} | dict(aliases or {})
        self._decode = decode
        self._warmup_s = warmup_s
        self._paths: dict[str, SensorPipeline | DejitteredSensorPipeline] = {
            s.id: SensorPipeline(s.id, decode=decode, warmup_s=warmup_s) for s in self.sensors
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
            self._paths[sensor_id] = SensorPipeline(
                sensor_id, decode=self._decode, warmup_s=self._warmup_s
            )

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
        host_s = self._fit_time(sensor_id, host_s, payload)
        self._emit(self._paths[sensor_id].feed(host_s, payload))

    def on_notification(self, item: Notification) -> None:
        """The Ingestor's on_raw hook."""
        self.feed(item.sensor, item.host_s, item.data)

    def feed_records(self, records: Iterable[RawRecord]) -> None:
        """Replay raw records (in file order)."""
        for r in records:
            self.feed(r.sensor_id, r.host_s, r.payload)

    def flush(self) -> None:
        """End of data: emit every sensor's held-back samples."""
        for path in self._paths.values():
            self._emit(path.flush())

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

    def _fit_time(self, sensor_id: str, host_s: float, payload: bytes) -> float:
        """The receive time to fit a notification at: host_s, or for one held up
        on the host, its expected time + HELD_UP_S (see the class docstring)."""
        path = self._paths[sensor_id]
        mapper = getattr(path, "_mapper", None)
        if mapper is None or not isinstance(path, SensorPipeline):
            return host_s
        try:
            packet = self._decode(payload)
        except DecodeError:
            return host_s
        if packet.t_sensor_us is None or not len(packet.t_sensor_us) or "boot" in packet.notes:
            return host_s
        t_s = float(packet.t_sensor_us[-1]) * 1e-6
        last_s, self._last_sensor_s[sensor_id] = self._last_sensor_s.get(sensor_id), t_s
        expected_s = float(mapper.to_host_s(t_s))
        onward = last_s is not None and 0.0 <= t_s - last_s < MAX_HELD_UP_S
        if not (onward and math.isfinite(expected_s) and host_s - expected_s > HELD_UP_S):
            self._held_since.pop(sensor_id, None)
            return host_s
        if t_s - self._held_since.setdefault(sensor_id, t_s) > MAX_HELD_UP_S:
            return host_s
        self.held_up[sensor_id] = self.held_up.get(sensor_id, 0) + 1
        return expected_s + HELD_UP_S

    def _in_order(self, block: SensorStream) -> SensorStream:
        """The block's samples that come strictly after the sensor's last one, at 1 µs."""
        us = np.round(np.asarray(block.t_s, dtype=np.float64) * 1e6)
        if not len(us):
            return block
        last = self._last_us.get(block.sensor_id, -np.inf)
        before = np.maximum.accumulate(np.concatenate([[last], us]))[:-1]
        keep = us > before
        self._last_us[block.sensor_id] = max(last, float(us.max()))
        if keep.all():
            return block
        self.out_of_order[block.sensor_id] = (
            self.out_of_order.get(block.sensor_id, 0) + int((~keep).sum())
        )
        return SensorStream(
            block.sensor_id, block.t_s[keep], block.acc_mps2[keep], block.gyro_radps[keep]
        )
