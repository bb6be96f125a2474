"""A real `batonsense demo` process on 127.0.0.1 with a real SQLite file, and an HTTP client.

The service runs as its own process (`python -m batonsense demo`), as a
coach would start it: virtual sensors on the in-process radio, the real
decoder, clock sync, detector, store, API and page.  `ServiceProcess` starts
it, waits for /api/health, and can stop it politely or kill it (-9).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

#: the demo's own sensors (config/demo.toml: baton + four athletes) plus an athlete
#: note and a session name, as a coach's practice config would have
CONFIG = (
    (Path(__file__).resolve().parents[2] / "config" / "demo.toml").read_text(encoding="utf-8")
    + """
[[athlete]]
name = "ANA"
notes = "leg 1"

[session]
name = "test practice"
"""
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    """One `batonsense demo` process; `url` once started."""

    def __init__(self, tmp: Path, *, db: Path | None = None, host: str = "127.0.0.1") -> None:
        self.tmp = tmp
        self.db = db or tmp / "batonsense.db"
        self.host = host
        self.config = tmp / "practice.toml"
        if not self.config.exists():
            self.config.write_text(CONFIG, encoding="utf-8")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None
        self.log = tmp / f"service-{self.port}.log"

    def start(self, *extra: str, timeout_s: float = 60.0) -> ServiceProcess:
        cmd = [sys.executable, "-m", "batonsense", "demo", "--config", str(self.config),
               "--host", self.host, "--port", str(self.port), "--db", str(self.db), *extra]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._log_file = self.log.open("w")
        self.proc = subprocess.Popen(
            cmd, stdout=self._log_file, stderr=subprocess.STDOUT, text=True, env=env
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.url + "/api/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"service did not answer within {timeout_s} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> int | None:
        """SIGTERM (a clean shutdown: uvicorn runs the lifespan's end, then re-raises
        the signal, so a clean stop exits with -15)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        finally:
            self._log_file.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no shutdown code runs
        self.proc.wait(10)
        self._log_file.close()

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30.0, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.post(self.url + path, timeout=30.0, **kw)

    def wait_exchanges(self, n: int, timeout_s: float = 90.0) -> list[dict[str, Any]]:
        """Until the service has stored at least n exchanges; returns them."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = self.get("/api/exchanges").json()
            if len(got) >= n:
                return got
            time.sleep(0.5)
        raise TimeoutError(f"fewer than {n} exchanges after {timeout_s} s:\n{self.output()}")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One demo service for a test module (it keeps producing exchanges)."""
    svc = ServiceProcess(tmp_path_factory.mktemp("service")).start()
    try:
        yield svc
    finally:
        svc.stop()


def sse_events(
    url: str, *, n: int, timeout_s: float, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Read n events from an SSE stream: [{"event", "id", "data"(parsed JSON)}]."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with httpx.stream("GET", url, headers=headers or {}, timeout=timeout_s) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line == "":
                if "data" in current:
                    events.append(current)
                    if len(events) >= n:
                        return events
                current = {}
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                current[field] = json.loads(value) if field == "data" else value
    return events
