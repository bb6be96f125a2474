"""A bleak backend over bumble's in-process radio: bleak's public API drives virtual sensors.

    backend = bumble_backend(radio)
    devices = await BleakScanner.discover(timeout=0.3, backend=backend.scanner)
    async with BleakClient(devices[0], backend=backend.client) as client:
        await client.start_notify(DATA_UUID, callback)

The "adapter" is the radio's central bumble Device; connections are created
one at a time (like a real controller), MTU 247 is requested on connect, and
the whole GATT database is discovered.  BLEDevice.details is a `BumblePeer`
(not a dict with a BlueZ "path"), so bleak-retry-connector skips its D-Bus
look-ups and works unchanged.  Not modelled: pairing (ignored), RSSI (bumble's
virtual controller reports a constant -50 dBm), connection parameters.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bumble import att, core
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import Characteristic
from bumble.gatt_client import CharacteristicProxy
from bumble.hci import Address

from batonsense.sources.virtual.radio import VirtualRadio

_LOG = logging.getLogger(__name__)
REQUESTED_MTU = 247
_PROPERTY_NAMES: dict[Characteristic.Properties, CharacteristicPropertyName] = {
    Characteristic.Properties.BROADCAST: "broadcast",
    Characteristic.Properties.READ: "read",
    Characteristic.Properties.WRITE_WITHOUT_RESPONSE: "write-without-response",
    Characteristic.Properties.WRITE: "write",
    Characteristic.Properties.NOTIFY: "notify",
    Characteristic.Properties.INDICATE: "indicate",
    Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES: "authenticated-signed-writes",
    Characteristic.Properties.EXTENDED_PROPERTIES: "extended-properties",
}


_UUID_LIST_TYPES = (
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
)


@dataclass(frozen=True, slots=True)
class BumblePeer:
    """BLEDevice.details for a device seen on the virtual radio."""

    address: Address
    advertisement: Advertisement | None = None


def uuid_str(u: core.UUID) -> str:
    """A bumble UUID as bleak writes it: 128-bit, lower case, with dashes."""
    return str(uuid.UUID(bytes=bytes(reversed(u.to_bytes(force_128=True)))))


def _advertisement_data(adv: Advertisement) -> tuple[str | None, AdvertisementData]:
    data = adv.data
    name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(
        AdvertisingData.SHORTENED_LOCAL_NAME
    )
    uuids = [
        uuid_str(u) for t in _UUID_LIST_TYPES for uuid_list in data.get_all(t) for u in uuid_list
    ]
    manufacturer = {
        int(cid): bytes(v) for cid, v in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA)
    }
    service_data: dict[str, bytes] = {}
    for t in (AdvertisingData.SERVICE_DATA_16_BIT_UUID, AdvertisingData.SERVICE_DATA_128_BIT_UUID):
        service_data.update({uuid_str(u): bytes(v) for u, v in data.get_all(t)})
    tx = data.get(AdvertisingData.TX_POWER_LEVEL)
    local_name = None if name is None else str(name)
    return local_name, AdvertisementData(
        local_name=local_name,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=list(dict.fromkeys(uuids)),
        tx_power=None if tx is None else int(cast(int, tx)),
        rssi=adv.rssi,
        platform_data=(adv,),
    )


class BumbleBleakScanner(BaseBleakScanner):
    """bleak scanner backend listening on a VirtualRadio (class attribute `radio`
    set by `bumble_backend`, or the `radio=` keyword)."""

    radio: ClassVar[VirtualRadio | None] = None

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        *,
        radio: VirtualRadio | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._radio = _radio_or_raise(radio or type(self).radio)
        self._active = scanning_mode != "passive"
        self._central: Device | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        self._central = await self._radio.central()
        self._central.on("advertisement", self._on_advertisement)
        await self._central.start_scanning(active=self._active, filter_duplicates=False)

    async def stop(self) -> None:
        if self._central is None:
            return
        self._central.remove_listener("advertisement", self._on_advertisement)
        await self._central.stop_scanning()
        self._central = None

    def _on_advertisement(self, adv: Advertisement) -> None:
        name, data = _advertisement_data(adv)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = str(adv.address)
        device = self.create_or_update_device(
            address, address, name, BumblePeer(adv.address, adv), data
        )
        self.call_detection_callbacks(device, data)


def _radio_or_raise(radio: VirtualRadio | None) -> VirtualRadio:
    if radio is None:
        raise BleakError("bumble backend: no VirtualRadio (use bumble_backend(radio))")
    return radio


class BumbleBleakClient(BaseBleakClient):
    """bleak client backend connecting over a VirtualRadio.

    disconnected_callback is called only for disconnects this client did not
    ask for (a drop-out), as BaseBleakClient documents.
    """

    radio: ClassVar[VirtualRadio | None] = None

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        radio: VirtualRadio | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._radio = _radio_or_raise(radio or type(self).radio)
        self._name = (
            address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._connection: Connection | None = None
        self._closing = False
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return self._name or self.address

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        timeout_s = float(kwargs.get("timeout", self._timeout))
        central = await self._radio.central()
        async with self._radio.connect_lock:
            try:
                connection = await central.connect(Address(self.address), timeout=timeout_s)
            except (TimeoutError, core.TimeoutError) as exc:
                raise TimeoutError(f"{self.address}: connection timed out") from exc
            except core.BaseBumbleError as exc:
                raise BleakError(f"{self.address}: connect failed: {exc}") from exc
        self._closing = False
        self._connection = connection
        self._subscriptions.clear()
        connection.on("disconnection", self._on_disconnection)
        try:
            peer = Peer(connection)
            await peer.request_mtu(REQUESTED_MTU)
            self.services = await self._discover(peer)
        except Exception:
            await self.disconnect()
            raise

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        await peer.discover_services()
        collection = BleakGATTServiceCollection()
        for s in peer.services:
            service = BleakGATTService(s, s.handle, uuid_str(s.uuid))
            collection.add_service(service)
            for c in await s.discover_characteristics():
                props = [name for flag, name in _PROPERTY_NAMES.items() if c.properties & flag]
                char = BleakGATTCharacteristic(
                    c, c.handle, uuid_str(c.uuid), props, lambda: self.mtu_size - 3, service
                )
                collection.add_characteristic(char)
                for d in await c.discover_descriptors():
                    collection.add_descriptor(
                        BleakGATTDescriptor(d, d.handle, uuid_str(d.type), char)
                    )
        return collection

    def _on_disconnection(self, _reason: int) -> None:
        self._connection = None
        self._subscriptions.clear()
        if not self._closing and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._closing = True
        try:
            await connection.disconnect()
        except core.BaseBumbleError as exc:
            _LOG.debug("%s: disconnect: %s", self.address, exc)
        self._connection = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        _LOG.info("%s: pairing is not modelled by the virtual radio; ignored", self.address)

    async def unpair(self) -> None:
        _LOG.info("%s: unpairing is not modelled by the virtual radio; ignored", self.address)

    @contextlib.contextmanager
    def _as_bleak_error(self) -> Iterator[None]:
        """bumble's ATT errors become BleakError naming the ATT error code."""
        try:
            yield
        except att.ATT_Error as exc:
            raise BleakError(f"{self.address}: ATT error 0x{exc.error_code:02X}") from exc
        except core.BaseBumbleError as exc:
            raise BleakError(f"{self.address}: {exc}") from exc

    def _require_connected(self) -> None:
        if self._connection is None:
            raise BleakError(f"{self.address}: not connected")

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        self._require_connected()
        with self._as_bleak_error():
            return bytearray(await characteristic.obj.read_value())

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        self._require_connected()
        with self._as_bleak_error():
            return bytearray(await descriptor.obj.read_value())

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        self._require_connected()
        with self._as_bleak_error():
            await characteristic.obj.write_value(bytes(data), with_response=response)

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        self._require_connected()
        with self._as_bleak_error():
            await descriptor.obj.write_value(bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        self._require_connected()
        proxy: CharacteristicProxy[bytes] = characteristic.obj

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        self._subscriptions[characteristic.handle] = on_value
        await proxy.subscribe(on_value, prefer_notify=True)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._require_connected()
        on_value = self._subscriptions.pop(characteristic.handle, None)
        await characteristic.obj.unsubscribe(on_value)


@dataclass(frozen=True, slots=True)
class BumbleBackend:
    """The scanner and client classes to pass as bleak's `backend=`."""

    scanner: type[BumbleBleakScanner]
    client: type[BumbleBleakClient]


def bumble_backend(radio: VirtualRadio) -> BumbleBackend:
    """Backend classes bound to `radio` (bleak instantiates them itself)."""
    scanner = type("BumbleBleakScanner", (BumbleBleakScanner,), {"radio": radio})
    client = type("BumbleBleakClient", (BumbleBleakClient,), {"radio": radio})
    return BumbleBackend(scanner, client)


__all__ = [
    "BumbleBackend",
    "BumbleBleakClient",
    "BumbleBleakScanner",
    "BumblePeer",
    "bumble_backend",
]
