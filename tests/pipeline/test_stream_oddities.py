"""BLE stream oddities: duplicated and reordered notifications, in-sensor
(OVERFLOW) losses, device keys in another case, devices not in the sensors file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from batonsense.cli import main
from batonsense.errors import InputError
from batonsense.io import read_recording_csv, read_sensors
from batonsense.model import SensorStream
from batonsense.pipeline import SensorPipeline, read_aliases, replay_raw
from batonsense.protocols import batonsense_v1 as v1
from batonsense.sources.raw import RawRecord

from ._raw_session import ADDRESSES, PERIOD_US, N, packet, session_records, write_session


def _feed(
    path: SensorPipeline,
    order: list[int],
    flags: dict[int, int] | None = None,
    t0_shift_us: dict[int, int] | None = None,
) -> np.ndarray:
    """Feed packets by seq in `order` (received 1 ms after their last sample, in
    that order); the emitted sample times (s), flush included."""
    blocks: list[SensorStream | None] = []
    host_s = 100.0
    for k in order:
        t0_us = k * N * PERIOD_US + (t0_shift_us or {}).get(k, 0)
        host_s = max(host_s, 100.0 + (t0_us + N * PERIOD_US) * 1e-6 + 0.001)
        flag = (v1.Flag.BOOT if k == 0 else 0) | (flags or {}).get(k, 0)
        blocks.append(path.feed(host_s, packet(k, t0_us, flag)))
    blocks.append(path.flush())
    return np.concatenate([b.t_s for b in blocks if b is not None])


def test_a_duplicate_is_dropped_and_counted_not_a_reboot() -> None:
    path = SensorPipeline("w1", warmup_s=0.5)
    order = list(range(150))
    order.insert(101, 100)  # packet 100 delivered twice
    t = _feed(path, order)
    st = path.stats
    # old code: a reboot, lost_packets += 100 (seq), and the sample repeated
    assert st.duplicates == 1 and st.reboots == 0 and st.clock_resets == 0
    assert st.lost_packets == 0 and st.lost_pct == 0.0
    assert st.packets == 150 and st.notifications == 151
    assert len(t) == 150 * N and np.all(np.diff(t) > 0)


def test_a_duplicate_of_the_first_packet_is_not_a_reboot() -> None:
    path = SensorPipeline("w1", warmup_s=0.5)
    t = _feed(path, [0, 0, *range(1, 60)])
    assert path.stats.duplicates == 1 and path.stats.reboots == 0
    assert len(t) == 60 * N


def test_reordered_packets_are_not_lost_and_times_stay_increasing() -> None:
    path = SensorPipeline("w1", warmup_s=0.5)
    order = list(range(200))
    order[10], order[11] = order[11], order[10]  # within the warm-up: put back in place
    order[120], order[121] = order[121], order[120]  # after it: already emitted past it
    order[150:154] = [151, 152, 153, 150]  # three ahead
    t = _feed(path, order)
    st = path.stats
    assert st.reboots == 0 and st.lost_packets == 0 and st.reordered == 3
    assert st.packets == 200
    assert np.all(np.diff(t) > 0)  # never out of order
    # the late packet of the warm-up kept its samples; the two after it could not
    assert len(t) == 200 * N - 2 * N and st.dropped_samples == 2 * N


def test_a_packet_still_missing_stays_lost_and_an_old_seq_is_still_a_reboot() -> None:
    path = SensorPipeline("w1", warmup_s=0.0)
    _feed(path, [k for k in range(100) if k != 40])
    assert path.stats.lost_packets == 1 and path.stats.reordered == 0
    # seq far behind the window, without the BOOT flag: the counter ran back
    path.feed(200.0, packet(5, 10**9))
    assert path.stats.reboots == 1


def test_overflow_samples_are_counted_from_sensor_time() -> None:
    path = SensorPipeline("w1", warmup_s=0.5)
    over = int(v1.Flag.OVERFLOW)
    # packet 50: 7 samples lost in the sensor before it; packet 80: one packet
    # lost on the radio (seq 79) and 3 samples in the sensor
    shift = {k: 7 * PERIOD_US for k in range(50, 200)}
    shift.update({k: 10 * PERIOD_US for k in range(80, 200)})
    t = _feed(
        path, [k for k in range(120) if k != 79], flags={50: over, 80: over}, t0_shift_us=shift
    )
    st = path.stats
    assert st.overflow_samples == 10  # old code: no such count at all
    assert st.lost_packets == 1 and st.reboots == 0 and np.all(np.diff(t) > 0)
    assert st.to_dict()["overflow_samples"] == 10


def test_status_rows_carry_the_overflow_count() -> None:
    from batonsense.pipeline._status import SensorStatus
    from batonsense.service.runtime import _STATUS_KEYS

    path = SensorPipeline("w1", warmup_s=0.0)
    _feed(
        path,
        list(range(20)),
        flags={10: int(v1.Flag.OVERFLOW)},
        t0_shift_us={k: 2 * PERIOD_US for k in range(10, 20)},
    )
    row = SensorStatus("w1", "connected", None, True, 0, 0.1, path.stats).to_dict()
    assert row["overflow_samples"] == 2 and row["duplicates"] == 0
    assert "overflow_samples" in _STATUS_KEYS  # GET /api/sensors rows take it from here


# ------------------------------------------------------------ replay of raw files


def _run(*args: object) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_one_duplicate_in_a_raw_file_changes_no_loss_and_no_sample(tmp_path: Path) -> None:
    records = session_records(300)
    raw, sensors = write_session(tmp_path, records)
    clean = json.loads(_run("replay", raw, "--sensors", sensors, "--json").stdout)["sensors"]
    dup = records[:453] + [records[452]] + records[453:]  # one w2 notification twice
    raw, _ = write_session(tmp_path, dup)
    res = _run("replay", raw, "--sensors", sensors, "--json")
    got = json.loads(res.stdout)["sensors"]
    assert records[452].sensor_id == "w2"
    assert got["w2"]["lost_pct"] == clean["w2"]["lost_pct"] == 0.0  # old: 33 %
    assert got["w2"]["reboots"] == 0 and got["w2"]["duplicates"] == 1
    assert got["w2"]["packets"] == 300 and "overflow_samples" in got["w2"]
    out = tmp_path / "o.csv"
    assert _run("export", raw, "--sensors", sensors, "--out", out).exit_code == 0
    w2 = read_recording_csv(out, read_sensors(sensors)).streams["w2"]
    assert len(w2) == 300 * N and np.all(np.diff(w2.t_s) > 0)


def test_addresses_match_whatever_their_case(tmp_path: Path) -> None:
    records = [
        RawRecord(r.sensor_id.lower(), r.host_s, r.payload)
        for r in session_records(150, key="address")
    ]
    raw, sensors = write_session(tmp_path, records)
    result = replay_raw(raw, read_sensors(sensors), aliases=read_aliases(sensors))
    assert result.unknown == 0 and not result.unknown_keys  # old: all 450 unknown
    assert {sid: st.packets for sid, st in result.stats.items()} == dict.fromkeys(ADDRESSES, 150)


def test_devices_not_in_the_sensors_file_are_reported(tmp_path: Path) -> None:
    records = session_records(150)
    stranger = [RawRecord("AA:BB:CC:DD:EE:FF", r.host_s, r.payload) for r in records[:40]]
    raw, sensors = write_session(tmp_path, records + stranger)
    for cmd in (["replay", raw], ["export", raw, "--out", tmp_path / "o.csv"]):
        res = _run(*cmd, "--sensors", sensors)
        assert res.exit_code == 0, res.output
        assert "40 records of devices not in" in res.stderr
        assert "AA:BB:CC:DD:EE:FF (40)" in res.stderr


def test_a_raw_file_of_none_of_the_sensors_is_bad_input(tmp_path: Path) -> None:
    records = [RawRecord("x" + r.sensor_id, r.host_s, r.payload) for r in session_records(30)]
    raw, sensors = write_session(tmp_path, records)
    with pytest.raises(InputError, match="none of its 90 records is from a sensor"):
        replay_raw(raw, read_sensors(sensors))
    res = _run("replay", raw, "--sensors", sensors)
    assert res.exit_code == 2 and "none of its 90 records" in res.stderr


@pytest.mark.parametrize("late_by", [1, 5, 31])
def test_a_late_packet_anywhere_in_the_window_fills_its_gap(late_by: int) -> None:
    path = SensorPipeline("w1", warmup_s=0.0)
    order = [k for k in range(120) if k != 50]
    order.insert(order.index(50 + late_by) + 1, 50)  # arrives after 50 + late_by
    t = _feed(path, order)
    st = path.stats
    assert st.reboots == 0 and st.lost_packets == 0 and st.reordered == 1
    assert np.all(np.diff(t) > 0)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(["ok", "ok", "ok", "drop", "dup", "swap"]), min_size=2, max_size=120)
)
def test_any_mix_of_drops_duplicates_and_swaps(ops: list[str]) -> None:
    """Whatever the mix, no reboot, counts that add up, times strictly increasing."""
    order: list[int] = []
    for k, op in enumerate(ops):
        if op == "drop" and k > 0:
            continue
        order.append(k)
        if op == "dup":
            order.append(k)
        elif op == "swap" and len(order) > 2:  # never before the first packet
            order[-1], order[-2] = order[-2], order[-1]
    seen: set[int] = set()
    dups = late = 0
    for s in order:  # what a reader of the whole delivery would count
        dups += s in seen
        late += s not in seen and bool(seen) and s < max(seen)
        seen.add(s)
    path = SensorPipeline("w1", warmup_s=0.0)
    t = _feed(path, order)
    st_ = path.stats
    assert st_.reboots == 0 and st_.clock_resets == 0
    assert st_.duplicates == dups and st_.reordered == late
    assert st_.packets == len(seen) and st_.lost_packets == max(seen) + 1 - len(seen)
    assert np.all(np.diff(t) > 0)
    assert len(t) + st_.dropped_samples == len(seen) * N
