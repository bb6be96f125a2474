"""Fixtures for bleak's BlueZ backend against bluezoo on a private dbus-daemon.

Each test gets a fresh daemon and bluezoo (bluezoo keeps state between
connections: a disconnect leaves the GATT objects behind), and
DBUS_SYSTEM_BUS_ADDRESS points at it for the test's duration only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ._bus import BluezMock, bluez_mock, dbus_daemon


@pytest.fixture()
def bluez(monkeypatch: pytest.MonkeyPatch) -> Iterator[BluezMock]:
    if dbus_daemon() is None:
        reason = (
            "dbus-daemon is not installed and could not be (scripts/test installs Debian's "
            "dbus-daemon with apt-get when run as root)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run the BlueZ tests")
        pytest.skip(reason)
    with bluez_mock(adapters=4) as mock:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", mock.address)
        yield mock
