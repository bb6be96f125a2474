"""A sensor with its own clock, streaming over a simulated BLE link (tests and benchmarks).

Sensor: samples at rate_hz·(1 + odr_error) of its own clock (MEMS IMUs time
their output from an internal oscillator, often a few tenths of a percent to
about 1 % off nominal); the sensor clock runs at host rate × (1 + drift_ppm·1e-6)
from an offset; a packet of samples_per_packet samples is handed to the radio
firmware_s after its last sample (protocol v2 firmware first holds it a
random 0 … send_hold_max_s and stamps the hand-off on its own clock; protocol
v3 firmware, `event_stamped`, hands packets over at the radio's ACTIVE signal
`notify_lead_s` before a connection event and stamps that event's anchor,
see `_event_stamped`).  Timestamps are the sensor clock in a counter that
wraps (uint32 µs: every 71.6 min).  A reboot restarts the counter.

Link (one connection, the sensor as peripheral): the central schedules a
*connection event* every connection_interval_s (7.5 ms … 4 s; Linux hosts
default to 30–50 ms, timed by the adapter's crystal, not the host's clock).
Notifications wait on the sensor until the next event; in one event the
controllers move at most max_per_event of them (the event ends early when
several links share the radio; 4–6 is common on laptop adapters —
an assumption, it varies), each taking its air time (data packet, 150 µs
gap, the central's empty ack, 150 µs gap: ~0.7 ms at 1M PHY for a 20-byte
notification); a CRC error (retry_prob) costs a slot.  Packets that do not fit
wait for the next event (queueing → bursts).  A sensor whose queue is full, or
that drops a packet (loss), never sends it: the host sees a gap.  The
controller hands each packet to the host over HCI (hci_s, fixed), then
BlueZ, D-Bus and the Python event loop add an exponential delay (os_mean_s)
and now and then the loop stalls (stall_rate_hz, up to stall_max_s): all
notifications that arrive meanwhile are read at once, with the same
receive time.

The delay a packet can never beat — firmware_s + one air time + hci_s — is
`latency_floor_s` (v3: one air time + hci_s after the stamped event); everything
else is ≥ 0 and waits for the right phase.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

UINT32_US_PERIOD_S = 2**32 * 1e-6


def notification_air_s(payload_bytes: int, phy_mbps: int = 1) -> float:
    """On-air time (s) of one notification and its empty ack, with both inter-frame gaps.

    payload_bytes: the characteristic value (ATT payload); assumes data-length
    extension when it does not fit 27 bytes of link-layer payload.
    """
    ll_payload = payload_bytes + 7  # L2CAP header 4, ATT opcode + handle 3
    us_per_byte = 8.0 / phy_mbps
    preamble = 1 if phy_mbps == 1 else 2
    data_us = (preamble + 4 + 2 + ll_payload + 3) * us_per_byte
    ack_us = (preamble + 4 + 2 + 3) * us_per_byte
    return (data_us + 150.0 + ack_us + 150.0) * 1e-6


@dataclass(frozen=True, slots=True)
class SensorModel:
    rate_hz: float = 200.0
    samples_per_packet: int = 4
    odr_error: float = 0.0
    drift_ppm: float = 0.0
    offset_s: float = 100.0  # host time (s) at sensor time 0
    start_sensor_s: float = 0.0  # sensor clock at the first sample
    counter_period_s: float | None = UINT32_US_PERIOD_S
    firmware_s: float = 0.0001
    payload_bytes: int = 58
    reboot_after_s: float | None = None  # host seconds into the stream
    send_hold_max_s: float = 0.0  # v2 firmware holds each packet a random 0..this before queueing
    reboot_pause_s: float = 2.0
    # protocol v3: hand-off at the ACTIVE radio notification, stamp = the event's anchor
    event_stamped: bool = False
    notify_lead_s: float = 0.00174  # t_ndist: ACTIVE signal -> start of the radio event
    isr_latency_max_s: float = 0.00002  # ACTIVE signal -> RTC read in its ISR, uniform 0..this
    rtc_tick_s: float = 1.0 / 32768.0  # the stamp's RTC resolution (read rounds down)
    handoff_after_isr_s: float = 0.0002  # RTC read -> packet handed to the stack (lower priority)
    event_miss_prob: float = 0.02  # the stack misses the event it was handed over for


@dataclass(frozen=True, slots=True)
class LinkModel:
    connection_interval_s: float = 0.030
    controller_ppm: float = 0.0
    max_per_event: int = 4
    phy_mbps: int = 2
    retry_prob: float = 0.02
    loss: float = 0.0
    queue_len: int = 16
    hci_s: float = 0.0002
    os_mean_s: float = 0.002
    stall_rate_hz: float = 0.5
    stall_max_s: float = 0.030


@dataclass(slots=True)
class Stream:
    """What one simulated sensor delivered.  Per packet p (lost ones included):

    stamp_s[p]: raw counter time (s) of the last sample; queued_raw_s[p]: raw
    counter time at which it was queued (after any hold); sample_raw_s[p, i]:
    raw counter times of its samples; true_host_s[p, i]: when they were
    really taken, on the host clock; receive_s[p]: host receive time (NaN:
    lost); epoch[p]: reboots before it.  latency_floor_s: the model's floor.
    """

    stamp_s: np.ndarray
    queued_raw_s: np.ndarray
    sample_raw_s: np.ndarray
    true_host_s: np.ndarray
    receive_s: np.ndarray
    epoch: np.ndarray
    latency_floor_s: float
    meta: dict[str, float] = field(default_factory=dict)
    event_stamped: bool = False  # queued_raw_s are connection-event stamps (v3)

    @property
    def received(self) -> np.ndarray:
        """Indices of received packets in receive order."""
        idx = np.flatnonzero(np.isfinite(self.receive_s))
        return idx[np.argsort(self.receive_s[idx], kind="stable")]


def latency_floor_s(sensor: SensorModel, link: LinkModel) -> float:
    firmware_s = 0.0 if sensor.event_stamped else sensor.firmware_s  # v3: after the stamp
    return firmware_s + notification_air_s(sensor.payload_bytes, link.phy_mbps) + link.hci_s


def simulate_stream(
    duration_s: float, sensor: SensorModel, link: LinkModel, rng: np.random.Generator
) -> Stream:
    """duration_s of host time of one sensor streaming over one link."""
    stamps, raws, trues, epochs = _sensor_packets(duration_s, sensor)
    scale = 1.0 + sensor.drift_ppm * 1e-6
    first_event = None
    if sensor.event_stamped:
        first_event, ready, stamped_host, event = _event_stamped(trues[:, -1], sensor, link, rng)
    else:
        hold = rng.uniform(0.0, sensor.send_hold_max_s, stamps.size)
        handoff = np.maximum.accumulate(trues[:, -1] + hold)  # the stack takes packets in order
        ready = handoff + sensor.firmware_s
        stamped_host = handoff
    # the stamp: the sensor clock at the hand-off (v2) or the event (v3), as µs after
    # the last sample (queued_us / event_us, saturating at 65.535 ms)
    after = (stamped_host - trues[:, -1]) * scale
    queued = stamps + np.clip(after, 0.0, 0.065535)
    if sensor.event_stamped:  # packets of one event carry the same stamp, exactly
        first_of_event = np.r_[0, np.flatnonzero(np.diff(event)) + 1]
        same = np.repeat(first_of_event, np.diff(np.r_[first_of_event, event.size]))
        queued = np.where(after <= 0.065535, (stamps + after)[same], queued)
    if sensor.counter_period_s is not None:
        queued = np.mod(queued, sensor.counter_period_s)
    arrive = _link_layer(ready, sensor, link, rng, first_event)
    receive = _host_side(arrive, link, rng)
    return Stream(
        stamps, queued, raws, trues, receive, epochs, latency_floor_s(sensor, link),
        event_stamped=sensor.event_stamped,
    )


def _sensor_packets(
    duration_s: float, s: SensorModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    period = 1.0 / (s.rate_hz * (1.0 + s.odr_error))
    scale = 1.0 + s.drift_ppm * 1e-6
    segments = [
        (0.0, duration_s if s.reboot_after_s is None else s.reboot_after_s, s.start_sensor_s)
    ]
    if s.reboot_after_s is not None:
        segments.append((s.reboot_after_s + s.reboot_pause_s, duration_s, 0.0137))
    out = []
    for epoch, (h0, h1, sensor0) in enumerate(segments):
        n_samples = int((h1 - h0) * scale / period)
        n_packets = n_samples // s.samples_per_packet
        if n_packets <= 0:
            continue
        k = np.arange(n_packets * s.samples_per_packet).reshape(n_packets, -1)
        sensor_t = sensor0 + k * period
        host_origin = s.offset_s + h0 - sensor0 / scale  # host time at sensor time 0 of this epoch
        true_host = host_origin + sensor_t / scale
        raw = sensor_t if s.counter_period_s is None else np.mod(sensor_t, s.counter_period_s)
        out.append((raw[:, -1], raw, true_host, np.full(n_packets, epoch)))
    return tuple(np.concatenate(parts) for parts in zip(*out, strict=True))  # type: ignore[return-value]


def _interval_s(link: LinkModel) -> float:
    """The connection interval on the host clock (the adapter's crystal is off)."""
    return link.connection_interval_s * (1.0 + link.controller_ppm * 1e-6)


def _event_stamped(
    t_last: np.ndarray, s: SensorModel, link: LinkModel, rng: np.random.Generator
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Protocol v3 firmware: (the link's first event, hand-off times, stamped times, event
    index) per packet, host s.

    Connection events are at first_event + j·ci.  The radio's ACTIVE signal
    comes notify_lead_s before each; its ISR reads the RTC (after a latency
    of 0 … isr_latency_max_s, rounded down to the RTC tick) and adds the lead:
    the stamp, the event's anchor as the firmware knows it.  Every packet
    complete by then (firmware_s after its last sample) is handed to the stack
    handoff_after_isr_s later, in time for that event — except with
    event_miss_prob (the stack missed it: the packet leaves an event later).
    """
    ci = _interval_s(link)
    first_event = t_last[0] + s.firmware_s - rng.uniform(0.0, ci)
    complete = t_last + s.firmware_s
    j = np.ceil((complete + s.notify_lead_s - first_event) / ci).astype(np.int64)
    event = first_event + j * ci  # the first event whose ACTIVE signal comes after it
    latency = rng.uniform(0.0, s.isr_latency_max_s, int(j[-1] - j[0]) + 1)  # one per event
    read = event - s.notify_lead_s + latency[j - j[0]]
    tick = s.rtc_tick_s
    read_tick = first_event + np.floor((read - first_event) / tick) * tick
    stamped = read_tick + s.notify_lead_s
    missed = rng.random(t_last.size) < s.event_miss_prob
    handoff = read + s.handoff_after_isr_s + np.where(missed, s.notify_lead_s, 0.0)
    return first_event, np.maximum.accumulate(handoff), stamped, j  # handed over in order


def _link_layer(
    ready: np.ndarray,
    s: SensorModel,
    link: LinkModel,
    rng: np.random.Generator,
    first_event: float | None = None,
) -> np.ndarray:
    """Arrival time at the host controller of every packet (NaN: never sent).

    Events at first_event + j·ci, j ≥ 1 (None: a random phase before the first packet).
    """
    arrive = np.full(ready.shape, np.nan)
    dropped = rng.random(ready.size) < link.loss
    air = notification_air_s(s.payload_bytes, link.phy_mbps)
    ci = _interval_s(link)
    event = ready[0] - rng.uniform(0.0, ci) if first_event is None else first_event
    queue: deque[int] = deque()
    i, n = 0, ready.size
    while i < n or queue:
        event += ci
        while i < n and ready[i] <= event:
            if not dropped[i] and len(queue) < link.queue_len:
                queue.append(i)
            i += 1
        slot = 0
        while queue and slot < link.max_per_event:
            slot += 1
            if rng.random() < link.retry_prob:
                continue  # CRC error: the slot is spent, the packet goes again
            arrive[queue.popleft()] = event + slot * air
        if not queue and i < n and ready[i] > event + ci:  # skip idle events quickly
            event += math.floor((ready[i] - event) / ci - 1) * ci
    return arrive


def _host_side(arrive: np.ndarray, link: LinkModel, rng: np.random.Generator) -> np.ndarray:
    """Receive times: HCI, exponential OS delay, event-loop stalls that batch notifications."""
    receive = np.full(arrive.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(arrive))
    if ok.size == 0:
        return receive
    t = arrive[ok] + link.hci_s + rng.exponential(link.os_mean_s, ok.size)
    span = t[-1] - t[0] + 1.0
    n_stalls = rng.poisson(link.stall_rate_hz * span)
    starts = np.sort(rng.uniform(t[0], t[0] + span, n_stalls))
    ends = starts + rng.uniform(0.0, link.stall_max_s, n_stalls)
    if n_stalls:
        j = np.searchsorted(starts, t, side="right") - 1
        in_stall = (j >= 0) & (t < ends[np.maximum(j, 0)])
        t = np.where(in_stall, ends[np.maximum(j, 0)], t)
    receive[ok] = np.maximum.accumulate(t)  # one event loop: delivered in order
    return receive
