"""The recording CSV contract: read and write.

File format (other tools write these files; keep it stable)::

    # comment lines start with '#', anywhere in the file (also before the header)
    sensor,t_s,ax,ay,az,gx,gy,gz
    baton,12.004512,0.1241,9.8012,0.0410,0.00213,-0.01120,0.00534

`sensor` is an id from the sensors file; `t_s` is time in s on one clock shared
by all sensors; ax..az is specific force in m/s², gx..gz angular velocity in
rad/s, both in the sensor's own frame.  Rows of different sensors may be
interleaved; each sensor's rows are in strictly increasing time.  Blank lines
are ignored.  UTF-8 (a byte-order mark is allowed), LF or CRLF line ends.

Reading has two paths that accept exactly the same files: a fast vectorised one
(`_csv_fast`, pandas' C parser) and, whenever the fast path has the least doubt,
an exact pure-Python pass that either builds the recording or raises the
precise `InputError` (file, 1-based line number, problem).
"""

from __future__ import annotations

import csv
import math
import os
import stat
from array import array
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from batonsense.errors import InputError
from batonsense.io._atomic import atomic_write
from batonsense.io._csv_fast import COLUMNS, fast_read
from batonsense.model import Recording, Role, SensorInfo, SensorStream

__all__ = ["COLUMNS", "read_recording_csv", "write_recording_csv"]

Progress = Callable[[float], None]
#: per sensor id: (t_s (N,), acc_mps2 (N, 3), gyro_radps (N, 3))
Columns = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]

_PROGRESS_EVERY_LINES = 100_000
#: the largest recording read (1 GiB ≈ 15 M rows: 7 h of 3 sensors at 200 Hz, or 2 h of
#: 10); reading takes about 2-3 times the file size in memory, so a bigger file (or
#: /dev/zero) would exhaust a trackside laptop before it failed
MAX_RECORDING_BYTES = 1 << 30


def read_recording_csv(
    path: str | Path,
    sensors: Sequence[SensorInfo],
    progress: Progress | None = None,
    *,
    max_bytes: int = MAX_RECORDING_BYTES,
) -> Recording:
    """Read a recording CSV for the given sensors (from the sensors file).

    progress(fraction 0..1 of the file read) is called now and then if given.
    Every sensor gets a stream (possibly empty, except the baton's).
    Raises InputError naming the file, line and problem for any bad input, and
    for a path that is not a regular file (a device, a pipe) or is bigger than
    max_bytes, before reading it.
    """
    path = Path(path)
    sensors = tuple(sensors)
    ids = [s.id for s in sensors]
    try:
        size = _readable_size(path, max_bytes)
        header_line = read_header(path)
        data = fast_read(path, ids, size, progress)
        if data is None:
            data = _slow_read(path, ids, size, header_line, progress)
    except OSError as e:
        raise InputError(path, f"cannot read file: {e.strerror or e}") from None
    if progress is not None:
        progress(1.0)
    return _build(path, sensors, data)


def _readable_size(path: Path, max_bytes: int) -> int:
    """The size of a regular file of at most max_bytes; InputError otherwise."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise InputError(path, "not a regular file (a device, pipe or directory); "
                         "give a recording CSV file")  # fmt: skip
    if st.st_size > max_bytes:
        raise InputError(path, f"{st.st_size / 2**20:.0f} MiB is more than the "
                         f"{max_bytes / 2**20:.0f} MiB a recording may have; split it")  # fmt: skip
    return st.st_size


def read_header(path: Path) -> int:
    """Check the header line; return its 1-based line number.

    Lines before it may be comments ('#') or blank.  Raises InputError for an
    empty file or a missing, misspelled or extra column.
    """
    for lineno, line in _text_lines(path):
        if _skippable(line):
            continue
        try:
            fields = [f.strip() for f in next(csv.reader([line]))]
        except csv.Error as e:
            raise InputError(path, f"malformed CSV header: {e}", lineno) from None
        _check_header(path, lineno, fields)
        return lineno
    raise InputError(path, "empty file: no header line 'sensor,t_s,ax,ay,az,gx,gy,gz'", None)


def _check_header(path: Path, lineno: int, fields: list[str]) -> None:
    """Raise InputError saying which header column is wrong, missing or extra."""
    for i, want in enumerate(COLUMNS):
        if i >= len(fields):
            raise InputError(path, f"header is missing column '{want}' (column {i + 1})", lineno)
        if fields[i] != want:
            raise InputError(
                path, f"header column {i + 1} is '{fields[i]}', expected '{want}'", lineno
            )
    if len(fields) > len(COLUMNS):
        extra = fields[len(COLUMNS)]
        raise InputError(path, f"header has an extra column '{extra}' (column 9)", lineno)


def _skippable(line: str) -> bool:
    """Comment lines ('#' first) and blank lines carry no data."""
    return line.startswith("#") or not line.strip()


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) with universal newlines; bad UTF-8 → InputError."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline=None) as f:
        for lineno, line in enumerate(f, start=1):
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:
                raise InputError(path, "line is not valid UTF-8 text", lineno) from None
            yield lineno, line


def _slow_read(
    path: Path, ids: list[str], size: int, header_line: int, progress: Progress | None
) -> Columns:
    """Exact pure-Python pass: the recording, or InputError at the first bad line."""
    index = {sid: k for k, sid in enumerate(ids)}
    cols = [[array("d") for _ in range(7)] for _ in ids]
    last_t = [-math.inf] * len(ids)
    state = {"lineno": 0, "bytes": 0}

    def data_lines() -> Iterator[str]:
        for lineno, line in _text_lines(path):
            state["lineno"] = lineno
            state["bytes"] += len(line)
            if lineno > header_line and not _skippable(line):
                yield line
            if progress is not None and lineno % _PROGRESS_EVERY_LINES == 0:
                progress(min(1.0, state["bytes"] / max(size, 1)))

    for row in _csv_rows(path, data_lines(), state):
        lineno = state["lineno"]
        k, values = _parse_row(path, lineno, row, index)
        t = values[0]
        if t <= last_t[k]:
            what = "repeats" if t == last_t[k] else "goes backwards"
            raise InputError(
                path,
                f"sensor '{ids[k]}': time {what} (previous t_s {last_t[k]:.6f}, this t_s {t:.6f})",
                lineno,
            )
        last_t[k] = t
        for col, v in zip(cols[k], values):
            col.append(v)
    return {
        sid: (
            np.frombuffer(c[0], dtype=np.float64).copy(),
            np.column_stack([np.frombuffer(a, dtype=np.float64) for a in c[1:4]]),
            np.column_stack([np.frombuffer(a, dtype=np.float64) for a in c[4:7]]),
        )
        if len(c[0])
        else _empty()
        for sid, c in zip(ids, cols)
    }


def _csv_rows(path: Path, lines: Iterator[str], state: dict[str, int]) -> Iterator[list[str]]:
    """csv.reader rows; the csv module's own complaints become InputError at the line."""
    reader = csv.reader(lines)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise InputError(path, f"malformed CSV: {e}", state["lineno"]) from None
        yield row


def _parse_row(
    path: Path, lineno: int, row: list[str], index: dict[str, int]
) -> tuple[int, list[float]]:
    """(sensor index, [t_s, ax..gz]) of one data row, or InputError."""
    if len(row) != len(COLUMNS):
        raise InputError(path, f"expected {len(COLUMNS)} fields, found {len(row)}", lineno)
    sid = row[0]
    if sid not in index:
        known = ", ".join(index) or "none"
        raise InputError(path, f"unknown sensor id '{sid}' (sensors file has: {known})", lineno)
    values = []
    for name, text in zip(COLUMNS[1:], row[1:]):
        try:
            v = float(text)
        except ValueError:
            raise InputError(
                path, f"column '{name}': cannot parse '{text}' as a number", lineno
            ) from None
        if not math.isfinite(v):
            raise InputError(path, f"column '{name}': value '{text}' is not finite", lineno)
        values.append(v)
    return index[sid], values


def _empty() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3))


def _build(path: Path, sensors: tuple[SensorInfo, ...], data: Columns) -> Recording:
    """The Recording; InputError if the baton sensor has no rows."""
    streams = {s.id: SensorStream(s.id, *data.get(s.id, _empty())) for s in sensors}
    for s in sensors:
        if s.role is Role.BATON and len(streams[s.id]) == 0:
            raise InputError(path, f"baton sensor '{s.id}' has no rows", None)
    return Recording(sensors=sensors, streams=streams)


def write_recording_csv(path: str | Path, recording: Recording, comment: str | None = None) -> None:
    """Write a recording atomically, rows of all sensors interleaved by time.

    t_s with 6 decimals (1 µs); values with 9 significant digits, enough for
    float32 data to round-trip exactly.  `comment` lines go before the header.
    Raises ValueError for non-finite values or times that would not stay
    strictly increasing after rounding to 1 µs (the file could not be read back).
    """
    ids, t, v, k = _interleave(recording)
    id_list = ids
    with atomic_write(path) as f:
        if comment:
            for line in comment.splitlines():
                f.write(f"# {line}\n")
        f.write(",".join(COLUMNS) + "\n")
        step = 100_000
        for i in range(0, len(t), step):
            rows = zip(k[i : i + step].tolist(), t[i : i + step].tolist(), v[i : i + step].tolist())
            f.write(
                "".join(
                    "%s,%.6f,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n" % (id_list[a], b, *c)
                    for a, b, c in rows
                )
            )


def _interleave(recording: Recording) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(ids, t_s (M,), values (M, 6), sensor index (M,)) sorted by time, stable."""
    ids, ts, vs, ks = [], [], [], []
    for k, (sid, s) in enumerate(recording.streams.items()):
        values = np.hstack([s.acc_mps2, s.gyro_radps]).astype(np.float64)
        if not (np.isfinite(s.t_s).all() and np.isfinite(values).all()):
            raise ValueError(f"sensor {sid!r}: non-finite values cannot be written")
        if np.any(np.diff(np.round(s.t_s, 6)) <= 0):
            raise ValueError(f"sensor {sid!r}: t_s not strictly increasing at 1 µs resolution")
        ids.append(sid)
        ts.append(np.asarray(s.t_s, dtype=np.float64))
        vs.append(values)
        ks.append(np.full(len(s), k, dtype=np.int64))
    if not ts:
        return ids, np.zeros(0), np.zeros((0, 6)), np.zeros(0, dtype=np.int64)
    t = np.concatenate(ts)
    order = np.argsort(t, kind="stable")
    return ids, t[order], np.concatenate(vs)[order], np.concatenate(ks)[order]
