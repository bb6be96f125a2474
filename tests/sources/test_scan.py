"""`batonsense scan`: pure SeenSensor building, scan_sensors on the virtual radio, the CLI."""

from __future__ import annotations

import json

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from click.testing import CliRunner

from batonsense import cli
from batonsense.protocols import batonsense_v1 as v1
from batonsense.protocols import movesense
from batonsense.sources.ble.recognise import Protocol
from batonsense.sources.ble.scan import scan_sensors, seen_sensor

from ._scene import run, scene


def _adv(name: str | None, uuids: list[str], service_data: dict[str, bytes], rssi: int) -> tuple:
    adv = AdvertisementData(name, {}, service_data, uuids, None, rssi, ())
    return BLEDevice("AA:BB:CC:DD:EE:FF", name, None), adv


def test_seen_sensor_from_advertisement() -> None:
    s = seen_sensor(*_adv("Movesense 1", [movesense.SERVICE_UUID], {"180f": b"\x3c"}, -61))
    assert (s.name, s.rssi_dbm, s.protocol, s.recognised_by) == (
        "Movesense 1",
        -61,
        Protocol.MOVESENSE,
        "service uuid",
    )
    assert (s.battery_percent, s.battery_from) == (60, "advertised")
    s = seen_sensor(*_adv(None, [], {}, -90))
    assert s.protocol is Protocol.UNKNOWN and s.battery_percent is None and s.name is None


def test_scan_sensors_reads_battery_of_virtual_sensors() -> None:
    async def body() -> None:
        _, sensors, backend = await scene(3, battery_percent=42.0)
        seen = await scan_sensors(0.3, backend=backend)
        assert [s.address for s in seen] == sorted(s.address for s in sensors)
        for s in seen:
            assert s.protocol is Protocol.BATONSENSE_V1 and s.name.startswith(v1.NAME_PREFIX)
            assert (s.battery_percent, s.battery_from) == (42, "read")
            assert s.rssi_dbm == -50  # bumble's virtual controller's constant
        quick = await scan_sensors(0.2, backend=backend, read_batteries=False)
        assert all(s.battery_percent is None for s in quick)

    run(body)


def test_cli_scan_virtual_table_and_json() -> None:
    runner = CliRunner()
    result = runner.invoke(cli.main, ["scan", "--virtual", "3", "--timeout-s", "0.3"])
    assert result.exit_code == 0, result.output
    assert "3 devices seen" in result.output and result.output.count("batonsense v1") == 3
    result = runner.invoke(cli.main, ["scan", "--virtual", "2", "--timeout-s", "0.3", "--json"])
    assert result.exit_code == 0, result.output
    sensors = json.loads(result.stdout)["sensors"]
    assert len(sensors) == 2
    assert {s["protocol"] for s in sensors} == {"batonsense_v1"}
    assert all(0 < s["battery_percent"] <= 100 and s["battery_from"] == "read" for s in sensors)
    assert all(s["rssi_dbm"] == -50 and s["address"].startswith("C0:") for s in sensors)


def test_cli_scan_without_adapter_fails_cleanly(monkeypatch, tmp_path) -> None:
    # A system bus that does not exist: what a machine without BlueZ looks like.
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    result = CliRunner().invoke(cli.main, ["scan", "--timeout-s", "0.2"])
    assert result.exit_code == 1
    assert "cannot scan" in result.output and "--virtual" in result.output
