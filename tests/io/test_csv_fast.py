"""The fast reader's streaming details: block boundaries, sizing hints, memory.

Whatever the scan's block size, the pandas chunk size or the per-sensor row
counts used to size the output arrays, the fast path reads exactly what the
exact path reads, or declines (None).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import batonsense.io._csv_fast as cf
import batonsense.io.recording_csv as rc
from batonsense.io import read_recording_csv, write_recording_csv
from tests.io._data import HEADER, SENSORS, VALID_CSV, random_recording, write

IDS = [s.id for s in SENSORS]

VALID_VARIANTS = {
    "lf": VALID_CSV,
    "crlf": VALID_CSV.replace("\n", "\r\n"),
    "cr": VALID_CSV.replace("\n", "\r"),
    "bom": "\ufeff" + VALID_CSV,
    "bom + comment first": "\ufeff#,x,#\n" + VALID_CSV,
    "comments with commas": VALID_CSV.replace("# a comment between rows",
                                              "#,,,a comment, with # and ,,"),
    "no final newline": VALID_CSV.rstrip("\n") + "\n# last, comment",
}


def exact(path):
    return rc._slow_read(path, IDS, path.stat().st_size, rc.read_header(path), None)


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        for x, y in zip(a[k], b[k]):
            assert x.shape == y.shape
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64, 1 << 20])
@pytest.mark.parametrize("name", list(VALID_VARIANTS))
def test_block_boundaries_do_not_matter(tmp_path, monkeypatch, name, block):
    monkeypatch.setattr(cf, "_SCAN_BLOCK", block)
    monkeypatch.setattr(cf, "CHUNK_ROWS", 2)
    path = write(tmp_path, "r.csv", VALID_VARIANTS[name])
    fast = cf.fast_read(path, IDS, path.stat().st_size, None)
    if name != "cr":  # pandas may or may not take bare CR line ends; if it does, exactly
        assert fast is not None
    if fast is not None:
        assert_same(fast, exact(path))


@pytest.mark.parametrize("block", [1, 5, 64, 1 << 20])
@pytest.mark.parametrize("text", [
    VALID_CSV + "w2,12.02,1,2,3,4,5,6 # trailing comment\n",
    VALID_CSV + 'w2,12.02,1,2,3,4,5,"6"\n',
    VALID_CSV.replace("\n", "\r\n") + "w2,12.02,1,2,3,4,5,#6\r\n",
    VALID_CSV + "w2,12.02,1,2,3,4,5\n",
    VALID_CSV + "w2,12.02,1,2,3,4,5,6,7\n",
], ids=["stray #", "quote", "stray # crlf", "7 fields", "9 fields"])
def test_doubtful_files_are_declined_at_any_block_size(tmp_path, monkeypatch, text, block):
    monkeypatch.setattr(cf, "_SCAN_BLOCK", block)
    path = write(tmp_path, "r.csv", text)
    assert cf.fast_read(path, IDS, path.stat().st_size, None) is None


@pytest.mark.parametrize("hint", [[0, 0, 0], [1, 0, 7], [10_000, 3, 0], None])
def test_wrong_row_counts_only_cost_memory(tmp_path, monkeypatch, hint):
    """The per-sensor counts size the arrays; too small grows, too large trims."""
    path = tmp_path / "r.csv"
    write_recording_csv(path, random_recording(n=500))
    real_scan = cf._scan

    def scan(*a):
        commas, counts = real_scan(*a)
        return commas, (hint if hint is not None else counts)

    monkeypatch.setattr(cf, "_scan", scan)
    monkeypatch.setattr(cf, "CHUNK_ROWS", 37)
    fast = cf.fast_read(path, IDS, path.stat().st_size, None)
    assert fast is not None
    assert_same(fast, exact(path))
    for t, acc, gyro in fast.values():
        assert t.flags.c_contiguous and acc.flags.c_contiguous and gyro.flags.c_contiguous


def test_row_counts_of_the_scan_are_exact(tmp_path):
    path = tmp_path / "r.csv"
    rec = random_recording(n=300)
    write_recording_csv(path, rec, comment="w1,looks like a row\nbaton,too")
    _, counts = cf._scan(path, path.stat().st_size, IDS)
    assert counts == [len(rec.streams[i]) for i in IDS]


def test_overlong_line_is_left_to_the_exact_reader(tmp_path, monkeypatch):
    monkeypatch.setattr(cf, "_MAX_LINE", 100)
    monkeypatch.setattr(cf, "_SCAN_BLOCK", 16)
    text = "# " + "long comment, " * 20 + "\n" + VALID_CSV
    path = write(tmp_path, "r.csv", text)
    assert cf.fast_read(path, IDS, path.stat().st_size, None) is None
    rec = read_recording_csv(path, SENSORS)
    assert len(rec.streams["baton"]) == 2


def test_memory_stays_near_the_arrays(tmp_path, monkeypatch):
    """Python/numpy allocations peak at little more than the output arrays.

    (tracemalloc does not see pandas' C parser buffers; those are bounded by
    CHUNK_ROWS.)  Chunking is scaled down with the file so the bound is meaningful.
    """
    monkeypatch.setattr(cf, "CHUNK_ROWS", 2_000)
    monkeypatch.setattr(cf, "_SCAN_BLOCK", 1 << 16)
    path = tmp_path / "r.csv"
    n = 20_000
    rows = [f"{sid},{t:.6f},1.5,2.5,3.5,0.25,0.5,0.75\n"
            for i in range(n) for t, sid in ((i * 0.005 + k * 0.001, sid) for k, sid in
                                                 enumerate(IDS))]
    path.write_text(HEADER + "".join(rows))
    tracemalloc.start()
    try:
        data = cf.fast_read(path, IDS, path.stat().st_size, None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data is not None
    arrays = sum(x.nbytes for arrs in data.values() for x in arrs)
    assert arrays == 3 * n * 7 * 8
    assert peak <= 1.25 * arrays, f"peak {peak / arrays:.2f}x the arrays"
