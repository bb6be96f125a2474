"""Virtual sensors driven through bleak's public API (no radio)."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from batonsense.protocols import batonsense_v1 as v1
from batonsense.sources.virtual import Fate

from ._scene import run, scene


def test_scan_finds_three_virtual_sensors() -> None:
    async def body() -> None:
        _, sensors, backend = await scene(3)
        found = await BleakScanner.discover(
            timeout=0.3, return_adv=True, service_uuids=[v1.SERVICE_UUID], backend=backend.scanner
        )
        assert set(found) == {s.address for s in sensors}
        for s in sensors:
            _device, adv = found[s.address]
            assert adv.local_name == s.name and s.name.startswith(v1.NAME_PREFIX)
            assert adv.service_uuids == [v1.SERVICE_UUID]

    run(body)


def test_scan_filter_excludes_other_services() -> None:
    async def body() -> None:
        _, _, backend = await scene(2)
        other = "0000180d-0000-1000-8000-00805f9b34fb"
        found = await BleakScanner.discover(
            timeout=0.2, service_uuids=[other], backend=backend.scanner
        )
        assert found == []

    run(body)


def test_three_sensors_stream_through_bleak_client() -> None:
    """Connect 3 sensors, START them, receive ~1.5 s of notifications; every
    sample sent arrives, injected losses are exactly the missing seqs."""

    async def body() -> None:
        _, sensors, backend = await scene(3, loss=0.05)
        devices = await BleakScanner.discover(
            timeout=0.2, service_uuids=[v1.SERVICE_UUID], backend=backend.scanner
        )
        received: dict[str, list[tuple[float, bytes]]] = {}
        clients = []
        for device in sorted(devices, key=lambda d: d.address):
            client = BleakClient(device, backend=backend.client)
            await client.connect()
            assert client.mtu_size == 247
            battery = await client.read_gatt_char(v1.BATTERY_LEVEL_CHAR_UUID)
            assert 0 < battery[0] <= 100
            box = received.setdefault(device.address, [])
            await client.start_notify(
                v1.DATA_CHAR_UUID, lambda _c, d, box=box: box.append((time.monotonic(), bytes(d)))
            )
            await client.write_gatt_char(v1.CONTROL_CHAR_UUID, v1.encode_start(), response=True)
            status = v1.decode_status(await client.read_gatt_char(v1.CONTROL_CHAR_UUID))
            assert status.state is v1.State.STREAMING
            clients.append(client)
        await asyncio.gather(*(s.finished.wait() for s in sensors))
        await asyncio.sleep(0.05)
        for client in clients:
            await client.disconnect()
        for s in sensors:
            packets = [v1.decode_packet(d) for _, d in received[s.address]]
            sent = [p for p in s.packets if p.fate is Fate.SENT]
            assert [p.seq for p in packets] == [p.seq for p in sent]
            assert sum(len(p) for p in packets) == s.samples(Fate.SENT)
            assert s.samples(Fate.SENT) + s.samples(Fate.LOST) == sum(p.count for p in s.packets)
            assert s.samples(Fate.SENT) > 200  # ~1.5 s at 200 Hz minus the time to connect
            assert [p.t_sensor_us[0] for p in packets] == [p.t0_us for p in sent]
            first = s.packets[0]
            assert packets[0].notes[:2] == ("boot", "start") or first.fate is Fate.LOST
            # the first sample's values survive the round trip (int16 quantisation)
            p0, rec = packets[0], sent[0]
            np.testing.assert_allclose(
                p0.acc_mps2, s.stream.acc_mps2[rec.first : rec.first + rec.count], atol=0.01
            )

    run(body)


def test_control_rejects_bad_writes_with_att_errors() -> None:
    async def body() -> None:
        _, sensors, backend = await scene(1)
        async with BleakClient(sensors[0].address, backend=backend.client) as client:
            for command, code in (
                (v1.encode_start(), v1.AttError.INVALID_PARAMETER),  # not subscribed yet
                (b"\x7f", v1.AttError.UNKNOWN_OPCODE),
                (b"\x01\x00", v1.AttError.INVALID_LENGTH),
            ):
                with pytest.raises(BleakError, match=f"ATT error 0x{int(code):02X}"):
                    await client.write_gatt_char(v1.CONTROL_CHAR_UUID, command, response=True)
            status = v1.decode_status(await client.read_gatt_char(v1.CONTROL_CHAR_UUID))
            assert status.state is v1.State.IDLE

    run(body)
