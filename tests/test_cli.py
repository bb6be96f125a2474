"""CLI: exit codes and messages for bad input, table and JSON output, simulate, demo.

Detector and simulator are replaced by fakes here so the formatting is tested
now; the end-to-end demo test runs once the real simulator has landed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest
from click.testing import CliRunner

import batonsense.cli as cli
import batonsense.sim as sim_pkg
from batonsense.io import load_exchanges_json, read_recording_csv, read_sensors
from batonsense.model import Exchange, Hand, Outcome
from tests.io._data import SENSORS, SENSORS_TOML, VALID_CSV, random_recording, write

FakeSim = namedtuple("FakeSim", "recording truth activities")

EXCHANGES = [
    Exchange("ANA", "BEA", 10.2, 10.512, 10.7035, giver_hand=Hand.RIGHT,
             receiver_hand=Hand.LEFT, confidence=0.93),
    Exchange("BEA", "CAT", 11.0, 11.3, 11.4, outcome=Outcome.DROPPED, drop_s=11.5,
             giver_hand=Hand.LEFT, receiver_hand=Hand.LEFT, confidence=0.4),
]


@pytest.fixture()
def files(tmp_path):
    return write(tmp_path, "r.csv", VALID_CSV), write(tmp_path, "s.toml", SENSORS_TOML)


@pytest.fixture()
def fake_detector(monkeypatch):
    calls = []

    def detect(recording, progress=None):
        calls.append(recording)
        if progress is not None:
            progress(0.5)
            progress(1.0)
        return list(reversed(EXCHANGES))  # the CLI sorts by time

    monkeypatch.setattr(cli, "detect_exchanges", detect)
    return calls


def run(*args: str):
    return CliRunner().invoke(cli.main, [str(a) for a in args])


# ------------------------------------------------------------------ analyze


def test_analyze_table(files, fake_detector):
    rec, sensors = files
    r = run("analyze", rec, "--sensors", sensors)
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "ANA → BEA" in out and "R→L" in out and "L→L" in out
    assert "191.5" in out and "312.0" in out  # overlap and reach ms of the first exchange
    assert out.index("ANA → BEA") < out.index("BEA → CAT")
    assert "same hand!" in out and "dropped at 11.500 s" in out
    assert "2 exchanges (1 completed, 1 dropped)" in out
    assert "1 hand mismatch" in out
    assert fake_detector[0].sensors == SENSORS


def test_analyze_json_is_one_object(files, fake_detector):
    rec, sensors = files
    r = run("analyze", rec, "--sensors", sensors, "--json", "--progress")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)  # the whole of stdout is one JSON document
    assert list(doc) == ["exchanges"]
    assert [x["giver"] for x in doc["exchanges"]] == ["ANA", "BEA"]
    assert set(doc["exchanges"][0]) == set(EXCHANGES[0].to_dict())
    assert doc["exchanges"][0]["overlap_ms"] == 191.5
    assert doc["exchanges"][1]["hand_mismatch"] is True
    assert "detecting" in r.stderr and "reading" in r.stderr  # progress went to stderr


def test_analyze_no_progress_for_short_recording(files, fake_detector):
    rec, sensors = files
    r = run("analyze", rec, "--sensors", sensors, "--json")
    assert r.exit_code == 0
    assert r.stderr == ""


@pytest.mark.parametrize(("csv_text", "message"), [
    (VALID_CSV.replace("w1,12.010000", "w1,12.000000"), "r.csv:8: sensor 'w1': time goes back"),
    (VALID_CSV.replace("w2,12.005100", "w9,12.005100"), "r.csv:6: unknown sensor id 'w9'"),
    ("", "r.csv: empty file"),
])
def test_analyze_bad_recording_exit_2(tmp_path, fake_detector, csv_text, message):
    rec = write(tmp_path, "r.csv", csv_text)
    sensors = write(tmp_path, "s.toml", SENSORS_TOML)
    r = run("analyze", rec, "--sensors", sensors, "--json")
    assert r.exit_code == 2
    assert message in r.stderr
    assert r.stdout == ""
    assert not fake_detector


def test_analyze_bad_sensors_exit_2(files, fake_detector):
    rec, sensors = files
    sensors.write_text(SENSORS_TOML.replace('hand = "left"', 'hand = "middle"'))
    r = run("analyze", rec, "--sensors", sensors)
    assert r.exit_code == 2
    assert "s.toml:15: wrist sensor 'w2': bad hand 'middle'" in r.stderr


def test_analyze_missing_file_exit_2(tmp_path, files):
    _, sensors = files
    r = run("analyze", tmp_path / "nope.csv", "--sensors", sensors)
    assert r.exit_code == 2
    assert "does not exist" in r.stderr


def test_analyze_missing_sensors_option_exit_2(files):
    rec, _ = files
    r = run("analyze", rec)
    assert r.exit_code == 2
    assert "--sensors" in r.stderr


def test_analyze_detector_stub_message(files, monkeypatch):
    def stub(recording, progress=None):
        raise NotImplementedError

    monkeypatch.setattr(cli, "detect_exchanges", stub)
    rec, sensors = files
    r = run("analyze", rec, "--sensors", sensors)
    assert r.exit_code == 1
    assert "not available" in r.stderr


# ------------------------------------------------------------------ simulate / demo


@pytest.fixture()
def fake_sim(monkeypatch):
    calls = []

    def simulate(scenario, seed, **overrides):
        calls.append((scenario, seed, overrides))
        return FakeSim(random_recording(seed=seed), EXCHANGES[:1], [{"athlete": "ANA"}])

    monkeypatch.setattr(sim_pkg, "simulate", simulate, raising=False)
    monkeypatch.setattr(sim_pkg, "SCENARIOS", {"demo": "d", "4x100": "x"}, raising=False)
    return calls


def test_simulate_writes_three_files(tmp_path, fake_sim):
    out = tmp_path / "sim"
    r = run("simulate", "--scenario", "4x100", "--seed", "7", "--out", out, "--rate-hz", "500",
            "--reps", "3")
    assert r.exit_code == 0, r.output
    assert fake_sim == [("4x100", 7, {"rate_hz": 500.0, "n_reps": 3})]
    sensors = read_sensors(out / "sensors.toml")
    assert sensors == SENSORS
    rec = read_recording_csv(out / "recording.csv", sensors)
    assert len(rec.streams["baton"]) == len(random_recording(seed=7).streams["baton"])
    assert [x.to_dict() for x in load_exchanges_json(out / "truth.json")] == [
        EXCHANGES[0].to_dict()]
    assert json.loads((out / "truth.json").read_text())["activities"] == [{"athlete": "ANA"}]


def test_simulate_unknown_scenario_exit_2(tmp_path, fake_sim):
    r = run("simulate", "--scenario", "nope", "--seed", "1", "--out", tmp_path)
    assert r.exit_code == 2
    assert "unknown scenario 'nope' (one of: 4x100, demo)" in r.stderr


def test_simulate_bad_option_exit_2(tmp_path, fake_sim):
    r = run("simulate", "--scenario", "demo", "--seed", "x", "--out", tmp_path)
    assert r.exit_code == 2


def test_offline_demo_with_fakes(tmp_path, fake_sim, fake_detector):
    r = run("offline-demo", "--out", tmp_path / "demo")
    assert r.exit_code == 0, r.output
    assert "Detected vs truth" in r.stdout
    assert "+0.0" in r.stdout  # the matched exchange: detected − true grab
    assert "false alarm" in r.stdout  # the second detection has no true partner
    assert "found 1 of 1 true exchanges, 1 false alarm; median |error| grab 0.0 ms" in r.stdout
    assert (tmp_path / "demo" / "recording.csv").exists()


def test_python_dash_m_help():
    r = subprocess.run([sys.executable, "-m", "batonsense", "--help"], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 0
    assert all(c in r.stdout for c in ("analyze", "simulate", "offline-demo", "serve", "demo"))


def test_offline_demo_end_to_end(tmp_path):
    r = run("offline-demo", "--out", tmp_path / "demo")
    assert r.exit_code == 0, r.output
    assert "Detected vs truth" in r.stdout
    assert "found 3 of 3 true exchanges, 0 false alarms" in r.stdout


def test_simulate_then_analyze_json_matches_truth(tmp_path):
    out = tmp_path / "sim"
    r = run("simulate", "--scenario", "drill_200hz", "--seed", "3", "--reps", "2", "--out", out)
    assert r.exit_code == 0, r.output
    r = run("analyze", out / "recording.csv", "--sensors", out / "sensors.toml", "--json")
    assert r.exit_code == 0, r.output
    found = json.loads(r.stdout)["exchanges"]
    truth = json.loads((out / "truth.json").read_text())["exchanges"]
    assert len(truth) == 2 and len(found) == len(truth)
    for f, t in zip(found, truth, strict=True):
        assert (f["giver"], f["receiver"]) == (t["giver"], t["receiver"])
        assert abs(f["grab_s"] - t["grab_s"]) < 0.005
        assert f["overlap_ms"] == pytest.approx(1000 * (f["release_s"] - f["grab_s"]), abs=0.2)


def test_fixture_paths_are_paths(files):
    assert all(isinstance(p, Path) for p in files)
