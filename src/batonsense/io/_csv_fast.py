"""Fast path of the recording CSV reader: pandas' C parser in chunks, validated vectorised.

It returns None whenever it cannot prove the file valid under exactly the rules
of the exact pure-Python reader in `recording_csv` (which then runs and finds
the precise problem).  Things pandas would silently tolerate are ruled out by a
byte scan first: quotes, a '#' anywhere but at the start of a comment line, and
a comma count that does not match 8 fields on every data line.
"""

from __future__ import annotations

import mmap
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ("sensor", "t_s", "ax", "ay", "az", "gx", "gy", "gz")
CHUNK_ROWS = 250_000
_SCAN_BLOCK = 1 << 24
_BOM = b"\xef\xbb\xbf"

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


def fast_read(
    path: Path, ids: list[str], size: int, progress: Callable[[float], None] | None
) -> dict[str, Arrays] | None:
    """Per sensor id (t_s, acc (N,3), gyro (N,3)), or None if in any doubt.

    The caller has already checked the header line.
    """
    data_commas = _data_line_commas(path, size)
    if data_commas is None:
        return None
    parts: dict[int, list[Arrays]] = {k: [] for k in range(len(ids))}
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
                    if not _split_chunk(chunk, parts):
                        return None
                    n_rows += len(chunk)
                    if progress is not None:
                        progress(min(1.0, f.tell() / max(size, 1)))
    except Exception:  # noqa: BLE001 - any parser complaint: let the exact reader explain
        return None
    if data_commas != (len(COLUMNS) - 1) * (n_rows + 1):
        return None
    return _join(ids, parts)


def _split_chunk(chunk: pd.DataFrame, parts: dict[int, list[Arrays]]) -> bool:
    """Append the chunk's rows per sensor; False on unknown ids or non-finite values."""
    codes = chunk["sensor"].cat.codes.to_numpy()
    values = chunk[list(COLUMNS[1:])].to_numpy(dtype=np.float64)
    if len(codes) and (codes.min() < 0 or not np.isfinite(values).all()):
        return False
    for k in parts:
        rows = values[codes == k]
        if len(rows):
            parts[k].append((rows[:, 0].copy(), rows[:, 1:4].copy(), rows[:, 4:7].copy()))
    return True


def _join(ids: list[str], parts: dict[int, list[Arrays]]) -> dict[str, Arrays] | None:
    """Concatenate each sensor's chunks; None if a sensor's time is not strictly increasing."""
    out: dict[str, Arrays] = {}
    for k, sid in enumerate(ids):
        chunks = parts.pop(k)
        if not chunks:
            out[sid] = (np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)))
            continue
        t = np.concatenate([c[0] for c in chunks])
        if not (np.diff(t) > 0).all():
            return None
        acc = np.concatenate([c[1] for c in chunks])
        gyro = np.concatenate([c[2] for c in chunks])
        out[sid] = (t, acc, gyro)
    return out


def _data_line_commas(path: Path, size: int) -> int | None:
    """Commas outside comment lines, or None if the file has quotes or a stray '#'.

    A '#' is fine only inside a line that starts with '#' (a comment line).
    """
    if size == 0:
        return None
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        commas = hashes = 0
        for i in range(0, size, _SCAN_BLOCK):
            block = mm[i : i + _SCAN_BLOCK]
            if b'"' in block:
                return None
            commas += block.count(b",")
            hashes += block.count(b"#")
        if hashes:
            comment_commas = _comment_commas(mm, size)
            if comment_commas is None:
                return None
            commas -= comment_commas
    return commas


def _comment_commas(mm: mmap.mmap, size: int) -> int | None:
    """Commas inside comment lines; None if some '#' is not in a comment line.

    Linear in the file size: searches never go back before the previous comment line.
    """
    start = len(_BOM) if mm[: len(_BOM)] == _BOM else 0
    commas = 0
    lo = start
    pos = mm.find(b"#", start)
    while pos != -1:
        line_start = max(mm.rfind(b"\n", lo, pos), mm.rfind(b"\r", lo, pos)) + 1
        if line_start == 0:
            line_start = start
        if mm[line_start : line_start + 1] != b"#":
            return None
        line_end = mm.find(b"\n", pos)
        line_end = size if line_end == -1 else line_end
        cr = mm.find(b"\r", pos, line_end)
        line_end = line_end if cr == -1 else cr
        commas += mm[line_start:line_end].count(b",")
        lo = line_end
        pos = mm.find(b"#", line_end)
    return commas
