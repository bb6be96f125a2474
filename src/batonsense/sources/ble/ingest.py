"""Ingestion skeleton in bleak's recommended shape.

    async with Ingestor(on_packet=...) as ingest:            # consumer task runs
        devices = await ingest.scan(timeout_s=2.0)           # filter: our service
        await ingest.connect_all(devices)                    # one at a time (shared lock)
        ...                                                  # streams until exit

- Connecting goes through bleak-retry-connector's `establish_connection`
  (retries with backoff), one connection at a time under a shared lock, then
  the data notification is enabled and START written.
- The notification callback does only `queue.put_nowait(RawNotification(
  sensor, now(), bytes))` (`now`: the injectable host clock, by default
  `time.monotonic`); a consumer task records every raw notification
  (`on_raw`, for bit-exact replay) and then decodes it; decode errors are
  counted per sensor, never raised.
- An unsolicited disconnect records a `Gap` and reconnects in the background
  with the same `establish_connection`; the gap's end is the host time the
  stream was re-armed.  Data before and after are kept.
- A device offering the WitMotion service (0xFFE5, found in its GATT
  database after connecting) is a WitMotion module: its 0xFFE4 frames
  characteristic is subscribed (it streams from then on; no START), the
  optional `witmotion_setup` writes (e.g. `witmotion_commands.rate_setup`)
  go to 0xFFE9, and its notifications are decoded as WitMotion frames.
  `SensorLink.protocol` says which; `on_armed(link)` runs before the
  subscription (so a consumer can route the sensor before its first byte).
- `backend` selects the bleak backend classes (None: the platform's, i.e.
  BlueZ on Linux; `bumble_backend(radio)` for the virtual radio).  The code
  path is identical otherwise.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from batonsense.errors import DecodeError
from batonsense.protocols import DecodedPacket
from batonsense.protocols import batonsense_v1 as v1
from batonsense.protocols import witmotion as wm
from batonsense.sources.ble.bumble_backend import BumbleBackend

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RawNotification:
    """One notification as received: sensor address, host receive time
    (the ingestor's `now()`, by default `time.monotonic()`, s) and the bytes."""

    sensor: str
    host_s: float
    data: bytes


@dataclass(frozen=True, slots=True)
class Gap:
    """A link drop: lost_host_s when the disconnect was seen, restored_host_s
    when streaming was re-armed (None while still down)."""

    sensor: str
    lost_host_s: float
    restored_host_s: float | None = None


@dataclass(slots=True)
class SensorLink:
    """Live state of one sensor (mutable: updated by the ingestor)."""

    device: BLEDevice
    client: BleakClient | None = None
    connected: bool = False
    notifications: int = 0
    samples: int = 0
    decode_errors: int = 0
    reconnects: int = 0
    last_seen_host_s: float | None = None
    gaps: list[Gap] = field(default_factory=list)
    protocol: str = v1.PROTOCOL  # "batonsense_v1" or "witmotion" (from the GATT services)

    @property
    def address(self) -> str:
        return self.device.address


PacketSink = Callable[[str, float, DecodedPacket], None]
RawSink = Callable[[RawNotification], None]


class Ingestor:
    """Scan, connect, stream and reconnect batonsense v1 and WitMotion sensors (module docstring).

    on_packet(sensor, host_s, packet) gets every decoded packet with its host
    receive time; on_raw(RawNotification) every notification before decoding.
    Both run in the consumer task, never in bleak's callback.  now: the host
    clock stamping receive times and gaps (s; default `time.monotonic`; the
    running loop's `time` under `sources.virtual.VirtualTimeLoop`).
    """

    def __init__(
        self,
        *,
        on_packet: PacketSink | None = None,
        on_raw: RawSink | None = None,
        decode: Callable[[bytes], DecodedPacket] = v1.decode_packet,
        backend: BumbleBackend | None = None,
        start_command: bytes = v1.encode_start(),
        max_attempts: int = 4,
        reconnect_backoff_s: Sequence[float] = (0.1, 0.5, 1.0, 2.0, 5.0),
        queue_size: int = 100_000,
        now: Callable[[], float] = time.monotonic,
        witmotion_setup: Sequence[bytes] = (),
        on_armed: Callable[[SensorLink], None] | None = None,
    ) -> None:
        self._now = now
        self._witmotion_setup = tuple(witmotion_setup)
        self._on_armed = on_armed
        self.links: dict[str, SensorLink] = {}
        self.queue: asyncio.Queue[RawNotification] = asyncio.Queue(maxsize=queue_size)
        self.queue_overflows = 0
        self._on_packet = on_packet
        self._on_raw = on_raw
        self._decode = decode
        self._decoders: dict[str, Callable[[bytes], DecodedPacket]] = {
            wm.PROTOCOL: wm.decode_notification
        }
        self._backend = backend
        self._start_command = start_command
        self._max_attempts = max_attempts
        self._backoff_s = tuple(reconnect_backoff_s)
        self._connect_lock = asyncio.Lock()
        self._closing = False
        self._consumer: asyncio.Task[None] | None = None
        self._reconnect_tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        self._consumer = asyncio.create_task(self._consume(), name="ble-consumer")
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def scan(
        self, timeout_s: float = 5.0, service_uuids: Sequence[str] = (v1.SERVICE_UUID,)
    ) -> list[BLEDevice]:
        """Devices advertising one of service_uuids, found within timeout_s."""
        kwargs: dict[str, Any] = {} if self._backend is None else {"backend": self._backend.scanner}
        return await BleakScanner.discover(
            timeout=timeout_s, service_uuids=list(service_uuids), **kwargs
        )

    async def connect_all(self, devices: Sequence[BLEDevice]) -> None:
        """Connect and arm every device; connections are made one at a time."""
        await asyncio.gather(*(self.connect(d) for d in devices))

    async def connect(self, device: BLEDevice) -> SensorLink:
        link = self.links.setdefault(device.address, SensorLink(device))
        await self._arm(link)
        return link

    async def _arm(self, link: SensorLink) -> None:
        """Connect (retrying), subscribe to the data characteristic, write START."""
        kwargs: dict[str, Any] = {} if self._backend is None else {"backend": self._backend.client}
        async with self._connect_lock:
            client = await establish_connection(
                BleakClient,
                link.device,
                link.device.name or link.address,
                disconnected_callback=lambda c: self._on_disconnect(link, c),
                max_attempts=self._max_attempts,
                **kwargs,
            )
        link.client = client
        address = link.address

        def on_notify(_char: object, data: bytearray) -> None:
            self._enqueue(RawNotification(address, self._now(), bytes(data)))

        if client.services.get_service(wm.SERVICE_UUID) is not None:
            link.protocol = wm.PROTOCOL
            if self._on_armed is not None:
                self._on_armed(link)
            await client.start_notify(wm.NOTIFY_CHAR_UUID, on_notify)
            for command in self._witmotion_setup:
                await client.write_gatt_char(wm.WRITE_CHAR_UUID, command, response=False)
        else:
            if self._on_armed is not None:
                self._on_armed(link)
            await client.start_notify(v1.DATA_CHAR_UUID, on_notify)
            await client.write_gatt_char(v1.CONTROL_CHAR_UUID, self._start_command, response=True)
        link.connected = True

    def _enqueue(self, item: RawNotification) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.queue_overflows += 1

    def _on_disconnect(self, link: SensorLink, client: BleakClient) -> None:
        if self._closing or client is not link.client:
            return
        link.connected = False
        link.gaps.append(Gap(link.address, self._now()))
        _LOG.info("%s: disconnected, reconnecting", link.address)
        task = asyncio.get_running_loop().create_task(self._reconnect(link))
        self._reconnect_tasks.add(task)
        task.add_done_callback(self._reconnect_tasks.discard)

    async def _reconnect(self, link: SensorLink) -> None:
        for attempt in itertools.count():
            try:
                await self._arm(link)
            except (BleakError, TimeoutError) as exc:
                delay_s = self._backoff_s[min(attempt, len(self._backoff_s) - 1)]
                _LOG.info(
                    "%s: reconnect failed (%s), retrying in %.1f s", link.address, exc, delay_s
                )
                await asyncio.sleep(delay_s)
                continue
            link.reconnects += 1
            gap = link.gaps[-1]
            link.gaps[-1] = Gap(gap.sensor, gap.lost_host_s, self._now())
            return

    async def _consume(self) -> None:
        while True:
            item = await self.queue.get()
            try:
                self._handle(item)
            except Exception:  # noqa: BLE001 - a bug downstream must not stop ingestion
                _LOG.exception("%s: handling a notification failed", item.sensor)
            finally:
                self.queue.task_done()

    def _handle(self, item: RawNotification) -> None:
        link = self.links.get(item.sensor)
        if self._on_raw is not None:
            self._on_raw(item)
        if link is None:
            return
        link.notifications += 1
        link.last_seen_host_s = item.host_s
        try:
            packet = self._decoders.get(link.protocol, self._decode)(item.data)
        except DecodeError as exc:  # a bad notification is counted, never fatal
            link.decode_errors += 1
            _LOG.debug("%s: undecodable notification: %s", item.sensor, exc)
            return
        link.samples += len(packet)
        if self._on_packet is not None:
            self._on_packet(item.sensor, item.host_s, packet)

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait until the consumer has handled everything received so far."""
        await asyncio.wait_for(self.queue.join(), timeout_s)

    async def close(self, timeout_s: float = 5.0) -> None:
        """Stop reconnecting, disconnect every sensor, handle what was received."""
        self._closing = True
        for task in list(self._reconnect_tasks):
            task.cancel()
        await asyncio.gather(*self._reconnect_tasks, return_exceptions=True)
        clients = [link.client for link in self.links.values() if link.client is not None]
        await asyncio.wait_for(
            asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True), timeout_s
        )
        for link in self.links.values():
            link.connected = False
        if self._consumer is not None:
            await self.drain(timeout_s)
            self._consumer.cancel()
            await asyncio.gather(self._consumer, return_exceptions=True)
            self._consumer = None
