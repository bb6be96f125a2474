"""The running service: sensors → pipeline → live detector → SQLite → live viewers.

One `Runtime` per process, living on the web server's event loop:

- **stream**: a `RecordSession` (scan, connect, decode, clock sync, live
  detector) runs for as long as the service does.  When no sensor can be
  found or the Bluetooth adapter is missing it says so (`messages`, the
  sensors' `state`) and tries again every `retry_s`, so the page stays up.
  In demo mode the sensors are virtual (`batonsense.sources.virtual`), on
  an in-process radio, running drills on their own.
- **sessions**: what is recorded goes to the *running* session: raw
  notifications and sample blocks through a `SessionWriter` (committed every
  0.5 s), each exchange committed as soon as the detector reports it, then
  published to every live viewer (`ExchangeHub`).  A session is started at
  launch; the API starts, names and ends sessions.  With no running session
  the sensors keep streaming but nothing is stored or published.
- **ingest**: decode, clock sync, detection and storage run in the record
  session's own thread (`RecordSession(threaded=True)`): the loop only
  stamps and enqueues each notification, so a busy web server cannot starve
  them; exchanges are committed from that thread and handed to the loop for
  the viewers.  After a stall the queue is worked off in order.
- **trouble**: a database that cannot be written (a full disk) loses
  nothing for a while (`SessionWriter` keeps exchanges and the newest
  samples in memory; viewers still get every exchange); `health.report()` says
  what is wrong now (storage, ingest lag, sensors with no data, no sensors),
  for /api/health and the page.
- **time**: the sensors' clocks are mapped onto the host's monotonic clock
  (the event loop's `time()`, s); each session stores where that clock sits
  in UTC (`host_zero_unix_s`), so every time can be shown as a time of day.
- **reads**: API handlers running in worker threads borrow a read connection
  (`reading()`); the loop thread uses `store`.  SQLite's WAL lets readers run
  beside the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bleak.exc import BleakError

from batonsense.io.sensors_file import sensor_set_problem
from batonsense.model import Exchange, SensorInfo, SensorStream
from batonsense.pipeline.session import NoSensorFound, RecordSession, Target
from batonsense.store import (
    Session,
    SessionWriter,
    StorageError,
    Store,
    StoredExchange,
    StoredSensor,
)
from batonsense.store.export import exchange_record
from batonsense.sync import HOST_CLOCK

from .config import PracticeConfig
from .health import STALE_S
from .hub import ExchangeHub

_LOG = logging.getLogger(__name__)


class _SessionTap:
    """Raw sink and block sink in front of whichever SessionWriter is current."""

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


class Runtime:
    """The service's state and its streaming task (see the module docstring).

    db_path: the SQLite file (created if new); config: sensors, how to find
    them, athletes; demo: virtual sensors running drills (seed: their
    randomness); session_name: the name of the session started at launch.
    """

    def __init__(
        self,
        db_path: str | Path,
        config: PracticeConfig,
        *,
        demo: bool = False,
        seed: int = 1,
        session_name: str | None = None,
        retry_s: float = 5.0,
        readers: int = 4,
    ) -> None:
        self.db_path = Path(db_path)
        self.config = config
        #: the sensors streamed now, and how to find them
        self.sensors: tuple[SensorInfo, ...] = config.sensors
        self._targets: dict[str, Target] = {t.sensor_id: t for t in config.targets}
        #: sensors changed through the API: streamed from the next session on
        self._next: tuple[tuple[SensorInfo, ...], dict[str, Target]] | None = None
        self.demo = demo
        self.seed = seed
        self.session_name = session_name or config.session_name
        self.retry_s = retry_s
        self.hub = ExchangeHub()
        self.messages: deque[tuple[str, str]] = deque(maxlen=50)
        self._repeats, self._last_message = 1, ""
        self.record: RecordSession | None = None
        #: why streaming is not running now ("no bluetooth", "not found", "error"), else None
        self.problem: str | None = None
        self.store = Store(self.db_path)
        self.host_zero_unix_s = time.time() - time.monotonic()
        self._tap = _SessionTap()
        self._readers: queue.Queue[Store] = queue.Queue()
        for _ in range(readers):
            self._readers.put(Store(self.db_path))
        self._task: asyncio.Task[None] | None = None
        # a sensor change waits for the running stream to end (begin_session)
        self._switch = asyncio.Lock()
        self._gate = asyncio.Event()
        self._gate.set()
        self._run_ended = asyncio.Event()  # clear while a streaming run is on
        self._run_ended.set()
        self._stopping = False
        self._virtual: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ingest_reader: Store | None = None  # the ingest thread's read connection
        self._ingest_read_lock = threading.Lock()
        self.started_monotonic_s = time.monotonic()

    # -- life ------------------------------------------------------------------

    async def start(self) -> None:
        """Recover interrupted sessions, store the config, start a session and streaming."""
        loop = self._loop = asyncio.get_running_loop()
        # the host clock is the loop's; pin its UTC origin once for this process
        self.host_zero_unix_s = time.time() - loop.time()
        for sid in self.store.close_interrupted():
            self.say(f"session {sid} was interrupted (the service stopped): closed")
        for a in self.config.athletes:
            self.store.add_athlete(a.name, a.notes)
        for s in self.sensors:
            t = self._targets.get(s.id, Target(s.id))
            self.store.put_sensor(StoredSensor(s, t.address, t.name))
        self.start_session(self.session_name or _default_name(self.demo))
        self._task = asyncio.create_task(self._stream(), name="batonsense-stream")

    async def stop(self) -> None:
        """Stop streaming, flush and end the running session, close the database."""
        self._stopping = True
        if self.record is not None:
            self.record.stop()
        if self._task is not None:
            # a run that does not end in time is cancelled: the session is closed all the same
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), 10.0)
            if not self._task.done():
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._virtual is not None:
            await self._virtual.stop()
        self.hub.close()
        try:
            self._close_writer(end=True)
        except StorageError:  # the disk is still full: say what could not be kept
            with self._tap.lock:
                writer, self._tap.writer = self._tap.writer, None
            try:
                if writer is not None:
                    writer.close()
            except StorageError as e:
                _LOG.error("stopping: %s", e)
        self.store.close()
        with self._ingest_read_lock:
            if self._ingest_reader is not None:
                self._ingest_reader.close()
                self._ingest_reader = None
        while not self._readers.empty():
            self._readers.get_nowait().close()

    # -- sessions --------------------------------------------------------------

    @property
    def session_id(self) -> int | None:
        writer = self._tap.writer
        return None if writer is None else writer.session_id

    @property
    def writer(self) -> SessionWriter | None:
        """The running session's writer (None: no session runs)."""
        return self._tap.writer

    def held_exchanges(self) -> list[StoredExchange]:
        """Exchanges of the running session kept in memory, not yet written (a full
        disk), with the ids they will be written with; take them before reading the
        database and pass them to `Store.exchanges(held=...)`."""
        writer = self._tap.writer
        return [] if writer is None else writer.held()

    async def begin_session(self, name: str, notes: str | None = None) -> Session:
        """`start_session`, first applying the sensor changes made through the API.

        With changes, streaming restarts with them: the old run is stopped and
        has flushed everything (its last samples and exchanges) into the old
        session before the new session starts and the next run begins; the
        detector starts afresh, so a pass in that second or two is not seen."""
        async with self._switch:
            if self._next is None:
                return self.start_session(name, notes)
            self._gate.clear()  # _stream waits before its next run
            try:
                self.sensors, self._targets = self._next
                self._next = None
                if not self._run_ended.is_set() and self.record is not None:
                    self.record.stop()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._run_ended.wait(), 10.0)
                self.say("sensors changed: streaming restarts with " + ", ".join(
                    s.id for s in self.sensors))  # fmt: skip
                return self.start_session(name, notes)
            finally:
                self._gate.set()

    def start_session(self, name: str, notes: str | None = None) -> Session:
        """End the running session (if any) and start a new one; returns it.

        Both or neither: if the database cannot be written now (StorageError,
        e.g. a full disk) or refuses, nothing changes and the old session runs on."""
        sensors = [s for s in self.store.sensors() if s.info.id in {x.id for x in self.sensors}]
        with self._tap.lock:  # the pipeline waits: nothing arrives between flush and switch
            old = self._tap.writer
            if old is not None:
                old.flush()
            sid = self.store.start_session(
                name, sensors, notes=notes, clock=HOST_CLOCK,
                host_zero_unix_s=self.host_zero_unix_s,
                ending=None if old is None else old.session_id,
            )  # fmt: skip
            self._tap.writer = SessionWriter(self.db_path, sid)
        if old is not None:
            old.close()  # everything was written: nothing can fail here
        self.say(f"session {sid} started: {name}")
        return self.store.session(sid)

    def end_session(self, session_id: int) -> Session:
        """End a session (the running one: nothing more is stored until a new one starts).

        If the database cannot be written now (StorageError), nothing changes."""
        session = self.store.session(session_id)
        if session_id == self.session_id:
            self._close_writer(end=True)
            self.say(f"session {session_id} ended")
        elif session.ended_at is None:
            self.store.end_session(session_id)
        return self.store.session(session_id)

    # -- sensors ---------------------------------------------------------------

    def configured(self, sensor_id: str) -> tuple[SensorInfo, Target] | None:
        """A sensor as it will stream from the next session on (None: not in the set)."""
        sensors, targets = self._next or (self.sensors, self._targets)
        info = next((s for s in sensors if s.id == sensor_id), None)
        return None if info is None else (info, targets.get(sensor_id, Target(sensor_id)))

    def put_sensor(self, sensor: StoredSensor) -> None:
        """Add or change a sensor (stored now, streamed from the next session on).

        Raises ValueError (what is wrong) if the sensors would no longer make a
        valid set (one baton, one sensor per athlete's hand, ≥ 2 wrists); then
        nothing changes."""
        sensors, targets = self._next or (self.sensors, self._targets)
        new = tuple(s for s in sensors if s.id != sensor.info.id)
        at = next((i for i, s in enumerate(sensors) if s.id == sensor.info.id), len(new))
        new = new[:at] + (sensor.info,) + new[at:]
        problem = sensor_set_problem(new)
        if problem is not None:
            raise ValueError(problem[0])
        self.store.put_sensor(sensor)
        target = Target(sensor.info.id, sensor.address, sensor.name)
        self._set_next(new, {**targets, sensor.info.id: target})

    def remove_sensor(self, sensor_id: str) -> None:
        """Take a sensor out of the set from the next session on (KeyError: not in it;
        ValueError: the rest would not be a valid set)."""
        sensors, targets = self._next or (self.sensors, self._targets)
        if all(s.id != sensor_id for s in sensors):
            raise KeyError(sensor_id)
        new = tuple(s for s in sensors if s.id != sensor_id)
        problem = sensor_set_problem(new)
        if problem is not None:
            raise ValueError(problem[0])
        self._set_next(new, {k: v for k, v in targets.items() if k != sensor_id})

    def _set_next(self, sensors: tuple[SensorInfo, ...], targets: dict[str, Target]) -> None:
        same = sensors == self.sensors and all(
            targets.get(s.id, Target(s.id)) == self._targets.get(s.id, Target(s.id))
            for s in sensors
        )
        self._next = None if same else (sensors, targets)

    def _close_writer(self, *, end: bool) -> None:
        """Write what the running session kept, end it, stop writing to it; if that
        cannot be written now (StorageError), the session runs on unchanged."""
        with self._tap.lock:
            writer = self._tap.writer
            if writer is None:
                return
            writer.flush()
            if end:
                self.store.end_session(writer.session_id)
            self._tap.writer = None
        writer.close()

    # -- reads -----------------------------------------------------------------

    @contextlib.contextmanager
    def reading(self) -> Iterator[Store]:
        """A read connection for a worker thread (returned to the pool afterwards)."""
        store = self._readers.get()
        try:
            yield store
        finally:
            self._readers.put(store)

    def sensor_rows(self) -> list[dict[str, Any]]:
        """Status of every configured sensor (for `GET /api/sensors` and the page)."""
        targets = self._targets
        status = {r.sensor_id: r for r in self.record.status()} if self.record else {}
        ages = self._data_ages_s()
        rows = []
        for s in self.sensors:
            st = status.get(s.id)
            row = config_row(s, targets.get(s.id, Target(s.id)), "starting")
            if st is not None:
                d = st.to_dict()
                row.update({k: d.get(k) for k in _STATUS_KEYS})
                row["address"] = st.address or row["address"]
                row["connected"] = st.connected
                row["state"] = self.problem if self.problem and not st.connected else st.state
                ago = _no_data_s(st.last_seen_ago_s, ages.get(s.id))
                if st.connected and (ago is None or ago >= STALE_S):
                    row["state"] = "no data" if ago is None else f"no data for {ago:.0f} s"
            rows.append(row)
        return rows + self._next_rows(rows)

    def _data_ages_s(self) -> dict[str, float]:
        """Per sensor: how old its newest sample handed on is (s; catching up after a
        stall, a sensor sends old samples: it is not streaming live)."""
        record = self.record
        if record is None or record.pipeline is None:
            return {}
        now_s = record.now()
        return {sid: now_s - t for sid, t in record.pipeline.last_sample_s.items()}

    def _next_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Sensors added or changed through the API, not streamed until the next session.

        A changed sensor's row in `rows` (its live status) takes the new configuration
        and the state "next session"; a new one gets a row of its own."""
        if self._next is None:
            return []
        streamed = {s.id: s for s in self.sensors}
        by_id = {r["id"]: r for r in rows}
        added = []
        sensors, targets = self._next
        for sid in set(streamed) - {s.id for s in sensors}:
            by_id[sid]["state"] = "removed next session"
        for s in sensors:
            t = targets.get(s.id, Target(s.id))
            if streamed.get(s.id) == s and self._targets.get(s.id, Target(s.id)) == t:
                continue
            new = config_row(s, t, "next session")
            row = by_id.get(s.id)
            if row is None:
                added.append(new)
            else:  # keeps its live status
                row.update({k: v for k, v in new.items() if k != "connected"})
        return added

    def say(self, message: str) -> None:
        """Something the coach should know (kept for /api/health, logged).

        A message repeating the previous one replaces it, counted ("(3×)")."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        if self.messages and message == self._last_message:
            self._repeats += 1
            self.messages[-1] = (now, f"{message} ({self._repeats}×)")
            return
        self._repeats, self._last_message = 1, message
        self.messages.append((now, message))
        _LOG.info("%s", message)

    # -- streaming -------------------------------------------------------------

    async def _stream(self) -> None:
        loop = asyncio.get_running_loop()
        backend, virtual = None, {}
        if self.demo:
            backend, found = await self._start_virtual(loop)
            virtual = {t.sensor_id: t for t in found}
        while not self._stopping:
            await self._gate.wait()
            targets = [
                virtual.get(s.id) or self._targets.get(s.id, Target(s.id)) for s in self.sensors
            ]
            self.record = RecordSession(
                self.sensors,
                targets,
                self._tap,
                backend=backend,
                now=loop.time,
                on_exchange=self._on_exchange,
                on_message=self.say,
                consumers=[self._tap],
                threaded=True,
            )
            self.problem = None
            self._run_ended.clear()
            try:
                await self.record.run()
            except NoSensorFound as e:
                self.problem = "not found"
                self.say(f"{e}; trying again in {self.retry_s:g} s")
            except (BleakError, OSError) as e:
                self.problem = "no bluetooth"
                self.say(f"Bluetooth unavailable ({e}); trying again in {self.retry_s:g} s")
            except Exception as e:  # noqa: BLE001 — one bad run must not end the service
                _LOG.exception("streaming failed")
                self.problem = "error"
                self.say(f"streaming failed ({type(e).__name__}: {e}); trying again")
            else:
                continue
            finally:
                self._run_ended.set()
            await asyncio.sleep(self.retry_s)

    async def _start_virtual(self, loop: asyncio.AbstractEventLoop) -> tuple[Any, list[Target]]:
        from batonsense.service.demo import start_demo_sensors

        self._virtual, backend = await start_demo_sensors(
            self.sensors, self.config.targets, now=loop.time, seed=self.seed
        )
        origin = getattr(self._virtual, "origin_host_s", None)
        self.say(
            "demo: virtual sensors running drills"
            + ("" if origin is None else f" (drill time 0 at host {origin:.6f} s)")
        )
        return backend, list(self._virtual.targets)

    def _on_exchange(self, exchange: Exchange) -> None:
        """Commit (or keep, while the disk is full), then publish: the detector's
        callback, on the ingest thread (or the loop's, at the end of a run)."""
        with self._tap.lock:
            writer = self._tap.writer
            if writer is None:
                self.say("exchange detected while no session is running: not stored")
                return
            created = datetime.now(UTC)
            exchange_id = writer.add_exchange(exchange, created_at=created)
            session_id = writer.session_id
        session = self._session_for(session_id)
        stored = StoredExchange(exchange_id, session.id, exchange, created)
        record = exchange_record(stored, session)
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: shutting down
                self._loop.call_soon_threadsafe(self.hub.publish, exchange_id, record)

    def _session_for(self, session_id: int) -> Session:
        """The session as stored now (its name may have changed); readable on a full disk.
        Its own connection: a reader lent to a long export must not hold up ingest."""
        with self._ingest_read_lock:
            if self._ingest_reader is None:
                self._ingest_reader = Store(self.db_path)
            return self._ingest_reader.session(session_id)


def config_row(info: SensorInfo, target: Target, state: str) -> dict[str, Any]:
    """A sensor's row as `GET /api/sensors` lists it, from its configuration alone."""
    return {
        "id": info.id,
        "role": info.role.value,
        "athlete": info.athlete,
        "hand": None if info.hand is None else info.hand.value,
        "address": target.address,
        "name": target.name,
        "connected": False,
        "state": state,
    }


_STATUS_KEYS = (
    "battery_pct",
    "rate_hz",
    "lost_pct",
    "offset_s",
    "drift_ppm",
    "last_seen_ago_s",
    "packets",
    "sync_state",
    "overflow_samples",
)


def _no_data_s(seen_ago_s: float | None, data_age_s: float | None) -> float | None:
    """How long a sensor has given no live data (s): since its last notification, or
    its newest sample's age less the ~1 s a sample may take to be handed on."""
    behind_s = None if data_age_s is None else data_age_s - 1.0
    ages = [a for a in (seen_ago_s, behind_s) if a is not None]
    return max(ages) if ages else None


def _default_name(demo: bool) -> str:
    day = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    return f"{'Demo' if demo else 'Practice'} {day}"
