"""A virtual WitMotion WT901BLE: a bumble GATT peripheral streaming `55 61` frames.

The vendor side of `protocols/witmotion.py`, on the same radio and the same
sensor-playing machinery as the batonsense `VirtualSensor` (connection
events every `connection_interval_s` plus jitter, at most
`max_packets_per_event` notifications each, injected `loss`, `drop_link`,
`stop`, `finished`, ground truth in `packets`).  What differs, as on the
real module:
- GATT: service 0xFFE5 with the notify characteristic 0xFFE4 and the write
  characteristic 0xFFE9 (`FF AA reg lo hi` register writes, recorded in
  `writes`; the output-rate register is remembered as `requested_rate_hz`
  but the played stream's rate is not changed); the advertisement carries
  the 16-bit service UUID 0xFFE5 and a "WT901BLE…" name;
- streaming starts as soon as the host enables notifications (no START
  command) and stops when it disables them or the link drops;
- a notification holds `frames_per_notification` 20-byte `55 61` frames
  (int16: acc ±16 g, gyro ±2000 °/s, roll/pitch from gravity, yaw 0) —
  no timestamp and no sequence number, so a lost notification leaves no
  trace in the data;
- `rate_error_ppm`: the module's oscillator (per cent level on the real
  part) makes it sample at rate·(1 + error); the played stream is resampled
  (linear interpolation) at those true times, so `sample_host_s()` is each
  sample's true host time.

Ground truth per notification is a `PacketRecord` whose `seq` is the
notification's index (never sent) and `t0_us` is 0 (no sensor clock).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import numpy as np
from bumble import gatt
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection

from batonsense.errors import DecodeError
from batonsense.model import SensorStream
from batonsense.protocols import witmotion as wm
from batonsense.protocols import witmotion_commands as wmc
from batonsense.sources.virtual._packets import Fate, Packetizer, PacketRecord
from batonsense.sources.virtual.radio import VirtualRadio
from batonsense.sources.virtual.sensor import VirtualSensor

_LOG = logging.getLogger(__name__)
_P = gatt.Characteristic.Properties
_READ, _WRITE = gatt.Characteristic.READABLE, gatt.Characteristic.WRITEABLE
NAME_PREFIX = "WT901BLE"


def _short(uuid128: str) -> UUID:
    return UUID.from_16_bits(int(uuid128[4:8], 16))


def witmotion_advertising_data(name: str) -> bytes:
    """The 16-bit service UUID 0xFFE5 and the complete local name."""
    return bytes(
        AdvertisingData(
            [
                (AdvertisingData.FLAGS, bytes([0x06])),
                (
                    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                    bytes(_short(wm.SERVICE_UUID)),
                ),
                (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()[:20]),
            ]
        )
    )


def encode_frames(acc_mps2: np.ndarray, gyro_radps: np.ndarray) -> bytes:
    """`55 61` frames for N samples (SI units → int16 counts, saturating); roll and
    pitch from the gravity direction, yaw 0.  Same bytes as `witmotion.encode_frame`."""
    acc = np.asarray(acc_mps2, dtype=np.float64)
    gyro = np.asarray(gyro_radps, dtype=np.float64)
    roll = np.arctan2(acc[:, 1], acc[:, 2])
    pitch = np.arctan2(-acc[:, 0], np.hypot(acc[:, 1], acc[:, 2]))
    angles = np.column_stack([roll, pitch, np.zeros_like(roll)])
    values = np.hstack([acc / wm.ACC_LSB_MPS2, gyro / wm.GYRO_LSB_RADPS, angles / wm.ANGLE_LSB_RAD])
    counts = np.clip(np.rint(values), -32768, 32767).astype("<i2")
    frames = np.empty((len(counts), wm.FRAME_SIZE), dtype=np.uint8)
    frames[:, 0], frames[:, 1] = wm.HEADER, wm.FLAG_DATA
    frames[:, 2:] = counts.view(np.uint8).reshape(len(counts), 18)
    return frames.tobytes()


def resample(stream: SensorStream, rate_error_ppm: float) -> SensorStream:
    """The stream as sampled by an oscillator off by rate_error_ppm (linear interpolation)."""
    if rate_error_ppm == 0.0 or len(stream) < 2:
        return stream
    t = stream.t_s
    period = (1.0 / stream.rate_hz) / (1.0 + rate_error_ppm * 1e-6)
    t_new = t[0] + np.arange(int((t[-1] - t[0]) / period) + 1) * period

    def interp(a: np.ndarray) -> np.ndarray:
        return np.column_stack([np.interp(t_new, t, a[:, j]) for j in range(a.shape[1])])

    return SensorStream(stream.sensor_id, t_new, interp(stream.acc_mps2), interp(stream.gyro_radps))


class VirtualWitMotion(VirtualSensor):
    """One virtual WT901BLE on `radio` playing `stream` (see the module docstring).

    `await start()` boots it and advertises; the host subscribes to 0xFFE4
    and frames flow.  The clock arguments of `VirtualSensor` do not apply
    (the module has no clock); `rate_error_ppm` models its oscillator.
    """

    def __init__(
        self,
        radio: VirtualRadio,
        stream: SensorStream,
        *,
        name: str | None = None,
        address: str | None = None,
        frames_per_notification: int = 4,
        rate_error_ppm: float = 0.0,
        connection_interval_s: float = 0.030,
        max_packets_per_event: int = 6,
        loss: float = 0.0,
        latency_jitter_s: float = 0.0,
        battery_percent: float = 90.0,
        battery_drain_pct_per_h: float = 5.0,
        seed: int = 0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if frames_per_notification < 1:
            raise ValueError("frames_per_notification must be >= 1")
        self.frames_per_notification = frames_per_notification
        self.rate_error_ppm = rate_error_ppm
        self.nominal_rate_hz = stream.rate_hz
        self.writes: list[bytes] = []
        self.requested_rate_hz: float | None = None
        self._index = 0
        super().__init__(
            radio,
            resample(stream, rate_error_ppm),
            name=name,
            address=address,
            connection_interval_s=connection_interval_s,
            max_packets_per_event=max_packets_per_event,
            loss=loss,
            latency_jitter_s=latency_jitter_s,
            battery_percent=battery_percent,
            battery_drain_pct_per_h=battery_drain_pct_per_h,
            seed=seed,
            now=now,
        )
        if name is None:
            self.name = NAME_PREFIX + self.address.replace(":", "")[-4:]
            self.device.name = self.name

    # ------------------------------------------------------------------ GATT

    def _build_gatt(self) -> None:
        self._data_char = gatt.Characteristic(
            _short(wm.NOTIFY_CHAR_UUID), _P.NOTIFY | _P.READ, _READ, b""
        )
        write = gatt.Characteristic(
            _short(wm.WRITE_CHAR_UUID),
            _P.WRITE | _P.WRITE_WITHOUT_RESPONSE,
            _WRITE,
            gatt.CharacteristicValue(write=self._on_write),
        )
        self.device.add_services([gatt.Service(_short(wm.SERVICE_UUID), [self._data_char, write])])
        self._data_char.on("subscription", self._on_subscription)
        self.device.on("connection", self._on_connection)

    async def start(self, origin_host_s: float | None = None) -> None:
        """Boot and advertise.  origin_host_s: host time of the stream's first
        sample (None: the time notifications are first enabled)."""
        self.origin_host_s = origin_host_s
        await self.device.power_on()
        self.boot_host_s = self._now()
        self.device.advertising_data = witmotion_advertising_data(self.name)
        self.device.scan_response_data = self.device.advertising_data
        await self.device.start_advertising(
            auto_restart=True, advertising_interval_min=20.0, advertising_interval_max=20.0
        )

    def _on_subscription(self, bearer: Connection, notify: bool, _indicate: bool) -> None:
        if notify:
            first = not self._subscribers
            self._subscribers.add(bearer)
            if first:
                self._start_frames()
        else:
            self._subscribers.discard(bearer)
            if not self._subscribers:
                self._stop_streaming()

    def _on_write(self, _connection: Connection, value: bytes) -> None:
        self.writes.append(bytes(value))
        try:
            register, code = wmc.parse_register_write(bytes(value))
        except DecodeError:
            _LOG.debug("%s: ignored write %s", self.name, bytes(value).hex())
            return
        if register == wmc.REG_RRATE:
            self.requested_rate_hz = wmc.RATE_CODES_HZ.get(code)

    # ------------------------------------------------------------- streaming

    def _start_frames(self) -> None:
        self._stop_streaming()
        now = self._now()
        if self.origin_host_s is None:
            self.origin_host_s = now
        packetizer = Packetizer(self.stream.t_s, self.frames_per_notification, self.origin_host_s)
        packetizer.skip_to(now)  # nothing is sent before notifications are enabled
        if self._packetizer_done(packetizer):
            return
        self._task = asyncio.create_task(self._stream(packetizer), name=f"virtual-{self.name}")

    async def _send(self, packetizer: Packetizer, first: int, end: int) -> None:
        index, self._index = self._index, self._index + 1
        lost = self._rng.random() < self.loss
        notified = None
        if not lost:
            payload = encode_frames(
                self.stream.acc_mps2[first:end], self.stream.gyro_radps[first:end]
            )
            notified = self._now()
            await self.device.notify_subscribers(self._data_char, payload)
        fate = Fate.LOST if lost else Fate.SENT
        self.packets.append(
            PacketRecord(index, first, end - first, packetizer.host_s(first), 0, notified, fate, 0)
        )

    # ---------------------------------------------------------------- truth

    def sample_host_s(self) -> np.ndarray:
        """True host time (s) of every sample of the played stream (after `start`)."""
        if self.origin_host_s is None:
            raise RuntimeError("not started")
        return self.origin_host_s + (self.stream.t_s - self.stream.t_s[0])

    def sent_sample_indices(self) -> np.ndarray:
        """Indices into the stream of the samples in notifications that were sent, in order."""
        parts = [np.arange(p.first, p.first + p.count) for p in self.packets if p.fate is Fate.SENT]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    async def reboot(self) -> None:
        """A reset: the link drops (the module has no clock or counter to restart)."""
        await self.drop_link()
