"""A live recording session: find the configured sensors, stream, detect, log raw.

    session = RecordSession(sensors, targets, raw_sink, on_exchange=print)
    result = await session.run(duration_s=60.0)      # or until session.stop()

What `batonsense record` runs (the CLI only renders):

- **find**: scan for devices advertising the batonsense service and match
  them to the sensors file's optional `address` (case-insensitive) or `name`
  keys (`Target`, `read_targets`).  Scanning stops as soon as every target is
  seen (or after `scan_timeout_s`).  Configured sensors not seen are
  *missing*: reported (`RecordResult.missing`) and the others are recorded;
  devices of our service that the file does not name are *unknown* (listed,
  ignored).  No sensor found at all raises `NoSensorFound`.
- **stream**: the `Ingestor` connects them (one connection at a time, retried
  with backoff), arms them, and reconnects each by itself after a drop-out;
  its consumer task writes every notification to the raw sink (for bit-exact
  `replay`) and feeds the `Pipeline` → `LiveDetector` (exchanges reported
  through `on_exchange` as soon as the detector publishes them).  The
  battery level is read at connect and every `battery_every_s`.
- **status**: `status()` is a snapshot per configured sensor
  (`SensorStatus`: state, rate, lost %, clock offset and drift, battery, last
  seen, reconnects), cheap enough to render several times a second.
- **stop**: `stop()` (Ctrl-C), the duration, or `until` (e.g. the virtual
  sensors played their whole stream) ends streaming; the sensors are
  disconnected, what was received is handled, the pipeline and detector are
  flushed.  The caller closes the raw sink.

`start_virtual_sensors` plays a simulated drill through virtual sensors on
the in-process radio for the configured sensors (see its docstring), so the
same session runs with no hardware (`batonsense record --virtual`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from batonsense.model import Exchange, SensorInfo
from batonsense.protocols import batonsense_v1 as v1
from batonsense.sources.ble.bumble_backend import BumbleBackend
from batonsense.sources.ble.ingest import Ingestor, SensorLink
from batonsense.sources.raw import RawSink

from ._consumers import LiveDetector
from ._pipeline import Pipeline
from ._stats import SensorStats
from ._status import SensorStatus, status_table
from ._targets import Target, read_targets
from ._worker import IngestWorker
from ._virtual_drill import (
    VIRTUAL_LINKS,
    VirtualDrill,
    map_simulated,
    start_virtual_sensors,
    truth_on_host,
)

_LOG = logging.getLogger(__name__)


class NoSensorFound(Exception):
    """None of the configured sensors was found (or none could be connected)."""


# ------------------------------------------------------------------ session


@dataclass
class RecordResult:
    """What a session did.  exchanges: as reported live (host clock), sorted;
    status: the final row per configured sensor; missing: ids not found or not
    connected; unknown: (address, name) of our-service devices the file does
    not name; stopped_by: "duration", "stop" (Ctrl-C) or "until"."""

    exchanges: list[Exchange]
    status: dict[str, SensorStatus]
    missing: list[str]
    unknown: list[tuple[str, str | None]]
    raw_records: int
    duration_s: float
    stopped_by: str

    @property
    def stats(self) -> dict[str, SensorStats]:
        return {sid: s.stats for sid, s in self.status.items()}


@dataclass
class _Found:
    devices: dict[str, BLEDevice] = field(default_factory=dict)  # sensor id → device
    unknown: dict[str, str | None] = field(default_factory=dict)  # address → name


class RecordSession:
    """One live session over the configured sensors (see the module docstring).

    sensors: the sensors file's SensorInfos; targets: how to recognise each
    (`read_targets`); raw_sink: where every notification goes (a
    `RawFileSink`); backend: None for the platform's Bluetooth adapter,
    `bumble_backend(radio)` for virtual sensors; now: host clock (s; the
    running loop's `time` under `VirtualTimeLoop`).  on_exchange(Exchange):
    each exchange as soon as the live detector reports it; on_message(str):
    events worth telling the user (found, not found, unknown, drop-outs);
    consumers: further block sinks fed after the detector (e.g. a SessionWriter);
    threaded: decode, clock sync, detection and the sinks run in their own
    thread (`IngestWorker`: the loop only enqueues; `on_exchange` and the
    sinks are then called from that thread), so a busy event loop cannot
    starve them; `worker` is that thread's queue, with its counters and lag.
    """

    def __init__(
        self,
        sensors: Sequence[SensorInfo],
        targets: Sequence[Target],
        raw_sink: RawSink | None,
        *,
        backend: BumbleBackend | None = None,
        now: Callable[[], float] = time.monotonic,
        on_exchange: Callable[[Exchange], None] | None = None,
        on_message: Callable[[str], None] | None = None,
        scan_timeout_s: float = 5.0,
        battery_every_s: float = 60.0,
        consumers: Sequence[Callable[[Any], None]] = (),
        threaded: bool = False,
    ) -> None:
        self.sensors = tuple(sensors)
        self.consumers = tuple(consumers)
        self.targets = {t.sensor_id: t for t in targets}
        self.raw_sink = raw_sink
        self.backend = backend
        self.now = now
        self.scan_timeout_s = scan_timeout_s
        self.battery_every_s = battery_every_s
        self._on_message = on_message or (lambda _m: None)
        self.live = LiveDetector(self.sensors, on_exchange=on_exchange)
        self.pipeline: Pipeline | None = None
        self.threaded = threaded
        self.worker: IngestWorker | None = None
        self.ingest: Ingestor | None = None
        self.found = _Found()
        self.failed: set[str] = set()
        self._stop = asyncio.Event()
        self._scanning = True
        self._ended = False

    def stop(self) -> None:
        """Ask the running session to end (safe from a signal handler on the loop)."""
        self._stop.set()

    # -- status --------------------------------------------------------------

    def _link(self, sensor_id: str) -> SensorLink | None:
        device = self.found.devices.get(sensor_id)
        if device is None or self.ingest is None:
            return None
        return self.ingest.links.get(device.address)

    def status(self) -> list[SensorStatus]:
        """A snapshot per configured sensor, in the sensors file's order."""
        stats = self.pipeline.stats if self.pipeline is not None else {}
        t = self.now()
        rows = []
        for s in self.sensors:
            st = stats.get(s.id) or SensorStats(s.id)
            link = self._link(s.id)
            device = self.found.devices.get(s.id)
            if device is None:
                state = "searching" if self._scanning else "not found"
            elif s.id in self.failed:
                state = "connect failed"
            elif link is not None and link.connected:
                state = "connected"
            elif self._ended:
                state = "stopped"
            elif link is not None and link.gaps:
                state = "reconnecting"
            else:
                state = "connecting"
            seen = st.last_seen_host_s
            rows.append(
                SensorStatus(
                    s.id,
                    state,
                    None if device is None else device.address,
                    bool(link and link.connected),
                    link.reconnects if link else 0,
                    None if seen is None else max(0.0, t - seen),
                    st,
                )
            )
        return rows

    # -- run -----------------------------------------------------------------

    async def run(
        self,
        *,
        duration_s: float | None = None,
        until: Awaitable[Any] | None = None,
    ) -> RecordResult:
        """Find, connect, stream until stop()/duration_s/until, then close; see the docstring.

        duration_s counts from when the sensors are connected.  Raises
        NoSensorFound if no configured sensor is found or none connects.
        """
        await self._find()
        by_address = {d.address: sid for sid, d in self.found.devices.items()}
        self.pipeline = Pipeline(
            self.sensors,
            aliases=by_address,
            consumers=[self.live, *self.consumers],
            raw_sink=self.raw_sink,
        )
        try:
            stopped_by, duration = await self._stream(duration_s, until)
        finally:
            if self.worker is not None:  # what was received is handled first, in order
                await asyncio.to_thread(self.worker.stop)
        self.pipeline.flush()
        exchanges = self.live.flush()
        rows = self.status()
        raw_records = getattr(self.raw_sink, "records", 0)
        return RecordResult(
            exchanges=exchanges,
            status={r.sensor_id: r for r in rows},
            missing=[r.sensor_id for r in rows if r.state in ("not found", "connect failed")],
            unknown=sorted(self.found.unknown.items()),
            raw_records=raw_records,
            duration_s=duration,
            stopped_by=stopped_by,
        )

    async def _stream(
        self, duration_s: float | None, until: Awaitable[Any] | None
    ) -> tuple[str, float]:
        """Connect, stream until the end, disconnect: (stopped_by, duration in s)."""
        assert self.pipeline is not None
        on_raw: Callable[[Any], None] = self.pipeline.on_notification
        if self.threaded:
            self.worker = IngestWorker(on_raw, now=self.now)
            self.worker.start()
            on_raw = self.worker.put
        async with Ingestor(on_raw=on_raw, backend=self.backend, now=self.now) as ingest:
            self.ingest = ingest
            await self._connect_all()
            t0 = self.now()
            helpers = [
                asyncio.create_task(self._battery_loop(), name="record-battery"),
                asyncio.create_task(self._watch_links(), name="record-links"),
            ]
            stopped_by = await self._wait(duration_s, until)
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            duration = self.now() - t0
            self._ended = True
        return stopped_by, duration

    async def _find(self) -> None:
        """Scan until every matchable target is seen or scan_timeout_s passed."""
        targets = list(self.targets.values())
        for t in targets:
            if not t.matchable:
                self._on_message(
                    f"{t.sensor_id}: the sensors file gives no `address` or `name` "
                    "for it: it cannot be found"
                )
        wanted = {t.sensor_id for t in targets if t.matchable}
        if not wanted:
            raise NoSensorFound(
                "no sensor of the sensors file has an `address` or `name` key to find it by"
            )
        all_seen = asyncio.Event()

        def on_adv(device: BLEDevice, adv: AdvertisementData) -> None:
            name = adv.local_name or device.name
            for t in targets:
                if t.sensor_id not in self.found.devices and t.matches(device.address, name):
                    self.found.devices[t.sensor_id] = device
                    self._on_message(f"{t.sensor_id}: found {name or '?'} ({device.address})")
                    break
            else:
                if device.address not in self.found.unknown and not any(
                    d.address == device.address for d in self.found.devices.values()
                ):
                    self.found.unknown[device.address] = name
            if wanted <= set(self.found.devices):
                all_seen.set()

        kwargs: dict[str, Any] = {} if self.backend is None else {"backend": self.backend.scanner}
        scanner = BleakScanner(on_adv, service_uuids=[v1.SERVICE_UUID], **kwargs)
        await scanner.start()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_seen.wait(), self.scan_timeout_s)
        finally:
            await scanner.stop()
            self._scanning = False
        for address, name in sorted(self.found.unknown.items()):
            self._on_message(f"ignored: {name or '?'} ({address}) is not named in the sensors file")
        for t in targets:
            if t.matchable and t.sensor_id not in self.found.devices:
                self._on_message(
                    f"{t.sensor_id}: not found ({t.describe()}) within "
                    f"{self.scan_timeout_s:g} s: not recorded"
                )
        if not self.found.devices:
            raise NoSensorFound(
                f"none of the {len(targets)} configured sensors was found within "
                f"{self.scan_timeout_s:g} s"
            )

    async def _connect_all(self) -> None:
        assert self.ingest is not None
        ids = list(self.found.devices)
        results = await asyncio.gather(
            *(self.ingest.connect(self.found.devices[sid]) for sid in ids),
            return_exceptions=True,
        )
        for sid, res in zip(ids, results, strict=True):
            if isinstance(res, BaseException):
                if not isinstance(res, BleakError | TimeoutError | OSError):
                    raise res
                self.failed.add(sid)
                self._on_message(f"{sid}: could not connect ({res}): not recorded")
            else:
                self._on_message(f"{sid}: connected")
        if len(self.failed) == len(ids):
            raise NoSensorFound("no configured sensor could be connected")

    async def _wait(self, duration_s: float | None, until: Awaitable[Any] | None) -> str:
        waits: dict[asyncio.Future[Any], str] = {asyncio.ensure_future(self._stop.wait()): "stop"}
        if duration_s is not None:
            waits[asyncio.ensure_future(asyncio.sleep(duration_s))] = "duration"
        if until is not None:
            waits[asyncio.ensure_future(until)] = "until"
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for p in pending:
            p.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return next(waits[d] for d in waits if d in done)

    async def _watch_links(self, every_s: float = 0.25) -> None:
        """Tell about drop-outs and reconnections (the Ingestor handles them)."""
        told: dict[str, tuple[int, bool]] = {}
        while True:
            for sid in self.found.devices:
                link = self._link(sid)
                if link is None or not link.gaps:
                    continue
                gap = link.gaps[-1]
                state = (len(link.gaps), gap.restored_host_s is not None)
                if told.get(sid) == state:
                    continue
                if told.get(sid, (0, False))[0] < state[0]:
                    self._on_message(f"{sid}: link lost, reconnecting")
                if state[1] and gap.restored_host_s is not None:
                    down_s = gap.restored_host_s - gap.lost_host_s
                    self._on_message(f"{sid}: reconnected after {down_s:.1f} s")
                told[sid] = state
            await asyncio.sleep(every_s)

    async def _battery_loop(self) -> None:
        while True:
            for sid in self.found.devices:
                await self._read_battery(sid)
            await asyncio.sleep(self.battery_every_s)

    async def _read_battery(self, sensor_id: str) -> None:
        link = self._link(sensor_id)
        if link is None or link.client is None or not link.connected or self.pipeline is None:
            return
        try:
            value = await asyncio.wait_for(
                link.client.read_gatt_char(v1.BATTERY_LEVEL_CHAR_UUID), 5.0
            )
        except (BleakError, TimeoutError, OSError, ValueError) as exc:
            _LOG.info("%s: battery not read: %s", sensor_id, exc)
            return
        if len(value) >= 1 and value[0] <= 100:
            self.pipeline.set_battery(sensor_id, int(value[0]))


# ------------------------------------------------------------------ runner


def run_record(
    sensors: Sequence[SensorInfo],
    targets: Sequence[Target],
    raw_sink: RawSink | None,
    *,
    duration_s: float | None = None,
    scan_timeout_s: float = 5.0,
    sim: Any = None,
    fast: bool = False,
    seed: int = 1,
    on_exchange: Callable[[Exchange], None] | None = None,
    on_message: Callable[[str], None] | None = None,
    on_status: Callable[[list[SensorStatus]], None] | None = None,
    status_every_s: float = 0.5,
    handle_sigint: bool = True,
) -> tuple[RecordResult, VirtualDrill | None]:
    """Run a RecordSession to its end on a fresh event loop (what `record` does).

    sim: a SimResult to play through virtual sensors (`start_virtual_sensors`;
    the session then ends by itself when the drill is over), None for the
    platform's Bluetooth adapter.  fast: virtual time (`VirtualTimeLoop`;
    only with sim).  on_status(rows) every status_every_s of host time.
    handle_sigint: Ctrl-C stops the session cleanly instead of raising.
    Raises NoSensorFound; BleakError/OSError when the adapter cannot scan.
    """
    if fast and sim is None:
        raise ValueError("fast (virtual time) needs virtual sensors")
    from batonsense.sources.virtual import VirtualTimeLoop

    async def body() -> tuple[RecordResult, VirtualDrill | None]:
        loop = asyncio.get_running_loop()
        now = loop.time
        backend, drill, use = None, None, list(targets)
        if sim is not None:
            from batonsense.sources.ble.bumble_backend import bumble_backend
            from batonsense.sources.virtual import VirtualRadio

            radio = VirtualRadio()
            drill = await start_virtual_sensors(
                radio, sensors, targets, sim=sim, now=now, seed=seed
            )
            backend, use = bumble_backend(radio), drill.targets
            absent = [s.id for s in sensors if s.id not in drill.sensors]
            if absent and on_message is not None:
                on_message(
                    f"virtual: the simulated drill has no sensor for {', '.join(absent)} "
                    "(out of range)"
                )
        session = RecordSession(
            sensors,
            use,
            raw_sink,
            backend=backend,
            now=now,
            on_exchange=on_exchange,
            on_message=on_message,
            scan_timeout_s=scan_timeout_s,
        )
        if handle_sigint:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                import signal

                loop.add_signal_handler(signal.SIGINT, session.stop)

        async def report_status() -> None:
            while on_status is not None:
                on_status(session.status())
                await asyncio.sleep(status_every_s)

        reporter = asyncio.create_task(report_status(), name="record-status")
        try:
            result = await session.run(
                duration_s=duration_s, until=drill.finished() if drill else None
            )
        finally:
            reporter.cancel()
            await asyncio.gather(reporter, return_exceptions=True)
            if handle_sigint:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    import signal

                    loop.remove_signal_handler(signal.SIGINT)
        if drill is not None:
            for v in drill.sensors.values():
                await v.stop()
        return result, drill

    with asyncio.Runner(loop_factory=VirtualTimeLoop if fast else None) as runner:
        return runner.run(body())


__all__ = [
    "VIRTUAL_LINKS",
    "NoSensorFound",
    "RecordResult",
    "RecordSession",
    "SensorStatus",
    "Target",
    "VirtualDrill",
    "map_simulated",
    "read_targets",
    "run_record",
    "start_virtual_sensors",
    "status_table",
    "truth_on_host",
]
