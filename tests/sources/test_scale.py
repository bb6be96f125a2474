"""Scale: scan, connect and stream 3 and 8 virtual sensors (~1 s each) through bleak's
public API on the bumble backend, and through the Ingestor; nothing sent goes missing."""

from __future__ import annotations

import asyncio
import time

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice

from batonsense.protocols import DecodedPacket
from batonsense.protocols import batonsense_v1 as v1
from batonsense.sources.ble.bumble_backend import BumbleBackend, bumble_backend
from batonsense.sources.ble.ingest import Ingestor
from batonsense.sources.virtual import Fate, SensorClock, VirtualRadio, VirtualSensor

from ._scene import run, streams

STREAM_S = 1.0


async def _scene(n: int) -> tuple[list[VirtualSensor], BumbleBackend]:
    radio = VirtualRadio()
    pool = streams(duration_s=STREAM_S)
    sensors = [
        VirtualSensor(
            radio,
            pool[i % len(pool)],
            clock=SensorClock(offset_s=3.0 * i, drift_ppm=(-40.0, 0.0, 35.0)[i % 3]),
            connection_interval_s=(0.0075, 0.015, 0.030, 0.045)[i % 4],
            seed=i,
        )
        for i in range(n)
    ]
    for s in sensors:
        await s.start()
    return sensors, bumble_backend(radio)


def _check_complete(sensor: VirtualSensor, payloads: list[bytes]) -> None:
    """Every packet the sensor sent arrived once, in order, and it covers ~STREAM_S."""
    packets = [v1.decode_packet(p) for p in payloads]
    sent = [p for p in sensor.packets if p.fate is Fate.SENT]
    assert [p.seq for p in packets] == [p.seq for p in sent]
    n_samples = sum(len(p) for p in packets)
    assert n_samples == sensor.samples(Fate.SENT)
    assert n_samples >= 0.8 * STREAM_S * sensor.stream.rate_hz  # START skips the first ms


@pytest.mark.parametrize("n", [3, 8])
def test_bleak_api_scans_connects_and_streams(n: int) -> None:
    async def body() -> float:
        sensors, backend = await _scene(n)
        t0 = time.monotonic()
        found = await BleakScanner.discover(
            timeout=0.3, service_uuids=[v1.SERVICE_UUID], backend=backend.scanner
        )
        assert sorted(d.address for d in found) == sorted(s.address for s in sensors)
        received: dict[str, list[bytes]] = {d.address: [] for d in found}

        async def arm(device: BLEDevice) -> BleakClient:
            client = BleakClient(device, backend=backend.client)
            await client.connect()
            box = received[device.address]
            await client.start_notify(v1.DATA_CHAR_UUID, lambda _c, d: box.append(bytes(d)))
            await client.write_gatt_char(v1.CONTROL_CHAR_UUID, v1.encode_start(), response=True)
            return client

        clients = await asyncio.gather(*(arm(d) for d in found))
        assert all(c.is_connected for c in clients)
        await asyncio.wait_for(asyncio.gather(*(s.finished.wait() for s in sensors)), 10.0)
        await asyncio.sleep(0.05)  # the last connection event's notifications
        await asyncio.gather(*(c.disconnect() for c in clients))
        for s in sensors:
            _check_complete(s, received[s.address])
        return time.monotonic() - t0

    elapsed_s = run(body, timeout_s=30.0)
    assert elapsed_s < STREAM_S + 4.0  # scan 0.3 s + connects + 1 s of streaming


def test_ingestor_streams_eight_sensors() -> None:
    async def body() -> None:
        sensors, backend = await _scene(8)
        raw: dict[str, list[bytes]] = {}
        decoded: dict[str, int] = {}

        def on_packet(sensor: str, _host_s: float, packet: DecodedPacket) -> None:
            decoded[sensor] = decoded.get(sensor, 0) + len(packet)

        async with Ingestor(
            on_packet=on_packet,
            on_raw=lambda item: raw.setdefault(item.sensor, []).append(item.data),
            backend=backend,
        ) as ingest:
            devices = await ingest.scan(timeout_s=0.3)
            assert len(devices) == 8
            await ingest.connect_all(devices)
            assert all(link.connected for link in ingest.links.values())
            await asyncio.wait_for(asyncio.gather(*(s.finished.wait() for s in sensors)), 10.0)
            await asyncio.sleep(0.05)
            await ingest.drain()
            links = dict(ingest.links)
        for s in sensors:
            _check_complete(s, raw[s.address])
            link = links[s.address]
            assert link.samples == decoded[s.address] == s.samples(Fate.SENT)
            assert (link.decode_errors, link.gaps, link.reconnects) == (0, [], 0)

    run(body, timeout_s=30.0)
