"""Our own sensor protocol, version 1: constants, encoder and decoder.

The specification is `firmware_notes/protocol.md`; this module is its
executable form and the two must agree.  Summary of one data notification
(all little-endian, 16-byte header then 12 bytes per sample):

    off size field
      0   1  version            = 1
      1   1  flags              bit0 BOOT, bit1 START, bit2 OVERFLOW, bit3 LOW_BATTERY
      2   2  seq                uint16, +1 per packet since boot, wraps 65535 -> 0
      4   8  t0_us              uint64, sensor time of the first sample, µs since boot
     12   2  period_us          uint16, nominal sample period in µs (> 0)
     14   1  count              number of samples n (>= 1)
     15   1  ranges             low nibble acc range code, high nibble gyro range code
     16 12n  samples            per sample int16 ax, ay, az, gx, gy, gz

One count is full_scale / 32768: acc in g (×9.80665 m/s²), gyro in °/s.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum, IntFlag

import numpy as np

from ..errors import DecodeError
from ._packet import DEG_TO_RAD, GRAVITY_MPS2, DecodedPacket, as_bytes, need

PROTOCOL = "batonsense_v1"
VERSION = 1

# GATT (fixed random 128-bit UUIDs, generated once for this project).
SERVICE_UUID = "6ce60001-cc17-4782-81ad-6c3947f4b389"
DATA_CHAR_UUID = "6ce60002-cc17-4782-81ad-6c3947f4b389"  # notify
CONTROL_CHAR_UUID = "6ce60003-cc17-4782-81ad-6c3947f4b389"  # read, write
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_CHAR_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
DEVICE_INFO_SERVICE_UUID = "0000180a-0000-1000-8000-00805f9b34fb"
NAME_PREFIX = "BSNS-"

HEADER = struct.Struct("<BBHQHBB")
HEADER_SIZE = HEADER.size  # 16
SAMPLE_SIZE = 12
# ATT_MTU 247 (data length extension) leaves 244 bytes per notification.
MAX_NOTIFICATION_BYTES = 244
MAX_SAMPLES_PER_PACKET = (MAX_NOTIFICATION_BYTES - HEADER_SIZE) // SAMPLE_SIZE  # 19
COUNTS_FULL_SCALE = 32768

ACC_RANGES_G = (2, 4, 8, 16)  # index = range code
GYRO_RANGES_DPS = (250, 500, 1000, 2000)  # index = range code
RATES_HZ = (100, 200, 400)  # index = rate code (control characteristic)


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


class Opcode(IntEnum):
    """First byte of a write to the control characteristic."""

    START = 0x01  # [0x01, rate_code, acc_range_code, gyro_range_code, samples_per_packet]
    STOP = 0x02  # [0x02]
    IDENTIFY = 0x03  # [0x03, seconds]: blink the LED


class AttError(IntEnum):
    """Application ATT error codes the firmware returns to a rejected control write."""

    UNKNOWN_OPCODE = 0x80
    INVALID_PARAMETER = 0x81
    INVALID_LENGTH = 0x82


class State(IntEnum):
    IDLE = 0
    STREAMING = 1


def acc_lsb_mps2(acc_range_g: int) -> float:
    """Value of one acc count in m/s² for a ±acc_range_g setting."""
    return acc_range_g * GRAVITY_MPS2 / COUNTS_FULL_SCALE


def gyro_lsb_radps(gyro_range_dps: int) -> float:
    """Value of one gyro count in rad/s for a ±gyro_range_dps setting."""
    return gyro_range_dps * DEG_TO_RAD / COUNTS_FULL_SCALE


def _code(table: tuple[int, ...], value: int, what: str) -> int:
    try:
        return table.index(value)
    except ValueError:
        raise ValueError(f"{what} must be one of {table}, got {value!r}") from None


def auto_samples_per_packet(rate_hz: int) -> int:
    """Samples per notification when the host asks for 'auto' (0): about 20 ms of data."""
    return max(1, min(MAX_SAMPLES_PER_PACKET, round(rate_hz * 0.020)))


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Header:
    """The decoded 16-byte header of a data notification."""

    version: int
    flags: Flag
    seq: int
    t0_us: int
    period_us: int
    count: int
    acc_range_g: int
    gyro_range_dps: int


def quantize(values: np.ndarray, lsb: float) -> np.ndarray:
    """SI values -> int16 counts (rounded, saturated at -32768..32767)."""
    counts = np.rint(np.asarray(values, dtype=np.float64) / lsb)
    return np.clip(counts, -COUNTS_FULL_SCALE, COUNTS_FULL_SCALE - 1).astype("<i2")


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
) -> bytes:
    """One data notification from raw counts (acc_counts, gyro_counts: (n, 3) ints).

    Raises ValueError for arguments the protocol cannot carry (this is the
    sender's side: a bug, not bad input from a radio).
    """
    acc = np.asarray(acc_counts)
    gyro = np.asarray(gyro_counts)
    n = acc.shape[0] if acc.ndim == 2 else -1
    if acc.shape != (n, 3) or gyro.shape != (n, 3) or not 1 <= n <= MAX_SAMPLES_PER_PACKET:
        raise ValueError(
            f"need (n,3) acc and gyro with 1 <= n <= {MAX_SAMPLES_PER_PACKET}, "
            f"got {acc.shape} and {gyro.shape}"
        )
    for name, a in (("acc_counts", acc), ("gyro_counts", gyro)):
        if a.size and (a.min() < -COUNTS_FULL_SCALE or a.max() >= COUNTS_FULL_SCALE):
            raise ValueError(f"{name} outside int16")
    if not 0 <= seq <= 0xFFFF or not 0 <= t0_us < 2**64 or not 0 < period_us <= 0xFFFF:
        raise ValueError(f"seq {seq}, t0_us {t0_us} or period_us {period_us} out of range")
    if not 0 <= flags <= 0xFF:
        raise ValueError(f"flags {flags} out of range")
    ranges = _code(ACC_RANGES_G, acc_range_g, "acc_range_g") | (
        _code(GYRO_RANGES_DPS, gyro_range_dps, "gyro_range_dps") << 4
    )
    header = HEADER.pack(VERSION, flags, seq, t0_us, period_us, n, ranges)
    samples = np.concatenate([acc, gyro], axis=1).astype("<i2")
    return header + samples.tobytes()


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
) -> bytes:
    """One data notification from SI samples: acc (n,3) m/s², gyro (n,3) rad/s.

    Values are rounded to counts and saturate at the range, as the IMU would.
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
    )


def decode_header(data: bytes) -> Header:
    """The header of a data notification; DecodeError if it is not a valid v1 header."""
    data = as_bytes(data, PROTOCOL)
    need(data, HEADER_SIZE, f"{PROTOCOL} header")
    version, flags, seq, t0_us, period_us, count, ranges = HEADER.unpack_from(data)
    if version != VERSION:
        raise DecodeError(f"{PROTOCOL}: unsupported version {version} (expected {VERSION})")
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
    )


def decode_packet(data: bytes) -> DecodedPacket:
    """Bytes of one data notification -> samples in SI units on the sensor's clock.

    t_sensor_us[i] = t0_us + i * period_us.  Raises DecodeError on anything
    malformed (short, wrong version, length not matching the sample count, ...).
    """
    h = decode_header(data)
    data = as_bytes(data, PROTOCOL)
    expected = HEADER_SIZE + SAMPLE_SIZE * h.count
    if len(data) != expected:
        raise DecodeError(f"{PROTOCOL}: {h.count} samples need {expected} bytes, got {len(data)}")
    counts = np.frombuffer(data, dtype="<i2", offset=HEADER_SIZE).reshape(h.count, 6)
    t = h.t0_us + h.period_us * np.arange(h.count, dtype=np.float64)
    notes = tuple(note for flag, note in _FLAG_NOTES.items() if flag in h.flags)
    return DecodedPacket(
        protocol=PROTOCOL,
        t_sensor_us=t,
        acc_mps2=counts[:, :3] * acc_lsb_mps2(h.acc_range_g),
        gyro_radps=counts[:, 3:] * gyro_lsb_radps(h.gyro_range_dps),
        seq=h.seq,
        period_us=float(h.period_us),
        notes=notes,
    )


# ------------------------------------------------------------------------ control


@dataclass(frozen=True, slots=True)
class Command:
    """A decoded write to the control characteristic.

    For START: rate_hz, acc_range_g, gyro_range_dps, samples_per_packet (0 = auto).
    For IDENTIFY: seconds.
    """

    opcode: Opcode
    rate_hz: int | None = None
    acc_range_g: int | None = None
    gyro_range_dps: int | None = None
    samples_per_packet: int | None = None
    seconds: int | None = None


def encode_start(
    rate_hz: int = 200,
    acc_range_g: int = 16,
    gyro_range_dps: int = 2000,
    samples_per_packet: int = 0,
) -> bytes:
    """The START command (samples_per_packet 0 lets the firmware choose about 20 ms)."""
    if not 0 <= samples_per_packet <= MAX_SAMPLES_PER_PACKET:
        raise ValueError(f"samples_per_packet must be 0..{MAX_SAMPLES_PER_PACKET}")
    return bytes(
        [
            Opcode.START,
            _code(RATES_HZ, rate_hz, "rate_hz"),
            _code(ACC_RANGES_G, acc_range_g, "acc_range_g"),
            _code(GYRO_RANGES_DPS, gyro_range_dps, "gyro_range_dps"),
            samples_per_packet,
        ]
    )


def encode_stop() -> bytes:
    return bytes([Opcode.STOP])


def encode_identify(seconds: int = 5) -> bytes:
    if not 0 <= seconds <= 255:
        raise ValueError("seconds must be 0..255")
    return bytes([Opcode.IDENTIFY, seconds])


def decode_command(data: bytes) -> Command:
    """A control write as the firmware sees it.

    Raises CommandError (a DecodeError) whose att_error is the code to reject with.
    """
    data = as_bytes(data, f"{PROTOCOL} control")
    if not data:
        raise _command_error(AttError.INVALID_LENGTH, "empty control write")
    op, args = data[0], data[1:]
    lengths = {Opcode.START: 4, Opcode.STOP: 0, Opcode.IDENTIFY: 1}
    if op not in lengths:
        raise _command_error(AttError.UNKNOWN_OPCODE, f"unknown opcode 0x{op:02x}")
    opcode = Opcode(op)
    if len(args) != lengths[opcode]:
        raise _command_error(
            AttError.INVALID_LENGTH, f"{opcode.name} takes {lengths[opcode]} bytes, got {len(args)}"
        )
    if opcode is Opcode.STOP:
        return Command(opcode)
    if opcode is Opcode.IDENTIFY:
        return Command(opcode, seconds=args[0])
    rate, acc, gyro, spp = args
    if rate >= len(RATES_HZ) or acc >= len(ACC_RANGES_G) or gyro >= len(GYRO_RANGES_DPS):
        raise _command_error(AttError.INVALID_PARAMETER, f"bad START codes {list(args[:3])}")
    if spp > MAX_SAMPLES_PER_PACKET:
        raise _command_error(AttError.INVALID_PARAMETER, f"samples_per_packet {spp} too large")
    return Command(opcode, RATES_HZ[rate], ACC_RANGES_G[acc], GYRO_RANGES_DPS[gyro], spp)


class CommandError(DecodeError):
    """A control write the firmware must reject; att_error is the ATT error to return."""

    def __init__(self, att_error: AttError, message: str) -> None:
        self.att_error = att_error
        super().__init__(f"{PROTOCOL} control: {message}")


def _command_error(code: AttError, message: str) -> CommandError:
    return CommandError(code, message)


STATUS = struct.Struct("<BBBBBBBB")


@dataclass(frozen=True, slots=True)
class Status:
    """What a read of the control characteristic returns (8 bytes)."""

    state: State
    rate_hz: int
    acc_range_g: int
    gyro_range_dps: int
    samples_per_packet: int  # the value in use (never 0 = auto)
    last_att_error: int = 0  # 0 or the AttError of the last rejected write


def encode_status(s: Status) -> bytes:
    return STATUS.pack(
        VERSION,
        s.state,
        _code(RATES_HZ, s.rate_hz, "rate_hz"),
        _code(ACC_RANGES_G, s.acc_range_g, "acc_range_g"),
        _code(GYRO_RANGES_DPS, s.gyro_range_dps, "gyro_range_dps"),
        s.samples_per_packet,
        s.last_att_error,
        0,
    )


def decode_status(data: bytes) -> Status:
    data = as_bytes(data, f"{PROTOCOL} status")
    if len(data) != STATUS.size:
        raise DecodeError(f"{PROTOCOL} status: need {STATUS.size} bytes, got {len(data)}")
    version, state, rate, acc, gyro, spp, err, _ = STATUS.unpack(data)
    if version != VERSION or state > State.STREAMING:
        raise DecodeError(f"{PROTOCOL} status: version {version}, state {state}")
    if rate >= len(RATES_HZ) or acc >= len(ACC_RANGES_G) or gyro >= len(GYRO_RANGES_DPS):
        raise DecodeError(f"{PROTOCOL} status: bad codes {rate}, {acc}, {gyro}")
    return Status(State(state), RATES_HZ[rate], ACC_RANGES_G[acc], GYRO_RANGES_DPS[gyro], spp, err)
