"""Property: arbitrary lines inserted into a valid CSV are parsed or raise InputError.

And the fast path never accepts what the exact path rejects, nor reads it differently.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import batonsense.io.recording_csv as rc
from batonsense.errors import InputError
from batonsense.io import read_recording_csv
from batonsense.io._csv_fast import fast_read
from batonsense.model import Recording
from tests.io._data import SENSORS, VALID_CSV

IDS = [s.id for s in SENSORS]
BASE = VALID_CSV.splitlines(keepends=True)

# Text that looks like CSV often enough to reach the deeper checks.
csv_ish = st.lists(
    st.one_of(
        st.sampled_from(["baton", "w1", "w2", "w9", "", "#", '"', "nan", "inf", "1e3", "-0",
                         "12.0071", "12.02", "13", " ", "\r", "1_0", "0x1", "NA"]),
        st.text(max_size=6),
    ),
    min_size=0, max_size=10,
).map(",".join)
any_line = st.one_of(csv_ish, st.text(max_size=40))
insertions = st.lists(
    st.tuples(st.integers(min_value=0, max_value=len(BASE)), any_line), min_size=1, max_size=3
)


def build(extra: list[tuple[int, str]]) -> str:
    lines = list(BASE)
    for pos, text in sorted(extra, key=lambda e: -e[0]):
        lines.insert(pos, text.replace("\n", " ") + "\n")
    return "".join(lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(insertions)
def test_inserted_lines_parse_or_raise_input_error(extra):
    text = build(extra)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.csv"
        path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        try:
            rec = read_recording_csv(path, SENSORS)
        except InputError as e:
            assert e.path == str(path)
            assert e.line is None or 1 <= e.line <= text.count("\n") + text.count("\r") + 1
            exact_error = e
        else:
            assert isinstance(rec, Recording)
            exact_error = None
        size = path.stat().st_size
        fast = fast_read(path, IDS, size, None) if size else None
        if fast is None:
            return
        assert exact_error is None or "no rows" in exact_error.problem, (
            f"fast path accepted a file the exact path rejects: {exact_error}")
        slow = rc._slow_read(path, IDS, size, rc.read_header(path), None)
        for sid in IDS:
            for a, b in zip(fast[sid], slow[sid]):
                np.testing.assert_array_equal(a, b)
