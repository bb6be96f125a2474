"""Our own sensor protocol: GATT layout, control commands, and the data packets.

The specification is `firmware_notes/protocol.md`; this module is its
executable form and the two must agree.  The data notifications (version 1,
version 2 with the queue stamp, version 3 with the connection-event stamp:
the first byte decides) are encoded and decoded in `_batonsense_packet`,
re-exported here: `decode_packet` takes every version, so old firmware keeps
working.  Summary of a version 1
notification (all little-endian, 16-byte header then 12 bytes per sample):

    off size field
      0   1  version            = 1   (2, 3: t0_us is 6 bytes; bytes 10-11 are v2's
                                         queued_us or v3's event_us)
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
from enum import IntEnum

from ..errors import DecodeError
from ._batonsense_packet import (
    ACC_RANGES_G,
    COUNTS_FULL_SCALE,
    GYRO_RANGES_DPS,
    HEADER,
    HEADER_SIZE,
    HEADER_V2,
    MAX_NOTIFICATION_BYTES,
    MAX_SAMPLES_PER_PACKET,
    PROTOCOL,
    QUEUED_MAX_US,
    SAMPLE_SIZE,
    VERSION,
    VERSION_EVENT,
    VERSION_QUEUED,
    VERSIONS,
    Flag,
    Header,
    acc_lsb_mps2,
    decode_header,
    decode_packet,
    encode_counts,
    encode_packet,
    gyro_lsb_radps,
    quantize,
)
from ._batonsense_packet import code_of as _code
from ._packet import as_bytes

# GATT (fixed random 128-bit UUIDs, generated once for this project).
SERVICE_UUID = "6ce60001-cc17-4782-81ad-6c3947f4b389"
DATA_CHAR_UUID = "6ce60002-cc17-4782-81ad-6c3947f4b389"  # notify
CONTROL_CHAR_UUID = "6ce60003-cc17-4782-81ad-6c3947f4b389"  # read, write
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_CHAR_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
DEVICE_INFO_SERVICE_UUID = "0000180a-0000-1000-8000-00805f9b34fb"
NAME_PREFIX = "BSNS-"

RATES_HZ = (100, 200, 400)  # index = rate code (control characteristic)

__all__ = [  # the data-packet names re-exported from _batonsense_packet, and this module's
    "ACC_RANGES_G",
    "COUNTS_FULL_SCALE",
    "GYRO_RANGES_DPS",
    "HEADER",
    "HEADER_SIZE",
    "HEADER_V2",
    "MAX_NOTIFICATION_BYTES",
    "MAX_SAMPLES_PER_PACKET",
    "PROTOCOL",
    "QUEUED_MAX_US",
    "SAMPLE_SIZE",
    "VERSION",
    "VERSIONS",
    "VERSION_EVENT",
    "VERSION_QUEUED",
    "AttError",
    "Command",
    "CommandError",
    "Flag",
    "Header",
    "Opcode",
    "State",
    "Status",
    "acc_lsb_mps2",
    "auto_samples_per_packet",
    "decode_command",
    "decode_header",
    "decode_packet",
    "decode_status",
    "encode_counts",
    "encode_identify",
    "encode_packet",
    "encode_start",
    "encode_status",
    "encode_stop",
    "gyro_lsb_radps",
    "quantize",
]


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


def auto_samples_per_packet(rate_hz: int) -> int:
    """Samples per notification when the host asks for 'auto' (0): about 20 ms of data."""
    return max(1, min(MAX_SAMPLES_PER_PACKET, round(rate_hz * 0.020)))


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
    version: int = VERSION  # the data packets' version the firmware sends (1, 2 or 3)


def encode_status(s: Status) -> bytes:
    if s.version not in VERSIONS:
        raise ValueError(f"status version {s.version} not one of {VERSIONS}")
    return STATUS.pack(
        s.version,
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
    if version not in VERSIONS or state > State.STREAMING:
        raise DecodeError(f"{PROTOCOL} status: version {version}, state {state}")
    if rate >= len(RATES_HZ) or acc >= len(ACC_RANGES_G) or gyro >= len(GYRO_RANGES_DPS):
        raise DecodeError(f"{PROTOCOL} status: bad codes {rate}, {acc}, {gyro}")
    return Status(
        State(state), RATES_HZ[rate], ACC_RANGES_G[acc], GYRO_RANGES_DPS[gyro], spp, err, version
    )
