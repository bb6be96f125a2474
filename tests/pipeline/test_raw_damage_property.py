"""Property test of the raw container: random damage never loses an intact record.

Flipped bytes, cut spans and inserted garbage, anywhere after the magic, alone
or several at once: the reader never crashes, never makes a record up (what it
reads is the intact file's records in order, with some left out), and reads
every record that no damage touched.  With one damage, that is a prefix and a
suffix of the records.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batonsense.errors import InputError
from batonsense.sources.raw import MAGIC, RawFileSink, RawReader, RawRecord, encode_record

IDS = ("baton", "w1", "C0:00:00:00:00:01", "wé")


@dataclass(frozen=True)
class Damage:
    kind: str  # "flip", "cut" or "insert"
    at: float  # where, as a fraction of the bytes after the magic
    size: int  # bytes cut (cut); unused otherwise
    garbage: bytes  # inserted bytes (insert) or the XOR mask's byte (flip)


records_st = st.lists(
    st.tuples(st.sampled_from(IDS), st.binary(max_size=60)), min_size=1, max_size=25
).map(lambda items: [RawRecord(sid, 100.0 + 0.01 * k, p) for k, (sid, p) in enumerate(items)])

damage_st = st.one_of(
    st.builds(
        Damage,
        st.just("flip"),
        st.floats(0, 1, exclude_max=True),
        st.just(1),
        st.integers(1, 255).map(lambda b: bytes([b])),
    ),
    st.builds(
        Damage, st.just("cut"), st.floats(0, 1, exclude_max=True), st.integers(1, 120), st.just(b"")
    ),
    st.builds(
        Damage, st.just("insert"), st.floats(0, 1), st.just(0), st.binary(min_size=1, max_size=120)
    ),
)


def _apply(data: bytes, damages: list[Damage]) -> tuple[bytes, list[tuple[int, int]]]:
    """The damaged bytes and the byte ranges hit, in the intact file's offsets
    (an insertion hits the empty range at its offset).  Overlapping damages are
    left out; the rest are applied from the end so offsets stay valid."""
    body = len(data) - len(MAGIC)
    spans: list[tuple[int, int, Damage]] = []
    for d in damages:
        start = len(MAGIC) + int(d.at * body)
        end = min(start + (d.size if d.kind != "insert" else 0), len(data))
        if d.kind != "insert" and start >= len(data):
            continue
        if all(end < s or start > e for s, e, _ in spans):
            spans.append((start, end, d))
    out = bytearray(data)
    for start, end, d in sorted(spans, key=lambda s: s[0], reverse=True):
        if d.kind == "flip":
            out[start] ^= d.garbage[0]
        elif d.kind == "cut":
            del out[start:end]
        else:
            out[start:start] = d.garbage
    return bytes(out), [(s, e) for s, e, _ in spans]


def _untouched(offsets: list[int], hit: list[tuple[int, int]]) -> list[int]:
    """Indexes of the records that no damage range reaches into."""
    keep = []
    for k in range(len(offsets) - 1):
        lo, hi = offsets[k], offsets[k + 1]
        if all(e <= lo or s >= hi if s < e else not lo < s < hi for s, e in hit):
            keep.append(k)
    return keep


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records_st, st.lists(damage_st, min_size=1, max_size=3))
def test_damage_loses_only_the_damaged_records(
    tmp_path_factory: pytest.TempPathFactory, records: list[RawRecord], damages: list[Damage]
) -> None:
    path = tmp_path_factory.mktemp("d") / "s.raw"
    with RawFileSink(path) as sink:
        for r in records:
            sink.write(r.sensor_id, r.host_s, r.payload)
    offsets = [len(MAGIC)]
    for r in records:
        offsets.append(offsets[-1] + len(encode_record(r.sensor_id, r.host_s, r.payload)))
    damaged, hit = _apply(path.read_bytes(), damages)
    path.write_bytes(damaged)
    reader = RawReader(path)
    try:
        got = list(reader)
    except InputError as e:  # nothing intact left: a clear error, never a crash
        assert "no intact record" in str(e)
        got = []
    index = {r: k for k, r in enumerate(records)}
    # nothing made up, nothing out of order
    assert all(r in index for r in got)
    order = [index[r] for r in got]
    assert order == sorted(set(order))
    # every record no damage touched is read
    assert set(_untouched(offsets, hit)) <= set(order)
    # one damage: a prefix and a suffix of the records
    if len(hit) == 1 and order:
        gaps = [b - a for a, b in itertools.pairwise(order)]
        assert order[0] == 0 or hit[0][0] <= offsets[1]
        assert sum(g > 1 for g in gaps) <= 1
    # the skipped ranges lie inside the damaged file and do not overlap
    spans = [(s.start, s.end) for s in reader.skipped]
    assert all(len(MAGIC) <= s < e <= len(damaged) for s, e in spans)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
