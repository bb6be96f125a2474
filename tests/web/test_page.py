"""The trackside page in a real browser against the real service (`batonsense demo`).

Starts `batonsense demo` on a free loopback port with a fresh database, opens the
page in Debian's headless Chromium (never a downloaded browser) and checks that
what it shows agrees with the API: the last exchange, the plot marks, the sensor
status, the live indicator, read-aloud, and a phone-sized layout.

Skips when /usr/bin/chromium is missing, except under CI=true where it fails
(scripts/test installs chromium there).
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .._chromium import launched, need_chromium

START_TIMEOUT_S = 60.0
#: the demo produces an exchange at least every 30 s; leave room for start-up
FIRST_EXCHANGE_TIMEOUT_S = 75.0
SPEAK_KEY = "batonsense.speak"

# Record what the page would say instead of saying it (and turn read-aloud on once).
RECORD_SPEECH = f"""
window.__spoken = [];
if (window.speechSynthesis) {{
  window.speechSynthesis.speak = (u) => window.__spoken.push(u.text);
  window.speechSynthesis.cancel = () => {{}};
}}
if (localStorage.getItem("{SPEAK_KEY}") === null) localStorage.setItem("{SPEAK_KEY}", "1");
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.load(r)


class DemoService:
    """`batonsense demo` as a child process on a loopback port, database in `tmp`."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "service.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "batonsense", "demo", "--host", "127.0.0.1",
               "--port", str(self.port), "--db", str(self.tmp / "t.db")]  # fmt: skip
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self._wait_healthy()

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def _wait_healthy(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = self.log.read_text(errors="replace")
                pytest.fail(f"batonsense demo exited with {self.proc.returncode}:\n{log}")
            try:
                if get_json(self.base, "/api/health").get("status") == "ok":
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        pytest.fail(f"no /api/health within {START_TIMEOUT_S} s:\n{self.log.read_text()}")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a `batonsense demo` running on loopback with a fresh database."""
    need_chromium()
    demo = DemoService(tmp_path_factory.mktemp("service"))
    try:
        demo.start()
        yield demo.base
    finally:
        demo.stop()


@pytest.fixture(scope="module")
def browser(service: str) -> Iterator[Any]:
    with launched() as b:
        yield b


class PageRun:
    """A page on the service, with the page's JS errors and every URL it requested."""

    def __init__(self, browser: Any, base: str, width: int, height: int) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.context.add_init_script(RECORD_SPEECH)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(base + "/")

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def laptop(browser: Any, service: str) -> Iterator[PageRun]:
    run = PageRun(browser, service, 1280, 800)
    yield run
    run.close()


def _wait_for_an_exchange(page: Any) -> None:
    page.wait_for_function(
        "() => document.getElementById('last').dataset.exchangeId !== undefined",
        timeout=FIRST_EXCHANGE_TIMEOUT_S * 1000,
    )


def _js_round(v: float) -> int:
    """Math.round: halves go up (Python's round goes to even)."""
    return math.floor(v + 0.5)


def shown_ms(v: float | None) -> str:
    return "—" if v is None else str(_js_round(v))


def pair(ex: dict[str, Any]) -> str:
    return f"{ex['giver'] or '?'} → {ex['receiver'] or '?'}"


def said(ex: dict[str, Any]) -> str:
    """What the page says aloud for an exchange (app.js sayText)."""
    parts = [f"{ex['giver'] or '?'} to {ex['receiver'] or '?'}"]
    if ex["outcome"] == "dropped":
        parts.append("dropped baton")
    else:
        if ex["overlap_ms"] is not None:
            parts.append(f"overlap {_js_round(ex['overlap_ms'])} milliseconds")
        if ex["reach_ms"] is not None:
            parts.append(f"reach {_js_round(ex['reach_ms'])}")
    if ex["hand_mismatch"]:
        parts.append("same hand pass")
    parts += [f"no sensor on the {role}'s hand" for role in ex.get("hands_without_sensor", [])]
    return ", ".join(parts)


def _last_panel(page: Any) -> dict[str, Any]:
    return page.evaluate("""() => ({
        id: Number(document.getElementById('last').dataset.exchangeId),
        pair: document.getElementById('last-pair').textContent,
        overlap: document.getElementById('last-overlap').textContent,
        reach: document.getElementById('last-reach').textContent,
        outcome: document.getElementById('last-outcome').textContent,
        mismatch: !document.getElementById('last-mismatch').hidden,
    })""")


def _panel_agrees_with_api(page: Any, base: str) -> dict[str, Any]:
    """The newest exchange of GET /api/exchanges, once the panel shows it (retries if a
    newer one lands in between)."""
    for _ in range(5):
        newest = get_json(base, "/api/exchanges?limit=50")[-1]
        page.wait_for_function(
            "id => Number(document.getElementById('last').dataset.exchangeId) >= id",
            arg=newest["id"], timeout=15_000,
        )  # fmt: skip
        shown = _last_panel(page)
        if shown["id"] == newest["id"]:
            assert shown["pair"] == pair(newest)
            assert shown["overlap"] == shown_ms(newest["overlap_ms"])
            assert shown["reach"] == shown_ms(newest["reach_ms"])
            dropped = newest["outcome"] == "dropped"
            assert shown["outcome"] == ("DROPPED BATON" if dropped else "completed")
            assert shown["mismatch"] == bool(newest["hand_mismatch"])
            return newest
    pytest.fail("the last-exchange panel never settled on the API's newest exchange")


PLOT_SNAPSHOT = """() => {
    const svg = document.querySelector('#plot svg.plot-svg');
    if (!svg) return null;
    const marks = {};
    for (const g of svg.querySelectorAll('g.mark')) {
        marks[g.dataset.mark] = {
            t_s: Number(g.dataset.tS),
            lines: g.querySelectorAll('line').length,
            label: g.querySelector('text')?.textContent,
        };
    }
    const row = document.querySelector(`#recent tr[data-exchange-id='${svg.dataset.exchangeId}']`);
    return {
        id: Number(svg.dataset.exchangeId),
        polylines: svg.querySelectorAll('polyline.series').length,
        marks,
        selected: row?.getAttribute('aria-selected'),
    };
}"""


def _check_plot(page: Any, base: str, ex: dict[str, Any]) -> None:
    """Select `ex` in the recent list; its plot has one line per series and panel, and
    a labelled vertical mark for every event the exchange has."""
    for _ in range(3):
        page.click(f"#recent tr[data-exchange-id='{ex['id']}']")
        page.wait_for_selector(f"#plot svg[data-exchange-id='{ex['id']}']", timeout=15_000)
        # One snapshot: a new exchange may move a plot that follows the newest.
        shot = page.evaluate(PLOT_SNAPSHOT)
        if shot is not None and shot["id"] == ex["id"]:
            break
    else:
        pytest.fail(f"the plot never stayed on exchange {ex['id']}")
    assert shot["selected"] == "true"
    signals = get_json(base, f"/api/exchanges/{ex['id']}/signals")
    assert shot["polylines"] == 2 * len(signals["series"])
    events = [e for e in ("reach", "grab", "release", "drop") if ex[f"{e}_s"] is not None]
    assert sorted(shot["marks"]) == sorted(events)
    for event in events:
        assert shot["marks"][event]["lines"] == 1, event
        assert shot["marks"][event]["label"] == event
        assert shot["marks"][event]["t_s"] == pytest.approx(signals["marks"][f"{event}_s"])


def _completed_exchange(page: Any, base: str) -> dict[str, Any]:
    """The newest exchange with both grab and release (waits for one)."""
    deadline = time.monotonic() + FIRST_EXCHANGE_TIMEOUT_S
    while time.monotonic() < deadline:
        both = [x for x in get_json(base, "/api/exchanges?limit=50")
                if x["grab_s"] is not None and x["release_s"] is not None]  # fmt: skip
        if both:
            page.wait_for_selector(f"#recent tr[data-exchange-id='{both[-1]['id']}']")
            return both[-1]
        time.sleep(1)
    pytest.fail("no exchange with both grab and release from the demo")


def _check_sensors(page: Any, base: str) -> None:
    """Every sensor of GET /api/sensors is listed on the page with the API's connected
    state, and (the demo's virtual sensors never fail) every one is connected."""
    deadline = time.monotonic() + 15
    while True:
        sensors = get_json(base, "/api/sensors")
        shown = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
            '#sensors li')].map(li => [li.dataset.sensorId, li.dataset.connected]))""")
        api_state = {s["id"]: "true" if s["connected"] else "false" for s in sensors}
        off = [f"{s['id']} ({s['state']})" for s in sensors if not s["connected"]]
        if sensors and shown == api_state and not off:
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert sensors, "GET /api/sensors lists no sensor"
    assert shown == api_state, f"page shows {shown}, GET /api/sensors says {api_state}"
    pytest.fail(f"the demo reports sensors not connected: {', '.join(off)}")


def _screenshot(page: Any, path: Path, min_bytes: int = 20_000) -> None:
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > min_bytes, f"{path} is only {len(data)} bytes"


def test_page_shows_the_demo_exchanges_live(
    laptop: PageRun, service: str, tmp_path: Path
) -> None:  # fmt: skip
    page = laptop.page
    _wait_for_an_exchange(page)
    newest = _panel_agrees_with_api(page, service)
    assert page.get_attribute("#conn", "data-state") == "live"
    # The plot follows the newest exchange by default.
    page.wait_for_selector(f"#plot svg[data-exchange-id='{newest['id']}']", timeout=15_000)
    _check_plot(page, service, _completed_exchange(page, service))
    _check_sensors(page, service)
    # Session name and export links from /api/health + /api/sessions.
    session_id = get_json(service, "/api/health")["session_id"]
    if session_id is not None:
        page.wait_for_selector("#exports:not([hidden])")
        csv = page.get_attribute("#export-csv", "href")
        assert csv == f"/api/sessions/{session_id}/export?format=csv"
    _screenshot(page, tmp_path / "trackside-laptop.png")
    # Everything came from the service itself: nothing from the internet.
    foreign = [u for u in laptop.requests if not u.startswith(service + "/")
               and not u.startswith("data:")]  # fmt: skip
    assert not foreign
    assert not laptop.errors


def test_new_exchanges_are_read_aloud(laptop: PageRun, service: str) -> None:
    page = laptop.page
    assert page.is_checked("#speak")  # remembered in localStorage (set by the init script)
    # The exchange spoken is one that arrives on the stream while the page is open.
    page.wait_for_function("() => window.__spoken.length > 0",
                           timeout=FIRST_EXCHANGE_TIMEOUT_S * 1000)  # fmt: skip
    spoken = page.evaluate("() => window.__spoken")
    expected = {said(x) for x in get_json(service, "/api/exchanges?limit=50")}
    assert spoken[-1] in expected, (spoken, expected)
    # Unticking is remembered across a reload.
    page.uncheck("#speak")
    page.reload()
    page.wait_for_selector("#speak")
    assert not page.is_checked("#speak")
    assert page.evaluate(f"() => localStorage.getItem('{SPEAK_KEY}')") == "0"
    assert not laptop.errors


def _box(page: Any, selector: str, timeout_s: float = 10.0) -> Any:
    """The element's bounding box, waiting through re-renders (None if it never settles)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        box = page.locator(selector).first.bounding_box()
        if box is not None:
            return box
        page.wait_for_timeout(100)
    return None


def test_phone_layout_fits_the_screen(browser: Any, service: str, tmp_path: Path) -> None:
    run = PageRun(browser, service, 390, 844)
    try:
        page = run.page
        _wait_for_an_exchange(page)
        page.wait_for_selector("#plot svg.plot-svg", timeout=15_000)
        # No sideways scrolling, the plot fits, and the last exchange comes first.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        plot = _box(page, "#plot svg.plot-svg")  # the plot is redrawn as fresh signals arrive
        assert plot is not None and plot["x"] >= 0 and plot["x"] + plot["width"] <= 390
        last = page.locator("#last-pair").bounding_box()
        assert last is not None and last["y"] < 844 / 2
        _screenshot(page, tmp_path / "trackside-phone.png")
        assert not run.errors
    finally:
        run.close()


@contextlib.contextmanager
def own_demo_page(browser: Any, tmp: Path) -> Iterator[tuple[DemoService, PageRun]]:
    """A demo service of the test's own (its state may change) and a laptop page on it;
    the page must not have thrown."""
    demo = DemoService(tmp)
    try:
        demo.start()
        run = PageRun(browser, demo.base, 1280, 800)
        yield demo, run
        assert not run.errors
        run.close()
    finally:
        demo.stop()


def test_indicator_says_reconnecting_while_the_service_is_away(
    browser: Any, tmp_path: Path
) -> None:  # fmt: skip
    with own_demo_page(browser, tmp_path) as (demo, run):
        page = run.page
        state = "document.getElementById('conn').dataset.state"
        page.wait_for_function(f"() => {state} === 'live'", timeout=15_000)
        demo.stop()
        page.wait_for_function(f"() => {state} === 'reconnecting'", timeout=15_000)
        # the live stream now ends at once on shutdown; the sensor list is marked stale
        # by the next failed sensor poll (every 2 s)
        page.wait_for_selector("#sensors-stale", state="visible", timeout=5_000)
        _screenshot(page, tmp_path / "trackside-reconnecting.png", min_bytes=5_000)
        demo.start()  # same port, same database
        page.wait_for_function(f"() => {state} === 'live'", timeout=30_000)
        assert not page.is_visible("#sensors-stale")


def test_a_sensor_change_waiting_for_the_next_session_is_shown(
    browser: Any, tmp_path: Path
) -> None:  # fmt: skip
    import httpx

    with own_demo_page(browser, tmp_path) as (demo, run):
        page = run.page
        row = "#sensors li[data-sensor-id='w4']"
        page.wait_for_selector(f"{row}[data-connected='true']", timeout=30_000)
        assert "next session" not in page.inner_text(row)
        r = httpx.put(demo.base + "/api/sensors/w4",
                      json={"role": "wrist", "athlete": "EVE", "hand": "left"})  # fmt: skip
        assert r.status_code == 200, r.text
        # still streaming (connected) as before, the change announced until a new session
        page.wait_for_function(
            f"() => (document.querySelector(\"{row}\")?.innerText || '').includes('next session')",
            timeout=10_000,
        )
        assert page.get_attribute(row, "data-connected") == "true"
        assert "EVE" in page.inner_text(row)


def test_a_stall_is_shown_while_the_service_catches_up(browser: Any, tmp_path: Path) -> None:
    """The whole service frozen for 12 s (SIGSTOP), then resumed: while it works off
    the backlog the page shows the red banner from /api/health and no sensor as ON;
    once caught up the banner goes and the sensors are ON again."""
    import os
    import signal

    with own_demo_page(browser, tmp_path) as (demo, run):
        page = run.page
        page.wait_for_selector("#sensors li .state-on", timeout=30_000)
        assert page.is_hidden("#problems")
        assert demo.proc is not None
        os.kill(demo.proc.pid, signal.SIGSTOP)
        time.sleep(12.0)
        os.kill(demo.proc.pid, signal.SIGCONT)
        page.wait_for_selector("#problems", state="visible", timeout=10_000)
        assert "no data" in page.inner_text("#problems")
        page.wait_for_function(  # the sensor list is polled every 2 s
            "() => [...document.querySelectorAll('#sensors li .state')]"
            ".every(b => b.textContent !== 'ON')",
            timeout=5_000,
        )
        _screenshot(page, tmp_path / "trackside-catching-up.png", min_bytes=5_000)
        page.wait_for_selector("#problems", state="hidden", timeout=120_000)
        page.wait_for_selector("#sensors li .state-on", timeout=10_000)
