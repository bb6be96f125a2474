"""A private D-Bus daemon with bluezoo (a mock of BlueZ) on it, for bleak's BlueZ backend.

    with bluez_mock(tmp_dir, adapters=4) as mock:    # hci0 = the host, hci1.. = peripherals
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = mock.address
        ...

Nothing here touches the machine's own system bus: the daemon listens on a
socket in a fresh temporary directory, and both processes are ended (terminate,
then kill) when the block exits, whatever happened inside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0

_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>batonsense-test</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""

# bluezoo's own entry point (its console script), run with this interpreter, after
# one change: bluezoo stands a peripheral in for by another adapter, and all its
# adapters claim the "central" role; bleak takes the first powered central adapter
# from a set (no fixed order), so hci1.. are made peripheral-only, which is what they
# stand for, and bleak's default choice is hci0, as on a laptop with one adapter.
_BLUEZOO = """
import sys
from bluezoo.adapter import Adapter
from bluezoo.bluezoo import main
_roles = Adapter.Roles.property_getter
Adapter.Roles.property_getter = lambda self: _roles(self) if self.id == 0 else ["peripheral"]
sys.argv[0] = "bluezoo"
main()
"""


def dbus_daemon() -> str | None:
    """Path of the dbus-daemon executable, or None."""
    return shutil.which("dbus-daemon")


@dataclass(frozen=True, slots=True)
class BluezMock:
    """address: the private bus (for DBUS_SYSTEM_BUS_ADDRESS); adapters: their
    D-Bus paths, hci0 first; log: bluezoo's log file."""

    address: str
    adapters: tuple[str, ...]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        if proc is not None:
            proc.wait()
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)


def _start_daemon(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    daemon = dbus_daemon()
    if daemon is None:
        raise FileNotFoundError("dbus-daemon")
    socket = workdir / "bus"
    config = workdir / "bus.conf"
    config.write_text(_CONFIG.format(socket=socket))
    proc = subprocess.Popen(
        [daemon, f"--config-file={config}", "--nofork", "--nopidfile"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # "Failed to set fd limit" as non-root, harmless
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while not socket.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"dbus-daemon exited with {proc.returncode}")
        if time.monotonic() > deadline:
            _stop(proc)
            raise TimeoutError("dbus-daemon did not create its socket")
        time.sleep(0.01)
    return proc, f"unix:path={socket}"


async def _adapters(address: str) -> list[str]:
    """Adapter paths that org.bluez exports on the bus at `address` ([] if none yet)."""
    bus = MessageBus(bus_address=address, bus_type=BusType.SYSTEM)
    try:
        await bus.connect()
        reply = await bus.call(
            Message(
                destination="org.bluez",
                path="/",
                interface="org.freedesktop.DBus.ObjectManager",
                member="GetManagedObjects",
            )
        )
    finally:
        bus.disconnect()
    if reply is None or reply.message_type is not MessageType.METHOD_RETURN:
        return []
    objects = reply.body[0]
    return sorted(p for p, ifaces in objects.items() if "org.bluez.Adapter1" in ifaces)


def _wait_for_adapters(address: str, n: int, bluezoo: subprocess.Popen[bytes]) -> list[str]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if bluezoo.poll() is not None:
            raise RuntimeError(f"bluezoo exited with {bluezoo.returncode}")
        found = asyncio.run(asyncio.wait_for(_adapters(address), 2.0))
        if len(found) >= n:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"bluezoo exported {len(found)} of {n} adapters")
        time.sleep(0.05)


@contextlib.contextmanager
def bluez_mock(adapters: int = 4, scan_interval_s: int = 1) -> Iterator[BluezMock]:
    """A fresh dbus-daemon and bluezoo with `adapters` powered adapters (see module doc)."""
    workdir = Path(tempfile.mkdtemp(prefix="bz-"))  # short: unix socket paths max 108 bytes
    daemon = bluezoo = None
    log = workdir / "bluezoo.log"
    try:
        daemon, address = _start_daemon(workdir)
        args = ["--auto-enable", "--scan-interval", str(scan_interval_s), "-v"]
        for i in range(adapters):
            args += ["-a", f"10:00:00:00:00:{i:02X}"]
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
        with log.open("wb") as log_file:
            bluezoo = subprocess.Popen(
                [sys.executable, "-c", _BLUEZOO, *args],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
            )
        paths = _wait_for_adapters(address, adapters, bluezoo)
        yield BluezMock(address, tuple(paths), log)
    finally:
        _stop(bluezoo)
        _stop(daemon)
        shutil.rmtree(workdir, ignore_errors=True)
