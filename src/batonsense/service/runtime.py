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
  samples in memory; viewers still get every exchange and the API lists the
  kept ones, `held_exchanges()`, with their ids); `health.report()` says
  what is wrong now (storage, ingest lag, sensors with no data, no sensors),
  for /api/health and the page.
- **time**: the sensors' clocks are mapped onto the host's monotonic clock
  (the event loop's `time()`, s); each session stores where that clock sits
  in UTC (`host_zero_unix_s`), so every time can be shown as a time of day.
- **reads**: API handlers running in worker threads borrow a read connection
  (`reading()`); the loop thread uses `store`.  SQLite's WAL lets readers run
  beside the writer.

Below it: `sensor_set` (the sensors streamed, and the API's changes for the
next session), `sensor_rows` (their status for `GET /api/sensors`),
`session_tap` (the sink in front of the running session's writer), `readers`
(the read connections), `health` (what is wrong now), `hub` (live viewers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bleak.exc import BleakError

from batonsense.model import Exchange, SensorInfo
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
from .hub import ExchangeHub
from .readers import ReadPool
from .sensor_rows import _STATUS_KEYS, config_row, sensor_rows
from .sensor_set import SensorSet
from .session_tap import SessionTap

_LOG = logging.getLogger(__name__)


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
        #: the sensors streamed now and how to find them; those changed through the
        #: API stream from the next session on
        self.sensor_set = SensorSet(config.sensors, config.targets)
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
        self._tap = SessionTap()
        self._reads = ReadPool(self.db_path, readers)
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
            t = self.sensor_set.target(s.id)
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
        self._reads.close()

    # -- sessions --------------------------------------------------------------

    @property
    def sensors(self) -> tuple[SensorInfo, ...]:
        """The sensors streamed now."""
        return self.sensor_set.sensors

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
            if self.sensor_set.next is None:
                return self.start_session(name, notes)
            self._gate.clear()  # _stream waits before its next run
            try:
                self.sensor_set.apply_next()
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
        return self.sensor_set.configured(sensor_id)

    def put_sensor(self, sensor: StoredSensor) -> None:
        """Add or change a sensor (stored now, streamed from the next session on).

        Raises ValueError (what is wrong) if the sensors would no longer make a
        valid set (one baton, one sensor per athlete's hand, ≥ 2 wrists); then
        nothing changes."""
        self.sensor_set.put(sensor, save=self.store.put_sensor)

    def remove_sensor(self, sensor_id: str) -> None:
        """Take a sensor out of the set from the next session on (KeyError: not in it;
        ValueError: the rest would not be a valid set)."""
        self.sensor_set.remove(sensor_id)

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

    def reading(self) -> contextlib.AbstractContextManager[Store]:
        """A read connection for a worker thread (returned to the pool afterwards)."""
        return self._reads.reading()

    def sensor_rows(self) -> list[dict[str, Any]]:
        """Status of every configured sensor (for `GET /api/sensors` and the page)."""
        return sensor_rows(self.sensor_set, self.record, self.problem)

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
            targets = [virtual.get(s.id) or self.sensor_set.target(s.id) for s in self.sensors]
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
        return self._reads.session(session_id)


def _default_name(demo: bool) -> str:
    day = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    return f"{'Demo' if demo else 'Practice'} {day}"


__all__ = ["_STATUS_KEYS", "Runtime", "config_row"]
