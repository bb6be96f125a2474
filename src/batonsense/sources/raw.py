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
can leave at most one torn record at the end (a "torn tail").  Anywhere
else, a record that is incomplete or fails its CRC (a flipped byte, a cut or
inserted span) is damage: the reader skips it and resyncs on the next offset
where an intact record starts (id length, payload length, UTF-8 id and CRC
all check out; random bytes pass by chance about once in 2^40 offsets), so
every record outside the damaged bytes is read and none is made up.  It
reports each skipped byte range (`RawReader.skipped`).  No format change was
needed: every record has always carried its own CRC.  `RawFileSink` writes
through a buffer that `flush()` hands to the OS (every
`flush_every` records and at close; `fsync=True` also forces it to disk), so
a process crash loses at most what came after the last flush.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, Self

import numpy as np

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


@dataclass(frozen=True, slots=True)
class SkippedSpan:
    """Bytes [start, end) of a raw file that the reader could not read.

    torn_tail: the span is the file's end and one record cut short there (a
    crash during a write); otherwise damaged records (bad CRC or length).
    """

    start: int
    end: int
    torn_tail: bool = False

    @property
    def size(self) -> int:
        return self.end - self.start


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
    """Iterates the intact records of a raw file, skipping damaged ones.

    Raises InputError if the path is not a regular file, if the file does not
    start with the magic, or if it holds bytes after the magic but not one
    intact record.  A record that is incomplete or fails its CRC is
    skipped up to the next offset where an intact record starts (each record
    carries its own CRC, so the reader resyncs there).  After iterating,
    `skipped` lists each unreadable byte range (`SkippedSpan`): damaged spans,
    and at most one torn tail (the last record cut short, as a crash leaves
    it); `records` counts the records read.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.skipped: list[SkippedSpan] = []
        self.records = 0
        self._record_bytes = 0

    @property
    def skipped_bytes(self) -> int:
        """All bytes skipped (damaged spans and torn tail)."""
        return sum(s.size for s in self.skipped)

    @property
    def damaged(self) -> list[SkippedSpan]:
        """The skipped spans that are not a torn tail, in file order."""
        return [s for s in self.skipped if not s.torn_tail]

    @property
    def torn_tail_bytes(self) -> int:
        return sum(s.size for s in self.skipped if s.torn_tail)

    def records_estimate(self, span: SkippedSpan) -> int:
        """About how many records a skipped span held (its size / the mean record size)."""
        mean = self._record_bytes / self.records if self.records else _HEAD.size + 32
        return max(1, round(span.size / mean))

    def __iter__(self) -> Iterator[RawRecord]:
        if not self.path.is_file():  # a device (/dev/zero) or a pipe would never end
            raise InputError(self.path, "not a regular file")
        data = self.path.read_bytes()
        if data[: len(MAGIC)] != MAGIC:
            raise InputError(self.path, "not a batonsense raw file (bad magic)")
        self.skipped, self.records, self._record_bytes = [], 0, 0
        pos, end = len(MAGIC), len(data)
        while pos < end:
            parsed = _parse(data, pos)
            if parsed is None:
                nxt = _next_record(data, pos + 1)
                torn = nxt is None and _torn(data, pos)
                self.skipped.append(SkippedSpan(pos, end if nxt is None else nxt, torn))
                if nxt is None:
                    break
                pos = nxt
                continue
            rec, stop = parsed
            self.records += 1
            self._record_bytes += stop - pos
            pos = stop
            yield rec
        if self.records == 0 and self.skipped:
            raise InputError(
                self.path,
                f"no intact record: bytes {len(MAGIC)}-{end} after the header are not "
                "batonsense raw records (damaged, cut short or not a raw file)",
            )


def _parse(data: bytes, pos: int) -> tuple[RawRecord, int] | None:
    """The intact record at pos and the offset after it, or None."""
    if pos + _HEAD.size > len(data):
        return None
    crc, host_s, id_len, n = _HEAD.unpack_from(data, pos)
    sid_start = pos + _HEAD.size
    stop = sid_start + id_len + n
    if id_len == 0 or stop > len(data):
        return None
    try:  # cheaper than the CRC, and rules out most random bytes when resyncing
        sid = data[sid_start : sid_start + id_len].decode()
    except UnicodeDecodeError:
        return None
    if zlib.crc32(data[pos + 4 : stop]) != crc:
        return None
    return RawRecord(sid, host_s, data[sid_start + id_len : stop]), stop


def _torn(data: bytes, pos: int) -> bool:
    """Whether the bytes from pos to the end look like one record cut short (a
    crash's torn tail): a header claiming more bytes than are left, with a
    finite time and id bytes possible in UTF-8."""
    if pos + _HEAD.size > len(data):
        return True
    _crc, host_s, id_len, n = _HEAD.unpack_from(data, pos)
    id_bytes = np.frombuffer(data, np.uint8)[pos + _HEAD.size : pos + _HEAD.size + id_len]
    return (
        id_len > 0
        and pos + _HEAD.size + id_len + n > len(data)
        and math.isfinite(host_s)
        and bool(_UTF8_BYTE[id_bytes].all())
    )


# Bytes that can occur in UTF-8 text (not C0, C1, F5-FF): a sensor id is made of these.
_UTF8_BYTE = np.ones(256, dtype=bool)
_UTF8_BYTE[[0xC0, 0xC1, *range(0xF5, 0x100)]] = False
_SCAN_WINDOW = 1 << 15  # offsets examined per vectorised step of the resync scan


def _next_record(data: bytes, start: int) -> int | None:
    """The first offset >= start where an intact record begins, None if none.

    Tries every offset, but only those whose id length, payload length and id
    bytes are possible go on to `_parse` (decode and CRC): in random bytes
    about 1 offset in 200 does, so a megabyte of garbage is crossed in ~0.1 s.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    last = len(data) - _HEAD.size  # the last offset a record could start at
    for lo in range(start, last + 1, _SCAN_WINDOW):
        hi = min(lo + _SCAN_WINDOW, last + 1)
        offs = np.arange(lo, hi)
        id_len = buf[offs + 12].astype(np.int64)
        n = buf[offs + 13].astype(np.int64) | (buf[offs + 14].astype(np.int64) << 8)
        ok = (id_len > 0) & (offs + _HEAD.size + id_len + n <= len(data))
        # every id byte must be possible in UTF-8: the run of such bytes at the
        # id's start must be at least id_len long
        ids_end = min(hi + _HEAD.size + 255, len(data))
        good = _UTF8_BYTE[buf[lo + _HEAD.size : ids_end]]
        idx = np.arange(len(good))
        bad_at = np.where(good, len(good), idx)
        run = np.minimum.accumulate(bad_at[::-1])[::-1] - idx
        run = np.concatenate([run, np.zeros(max(0, hi - lo - len(run)), dtype=run.dtype)])
        ok &= run[: hi - lo] >= id_len
        for off in np.flatnonzero(ok):
            if _parse(data, lo + int(off)) is not None:
                return lo + int(off)
    return None


def read_raw(path: str | Path) -> list[RawRecord]:
    """All intact records of a raw file, in order."""
    return list(RawReader(path))
