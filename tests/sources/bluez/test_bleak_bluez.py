"""bleak's own BlueZ backend (what a Linux laptop runs) against bluezoo."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
from bleak import BleakClient, BleakScanner

from batonsense.protocols import batonsense_v1 as v1
from batonsense.protocols import movesense
from batonsense.sources.ble.ingest import Ingestor
from batonsense.sources.ble.recognise import Protocol
from batonsense.sources.ble.scan import scan_sensors

from .._scene import run
from ._bus import BluezMock
from ._peripheral import Peripheral, V1Peripheral

BATTERY_SERVICE_DATA = "0000180f-0000-1000-8000-00805f9b34fb"


def test_scan_finds_mock_sensor_by_service_uuid(bluez: BluezMock) -> None:
    async def body() -> None:
        sensor = V1Peripheral(bluez.adapters[1], "BSNS-0B01")
        await sensor.start()
        try:
            found = await BleakScanner.discover(
                timeout=0.5, return_adv=True, service_uuids=[v1.SERVICE_UUID]
            )
            assert list(found) == [sensor.address], bluez.log_tail()
            device, adv = found[sensor.address]
            assert device.name == adv.local_name == "BSNS-0B01"
            assert adv.service_uuids == [v1.SERVICE_UUID]
            assert isinstance(device.details, dict) and device.details["path"].startswith(
                bluez.adapters[0] + "/dev_"
            )
        finally:
            sensor.stop()

    run(body)


def _packet(seq: int, n: int = 4, rate_hz: int = 200) -> bytes:
    acc = np.tile([0.0, 0.0, 9.80665], (n, 1)) + seq * 0.01
    period_us = round(1e6 / rate_hz)
    return v1.encode_packet(
        seq=seq,
        t0_us=1_000_000 + seq * n * period_us,
        period_us=period_us,
        acc_mps2=acc,
        gyro_radps=np.zeros((n, 3)),
        flags=int(v1.Flag.BOOT) if seq == 0 else 0,
    )


async def _wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.01)


def test_connect_read_battery_and_receive_notifications(bluez: BluezMock) -> None:
    """BleakClient over BlueZ: services, Battery Level, START write, 100 notifications
    in order (bluezoo confirms each one with Confirm())."""

    async def body() -> None:
        sensor = V1Peripheral(bluez.adapters[1], "BSNS-0B01", battery_percent=63)
        await sensor.start()
        try:
            # Not find_device_by_address: bluezoo reports a device once, often while
            # StartDiscovery is still pending, and re-reports it only when its
            # advertisement changes; that generator would miss it (a real sensor
            # advertises again every 20-100 ms).
            found = await BleakScanner.discover(timeout=0.5, service_uuids=[v1.SERVICE_UUID])
            assert [d.address for d in found] == [sensor.address], bluez.log_tail()
            device = found[0]
            received: list[bytes] = []
            async with BleakClient(device, timeout=5.0) as client:
                uuids = {s.uuid for s in client.services}
                assert {v1.SERVICE_UUID, v1.BATTERY_SERVICE_UUID} <= uuids
                assert await client.read_gatt_char(v1.BATTERY_LEVEL_CHAR_UUID) == bytes([63])
                status = v1.decode_status(await client.read_gatt_char(v1.CONTROL_CHAR_UUID))
                assert status.state is v1.State.IDLE
                await client.start_notify(
                    v1.DATA_CHAR_UUID, lambda _c, data: received.append(bytes(data))
                )
                await _wait_until(lambda: sensor.data.notifying)
                await client.write_gatt_char(
                    v1.CONTROL_CHAR_UUID, v1.encode_start(rate_hz=200), response=True
                )
                assert [c.opcode for c in sensor.commands] == [v1.Opcode.START]
                sent = [_packet(seq) for seq in range(100)]
                for payload in sent:
                    sensor.data.notify(payload)
                await _wait_until(lambda: len(received) >= len(sent))
                await client.stop_notify(v1.DATA_CHAR_UUID)
            assert received == sent
            assert [v1.decode_packet(d).seq for d in received] == list(range(100))
            assert sensor.data.confirms == len(sent)
        finally:
            sensor.stop()

    run(body)


def test_ingestor_streams_over_bluez(bluez: BluezMock) -> None:
    """The Ingestor with bleak's default backend: scan (our service), connect through
    bleak-retry-connector, subscribe, START, decode: the code path of a Linux laptop."""

    async def body() -> None:
        sensors = [
            V1Peripheral(bluez.adapters[i], f"BSNS-0B0{i}", battery_percent=50 + i) for i in (1, 2)
        ]
        for s in sensors:
            await s.start()
        packets: dict[str, list[int]] = {}
        try:
            async with Ingestor(
                on_packet=lambda sensor, _t, p: packets.setdefault(sensor, []).append(p.seq),
                max_attempts=2,
            ) as ingest:
                devices = await ingest.scan(timeout_s=0.5)
                assert sorted(d.address for d in devices) == sorted(s.address for s in sensors)
                await ingest.connect_all(devices)
                for s in sensors:
                    assert [c.opcode for c in s.commands] == [v1.Opcode.START]
                    assert s.data.notifying
                for seq in range(50):
                    for s in sensors:
                        s.data.notify(_packet(seq))
                    await asyncio.sleep(0.002)  # ~ a connection event apart
                await _wait_until(
                    lambda: all(len(packets.get(s.address, [])) >= 50 for s in sensors)
                )
                await ingest.drain()
                links = dict(ingest.links)
            for s in sensors:
                assert packets[s.address] == list(range(50))
                link = links[s.address]
                assert (link.samples, link.decode_errors, link.gaps) == (200, 0, [])
        finally:
            for s in sensors:
                s.stop()

    run(body)


def test_scan_sensors_over_bluez_recognises_and_reads_battery(bluez: BluezMock) -> None:
    """`batonsense scan`'s engine over BlueZ: ours (battery read over GATT), a
    Movesense advertising its battery in service data, and an unknown device."""

    async def body() -> None:
        ours = V1Peripheral(bluez.adapters[1], "BSNS-0B01", battery_percent=71)
        movesense_like = Peripheral(
            bluez.adapters[2],
            "Movesense 2203",
            [movesense.SERVICE_UUID],
            service_data={BATTERY_SERVICE_DATA: bytes([44])},
        )
        other = Peripheral(bluez.adapters[3], "Kettle", ["0000180d-0000-1000-8000-00805f9b34fb"])
        for p in (ours, movesense_like, other):
            await p.start()
        try:
            seen = {s.address: s for s in await scan_sensors(0.5, battery_timeout_s=5.0)}
        finally:
            for p in (ours, movesense_like, other):
                p.stop()
        assert set(seen) == {ours.address, movesense_like.address, other.address}
        mine, ms, unknown = seen[ours.address], seen[movesense_like.address], seen[other.address]
        assert (mine.protocol, mine.battery_percent, mine.battery_from) == (
            Protocol.BATONSENSE_V1,
            71,
            "read",
        )
        assert (ms.protocol, ms.battery_percent, ms.battery_from) == (
            Protocol.MOVESENSE,
            44,
            "advertised",
        )
        assert (unknown.protocol, unknown.battery_percent) == (Protocol.UNKNOWN, None)
        assert mine.name == "BSNS-0B01" and mine.rssi_dbm is not None

    run(body)
