"""WitMotion WT901BLE configuration writes (to the 0xFFE9 characteristic): `FF AA reg lo hi`.

A register write is five bytes: 0xFF 0xAA, the register, and a uint16 value
little-endian.  Writes are accepted only after the unlock (`KEY` register =
0xB588), and kept over a power cycle only after a `SAVE`.  The output rate
register (`RRATE`, 0x03) takes a code, not Hz:

    set_rate(200) -> b"\\xff\\xaa\\x03\\x0b\\x00"

Kept apart from the frame decoder in `witmotion.py` (which stays a pure
bytes → samples function).
"""

from __future__ import annotations

import struct

from ..errors import DecodeError

PREFIX = b"\xff\xaa"
REG_SAVE = 0x00
REG_RRATE = 0x03
REG_KEY = 0x69
KEY_UNLOCK = 0xB588

#: RRATE codes of the output rates a WT901BLE offers over BLE.
RATE_CODES_HZ = {
    0x01: 0.2,
    0x02: 0.5,
    0x03: 1.0,
    0x04: 2.0,
    0x05: 5.0,
    0x06: 10.0,
    0x07: 20.0,
    0x08: 50.0,
    0x09: 100.0,
    0x0B: 200.0,
}


def register_write(register: int, value: int) -> bytes:
    return PREFIX + struct.pack("<BH", register, value)


def unlock() -> bytes:
    return register_write(REG_KEY, KEY_UNLOCK)


def save() -> bytes:
    return register_write(REG_SAVE, 0)


def set_rate(rate_hz: float) -> bytes:
    """The RRATE write for an output rate offered by the device (ValueError otherwise)."""
    for code, hz in RATE_CODES_HZ.items():
        if abs(hz - rate_hz) < 1e-9:
            return register_write(REG_RRATE, code)
    raise ValueError(
        f"witmotion: no output rate {rate_hz} Hz (one of {sorted(RATE_CODES_HZ.values())})"
    )


def rate_setup(rate_hz: float) -> tuple[bytes, ...]:
    """Writes that set the output rate (unlock, rate; not saved)."""
    return (unlock(), set_rate(rate_hz))


def parse_register_write(data: bytes) -> tuple[int, int]:
    """(register, value) of a 5-byte `FF AA reg lo hi` write; DecodeError otherwise."""
    if len(data) != 5 or not data.startswith(PREFIX):
        raise DecodeError(f"witmotion: not a register write: {data.hex()}")
    register, value = struct.unpack_from("<BH", data, 2)
    return register, value
