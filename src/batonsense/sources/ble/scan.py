"""`batonsense scan`: the sensors in range, with protocol and battery.

    seen = await scan_sensors(timeout_s=3.0)                      # the platform's adapter
    seen = await scan_sensors(timeout_s=0.5, backend=bumble_backend(radio))

Every advertising device is listed (recognised or not); the battery comes from
Battery Service data in the advertisement when there is some, else, for
recognised sensors, by connecting and reading the Battery Level
characteristic (one device at a time, each under `battery_timeout_s`; a
failure leaves the battery unknown and says why, it never fails the scan).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from batonsense.protocols import batonsense_v1 as v1
from batonsense.sources.ble.bumble_backend import BumbleBackend
from batonsense.sources.ble.recognise import Protocol, advertised_battery_percent, recognise

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SeenSensor:
    """One device seen while scanning.  rssi_dbm None when the platform gave none;
    battery_from is "advertised", "read" or "" (unknown, see battery_note)."""

    name: str | None
    address: str
    rssi_dbm: int | None
    protocol: Protocol
    recognised_by: str
    battery_percent: int | None = None
    battery_from: str = ""
    battery_note: str = ""


def seen_sensor(device: BLEDevice, adv: AdvertisementData) -> SeenSensor:
    """A SeenSensor from what bleak reported (pure: no radio)."""
    name = adv.local_name or device.name
    found = recognise(adv.service_uuids, name)
    battery = advertised_battery_percent(adv.service_data)
    return SeenSensor(
        name=name,
        address=device.address,
        rssi_dbm=adv.rssi,
        protocol=found.protocol,
        recognised_by=found.by,
        battery_percent=battery,
        battery_from="advertised" if battery is not None else "",
    )


async def read_battery(
    device: BLEDevice, *, timeout_s: float = 5.0, backend: BumbleBackend | None = None
) -> int:
    """Battery Level (%) read over a short connection.  Raises BleakError,
    TimeoutError, or ValueError for a device without a readable level."""
    kwargs: dict[str, Any] = {} if backend is None else {"backend": backend.client}
    async with asyncio.timeout(timeout_s):
        async with BleakClient(device, timeout=timeout_s, **kwargs) as client:
            if client.services.get_characteristic(v1.BATTERY_LEVEL_CHAR_UUID) is None:
                raise ValueError("no Battery Level characteristic")
            value = await client.read_gatt_char(v1.BATTERY_LEVEL_CHAR_UUID)
    if len(value) < 1 or value[0] > 100:
        raise ValueError(f"battery level {bytes(value).hex()} is not a percentage")
    return int(value[0])


async def scan_sensors(
    timeout_s: float = 5.0,
    *,
    backend: BumbleBackend | None = None,
    read_batteries: bool = True,
    battery_timeout_s: float = 5.0,
) -> list[SeenSensor]:
    """Devices advertising within timeout_s, strongest first (see the module docstring)."""
    kwargs: dict[str, Any] = {} if backend is None else {"backend": backend.scanner}
    found = await BleakScanner.discover(timeout=timeout_s, return_adv=True, **kwargs)
    pairs = {address: pair for address, pair in found.items()}
    seen = [seen_sensor(device, adv) for device, adv in pairs.values()]
    if read_batteries:
        seen = [
            await _with_read_battery(s, pairs[s.address][0], battery_timeout_s, backend)
            for s in seen
        ]
    return sorted(seen, key=_order)


def _order(s: SeenSensor) -> tuple[bool, int, str]:
    """Recognised first, then strongest signal, then address."""
    rssi = s.rssi_dbm if s.rssi_dbm is not None else -1000
    return (s.protocol is Protocol.UNKNOWN, -rssi, s.address)


async def _with_read_battery(
    s: SeenSensor, device: BLEDevice, timeout_s: float, backend: BumbleBackend | None
) -> SeenSensor:
    if s.battery_percent is not None or s.protocol is Protocol.UNKNOWN:
        return s
    try:
        level = await read_battery(device, timeout_s=timeout_s, backend=backend)
    except (BleakError, TimeoutError, ValueError, OSError) as exc:
        _LOG.info("%s: battery not read: %s", s.address, exc)
        return replace(s, battery_note=str(exc) or type(exc).__name__)
    return replace(s, battery_percent=level, battery_from="read")


__all__ = ["SeenSensor", "read_battery", "scan_sensors", "seen_sensor"]
