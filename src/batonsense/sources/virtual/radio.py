"""An in-process Bluetooth LE "air": bumble virtual controllers on one LocalLink.

Every device made here (virtual sensors, and the central that the bleak backend
uses as the host's adapter) gets its own bumble `Controller` and `Host`, all
attached to the same `LocalLink`, so advertising, connections and GATT traffic
flow between them without any radio.  bumble delivers link-layer data at once
(no connection events, no RF timing): connection-interval batching is modelled
by the virtual sensors themselves (see `sensor.py`).
"""

from __future__ import annotations

import asyncio
import itertools

from bumble.controller import Controller
from bumble.device import Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

LE_DATA_LENGTH = 251


class VirtualRadio:
    """One shared LocalLink plus the host-side central device (the "adapter").

    Addresses are handed out as static random addresses C0:00:00:00:00:01, ...
    (the top two bits of a static random address must be set).
    """

    def __init__(self) -> None:
        self.link = LocalLink()
        self._serial = itertools.count(1)
        self._central: Device | None = None
        self._central_ready = asyncio.Lock()
        # A real adapter creates one LE connection at a time; bumble refuses a
        # second `connect` while one is pending, so the backend queues here.
        self.connect_lock = asyncio.Lock()

    def next_address(self) -> str:
        n = next(self._serial)
        return "C0:" + ":".join(f"{(n >> s) & 0xFF:02X}" for s in (32, 24, 16, 8, 0))

    def make_device(self, name: str, address: str | None = None) -> Device:
        """A powered-off bumble Device with its own virtual controller on this link."""
        addr = address or self.next_address()
        controller = Controller(name, link=self.link, public_address=addr)
        # LE Data Length Extension (251-octet PDUs), as the firmware notes ask for:
        # a 244-byte notification then crosses HCI in 1 fragment instead of 10,
        # which makes the virtual radio ~3x cheaper in CPU.
        controller.le_acl_data_packet_length = LE_DATA_LENGTH
        host = Host(controller, AsyncPipeSink(controller))
        return Device(name=name, address=Address(addr), host=host)

    async def central(self) -> Device:
        """The host's side of the air: created and powered on at first use."""
        async with self._central_ready:
            if self._central is None:
                device = self.make_device("batonsense-host", "C0:FF:FF:FF:FF:FE")
                await device.power_on()
                self._central = device
            return self._central
