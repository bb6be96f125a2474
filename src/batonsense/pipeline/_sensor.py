"""One sensor's path: bytes → DecodedPacket → sequence check → clock sync → SensorStream."""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable

import numpy as np

from batonsense.errors import DecodeError
from batonsense.model import SensorStream
from batonsense.protocols import DecodedPacket
from batonsense.protocols import batonsense_v1 as v1
from batonsense.sync import ClockMapper, ResetReason

from ._held_up import HeldUpAwareMapper
from ._stats import SensorStats, with_fit

Decoder = Callable[[bytes], DecodedPacket]
_EMPTY3 = np.empty((0, 3))

#: How far back (packets) a notification is still recognised as a duplicate
#: or a late (reordered) packet rather than the counter running backwards (a
#: reboot).  One BLE link delivers in order; repeats and swaps come from host
#: queues and retries, a few packets at most, so 32 (0.6 s at 50 packets/s)
#: is ample and still far from the half-wrap (32768) that means a reboot.
REORDER_WINDOW_PACKETS = 32

#: Longest wait (s of receive time) for the clock fit to settle after a stall
#: before the catch-up's samples are mapped anyway (`HeldUpAwareMapper.catching_up`):
#: a catch-up works off its backlog at several times real time (the demo: a 20 s
#: stall in ~3 s, then SETTLE_S); 20 s still covers a 60 s stall worked off at 4x.
CATCH_UP_MAX_S = 20.0


class _Notifications:
    """Shared front of the per-sensor pipelines: count, decode, hand on the packet."""

    _stats: SensorStats
    _decode: Decoder

    def feed(self, host_s: float, payload: bytes) -> SensorStream | None:
        """One notification (host receive time in s, bytes) → a block, or None."""
        st = self._stats
        st.notifications += 1
        st.last_seen_host_s = host_s
        try:
            packet = self._decode(payload)
        except DecodeError:
            st.decode_errors += 1
            return None
        return self.feed_packet(host_s, packet)

    def feed_packet(self, host_s: float, packet: DecodedPacket) -> SensorStream | None:
        raise NotImplementedError

    def set_battery(self, percent: int | None) -> None:
        self._stats.battery_pct = percent


class SensorPipeline(_Notifications):
    """Turns one sensor's notifications into SensorStream blocks on the host clock.

    feed(host_s, payload) → a block (sample times in s on the host monotonic
    clock, acc m/s², gyro rad/s) or None.  Sequence gaps are counted and left
    as gaps.  A reboot (BOOT flag after the first packet, seq running
    backwards, sensor time going back) starts a new clock fit and is counted.
    A packet received again (same seq and sensor time as one of the last
    2 × `REORDER_WINDOW_PACKETS`) is a duplicate: dropped and counted, nothing
    else.  A packet that fills a gap of that window late is counted as
    reordered (and no longer as lost); its samples take their place if they
    are still held back, else they are dropped (never emitted out of order).
    Samples lost inside the sensor (OVERFLOW flag) are counted from the
    packet's sensor time.
    The first `warmup_s` of sensor time of every clock epoch is held back and
    mapped once the fit has that much data (a fit on one packet carries that
    packet's radio delay, up to a connection interval); so are the samples
    that come while the fit catches up after a stall (`holding`: held-up
    packets and `SETTLE_S` of fresh ones after them, at most `CATCH_UP_MAX_S`
    of receive time), mapped with the fit that has data on both sides of the
    gap when the `Pipeline` takes them (`take_held`).  Blocks
    are emitted in strictly increasing time, a sample that would not be is
    dropped and counted.

    The clock fit takes each packet's stamp when it has one (our protocol v2:
    the queue stamp; v3: the connection event's anchor, fitted without the
    host's event lattice), else its last sample's time; samples are always
    mapped by their own timestamps.

    decode: bytes → DecodedPacket with timestamps, acc and gyro (our
    protocol, v1, v2 or v3, by default); make_mapper: a fresh ClockMapper for
    each epoch; seq_modulus: the sequence counter's period (uint16).
    """

    def __init__(
        self,
        sensor_id: str,
        *,
        decode: Decoder = v1.decode_packet,
        make_mapper: Callable[[], ClockMapper] = ClockMapper,
        seq_modulus: int = 0x10000,
        warmup_s: float = 2.0,
    ) -> None:
        self.sensor_id = sensor_id
        self._stats = SensorStats(sensor_id)
        self._decode = decode
        self._make_mapper = make_mapper
        self._mapper = make_mapper()
        self._modulus = seq_modulus
        self.warmup_s = warmup_s
        self._last_seq: int | None = None
        # (seq, first sample time µs) of the packets received lately, oldest first
        self._recent: deque[tuple[int, float]] = deque(maxlen=2 * REORDER_WINDOW_PACKETS)
        self._missing: set[int] = set()  # seqs skipped within the window
        self._next_t0_us: float | None = None  # where the next packet's samples start
        self._last_count = 0  # samples in the last packet
        self._prev: tuple[float, int] | None = None  # (first sample's sensor s, count)
        self._period_s: float | None = None
        self._last_host_s = -math.inf
        # (sensor times s, acc, gyro, receive s) of each packet kept back
        self._held: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]] = []
        self._epoch_start_s: float | None = None
        # (stamp, last sample time) in sensor s of the last v2/v3 packet fitted
        self._last_sync = (-math.inf, -math.inf)
        self._waiting_since_host_s: float | None = None  # receive s the catch-up began
        self._holding = False  # samples are kept back for the fit after a stall
        self._gave_up = False  # this catch-up outlasted CATCH_UP_MAX_S: no more keeping back

    # -- input ---------------------------------------------------------------

    def feed_packet(self, host_s: float, packet: DecodedPacket) -> SensorStream | None:
        """One decoded packet with its host receive time (s) → a block, or None."""
        st = self._stats
        if packet.t_sensor_us is None or packet.acc_mps2 is None or packet.gyro_radps is None:
            st.decode_errors += 1  # this path needs timestamped acc + gyro packets
            return None
        order = self._order(packet)
        if order == "duplicate":
            st.duplicates += 1
            return None
        st.packets += 1
        st.samples += len(packet)
        if order == "late":
            return self._late(packet, host_s)
        st.low_battery = "low_battery" in packet.notes
        contiguous, rebooted, gap = self._check_sequence(packet)
        old_epoch = self._new_epoch() if rebooted else None
        self._count_overflow(packet, None if rebooted else gap)
        if "start" in packet.notes and old_epoch is None:
            self._mapper.link_changed()  # restarted, usually after a reconnect: new events
        t_sensor_s = packet.t_sensor_us * 1e-6
        n_resets = len(self._mapper.resets)
        sync_s = self._sync_time_s(packet, float(t_sensor_s[-1]))
        if sync_s is not None:
            self._mapper.observe(sync_s, host_s, event_stamp="event_stamp" in packet.notes)
        if len(self._mapper.resets) > n_resets:
            self._on_clock_reset(self._mapper.resets[-1].reason)
            contiguous = False
        self._measure_rate(float(t_sensor_s[0]), len(packet), contiguous, packet.period_us)
        if self._epoch_start_s is None:
            self._epoch_start_s = float(t_sensor_s[0])
        self._held.append((t_sensor_s, packet.acc_mps2, packet.gyro_radps, host_s))
        if old_epoch is not None or float(t_sensor_s[-1]) - self._epoch_start_s < self.warmup_s:
            return old_epoch  # (the new epoch's first packet waits for the next)
        self._note_catch_up(host_s)
        if self._holding:
            return None  # until the pipeline takes them (take_held)
        return self._release()

    @property
    def holding(self) -> bool:
        """Samples are kept back for the clock fit after a stall (take_held maps them)."""
        return self._holding and bool(self._held)

    @property
    def waiting(self) -> bool:
        """The clock fit is still catching up after a stall (at most CATCH_UP_MAX_S of
        receive time): the samples kept back are not to be mapped yet."""
        return self.holding and self._waiting_since_host_s is not None

    def _note_catch_up(self, host_s: float) -> None:
        """Start keeping samples back when the fit catches up after a stall; note when
        it has settled, or CATCH_UP_MAX_S of receive time (host_s, s) have passed."""
        mapper = self._mapper
        catching_up = isinstance(mapper, HeldUpAwareMapper) and mapper.catching_up
        if not catching_up:
            self._gave_up = False
        if catching_up and not self._holding and not self._gave_up:
            self._holding, self._waiting_since_host_s = True, host_s
        elif self._waiting_since_host_s is not None and (
            not catching_up or host_s - self._waiting_since_host_s >= CATCH_UP_MAX_S
        ):
            self._waiting_since_host_s = None  # settled: kept until taken

    def take_held(self) -> list[tuple[float, SensorStream]]:
        """The samples kept back, mapped with the fit as it is now, one block per
        packet with its receive time (s), oldest first; keeping back ends."""
        out = []
        for t, acc, gyro, rx_s in self._held:
            block = self._map(t, acc, gyro)
            if block is not None:
                out.append((rx_s, block))
        self._held.clear()
        # taken before the fit settled (CATCH_UP_MAX_S): map the rest of this catch-up
        # as it comes, not in bursts
        self._gave_up = self._waiting_since_host_s is not None
        self._holding, self._waiting_since_host_s = False, None
        return out

    def flush(self) -> SensorStream | None:
        """End of data: map and emit whatever is still held back."""
        return self._release()

    # -- output --------------------------------------------------------------

    @property
    def stats(self) -> SensorStats:
        """A snapshot of the counters and the current clock fit."""
        fit = self._mapper.fit
        rate_hz = (
            None
            if self._period_s is None
            else 1.0 / (self._period_s * (1.0 + fit.drift_ppm * 1e-6))
        )
        return with_fit(self._stats, fit, rate_hz)

    # -- internals -----------------------------------------------------------

    def _order(self, packet: DecodedPacket) -> str:
        """The packet's place: "duplicate" (seen already), "late" (fills a recent gap), "next"."""
        if packet.seq is None or self._last_seq is None or packet.t_sensor_us is None:
            return "next"
        key = (packet.seq, float(packet.t_sensor_us[0]))
        if key in self._recent:
            return "duplicate"
        # a late packet lies between the window's oldest and newest (a reboot's
        # clock restarts near 0)
        if (
            packet.seq in self._missing
            and "boot" not in packet.notes
            and bool(self._recent)
            and self._recent[0][1] < key[1] < self._recent[-1][1]
        ):
            return "late"
        return "next"

    def _late(self, packet: DecodedPacket, host_s: float) -> SensorStream | None:
        """A packet that arrives after a later one: no longer lost.  Its samples
        go where they belong among those held back (dropped if already emitted);
        it does not move the clock fit, the rate or the sequence."""
        assert packet.seq is not None and packet.t_sensor_us is not None
        assert packet.acc_mps2 is not None and packet.gyro_radps is not None
        st = self._stats
        self._missing.discard(packet.seq)
        self._recent.append((packet.seq, float(packet.t_sensor_us[0])))
        st.lost_packets -= 1
        st.reordered += 1
        t_sensor_s = packet.t_sensor_us * 1e-6
        at = bisect.bisect([float(h[0][0]) for h in self._held], float(t_sensor_s[0]))
        self._held.insert(at, (t_sensor_s, packet.acc_mps2, packet.gyro_radps, host_s))
        start_s = self._epoch_start_s
        if start_s is None or float(self._held[-1][0][-1]) - start_s < self.warmup_s:
            return None
        if self._holding:
            return None
        return self._release()

    def _check_sequence(self, packet: DecodedPacket) -> tuple[bool, bool, int]:
        """Count lost packets, restarts and reboots.

        Returns (the packet follows the last one, the sensor rebooted, packets
        missing just before it).
        """
        st, seq, last = self._stats, packet.seq, self._last_seq
        boot = "boot" in packet.notes and st.packets > 1
        start = "start" in packet.notes
        if start and st.packets > 1:
            st.restarts += 1
        if seq is None:
            return not (boot or start), boot, 0
        self._last_seq = seq
        assert packet.t_sensor_us is not None
        if last is None:
            self._recent.append((seq, float(packet.t_sensor_us[0])))
            return True, False, 0
        ahead = (seq - last - 1) % self._modulus
        if boot or ahead >= self._modulus // 2:  # BOOT flag, or the counter ran backwards
            st.lost_packets += seq  # packets since the reboot that never arrived
            self._missing.clear()
            self._recent.clear()
            self._recent.append((seq, float(packet.t_sensor_us[0])))
            return False, True, 0
        st.lost_packets += ahead
        self._note_missing(seq, ahead)
        self._recent.append((seq, float(packet.t_sensor_us[0])))
        return ahead == 0 and not start, False, ahead

    def _note_missing(self, seq: int, ahead: int) -> None:
        """Remember the seqs just skipped, so a late packet can still fill them."""
        window = REORDER_WINDOW_PACKETS
        if self._missing:
            self._missing = {m for m in self._missing if (seq - m) % self._modulus <= window}
        if 0 < ahead <= window:
            self._missing.update((seq - k) % self._modulus for k in range(1, ahead + 1))

    def _count_overflow(self, packet: DecodedPacket, gap: int | None) -> None:
        """Samples the sensor lost before an OVERFLOW packet, from its sensor time.

        gap: packets missing just before this one (None after a reboot).  Each
        missing packet is taken to have held as many samples as the previous
        one; what the time gap holds beyond that was lost inside the sensor
        (`firmware_notes/clock_sync.md`)."""
        assert packet.t_sensor_us is not None
        t0_us, period_us = float(packet.t_sensor_us[0]), packet.period_us
        expected_us, last_count = self._next_t0_us, self._last_count
        self._next_t0_us = t0_us + len(packet) * period_us if period_us else None
        self._last_count = len(packet)
        if "overflow" not in packet.notes or "start" in packet.notes:
            return
        if gap is None or expected_us is None or not period_us:
            return
        missing = round((t0_us - expected_us) / period_us) - gap * last_count
        self._stats.overflow_samples += max(0, missing)

    def _sync_time_s(self, packet: DecodedPacket, t_last_s: float) -> float | None:
        """Sensor time (s) the clock fit takes for this packet, or None to skip it.

        The stamp if present (protocol v2: when the sensor handed the packet to
        its BLE stack, after a random hold; v3: the anchor of the connection
        event it was handed over for), else the last sample's time (v1).
        Stamps never run backwards from correct firmware (packets are handed
        over in order); one that does while the samples move on is skipped
        rather than taken for a reboot.
        """
        if packet.t_queued_us is None:
            return t_last_s
        sync_s = max(packet.t_queued_us * 1e-6, t_last_s)
        last_sync_s, last_sample_s = self._last_sync
        if sync_s < last_sync_s and t_last_s >= last_sample_s:
            return None
        self._last_sync = (sync_s, t_last_s)
        return sync_s

    def _new_epoch(self) -> SensorStream | None:
        """After a reboot: emit what the old fit still maps, start a fresh fit."""
        self._stats.reboots += 1
        self._stats.clock_resets += 1
        out = self._release()
        self._holding, self._waiting_since_host_s = False, None
        self._mapper = self._make_mapper()
        self._epoch_start_s = None
        self._last_sync = (-math.inf, -math.inf)
        return out

    def _on_clock_reset(self, reason: ResetReason) -> None:
        """The mapper saw the clock jump (it restarted its fit itself)."""
        self._stats.clock_resets += 1
        if reason is ResetReason.BACKWARDS:
            self._stats.reboots += 1
        # Samples still held belong to the old epoch, whose fit is gone; the
        # new fit would misplace them, so they are dropped (at most warmup_s).
        self._stats.dropped_samples += sum(len(h[0]) for h in self._held)
        self._held.clear()
        self._epoch_start_s = None
        self._holding, self._waiting_since_host_s = False, None

    def _measure_rate(
        self, t0_s: float, count: int, contiguous: bool, nominal_us: float | None
    ) -> None:
        """Sample period (sensor s) from consecutive packets' first-sample times."""
        prev, self._prev = self._prev, (t0_s, count)
        if prev is None or not contiguous or t0_s <= prev[0]:
            return
        period = (t0_s - prev[0]) / prev[1]
        if nominal_us and abs(period / (nominal_us * 1e-6) - 1.0) > 0.05:
            return  # samples missing between the packets (IMU FIFO overrun)
        self._period_s = period if self._period_s is None else 0.95 * self._period_s + 0.05 * period

    def _release(self) -> SensorStream | None:
        if not self._held:
            return None
        t_sensor = np.concatenate([h[0] for h in self._held])
        acc = np.concatenate([h[1] for h in self._held])
        gyro = np.concatenate([h[2] for h in self._held])
        self._held.clear()
        self._holding, self._waiting_since_host_s = False, None
        return self._map(t_sensor, acc, gyro)

    def _map(self, t_sensor: np.ndarray, acc: np.ndarray, gyro: np.ndarray) -> SensorStream | None:
        """Samples (sensor times s) on the host clock by the current fit, after the last
        sample emitted (a sample that is not is dropped and counted)."""
        t_host = self._mapper.to_host_s(t_sensor)
        keep = t_host > np.maximum.accumulate(np.concatenate([[self._last_host_s], t_host]))[:-1]
        if not keep.all():
            self._stats.dropped_samples += int((~keep).sum())
            t_host, acc, gyro = t_host[keep], acc[keep], gyro[keep]
        if not len(t_host):
            return None
        self._last_host_s = float(t_host[-1])
        return SensorStream(self.sensor_id, t_host, acc, gyro)
