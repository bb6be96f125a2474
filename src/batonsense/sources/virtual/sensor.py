"""A virtual batonsense sensor: a bumble GATT peripheral streaming a SensorStream.

It implements the firmware side of `firmware_notes/protocol.md` (data,
control, Battery and Device Information services; START/STOP/IDENTIFY; BOOT,
START and LOW_BATTERY flags; seq since boot) on top of a scripted stream of
samples.  What it models (host times are `now()` in s):
- sample i is taken at host time origin_host_s + (t_s[i] - t_s[0]); the
  origin is shared by the sensors of one scene (`start(origin_host_s)`), or
  set by the first START;
- the sensor's own clock (`SensorClock`: offset and drift) stamps t0_us;
- protocol v3 (default): packets complete by the radio's ACTIVE signal
  (`NOTIFY_LEAD_S` before a connection event) go in that event, stamped
  with its time on the sensor's own clock (`event_us`).  The virtual radio
  runs on the host's CPU: when its task wakes late (a busy or stopped
  process) the event happens then, and that is the time stamped — a real
  radio keeps its events whatever the host does, so only the host's own
  delay (after the notify) may reach the receive times; protocol v2
  (`protocol_version=2`): a seeded random send hold, and `queued_us` from the
  sensor's own clock at the hand-off to the stack (`SendHold`;
  `send_hold_max_s` overrides its bound); `protocol_version=1` emulates the
  oldest firmware (no stamp);
- connection events every `connection_interval_s` (plus a random delay up to
  `latency_jitter_s`), each notifying at most `max_packets_per_event` of the
  packets completed by then: notifications arrive in bursts, as over a radio;
- injected loss: a packet is dropped with probability `loss` (its seq is
  missing on the host), drawn from its own seeded stream, one draw per packet in
  send order, so the same packets are lost in every run of one seed whatever
  the host's timing (the connection events' jitter draws vary with it);
- a link drop stops streaming (as the firmware does); samples taken until the
  host writes START again are never measured;
- the battery drains at `battery_drain_pct_per_h`;
- `now` is the host clock (s, default `time.monotonic`); pass the running
  loop's `time` under `VirtualTimeLoop` (`clock.py`) to play faster than real
  time (the sensor's `asyncio.sleep` waits on the loop's clock).
Every packet assembled is logged in `packets` (ground truth; the last
`packet_log` only, if given).

Endless streams (`open_ended=True`): `extend(stream)` appends later samples
while the sensor plays (sample times keep increasing at the same rate; seq
numbers and the sensor clock just continue); samples already played are
forgotten, so memory stays bounded.  If playback catches up with the
samples given, the sensor waits for more (connection events carry nothing,
as when the IMU lags).  `close()` says no more will come: `finished` is set
once the rest is played.

bumble's virtual controller answers scan requests with the advertising data
instead of the scan response data (bumble 0.0.236, controller.py, legacy
advertising report), so the name is also put into the advertising data, and
the Flags field is left out to make room (UUID list 18 + name 11 = 29 bytes).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from bumble import att, gatt
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection

from batonsense.model import SensorStream
from batonsense.protocols import batonsense_v1 as v1
from batonsense.sources.virtual._packets import (
    Fate,
    Packetizer,
    PacketRecord,
    SendHold,
    SensorClock,
)
from batonsense.sources.virtual.radio import VirtualRadio

_LOG = logging.getLogger(__name__)
_READ, _WRITE = gatt.Characteristic.READABLE, gatt.Characteristic.WRITEABLE
_P = gatt.Characteristic.Properties
_STEADY_CLOCK = SensorClock()
NOTIFY_LEAD_S = 0.00174  # v3: the radio's ACTIVE signal comes this long before an event


def advertising_data(name: str) -> bytes:
    """Our service UUID and the complete local name (see the module docstring)."""
    return bytes(
        AdvertisingData(
            [
                (
                    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                    bytes(UUID(v1.SERVICE_UUID)),
                ),
                (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()[:11]),
            ]
        )
    )


class VirtualSensor:
    """One virtual sensor on `radio` playing `stream` (see the module docstring).

    `await start()` boots it and advertises.  The host subscribes to the data
    characteristic and writes START to the control characteristic, as with
    real firmware.  `drop_link()` simulates a drop-out, `reboot()` a reset.
    """

    def __init__(
        self,
        radio: VirtualRadio,
        stream: SensorStream,
        *,
        name: str | None = None,
        address: str | None = None,
        clock: SensorClock = _STEADY_CLOCK,
        connection_interval_s: float = 0.030,
        max_packets_per_event: int = 6,
        loss: float = 0.0,
        latency_jitter_s: float = 0.0,
        battery_percent: float = 90.0,
        battery_drain_pct_per_h: float = 5.0,
        seed: int = 0,
        now: Callable[[], float] = time.monotonic,
        open_ended: bool = False,
        packet_log: int | None = None,
        protocol_version: int = v1.VERSION_EVENT,
        send_hold_max_s: float | None = None,
    ) -> None:
        if protocol_version not in v1.VERSIONS:
            raise ValueError(f"protocol_version must be one of {v1.VERSIONS}")
        self._now = now
        self._open = open_ended
        self._first_index = 0  # absolute index of self.stream's first sample
        self._t0_s = float(stream.t_s[0]) if len(stream) else 0.0
        self._packetizer: Packetizer | None = None
        self.device = radio.make_device(name or "BSNS", address)
        self.address = str(self.device.random_address)
        self.name = name or v1.NAME_PREFIX + self.address.replace(":", "")[-4:]
        self.device.name = self.name
        self.stream = stream
        self.clock = clock
        self.connection_interval_s = connection_interval_s
        self.max_packets_per_event = max_packets_per_event
        self.loss = loss
        self.latency_jitter_s = latency_jitter_s
        self._battery = (battery_percent, battery_drain_pct_per_h / 3600.0)
        self._rng = random.Random(seed)
        self._loss_rng = random.Random(f"{seed}/loss")
        self.protocol_version = protocol_version
        # armed by START (our protocol only: subclasses streaming other formats never hold)
        self._hold = SendHold(seed, enabled=False, max_s=send_hold_max_s)
        self._handoff_host_s = 0.0  # when the packet being sent was handed to the stack
        self._event_host_s = 0.0  # the connection event it goes in (v3's stamp)
        self.origin_host_s: float | None = None
        self.boot_host_s = self._now()
        self.packets: list[PacketRecord] | deque[PacketRecord] = (
            [] if packet_log is None else deque(maxlen=packet_log)
        )
        self.finished = asyncio.Event()  # set when the whole stream has been played
        self._settings = v1.Status(
            v1.State.IDLE, 200, 16, 2000, v1.auto_samples_per_packet(200), 0, protocol_version
        )
        self._seq = 0
        self._pending_flags = int(v1.Flag.BOOT)
        self._subscribers: set[Connection] = set()
        self._task: asyncio.Task[None] | None = None
        self._build_gatt()

    # ------------------------------------------------------------------ GATT

    def _build_gatt(self) -> None:
        self._data_char = gatt.Characteristic(v1.DATA_CHAR_UUID, _P.NOTIFY, _READ, b"")
        control = gatt.Characteristic(
            v1.CONTROL_CHAR_UUID,
            _P.READ | _P.WRITE,
            _READ | _WRITE,
            gatt.CharacteristicValue(
                read=lambda _c: v1.encode_status(self._settings), write=self._on_control
            ),
        )
        self._battery_char = gatt.Characteristic(
            v1.BATTERY_LEVEL_CHAR_UUID,
            _P.READ | _P.NOTIFY,
            _READ,
            gatt.CharacteristicValue(read=lambda _c: bytes([self.battery_percent()])),
        )
        info = [
            ("2A29", "batonsense"),
            ("2A24", "virtual-bumble"),
            ("2A25", self.address.replace(":", "")),
            ("2A26", f"{self.protocol_version}.0.0"),
        ]
        self.device.add_services(
            [
                gatt.Service(v1.SERVICE_UUID, [self._data_char, control]),
                gatt.Service(v1.BATTERY_SERVICE_UUID, [self._battery_char]),
                gatt.Service(
                    v1.DEVICE_INFO_SERVICE_UUID,
                    [
                        gatt.Characteristic(
                            UUID.from_16_bits(int(u, 16)), _P.READ, _READ, s.encode()
                        )
                        for u, s in info
                    ],
                ),
            ]
        )
        self._data_char.on("subscription", self._on_subscription)
        self.device.on("connection", self._on_connection)

    def battery_percent(self) -> int:
        start, drain_per_s = self._battery
        level = start - drain_per_s * (self._now() - self.boot_host_s)
        return max(0, min(100, round(level)))

    async def start(self, origin_host_s: float | None = None) -> None:
        """Boot and advertise.  origin_host_s: host time of the stream's first
        sample (None: the time of the first START)."""
        self.origin_host_s = origin_host_s
        await self.device.power_on()
        self.boot_host_s = self._now()
        self.device.advertising_data = advertising_data(self.name)
        self.device.scan_response_data = bytes(
            AdvertisingData([(AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode())])
        )
        await self.device.start_advertising(
            auto_restart=True, advertising_interval_min=20.0, advertising_interval_max=20.0
        )

    def _on_connection(self, connection: Connection) -> None:
        connection.on("disconnection", lambda _reason: self._on_link_lost(connection))

    def _on_subscription(self, bearer: Connection, notify: bool, _indicate: bool) -> None:
        if notify:
            self._subscribers.add(bearer)
        else:
            self._subscribers.discard(bearer)
            self._stop_streaming()

    def _on_link_lost(self, connection: Connection) -> None:
        self._subscribers.discard(connection)
        self._stop_streaming()

    def _on_control(self, _connection: Connection, value: bytes) -> None:
        try:
            command = v1.decode_command(value)
        except v1.CommandError as exc:
            self._settings = replace(self._settings, last_att_error=int(exc.att_error))
            raise att.ATT_Error(int(exc.att_error)) from exc
        if command.opcode is v1.Opcode.STOP:
            self._stop_streaming()
        elif command.opcode is v1.Opcode.START:
            if not self._subscribers:
                raise att.ATT_Error(int(v1.AttError.INVALID_PARAMETER))
            self._start_streaming(command)

    # ------------------------------------------------------------- streaming

    def _start_streaming(self, command: v1.Command) -> None:
        self._stop_streaming()
        rate_hz = self.stream.rate_hz
        spp = command.samples_per_packet or v1.auto_samples_per_packet(round(rate_hz))
        assert command.rate_hz and command.acc_range_g and command.gyro_range_dps
        self._settings = replace(
            self._settings,
            state=v1.State.STREAMING,
            rate_hz=command.rate_hz,
            acc_range_g=command.acc_range_g,
            gyro_range_dps=command.gyro_range_dps,
            samples_per_packet=spp,
            last_att_error=0,
        )
        now = self._now()
        if self.origin_host_s is None:
            self.origin_host_s = now
        packetizer = self._new_packetizer(spp)
        packetizer.skip_to(now)  # the IMU was not running before START
        if self._packetizer_done(packetizer):
            return
        self._pending_flags |= int(v1.Flag.START)
        self._hold.enabled = self.protocol_version == v1.VERSION_QUEUED
        self._hold.next(self.hold_max_s())
        self._task = asyncio.create_task(self._stream(packetizer), name=f"virtual-{self.name}")

    def _new_packetizer(self, samples_per_packet: int) -> Packetizer:
        assert self.origin_host_s is not None
        self._packetizer = Packetizer(
            self.stream.t_s,
            samples_per_packet,
            self.origin_host_s,
            t0_s=self._t0_s,
            first_index=self._first_index,
        )
        return self._packetizer

    def _packetizer_done(self, packetizer: Packetizer) -> bool:
        """True (and `finished` set) if nothing is left to play and nothing more will come."""
        over = packetizer.done and not self._open
        if over:
            self.finished.set()
        return over

    def _samples(self, first: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """acc (m/s²) and gyro (rad/s) of absolute samples [first, end)."""
        a, b = first - self._first_index, end - self._first_index
        return self.stream.acc_mps2[a:b], self.stream.gyro_radps[a:b]

    def extend(self, stream: SensorStream) -> None:
        """Append later samples of the same sensor (open-ended sensors only); samples
        already played, or taken while not streaming, are dropped (module docstring)."""
        if not self._open:
            raise RuntimeError(f"{self.name}: extend() needs open_ended=True")
        if len(self.stream) and len(stream) and stream.t_s[0] <= self.stream.t_s[-1]:
            raise ValueError(f"{self.name}: extend() samples must come after the last one")
        if self._packetizer is not None:
            self._packetizer.extend(stream.t_s)
        drop = self._played() - self._first_index
        if self._packetizer is not None:
            self._packetizer.trim(self._first_index + drop)
            drop = self._packetizer.base - self._first_index
        old = self.stream
        self.stream = SensorStream(
            old.sensor_id,
            np.concatenate([old.t_s[drop:], stream.t_s]),
            np.concatenate([old.acc_mps2[drop:], stream.acc_mps2]),
            np.concatenate([old.gyro_radps[drop:], stream.gyro_radps]),
        )
        self._first_index += drop
        if not len(old):
            self._t0_s = float(self.stream.t_s[0])

    def _played(self) -> int:
        """Absolute index of the first sample still to play (all before it are sent,
        lost, or were taken while the IMU was not streaming)."""
        n = len(self.stream)
        if self._packetizer is not None:
            return min(self._packetizer.next, self._first_index + n)
        if self.origin_host_s is None or not n:
            return self._first_index
        rel_now_s = self._now() - self.origin_host_s
        k = int(np.searchsorted(self.stream.t_s - self._t0_s, rel_now_s, side="left"))
        return self._first_index + min(k, n)

    def close(self) -> None:
        """No more samples will come: `finished` is set once the rest is played."""
        self._open = False

    def _stop_streaming(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._packetizer = None
        self._settings = replace(self._settings, state=v1.State.IDLE)

    async def _stream(self, packetizer: Packetizer) -> None:
        event_s = self._now()
        while not packetizer.done or self._open:
            event_s += self.connection_interval_s
            jitter_s = self._rng.uniform(0.0, self.latency_jitter_s)
            await asyncio.sleep(max(0.0, event_s + jitter_s - self._now()))
            # the host's CPU woke this task late (a busy or stopped process): the
            # virtual radio's event happened when it ran, not at event_s
            woke_late_s = max(0.0, self._now() - (event_s + jitter_s))
            await self._connection_event(packetizer, event_s, event_s + woke_late_s)
        self.finished.set()
        self._settings = replace(self._settings, state=v1.State.IDLE)

    def hold_max_s(self) -> float:
        """Upper bound (s) of the random send hold (0 for v1 firmware; `SendHold`)."""
        packet_s = self._settings.samples_per_packet / self.stream.rate_hz
        return self._hold.bound_s(packet_s, self.connection_interval_s)

    async def _connection_event(
        self, packetizer: Packetizer, event_s: float, anchor_s: float | None = None
    ) -> None:
        """Notify up to max_packets_per_event packets handed to the stack by now
        (v3: by the ACTIVE signal before the event scheduled at event_s, stamped
        with anchor_s: when the event happened, event_s unless the task woke late)."""
        stamped = self.protocol_version == v1.VERSION_EVENT
        ready_by_s = event_s - NOTIFY_LEAD_S if stamped else self._now()
        self._event_host_s = event_s if anchor_s is None else anchor_s
        for _ in range(self.max_packets_per_event):
            hold_s = self._hold.hold_s
            bounds = packetizer.take_ready(ready_by_s, hold_s)
            if bounds is None:
                return
            last_s = packetizer.host_s(bounds[1] - 1) + hold_s
            self._handoff_host_s = self._event_host_s - NOTIFY_LEAD_S if stamped else last_s
            self._hold.next(self.hold_max_s())
            await self._send(packetizer, *bounds)

    async def _send(self, packetizer: Packetizer, first: int, end: int) -> None:
        handoff_host_s = self._handoff_host_s
        sample0_host_s = packetizer.host_s(first)
        t0_us = self.clock.sensor_us(sample0_host_s, self.boot_host_s)
        period_us = round(1e6 / self.stream.rate_hz)
        queued_us = event_us = None
        t_last_us = t0_us + (end - first - 1) * period_us
        if self.protocol_version == v1.VERSION_QUEUED:
            queued_us = SendHold.queued_us(
                self.clock.sensor_us(handoff_host_s, self.boot_host_s), t_last_us
            )
        elif self.protocol_version == v1.VERSION_EVENT:
            event_us = SendHold.queued_us(  # same clamp: 0..65535 µs after the last sample
                self.clock.sensor_us(self._event_host_s, self.boot_host_s), t_last_us
            )
        flags = self._pending_flags | (
            int(v1.Flag.LOW_BATTERY) if self.battery_percent() < 10 else 0
        )
        seq, self._seq, self._pending_flags = self._seq, (self._seq + 1) & 0xFFFF, 0
        lost = self._loss_rng.random() < self.loss
        notified = None
        if not lost:
            s = self._settings
            payload = v1.encode_packet(
                seq=seq,
                t0_us=t0_us,
                period_us=period_us,
                acc_mps2=self._samples(first, end)[0],
                gyro_radps=self._samples(first, end)[1],
                acc_range_g=s.acc_range_g,
                gyro_range_dps=s.gyro_range_dps,
                flags=flags,
                queued_us=queued_us,
                event_us=event_us,
            )
            notified = self._now()
            await self.device.notify_subscribers(self._data_char, payload)
        fate = Fate.LOST if lost else Fate.SENT
        record = PacketRecord(seq, first, end - first, sample0_host_s, t0_us, notified, fate, flags)
        self.packets.append(
            replace(
                record, handoff_host_s=handoff_host_s, queued_us=queued_us, event_us=event_us
            )
        )

    # ------------------------------------------------------------- scripted

    async def drop_link(self) -> None:
        """A drop-out: disconnect every central (the host sees an unsolicited disconnect)."""
        for connection in list(self.device.connections.values()):
            await connection.disconnect()

    async def reboot(self) -> None:
        """A reset: the link drops, seq restarts at 0, the clock at 0, next packet has BOOT."""
        await self.drop_link()
        self._seq, self._pending_flags = 0, int(v1.Flag.BOOT)
        self.boot_host_s = self._now()
        self.clock = SensorClock(0.0, self.clock.drift_ppm)

    async def stop(self) -> None:
        """Stop streaming and disconnect."""
        self._stop_streaming()
        await self.drop_link()

    def samples(self, fate: Fate) -> int:
        """Samples in packets with this fate so far."""
        return sum(p.count for p in self.packets if p.fate is fate)
