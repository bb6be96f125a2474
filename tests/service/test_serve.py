"""`batonsense serve` at a track with no Bluetooth adapter, and with a bad config file."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from ._service import free_port

CONFIG = """\
[[sensor]]
id = "baton"
role = "baton"
address = "AA:BB:CC:DD:EE:01"

[[sensor]]
id = "w1"
role = "wrist"
athlete = "ANA"
hand = "right"
name = "BSNS-ANA-R"

[[sensor]]
id = "w2"
role = "wrist"
athlete = "BEA"
hand = "left"
name = "BSNS-BEA-L"
"""


def test_serve_without_bluetooth_stays_up_and_says_why(tmp_path: Path) -> None:
    config = tmp_path / "practice.toml"
    config.write_text(CONFIG)
    port = free_port()
    cmd = [sys.executable, "-m", "batonsense", "serve", "--config", str(config),
           "--port", str(port), "--db", str(tmp_path / "t.db")]  # fmt: skip
    # no adapter here (none in CI either): keep BlueZ's D-Bus out of reach for sure
    env = {"PATH": "/usr/bin:/bin", "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                health = httpx.get(url + "/api/health", timeout=1).json()
                if any("Bluetooth unavailable" in m for m in health["messages"]):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert health is not None and health["mode"] == "live"
        assert any("Bluetooth unavailable" in m for m in health["messages"]), health
        rows = httpx.get(url + "/api/sensors").json()
        assert [r["id"] for r in rows] == ["baton", "w1", "w2"]
        assert all(not r["connected"] for r in rows)
        assert {r["state"] for r in rows} <= {"no bluetooth", "searching"}
        assert rows[0]["address"] == "AA:BB:CC:DD:EE:01" and rows[1]["name"] == "BSNS-ANA-R"
        assert httpx.get(url + "/").status_code == 200  # the page is up all the same
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def test_serve_with_a_bad_config_names_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(CONFIG.replace('role = "wrist"\nathlete = "BEA"', 'role = "wrist"'))
    r = subprocess.run(
        [sys.executable, "-m", "batonsense", "serve", "--config", str(config), "--port", "1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert r.returncode == 2
    assert f"{config}:" in r.stderr and "athlete" in r.stderr
    config.write_text(CONFIG + '\n[[athlete]]\nname = ""\n')
    r = subprocess.run(
        [sys.executable, "-m", "batonsense", "serve", "--config", str(config), "--port", "1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert r.returncode == 2 and "athlete #1" in r.stderr


def test_shutdown_ends_open_live_streams_cleanly(tmp_path: Path) -> None:
    """SIGTERM with viewers on the live stream: each stream ends (a clean end of the
    response, not a reset) and uvicorn never has to give up waiting for them."""
    import threading

    from ._service import ServiceProcess

    svc = ServiceProcess(tmp_path).start()
    ended: list[str] = []
    opened = threading.Barrier(3, timeout=30)

    def viewer() -> None:
        try:
            with httpx.stream("GET", svc.url + "/api/exchanges/stream", timeout=60) as r:
                assert r.status_code == 200
                opened.wait()
                for _ in r.iter_lines():
                    pass
            ended.append("clean")
        except Exception as e:  # noqa: BLE001 - recorded and asserted below
            ended.append(repr(e))

    threads = [threading.Thread(target=viewer) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        opened.wait()
        time.sleep(0.3)  # the requests reached the hub
    finally:
        rc = svc.stop()
    for t in threads:
        t.join(30)
    assert rc in (0, -15), svc.output()
    assert ended == ["clean", "clean"], ended
    assert "graceful shutdown exceeded" not in svc.output()
