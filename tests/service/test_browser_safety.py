"""Another site in the coach's browser cannot drive the service (real chromium, issue 13).

A page served from another origin (a second local HTTP server) submits a
form to `POST /api/sessions/{id}/end`, fires a no-cors fetch at it and a
JSON fetch at `POST /api/athletes`; a DNS-rebinding page (chromium told
that `rebind.test` is 127.0.0.1) loads the API under its own name.  Nothing
may change and nothing may be read; the service's own page keeps working.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from .._chromium import launched
from ._service import ServiceProcess

#: chromium resolves this name to 127.0.0.1, as a DNS-rebinding attacker's would
REBIND_ARGS = ("--host-resolver-rules=MAP rebind.test 127.0.0.1",)

EVIL_PAGE = """<!doctype html><html><body>
<form id="f" method="POST" enctype="text/plain" action="{svc}/api/sessions/{sid}/end">
<input name='{{"x":"' value='y"}}'></form>
<script>
window.results = {{}};
fetch("{svc}/api/sessions/{sid}/end", {{method: "POST", mode: "no-cors"}})
  .then(() => results.nocors = "sent", () => results.nocors = "error");
fetch("{svc}/api/athletes", {{method: "POST", headers: {{"Content-Type": "application/json"}},
                              body: '{{"name": "MAL"}}'}})
  .then(r => results.json = r.status, () => results.json = "blocked");
</script></body></html>"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched(REBIND_ARGS) as b:
        yield b


def _serve(html: str) -> tuple[ThreadingHTTPServer, str]:
    """Another origin: a local HTTP server with one page (on its own port)."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_a: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _running(service: ServiceProcess) -> list[int]:
    return [s["id"] for s in service.get("/api/sessions").json() if s["running"]]


def test_a_cross_site_page_cannot_end_the_session(service: ServiceProcess, browser: Any) -> None:
    sid = _running(service)[0]
    server, evil = _serve(EVIL_PAGE.format(svc=service.url, sid=sid))
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(evil + "/")
        page.wait_for_function("window.results.nocors && window.results.json", timeout=15_000)
        results = page.evaluate("window.results")
        with page.expect_navigation(timeout=15_000) as nav:
            page.evaluate("document.getElementById('f').submit()")
        form_status = nav.value.status if nav.value is not None else None
    finally:
        context.close()
        server.shutdown()
        server.server_close()
    assert form_status == 415, form_status
    assert results["json"] == "blocked", results  # the preflight is never granted
    assert _running(service) == [sid]  # still recording
    assert "MAL" not in {a["name"] for a in service.get("/api/athletes").json()}


def test_a_rebinding_page_reads_nothing(service: ServiceProcess, browser: Any) -> None:
    """rebind.test resolves to 127.0.0.1 (as an attacker's DNS would make it)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        for path in ("/", "/api/sessions", "/api/exchanges/export"):
            r = page.goto(f"http://rebind.test:{service.port}{path}")
            assert r is not None and r.status == 421, (path, r and r.status)
            assert "started_at" not in page.content()  # no session data
    finally:
        context.close()


def test_the_own_page_still_works(service: ServiceProcess, browser: Any) -> None:
    """The trackside page (GETs and the event stream) on 127.0.0.1 and on localhost."""
    service.wait_exchanges(1)
    for base in (service.url, f"http://localhost:{service.port}"):
        context = browser.new_context()
        statuses: dict[str, int] = {}
        try:
            page = context.new_page()
            page.on("response", lambda r: statuses.__setitem__(r.url.split("?")[0], r.status))
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            # the page opens its event stream after its first fetches: wait for it too
            # (the exchanges can be on screen before the stream's headers arrive)
            with page.expect_response(lambda r: "/api/exchanges/stream" in r.url, timeout=30_000):
                page.goto(base + "/")
            page.wait_for_function("document.body.innerText.includes('→')", timeout=30_000)
        finally:
            context.close()
        api = {u: s for u, s in statuses.items() if "/api/" in u}
        assert api and all(s == 200 for s in api.values()), api
        assert base + "/api/exchanges/stream" in api
        assert errors == []
