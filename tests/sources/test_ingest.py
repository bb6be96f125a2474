"""The ingestion skeleton against virtual sensors, through bleak and bleak-retry-connector."""

from __future__ import annotations

import asyncio
import itertools

from batonsense.protocols import DecodedPacket
from batonsense.sources.ble.ingest import Ingestor, RawNotification
from batonsense.sources.virtual import Fate

from ._scene import run, scene


def test_ingest_three_sensors_counts_and_raw_record() -> None:
    async def body() -> None:
        _, sensors, backend = await scene(3, loss=0.05, latency_jitter_s=0.005)
        raw: list[RawNotification] = []
        decoded: dict[str, list[DecodedPacket]] = {}
        async with Ingestor(
            backend=backend,
            on_raw=raw.append,
            on_packet=lambda sensor, _host_s, p: decoded.setdefault(sensor, []).append(p),
        ) as ingest:
            devices = await ingest.scan(timeout_s=0.2)
            assert len(devices) == 3
            await ingest.connect_all(devices)
            await asyncio.gather(*(s.finished.wait() for s in sensors))
            await asyncio.sleep(0.05)
            await ingest.drain()
        for s in sensors:
            link = ingest.links[s.address]
            got = decoded[s.address]
            assert link.decode_errors == 0 and link.gaps == []
            assert link.samples == sum(len(p) for p in got) == s.samples(Fate.SENT)
            assert {p.seq for p in got}.isdisjoint(
                {r.seq for r in s.packets if r.fate is Fate.LOST}
            )
        assert len(raw) == sum(len(v) for v in decoded.values())
        assert all(a.host_s <= b.host_s for a, b in itertools.pairwise(raw))

    run(body)


def test_ingest_counts_malformed_notifications() -> None:
    async def body() -> None:
        _, sensors, backend = await scene(1)
        async with Ingestor(backend=backend) as ingest:
            await ingest.connect_all(await ingest.scan(timeout_s=0.2))
            link = ingest.links[sensors[0].address]
            for junk in (b"", b"\x01", b"\x03" * 40):  # 0x03: no such packet version
                ingest._enqueue(RawNotification(link.address, 0.0, junk))
            await ingest.drain()
            assert link.decode_errors == 3
            await sensors[0].stop()

    run(body)


def test_drop_out_reconnects_and_records_the_gap() -> None:
    async def body() -> None:
        _, sensors, backend = await scene(2)
        decoded: list[DecodedPacket] = []
        async with Ingestor(
            backend=backend,
            on_packet=lambda sensor, _h, p: (
                decoded.append(p) if sensor == sensors[0].address else None
            ),
        ) as ingest:
            await ingest.connect_all(await ingest.scan(timeout_s=0.2))
            await asyncio.sleep(0.4)
            await sensors[0].drop_link()
            await asyncio.gather(*(s.finished.wait() for s in sensors))
            await asyncio.sleep(0.05)
            await ingest.drain()
        dropped, steady = (ingest.links[s.address] for s in sensors)
        assert dropped.reconnects == 1 and len(dropped.gaps) == 1
        gap = dropped.gaps[0]
        assert gap.restored_host_s is not None and gap.restored_host_s > gap.lost_host_s
        assert steady.gaps == [] and steady.reconnects == 0
        assert dropped.samples == sensors[0].samples(Fate.SENT)
        starts = [p for p in decoded if "start" in p.notes]
        assert len(starts) == 2  # the first START and the one after the reconnect

    run(body)


def test_sensor_reboot_mid_stream_restarts_seq_with_boot_flag() -> None:
    async def body() -> None:
        _, sensors, backend = await scene(1)
        decoded: list[DecodedPacket] = []
        async with Ingestor(
            backend=backend, on_packet=lambda _s, _h, p: decoded.append(p)
        ) as ingest:
            await ingest.connect_all(await ingest.scan(timeout_s=0.2))
            await asyncio.sleep(0.3)
            await sensors[0].reboot()
            await sensors[0].finished.wait()
            await asyncio.sleep(0.05)
            await ingest.drain()
        boots = [i for i, p in enumerate(decoded) if "boot" in p.notes]
        assert len(boots) == 2 and boots[0] == 0
        after = decoded[boots[1]]
        assert after.seq == 0 and "start" in after.notes
        assert after.t_sensor_us is not None and decoded[boots[1] - 1].t_sensor_us is not None
        assert after.t_sensor_us[0] < decoded[boots[1] - 1].t_sensor_us[0]  # clock went back
        assert ingest.links[sensors[0].address].reconnects == 1

    run(body)
