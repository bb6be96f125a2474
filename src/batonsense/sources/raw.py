"""Raw notification log: every notification as received, for bit-exact replay.

File format (version 1, all little-endian), append-only::

    magic     8 bytes   b"BSNSRAW1"
    records   repeated:
      crc32   uint32    zlib.crc32 of everything after this field up to the record's end
      host_s  float64   host receive time in s (the ingestor's clock, host monotonic)
      id_len  uint8     length of the sensor id in bytes (1..255)
      n       uint16    payload length in bytes (0..65535)
      id      id_len    sensor id, UTF-8 (the sensors file's id, else the BLE address)
      payload n         the notification's bytes, untouched

Records are in receive order (the order the consumer handled them).  A crash
can leave at most one torn record at the end: the reader stops at the first
record that is incomplete or fails its CRC and reports the bytes it skipped
(`RawReader.skipped_bytes`); everything before is intact.  `RawFileSink`
writes through a buffer that `flush()` hands to the OS (every
`flush_every` records and at close; `fsync=True` also forces it to disk), so
a process crash loses at most what came after the last flush.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, Self

from batonsense.errors import InputError

MAGIC = b"BSNSRAW1"
_HEAD = struct.Struct("<IdBH")  # crc32, host_s, id_len, n
_BODY = struct.Struct("<dBH")  # the CRC covers these fields, then id and payload


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One notification: sensor id, host receive time (s), bytes."""

    sensor_id: str
    host_s: float
    payload: bytes


class RawSink(Protocol):
    """Where raw notifications go (a file now; the live service's SQLite later)."""

    def write(self, sensor_id: str, host_s: float, payload: bytes) -> None: ...


def encode_record(sensor_id: str, host_s: float, payload: bytes) -> bytes:
    """One record's bytes (see the module docstring)."""
    sid = sensor_id.encode()
    if not 1 <= len(sid) <= 255 or len(payload) > 0xFFFF:
        raise ValueError(f"sensor id of {len(sid)} bytes or payload of {len(payload)} bytes")
    body = _BODY.pack(host_s, len(sid), len(payload)) + sid + bytes(payload)
    return struct.pack("<I", zlib.crc32(body)) + body


class RawFileSink:
    """Appends raw records to a file (created with the magic if new or empty)."""

    def __init__(self, path: str | Path, *, flush_every: int = 64, fsync: bool = False) -> None:
        self.path = Path(path)
        self._file: BinaryIO = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        if self._file.tell() == 0:
            self._file.write(MAGIC)
        self.flush_every = flush_every
        self.fsync = fsync
        self.records = 0
        self._unflushed = 0

    def write(self, sensor_id: str, host_s: float, payload: bytes) -> None:
        self._file.write(encode_record(sensor_id, host_s, payload))
        self.records += 1
        self._unflushed += 1
        if self._unflushed >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Hand everything written so far to the OS (and the disk if fsync)."""
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())
        self._unflushed = 0

    def close(self) -> None:
        if not self._file.closed:
            self.flush()
            self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class RawReader:
    """Iterates the records of a raw file; stops at a torn or corrupt tail.

    Raises InputError if the file does not start with the magic.  After
    iterating, `skipped_bytes` is the size of the unreadable tail (0 if clean).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.skipped_bytes = 0

    def __iter__(self) -> Iterator[RawRecord]:
        data = self.path.read_bytes()
        if data[: len(MAGIC)] != MAGIC:
            raise InputError(self.path, "not a batonsense raw file (bad magic)")
        pos, end = len(MAGIC), len(data)
        while pos < end:
            record = _parse(data, pos)
            if record is None:
                self.skipped_bytes = end - pos
                return
            rec, pos = record
            yield rec


def _parse(data: bytes, pos: int) -> tuple[RawRecord, int] | None:
    if pos + _HEAD.size > len(data):
        return None
    crc, host_s, id_len, n = _HEAD.unpack_from(data, pos)
    stop = pos + _HEAD.size + id_len + n
    if id_len == 0 or stop > len(data) or zlib.crc32(data[pos + 4 : stop]) != crc:
        return None
    sid_start = pos + _HEAD.size
    try:
        sid = data[sid_start : sid_start + id_len].decode()
    except UnicodeDecodeError:
        return None
    return RawRecord(sid, host_s, data[sid_start + id_len : stop]), stop


def read_raw(path: str | Path) -> list[RawRecord]:
    """All intact records of a raw file, in order."""
    return list(RawReader(path))
