"""Peripherals on bluezoo: a D-Bus client that advertises and serves GATT, as a
BlueZ peripheral application does (LEAdvertisingManager1 + GattManager1).

bluezoo turns them into org.bluez.Device1 objects on the host's adapter (hci0),
with GattService1/GattCharacteristic1 "links" once a central connects; a
PropertiesChanged of a characteristic's Value here becomes a notification on
the central's side (bluezoo then calls Confirm() here, so it must exist).
"""

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dbus_fast import BusType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method

from batonsense.protocols import batonsense_v1 as v1

# dbus-fast reads D-Bus signatures from the annotations (so no `from __future__ import
# annotations` here, and D-Bus methods without a reply have no return annotation).
# ruff: noqa: F821

_SERIAL = itertools.count()


class Advertisement(ServiceInterface):
    """org.bluez.LEAdvertisement1 (Discoverable: bluezoo skips it otherwise)."""

    def __init__(self, name: str, service_uuids: Sequence[str], service_data: dict[str, bytes]):
        super().__init__("org.bluez.LEAdvertisement1")
        self._name = name
        self._uuids = list(service_uuids)
        self._service_data = {k: Variant("ay", v) for k, v in service_data.items()}

    @method()
    def Release(self):
        pass

    @dbus_property(PropertyAccess.READ)
    def Type(self) -> "s":
        return "peripheral"

    @dbus_property(PropertyAccess.READ)
    def ServiceUUIDs(self) -> "as":
        return self._uuids

    @dbus_property(PropertyAccess.READ)
    def LocalName(self) -> "s":
        return self._name

    @dbus_property(PropertyAccess.READ)
    def Discoverable(self) -> "b":
        return True

    @dbus_property(PropertyAccess.READ)
    def ServiceData(self) -> "a{sv}":
        return self._service_data


class GattService(ServiceInterface):
    def __init__(self, uuid: str):
        super().__init__("org.bluez.GattService1")
        self._uuid = uuid

    @dbus_property(PropertyAccess.READ)
    def UUID(self) -> "s":
        return self._uuid

    @dbus_property(PropertyAccess.READ)
    def Primary(self) -> "b":
        return True


class GattCharacteristic(ServiceInterface):
    """A characteristic: ReadValue returns `value`, WriteValue calls on_write
    (which may raise a DBusError to reject), notify() emits a new Value."""

    def __init__(
        self,
        uuid: str,
        service_path: str,
        flags: Sequence[str],
        value: bytes = b"",
        on_write: Callable[[bytes], None] | None = None,
    ):
        super().__init__("org.bluez.GattCharacteristic1")
        self._uuid, self._service, self._flags = uuid, service_path, list(flags)
        self.value = value
        self.on_write = on_write
        self.notifying = False
        self.confirms = 0
        self.writes: list[bytes] = []

    @dbus_property(PropertyAccess.READ)
    def UUID(self) -> "s":
        return self._uuid

    @dbus_property(PropertyAccess.READ)
    def Service(self) -> "o":
        return self._service

    @dbus_property(PropertyAccess.READ)
    def Flags(self) -> "as":
        return self._flags

    @dbus_property(PropertyAccess.READ)
    def Value(self) -> "ay":
        return self.value

    @dbus_property(PropertyAccess.READ)
    def Notifying(self) -> "b":
        return self.notifying

    @method()
    def ReadValue(self, options: "a{sv}") -> "ay":
        return self.value

    @method()
    def WriteValue(self, value: "ay", options: "a{sv}"):
        self.writes.append(bytes(value))
        if self.on_write is not None:
            self.on_write(bytes(value))

    @method()
    def StartNotify(self):
        self.notifying = True
        self.emit_properties_changed({"Notifying": True})

    @method()
    def StopNotify(self):
        self.notifying = False
        self.emit_properties_changed({"Notifying": False})

    @method()
    def Confirm(self):
        self.confirms += 1

    def notify(self, value: bytes) -> None:
        """Send a notification (bluezoo forwards the Value change to the central)."""
        self.value = bytes(value)
        self.emit_properties_changed({"Value": self.value})


@dataclass
class Peripheral:
    """One mock sensor on one bluezoo adapter (bluezoo reports one advertisement
    per adapter, so every peripheral needs its own)."""

    adapter_path: str
    name: str
    service_uuids: Sequence[str]
    service_data: dict[str, bytes] = field(default_factory=dict)
    chars: dict[str, GattCharacteristic] = field(default_factory=dict)
    _services: list[tuple[str, list[tuple[str, Sequence[str], bytes]]]] = field(
        default_factory=list
    )
    _bus: MessageBus | None = None
    _adapter_address: str = ""

    def add_service(self, uuid: str, chars: Sequence[tuple[str, Sequence[str], bytes]]) -> None:
        """A primary service with (uuid, flags, initial value) characteristics."""
        self._services.append((uuid, list(chars)))

    @property
    def address(self) -> str:
        """The address bluezoo gives the device: its adapter's address."""
        return self._adapter_address

    async def start(self) -> None:
        """Connect to the (private) system bus, export, register with bluezoo."""
        root = f"/batonsense/p{next(_SERIAL)}"
        bus = self._bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        bus.export(f"{root}/adv", Advertisement(self.name, self.service_uuids, self.service_data))
        for i, (service_uuid, chars) in enumerate(self._services):
            service_path = f"{root}/app/service{i}"
            bus.export(service_path, GattService(service_uuid))
            for j, (uuid, flags, value) in enumerate(chars):
                char = GattCharacteristic(uuid, service_path, flags, value)
                self.chars[uuid] = char
                bus.export(f"{service_path}/char{j}", char)
        adapter = await self._proxy(self.adapter_path)
        self._adapter_address = await adapter.get_interface("org.bluez.Adapter1").get_address()
        await adapter.get_interface("org.bluez.LEAdvertisingManager1").call_register_advertisement(
            f"{root}/adv", {}
        )
        await adapter.get_interface("org.bluez.GattManager1").call_register_application(
            f"{root}/app", {}
        )

    async def _proxy(self, path: str) -> Any:
        assert self._bus is not None
        introspection = await self._bus.introspect("org.bluez", path)
        return self._bus.get_proxy_object("org.bluez", path, introspection)

    def stop(self) -> None:
        """Leave the bus (bluezoo drops the advertisement and the application)."""
        if self._bus is not None:
            self._bus.disconnect()
            self._bus = None


class V1Peripheral(Peripheral):
    """A batonsense v1 sensor: data (notify) and control (read, write) characteristics,
    Battery Level; `started` counts START commands written by the host."""

    def __init__(self, adapter_path: str, name: str, battery_percent: int = 77, **kw: Any):
        super().__init__(adapter_path, name, [v1.SERVICE_UUID], **kw)
        self.status = v1.Status(v1.State.IDLE, 200, 16, 2000, v1.auto_samples_per_packet(200))
        self.add_service(
            v1.SERVICE_UUID,
            [
                (v1.DATA_CHAR_UUID, ["notify"], b""),
                (v1.CONTROL_CHAR_UUID, ["read", "write"], v1.encode_status(self.status)),
            ],
        )
        self.add_service(
            v1.BATTERY_SERVICE_UUID,
            [(v1.BATTERY_LEVEL_CHAR_UUID, ["read", "notify"], bytes([battery_percent]))],
        )
        self.commands: list[v1.Command] = []

    async def start(self) -> None:
        await super().start()
        self.chars[v1.CONTROL_CHAR_UUID].on_write = self._on_control

    def _on_control(self, value: bytes) -> None:
        command = v1.decode_command(value)
        self.commands.append(command)

    @property
    def data(self) -> GattCharacteristic:
        return self.chars[v1.DATA_CHAR_UUID]
