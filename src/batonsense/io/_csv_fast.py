"""Fast path of the recording CSV reader: pandas' C parser in chunks, validated vectorised.

It returns None whenever it cannot prove the file valid under exactly the rules
of the exact pure-Python reader in `recording_csv` (which then runs and finds
the precise problem).  Things pandas would silently tolerate are ruled out by a
byte scan first: quotes, a '#' anywhere but at the start of a comment line, and
a comma count that does not match 8 fields on every data line.

Memory stays close to the recording itself: the byte scan streams the file in
small blocks (no memory map: mapped file pages count as resident memory) and
also counts each sensor's lines, so each sensor's output arrays are allocated
once at their final size and filled chunk by chunk, with small pandas chunks.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ("sensor", "t_s", "ax", "ay", "az", "gx", "gy", "gz")
#: rows per pandas chunk: its parser's buffers and the chunk's columns are transient memory
CHUNK_ROWS = 50_000
_SCAN_BLOCK = 1 << 20
#: a line longer than this (only a comment line can be valid) is left to the exact reader
_MAX_LINE = 1 << 22
_BOM = b"\xef\xbb\xbf"
_COMMA, _LF, _CR = b",\n\r"

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


def fast_read(
    path: Path, ids: list[str], size: int, progress: Callable[[float], None] | None
) -> dict[str, Arrays] | None:
    """Per sensor id (t_s, acc (N,3), gyro (N,3)), or None if in any doubt.

    The caller has already checked the header line.
    """
    scan = _scan(path, size, ids)
    if scan is None:
        return None
    data_commas, rows_hint = scan
    sinks = [_Sink(n) for n in rows_hint]
    n_rows = 0
    dtype = {"sensor": pd.CategoricalDtype(ids), **{c: np.float64 for c in COLUMNS[1:]}}
    try:
        with warnings.catch_warnings(), open(path, "rb") as f:
            warnings.simplefilter("error")  # any parser warning is a doubt: exact path
            reader = pd.read_csv(
                f, names=list(COLUMNS), header=0, comment="#", dtype=dtype,
                chunksize=CHUNK_ROWS, engine="c", encoding="utf-8",
            )
            with reader:
                for chunk in reader:
                    if not _fill(chunk, sinks):
                        return None
                    n_rows += len(chunk)
                    del chunk
                    if progress is not None:
                        progress(min(1.0, f.tell() / max(size, 1)))
    except Exception:  # noqa: BLE001 - any parser complaint: let the exact reader explain
        return None
    if data_commas != (len(COLUMNS) - 1) * (n_rows + 1):
        return None
    out: dict[str, Arrays] = {}
    for sid, sink in zip(ids, sinks):
        arrays = sink.result()
        if arrays is None:
            return None
        out[sid] = arrays
    return out


class _Sink:
    """One sensor's output arrays, allocated at the expected size, filled in place."""

    def __init__(self, capacity: int) -> None:
        self.n = 0
        self.t = np.empty(capacity)
        self.acc = np.empty((capacity, 3))
        self.gyro = np.empty((capacity, 3))

    def append(self, cols: list[np.ndarray], idx: np.ndarray) -> None:
        """Rows idx of the chunk's 7 value columns (t_s, ax..gz)."""
        a, b = self.n, self.n + len(idx)
        if b > len(self.t):  # more rows than the scan counted (not for sane files): grow
            cap = max(b, len(self.t) * 3 // 2 + 1024)
            self.t, self.acc, self.gyro = (_grown(x, cap, a) for x in (self.t, self.acc, self.gyro))
        self.t[a:b] = cols[0][idx]
        for j in range(3):
            self.acc[a:b, j] = cols[1 + j][idx]
            self.gyro[a:b, j] = cols[4 + j][idx]
        self.n = b

    def result(self) -> Arrays | None:
        """The arrays trimmed to the rows read; None if time is not strictly increasing."""
        n, t = self.n, self.t
        if n > 1 and not (t[1:n] > t[: n - 1]).all():
            return None
        if n == 0:
            return np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3))
        return _trimmed(t, n), _trimmed(self.acc, n), _trimmed(self.gyro, n)


def _grown(x: np.ndarray, rows: int, keep: int) -> np.ndarray:
    new = np.empty((rows, *x.shape[1:]))
    new[:keep] = x[:keep]
    return new


def _trimmed(x: np.ndarray, rows: int) -> np.ndarray:
    """x cut to its first rows; a copy only if the row count overestimated (odd files)."""
    return x if len(x) == rows else x[:rows].copy()


def _fill(chunk: pd.DataFrame, sinks: list[_Sink]) -> bool:
    """Append the chunk's rows per sensor; False on unknown ids or non-finite values."""
    codes = chunk["sensor"].cat.codes.to_numpy()
    if not len(codes):
        return True
    if codes.min() < 0:
        return False
    cols = [chunk[c].to_numpy(dtype=np.float64, copy=False) for c in COLUMNS[1:]]
    if not all(np.isfinite(c).all() for c in cols):
        return False
    for k, sink in enumerate(sinks):
        idx = np.flatnonzero(codes == k)
        if len(idx):
            sink.append(cols, idx)
    return True


def _scan(path: Path, size: int, ids: list[str]) -> tuple[int, list[int]] | None:
    """(commas outside comment lines, lines per sensor id), or None if in doubt.

    None for an empty file, quotes, a '#' outside a comment line (a '#' is fine
    only inside a line that starts with '#'), or a line over _MAX_LINE bytes.
    The per-sensor line counts (lines starting with 'id,') only size the output
    arrays; nothing depends on them being exact.  Streams the file in blocks,
    each cut after its last line end (the rest is carried to the next block).
    """
    if size == 0:
        return None
    prefixes = [sid.encode("utf-8", "surrogateescape") + b"," for sid in ids]
    commas = 0
    counts = [0] * len(ids)
    carry = b""
    first = True
    with open(path, "rb") as f:
        while True:
            block = f.read(_SCAN_BLOCK)
            data = carry + block if carry else block
            if block:
                cut = data.rfind(b"\n")
                cut = max(cut, data.rfind(b"\r", cut + 1))
                if cut <= 0:
                    if len(data) > _MAX_LINE:
                        return None
                    carry = data
                    continue
                part, carry = data[:cut], data[cut:]
            else:
                part, carry = data, b""
            if b'"' in part:
                return None
            codes = np.frombuffer(part, dtype=np.uint8)
            part_commas = int(np.count_nonzero(codes == _COMMA))
            if b"#" in part:
                start = len(_BOM) if first and part.startswith(_BOM) else 0
                comment_commas = _comment_commas(part, start)
                if comment_commas is None:
                    return None
                part_commas -= comment_commas
            commas += part_commas
            line_starts = np.flatnonzero((codes == _LF) | (codes == _CR)) + 1
            for k, prefix in enumerate(prefixes):
                counts[k] += _count_prefix(codes, line_starts, prefix)
            first = False
            if not block:
                return commas, counts


def _count_prefix(codes: np.ndarray, line_starts: np.ndarray, prefix: bytes) -> int:
    """How many of the lines starting at line_starts (offsets into codes) begin with prefix."""
    sel = line_starts[line_starts + len(prefix) <= len(codes)]
    for j, byte in enumerate(prefix):
        sel = sel[codes[sel + j] == byte]
    return len(sel)


def _comment_commas(text: bytes, start: int) -> int | None:
    """Commas inside comment lines of text (whole lines); None if some '#' is not in one.

    Linear in the text size: searches never go back before the previous comment line.
    """
    size = len(text)
    commas = 0
    lo = start
    pos = text.find(b"#", start)
    while pos != -1:
        line_start = max(text.rfind(b"\n", lo, pos), text.rfind(b"\r", lo, pos)) + 1
        if line_start == 0:
            line_start = start
        if text[line_start : line_start + 1] != b"#":
            return None
        line_end = text.find(b"\n", pos)
        line_end = size if line_end == -1 else line_end
        cr = text.find(b"\r", pos, line_end)
        line_end = line_end if cr == -1 else cr
        commas += text[line_start:line_end].count(b",")
        lo = line_end
        pos = text.find(b"#", line_end)
    return commas
