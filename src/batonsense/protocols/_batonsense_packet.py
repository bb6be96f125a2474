"""Data notifications of our own sensors, versions 1, 2 and 3: layout, encoder, decoder.

The specification is `firmware_notes/protocol.md` ("Data notification");
`batonsense_v1` re-exports everything here next to the GATT and control
parts.  All versions share a 16-byte header and 12 bytes per sample (all
little-endian); the first byte is the version and decides the layout:

    off size  version 1                      version 2 (3)
      0   1   version = 1                    version = 2 (3)
      1   1   flags                          flags
      2   2   seq (uint16)                   seq (uint16)
      4   8   t0_us (uint64)                 t0_us (uint48, 6 bytes)
     10                                      v2 queued_us (uint16): µs from the last
                                             sample's time to the hand-off to the stack;
                                             v3 event_us (uint16): µs from the last
                                             sample's time to the anchor of the
                                             connection event it was handed over for
     12   2   period_us (uint16)             period_us (uint16)
     14   1   count                          count
     15   1   ranges                         ranges
     16 12n   samples: int16 ax ay az gx gy gz

Version 2 adds the queue stamp (the sensor's clock when it handed the packet
to the BLE stack, after a random send hold; `firmware_notes/clock_sync.md`)
in the two top bytes of v1's t0_us, which were always zero in practice:
2^48 µs is 8.9 years of uptime.  Packets keep their size.  Version 3 has
version 2's layout; its stamp is the connection event's anchor (the firmware
hands packets over at the radio's ACTIVE signal before an event and stamps
that event), which takes the wait for the event out of the clock fit.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntFlag

import numpy as np

from ..errors import DecodeError
from ._packet import DEG_TO_RAD, GRAVITY_MPS2, DecodedPacket, as_bytes, need

PROTOCOL = "batonsense_v1"  # the family (GATT service); the version byte picks the layout
VERSION = 1
VERSION_QUEUED = 2  # version 2: with the queue stamp
VERSION_EVENT = 3  # version 3: with the connection-event stamp
VERSIONS = (VERSION, VERSION_QUEUED, VERSION_EVENT)

HEADER = struct.Struct("<BBHQHBB")  # version 1
HEADER_V2 = struct.Struct("<BBHIHHHBB")  # versions 2 and 3: t0_us low uint32 + high uint16
HEADER_SIZE = HEADER.size  # 16, every version
SAMPLE_SIZE = 12
# ATT_MTU 247 (data length extension) leaves 244 bytes per notification.
MAX_NOTIFICATION_BYTES = 244
MAX_SAMPLES_PER_PACKET = (MAX_NOTIFICATION_BYTES - HEADER_SIZE) // SAMPLE_SIZE  # 19
COUNTS_FULL_SCALE = 32768
T0_LIMIT_US = {VERSION: 2**64, VERSION_QUEUED: 2**48, VERSION_EVENT: 2**48}  # exclusive bound
QUEUED_MAX_US = 0xFFFF  # queued_us and event_us saturate here (65.535 ms or later)

ACC_RANGES_G = (2, 4, 8, 16)  # index = range code
GYRO_RANGES_DPS = (250, 500, 1000, 2000)  # index = range code


class Flag(IntFlag):
    BOOT = 0x01  # first packet since power-on or reset: seq restarted at 0, t0 near 0
    START = 0x02  # first packet after a START command: not contiguous with the previous one
    OVERFLOW = 0x04  # samples were lost before this packet (IMU FIFO overrun); t0 tells how many
    LOW_BATTERY = 0x08  # battery below 10 %


_FLAG_NOTES = {
    Flag.BOOT: "boot",
    Flag.START: "start",
    Flag.OVERFLOW: "overflow",
    Flag.LOW_BATTERY: "low_battery",
}


def acc_lsb_mps2(acc_range_g: int) -> float:
    """Value of one acc count in m/s² for a ±acc_range_g setting."""
    return acc_range_g * GRAVITY_MPS2 / COUNTS_FULL_SCALE


def gyro_lsb_radps(gyro_range_dps: int) -> float:
    """Value of one gyro count in rad/s for a ±gyro_range_dps setting."""
    return gyro_range_dps * DEG_TO_RAD / COUNTS_FULL_SCALE


def code_of(table: tuple[int, ...], value: int, what: str) -> int:
    """Index of `value` in a code table; ValueError if the protocol has no code for it."""
    try:
        return table.index(value)
    except ValueError:
        raise ValueError(f"{what} must be one of {table}, got {value!r}") from None


@dataclass(frozen=True, slots=True)
class Header:
    """The decoded 16-byte header of a data notification (any version).

    queued_us: version 2's queue stamp, µs after the last sample's time
    (t0_us + (count − 1)·period_us); None for versions 1 and 3.
    event_us: version 3's connection-event stamp, µs after the last sample's
    time; None for versions 1 and 2.
    """

    version: int
    flags: Flag
    seq: int
    t0_us: int
    period_us: int
    count: int
    acc_range_g: int
    gyro_range_dps: int
    queued_us: int | None = None
    event_us: int | None = None

    @property
    def sync_after_last_us(self) -> int | None:
        """The stamp the clock fit takes, µs after the last sample (v2/v3), else None."""
        return self.queued_us if self.event_us is None else self.event_us

    @property
    def t_last_us(self) -> int:
        """Sensor time (µs) of the packet's last sample."""
        return self.t0_us + (self.count - 1) * self.period_us


def quantize(values: np.ndarray, lsb: float) -> np.ndarray:
    """SI values -> int16 counts (rounded, saturated at -32768..32767)."""
    counts = np.rint(np.asarray(values, dtype=np.float64) / lsb)
    return np.clip(counts, -COUNTS_FULL_SCALE, COUNTS_FULL_SCALE - 1).astype("<i2")


def _check_counts(acc: np.ndarray, gyro: np.ndarray) -> int:
    """Number of samples n; ValueError unless both are (n, 3) int16 values, 1 <= n <= 19."""
    n = acc.shape[0] if acc.ndim == 2 else -1
    if acc.shape != (n, 3) or gyro.shape != (n, 3) or not 1 <= n <= MAX_SAMPLES_PER_PACKET:
        raise ValueError(
            f"need (n,3) acc and gyro with 1 <= n <= {MAX_SAMPLES_PER_PACKET}, "
            f"got {acc.shape} and {gyro.shape}"
        )
    for name, a in (("acc_counts", acc), ("gyro_counts", gyro)):
        if a.size and (a.min() < -COUNTS_FULL_SCALE or a.max() >= COUNTS_FULL_SCALE):
            raise ValueError(f"{name} outside int16")
    return n


def _pack_header(
    version: int, flags: int, seq: int, t0_us: int, queued_us: int | None, tail: tuple[int, ...]
) -> bytes:
    """The 16 header bytes; tail = (period_us, count, ranges)."""
    if not 0 <= seq <= 0xFFFF or not 0 <= t0_us < T0_LIMIT_US[version] or not 0 <= flags <= 0xFF:
        raise ValueError(f"seq {seq}, t0_us {t0_us} or flags {flags} out of range (v{version})")
    if version == VERSION:
        return HEADER.pack(version, flags, seq, t0_us, *tail)
    assert queued_us is not None  # the stamp of version 2 or 3
    if not 0 <= queued_us <= QUEUED_MAX_US:
        raise ValueError(f"stamp {queued_us} µs outside 0..{QUEUED_MAX_US}")
    return HEADER_V2.pack(version, flags, seq, t0_us & 0xFFFF_FFFF, t0_us >> 32, queued_us, *tail)


def encode_counts(
    *,
    seq: int,
    t0_us: int,
    period_us: int,
    acc_counts: np.ndarray,
    gyro_counts: np.ndarray,
    acc_range_g: int = 16,
    gyro_range_dps: int = 2000,
    flags: int = 0,
    queued_us: int | None = None,
    event_us: int | None = None,
) -> bytes:
    """One data notification from raw counts (acc_counts, gyro_counts: (n, 3) ints).

    Neither stamp writes version 1; queued_us (0..65535 µs after the last
    sample's time; firmware saturates larger values) writes version 2,
    event_us (same range) version 3; both need t0_us < 2^48.  Raises
    ValueError for arguments the protocol cannot carry (this is the sender's
    side: a bug, not bad input from a radio), and for both stamps at once.
    """
    acc, gyro = np.asarray(acc_counts), np.asarray(gyro_counts)
    n = _check_counts(acc, gyro)
    if not 0 < period_us <= 0xFFFF:
        raise ValueError(f"period_us {period_us} out of range")
    ranges = code_of(ACC_RANGES_G, acc_range_g, "acc_range_g") | (
        code_of(GYRO_RANGES_DPS, gyro_range_dps, "gyro_range_dps") << 4
    )
    version, stamp = _version_and_stamp(queued_us, event_us)
    header = _pack_header(version, flags, seq, t0_us, stamp, (period_us, n, ranges))
    samples = np.concatenate([acc, gyro], axis=1).astype("<i2")
    return header + samples.tobytes()


def _version_and_stamp(queued_us: int | None, event_us: int | None) -> tuple[int, int | None]:
    if queued_us is not None and event_us is not None:
        raise ValueError("a packet carries queued_us (v2) or event_us (v3), not both")
    if event_us is not None:
        return VERSION_EVENT, event_us
    return (VERSION, None) if queued_us is None else (VERSION_QUEUED, queued_us)


def encode_packet(
    *,
    seq: int,
    t0_us: int,
    period_us: int,
    acc_mps2: np.ndarray,
    gyro_radps: np.ndarray,
    acc_range_g: int = 16,
    gyro_range_dps: int = 2000,
    flags: int = 0,
    queued_us: int | None = None,
    event_us: int | None = None,
) -> bytes:
    """One data notification from SI samples: acc (n,3) m/s², gyro (n,3) rad/s.

    Values are rounded to counts and saturate at the range, as the IMU would.
    queued_us: version 2's queue stamp (µs); event_us: version 3's event
    stamp (µs); neither: version 1.
    """
    return encode_counts(
        seq=seq,
        t0_us=t0_us,
        period_us=period_us,
        acc_counts=quantize(acc_mps2, acc_lsb_mps2(acc_range_g)),
        gyro_counts=quantize(gyro_radps, gyro_lsb_radps(gyro_range_dps)),
        acc_range_g=acc_range_g,
        gyro_range_dps=gyro_range_dps,
        flags=flags,
        queued_us=queued_us,
        event_us=event_us,
    )


def _unpack_header(data: bytes) -> tuple[int, ...]:
    """(version, flags, seq, t0_us, stamp (v2/v3) or -1, period_us, count, ranges)."""
    version = data[0]
    if version == VERSION:
        v, flags, seq, t0_us, period_us, count, ranges = HEADER.unpack_from(data)
        return v, flags, seq, t0_us, -1, period_us, count, ranges
    if version in (VERSION_QUEUED, VERSION_EVENT):
        v, flags, seq, t0_lo, t0_hi, stamp, period_us, count, ranges = HEADER_V2.unpack_from(data)
        return v, flags, seq, t0_lo | (t0_hi << 32), stamp, period_us, count, ranges
    raise DecodeError(f"{PROTOCOL}: unsupported version {version} (expected 1, 2 or 3)")


def decode_header(data: bytes) -> Header:
    """The header of a data notification; DecodeError if it is not a valid v1/v2/v3 header."""
    data = as_bytes(data, PROTOCOL)
    need(data, HEADER_SIZE, f"{PROTOCOL} header")
    version, flags, seq, t0_us, stamp, period_us, count, ranges = _unpack_header(data)
    if period_us == 0:
        raise DecodeError(f"{PROTOCOL}: sample period 0 µs")
    if count == 0:
        raise DecodeError(f"{PROTOCOL}: packet with no samples")
    acc_code, gyro_code = ranges & 0x0F, ranges >> 4
    if acc_code >= len(ACC_RANGES_G) or gyro_code >= len(GYRO_RANGES_DPS):
        raise DecodeError(f"{PROTOCOL}: unknown range codes acc {acc_code}, gyro {gyro_code}")
    return Header(
        version=version,
        flags=Flag(flags),
        seq=seq,
        t0_us=t0_us,
        period_us=period_us,
        count=count,
        acc_range_g=ACC_RANGES_G[acc_code],
        gyro_range_dps=GYRO_RANGES_DPS[gyro_code],
        queued_us=stamp if version == VERSION_QUEUED else None,
        event_us=stamp if version == VERSION_EVENT else None,
    )


def decode_packet(data: bytes) -> DecodedPacket:
    """Bytes of one data notification (version 1, 2 or 3) -> samples in SI units, sensor clock.

    t_sensor_us[i] = t0_us + i · period_us; t_queued_us, the sensor time (µs)
    the clock fit takes: for version 2 t0_us + (count − 1) · period_us +
    queued_us (when the packet was handed to the BLE stack), for version 3
    the same with event_us (the anchor of the connection event it was handed
    over for), for version 1 None.  Raises DecodeError on anything malformed
    (short, unknown version, length not matching the count, ...).
    """
    h = decode_header(data)
    data = as_bytes(data, PROTOCOL)
    expected = HEADER_SIZE + SAMPLE_SIZE * h.count
    if len(data) != expected:
        raise DecodeError(f"{PROTOCOL}: {h.count} samples need {expected} bytes, got {len(data)}")
    counts = np.frombuffer(data, dtype="<i2", offset=HEADER_SIZE).reshape(h.count, 6)
    t = h.t0_us + h.period_us * np.arange(h.count, dtype=np.float64)
    notes = tuple(note for flag, note in _FLAG_NOTES.items() if flag in h.flags)
    if h.event_us is not None:
        notes += ("event_stamp",)  # t_queued_us is a connection event's anchor (v3)
    return DecodedPacket(
        protocol=PROTOCOL,
        t_sensor_us=t,
        acc_mps2=counts[:, :3] * acc_lsb_mps2(h.acc_range_g),
        gyro_radps=counts[:, 3:] * gyro_lsb_radps(h.gyro_range_dps),
        seq=h.seq,
        period_us=float(h.period_us),
        notes=notes,
        t_queued_us=None if (a := h.sync_after_last_us) is None else float(h.t_last_us + a),
    )
