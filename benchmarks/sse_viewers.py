"""50 live viewers (SSE) on one service versus none: ingestion and detection are not slowed.

Two `batonsense demo` processes on 127.0.0.1 run side by side, started
together with the same seed, so they play the same drill at the same time on
the same (shared, 2-core) machine:

* **A**: no viewer;
* **B**: 50 viewers reading `GET /api/exchanges/stream` (httpx streams on one
  asyncio loop in this process) plus one deliberately **stalled** viewer (a
  raw socket with a tiny receive buffer that sends the request and never
  reads).

Running them side by side rather than one after the other pairs the two
conditions: whatever else the machine does (other engineers' jobs, the
drill's own rep-to-rep variety) lands on both.  After both have reported
their first exchange the viewers connect and a window of `--reps` reps
(~20 s each) is measured.  From the services themselves:

* `GET /api/sensors` at both ends of the window: packets decoded per second
  and packets lost in the window (lost_pct is cumulative, so the window's
  loss is computed from the counts), rate_hz;
* the exchanges created in the window: release → created_at lag (the
  detector's report plus the commit; both UTC as the service wrote them);
* CPU share of each service process (/proc/<pid>/stat, all threads);
* `GET /api/health` round trips every second (event-loop responsiveness).

And from B's viewers: every non-stalled viewer got every exchange B created
in the window (by id), and the delivery lag release → receipt
(`time.monotonic()` here − `release_s`, the same CLOCK_MONOTONIC) and
publish → receipt, p95 over viewers × events, plus the fan-out spread (last
viewer − first viewer, per event; this includes this process parsing 50
streams in turn).

The stalled viewer's kernel socket buffers absorb far more than a few
exchanges (~1 kB each), so within minutes it never blocks the server's
writes; the hub would drop it after 256 queued events.  What this shows is
that an open, unread stream costs the others nothing.

Targets (issue 4): B's release → created_at p95 within 20 ms of A's; B's
window loss no higher than A's beyond binomial noise (2σ); every non-stalled
viewer got every event.

    .venv/bin/python benchmarks/sse_viewers.py              # 6 reps, ~3 min
    .venv/bin/python benchmarks/sse_viewers.py --quick      # 3 reps, indicative only
    .venv/bin/python benchmarks/sse_viewers.py --viewers 100 --reps 10 --json out/sse.json --strict
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from service_latency import (
    STREAM,
    ServiceProcess,
    event_time_s,
    fmt,
    health_rtt,
    loadavg,
    process_cpu_s,
    publish_lag_s,
    sse_exchanges,
    summary_ms,
    unix_s,
)

LAG_MARGIN_MS = 20.0
REP_S = 20.0
TIMEOUT = httpx.Timeout(10.0, read=None)


@dataclass(slots=True)
class Window:
    """What one service reported over the measuring window."""

    name: str
    svc: ServiceProcess
    sensors0: list[dict[str, Any]] = field(default_factory=list)
    sensors1: list[dict[str, Any]] = field(default_factory=list)
    cpu0_s: float = 0.0
    cpu1_s: float = 0.0
    t0_s: float = 0.0
    t1_s: float = 0.0
    utc0: str = ""
    rtts: list[float] = field(default_factory=list)
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    viewers_seen: int = 0
    total_exchanges: int = 0

    @property
    def cpu_share(self) -> float:
        return (self.cpu1_s - self.cpu0_s) / (self.t1_s - self.t0_s)

    def packets(self) -> tuple[int, int]:
        """(decoded, lost) packets over the window, all sensors."""
        got = lost = 0
        for a, b in zip(self.sensors0, self.sensors1, strict=True):
            got += (b["packets"] or 0) - (a["packets"] or 0)
            lost += _lost(b) - _lost(a)
        return got, lost

    def lags_s(self) -> list[float]:
        return [lag for e in self.exchanges if (lag := publish_lag_s(e)) is not None]


def _lost(row: dict[str, Any]) -> int:
    """Lost packets so far from the cumulative lost_pct = lost / (packets + lost)."""
    n, p = row["packets"] or 0, row["lost_pct"] or 0.0
    return round(n * p / (100.0 - p)) if p < 100.0 else 0


def stalled_viewer(url: str) -> socket.socket:
    """Opens the stream and never reads (tiny receive buffer)."""
    host, port = url.removeprefix("http://").split(":")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect((host, int(port)))
    s.sendall(f"GET {STREAM} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    return s


async def viewer(url: str, got: dict[int, float], opened: asyncio.Event) -> None:
    """One viewer: exchange id → time.monotonic() at receipt."""
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
        async for ev in sse_exchanges(client, STREAM, on_open=opened.set):
            got[int(ev.exchange["id"])] = ev.recv_host_s


async def first_exchange(svc: ServiceProcess, client: httpx.AsyncClient, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (await client.get("/api/exchanges", params={"limit": 1})).json():
            return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{svc.url}: no exchange within {timeout_s} s")


async def run(a: ServiceProcess, b: ServiceProcess, n_viewers: int, window_s: float) -> tuple:
    wa, wb = Window("A: 0 viewers", a), Window(f"B: {n_viewers} viewers + 1 stalled", b)
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=TIMEOUT) as ca,
        httpx.AsyncClient(base_url=b.url, timeout=TIMEOUT) as cb,
    ):
        await asyncio.gather(first_exchange(a, ca, 90.0), first_exchange(b, cb, 90.0))
        received: list[dict[int, float]] = [{} for _ in range(n_viewers)]
        opened = [asyncio.Event() for _ in range(n_viewers)]
        tasks = [asyncio.create_task(viewer(b.url, g, o)) for g, o in zip(received, opened)]
        stalled = stalled_viewer(b.url)
        await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), 30.0)
        await asyncio.sleep(1.0)
        for w, c in ((wa, ca), (wb, cb)):
            w.sensors0 = (await c.get("/api/sensors")).json()
            assert w.svc.proc is not None
            w.cpu0_s, w.t0_s = process_cpu_s(w.svc.proc.pid), time.monotonic()
            w.utc0 = (await c.get("/api/health")).json()["utc"]
        pollers = [asyncio.create_task(health_rtt(c, w.rtts)) for w, c in ((wa, ca), (wb, cb))]
        print(f"window: {window_s:.0f} s; B has {(await cb.get('/api/health')).json()['viewers']}"
              " viewers connected", flush=True)  # fmt: skip
        await asyncio.sleep(window_s)
        for w, c in ((wa, ca), (wb, cb)):
            assert w.svc.proc is not None
            w.cpu1_s, w.t1_s = process_cpu_s(w.svc.proc.pid), time.monotonic()
            w.sensors1 = (await c.get("/api/sensors")).json()
            w.viewers_seen = (await c.get("/api/health")).json()["viewers"]
        for p in pollers:
            p.cancel()
        await asyncio.sleep(3.0)  # events of exchanges created at the very end arrive
        for w, c in ((wa, ca), (wb, cb)):
            everything = (await c.get("/api/exchanges")).json()
            t0, t1 = unix_s(w.utc0), unix_s(w.utc0) + (w.t1_s - w.t0_s)
            w.exchanges = [e for e in everything if t0 <= unix_s(e["created_at"]) < t1]
            w.total_exchanges = len(everything)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stalled.close()
    return wa, wb, received


def delivery(wb: Window, received: list[dict[int, float]]) -> dict[str, Any]:
    """Lags of B's window exchanges at every viewer; who missed what."""
    total, deliver, spread, missing = [], [], [], 0
    for e in wb.exchanges:
        ref, pub = event_time_s(e), publish_lag_s(e)
        times = [g[e["id"]] for g in received if e["id"] in g]
        missing += len(received) - len(times)
        if ref is None or pub is None or not times:
            continue
        total += [t - ref[0] for t in times]
        deliver += [t - ref[0] - pub for t in times]
        spread.append(max(times) - min(times))
    return {"total": summary_ms(total), "publish_to_viewer": summary_ms(deliver),
            "fanout_spread": summary_ms(spread), "missing": missing,
            "events": len(wb.exchanges), "viewers": len(received)}  # fmt: skip


def loss_noise_pct(got: int, lost: int) -> tuple[float, float]:
    """(loss %, its binomial σ in % points)."""
    n = got + lost
    p = lost / n if n else 0.0
    return 100.0 * p, 100.0 * float(np.sqrt(p * (1 - p) / n)) if n else 0.0


def _listing(w: Window) -> str:
    out = []
    for e in w.exchanges:
        x = publish_lag_s(e)
        out.append(f"{e['giver']}→{e['receiver']} {'-' if x is None else f'{1e3 * x:.0f}'}")
    return ", ".join(out)


def paired_diffs_ms(wa: Window, wb: Window) -> list[float]:
    """B − A release → created_at lag of the same reps: both play one drill, so the
    window's exchanges pair up in order when their giver → receiver sequences agree
    (shifted by at most one at either end of the window)."""

    def key(e: dict[str, Any]) -> tuple[str, str]:
        return (e["giver"], e["receiver"])

    for shift_a, shift_b in ((0, 0), (1, 0), (0, 1)):
        a, b = wa.exchanges[shift_a:], wb.exchanges[shift_b:]
        n = min(len(a), len(b))
        if n and [key(e) for e in a[:n]] == [key(e) for e in b[:n]]:
            pairs = [(publish_lag_s(x), publish_lag_s(y)) for x, y in zip(a[:n], b[:n])]
            return [1e3 * (y - x) for x, y in pairs if x is not None and y is not None]
    return []


def report(args: argparse.Namespace, wa: Window, wb: Window, d: dict[str, Any], load: str) -> int:
    print(f"\n{'':26s} {'A: 0 viewers':>22s} {f'B: {args.viewers} viewers + stalled':>26s}")
    rows: list[tuple[str, str, str]] = []
    losses = []
    for w in (wa, wb):
        got, lost = w.packets()
        losses.append(loss_noise_pct(got, lost))
    dur = [w.t1_s - w.t0_s for w in (wa, wb)]
    pk = [w.packets() for w in (wa, wb)]
    rate = [np.mean([r["rate_hz"] or 0.0 for r in w.sensors1]) for w in (wa, wb)]
    lag = [summary_ms(w.lags_s()) for w in (wa, wb)]
    rtt = [summary_ms(w.rtts) for w in (wa, wb)]
    rows += [
        ("packets decoded /s", *(f"{p[0] / t:.1f}" for p, t in zip(pk, dur, strict=True))),
        ("window loss % (±1σ)", *(f"{p:.2f} ± {s:.2f}" for p, s in losses)),
        ("rate_hz (mean of sensors)", *(f"{r:.2f}" for r in rate)),
        ("exchanges in window", *(str(len(w.exchanges)) for w in (wa, wb))),
        ("release→created median ms", *(f"{x['median_ms']:.1f}" for x in lag)),
        ("release→created p95 ms", *(f"{x['p95_ms']:.1f}" for x in lag)),
        ("release→created max ms", *(f"{x['max_ms']:.1f}" for x in lag)),
        ("service CPU, % of a core", *(f"{100 * w.cpu_share:.1f}" for w in (wa, wb))),
        ("/api/health RTT p95 ms", *(f"{x['p95_ms']:.1f}" for x in rtt)),
        ("viewers at the end (health)", *(str(w.viewers_seen) for w in (wa, wb))),
    ]
    for name, x, y in rows:
        print(f"  {name:26s} {x:>20s} {y:>26s}")
    print("\n  exchanges in the window (same drill on both; release → created_at, ms):")
    for w in (wa, wb):
        print(f"    {w.name[:1]} ({w.total_exchanges} in all): {_listing(w) or 'none'}")
    diffs = paired_diffs_ms(wa, wb)
    if diffs:
        print(f"    paired B − A: median {np.median(diffs):+.0f} ms, range {min(diffs):+.0f} .. "
              f"{max(diffs):+.0f} ms over {len(diffs)} exchanges")  # fmt: skip
    print(f"\n  B's {d['viewers']} viewers × {d['events']} events: {d['missing']} missed")
    print(f"    release → viewer:  {fmt(d['total'])}")
    print(f"    publish → viewer:  {fmt(d['publish_to_viewer'])}")
    print(f"    fan-out spread:    {fmt(d['fanout_spread'])}  (first → last viewer, per event)")
    print(f"  load average {load} → {loadavg()}")

    lag_ok = lag[1]["p95_ms"] <= lag[0]["p95_ms"] + LAG_MARGIN_MS
    noise = 2.0 * float(np.hypot(losses[0][1], losses[1][1]))
    loss_ok = losses[1][0] - losses[0][0] <= noise
    all_ok = d["missing"] == 0 and d["events"] > 0
    enough = min(len(wa.exchanges), len(wb.exchanges)) >= 5
    verdicts = [
        ((f"release→created p95 with viewers within {LAG_MARGIN_MS:.0f} ms of without "
         f"({lag[1]['p95_ms']:.1f} vs {lag[0]['p95_ms']:.1f} ms)"), lag_ok),
        ((f"no loss increase beyond noise ({losses[1][0]:.2f} vs {losses[0][0]:.2f} %, "
         f"2σ = {noise:.2f} pp)"), loss_ok),
        (f"every non-stalled viewer got every event ({d['events']} events × {d['viewers']})",
         all_ok),
    ]  # fmt: skip
    for text, ok in verdicts:
        print(f"  -> {text}: {'PASS' if ok else 'FAIL'}")
    if not enough:
        print("  (fewer than 5 exchanges per service in the window: indicative only)")
    ok = all(v for _, v in verdicts)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "rows": rows, "delivery": d, "loss_pct": losses, "lag": lag, "rtt": rtt,
            "cpu_share": [wa.cpu_share, wb.cpu_share], "pass": ok, "load_start": load,
        }, indent=1, default=str))  # fmt: skip
    return 1 if args.strict and not ok else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--viewers", type=int, default=50)
    ap.add_argument("--reps", type=int, default=6, help="window length in reps of ~20 s")
    ap.add_argument("--quick", action="store_true", help="3 reps, indicative only")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = ap.parse_args()
    reps = 3 if args.quick else args.reps
    load = loadavg()
    with tempfile.TemporaryDirectory(prefix="bsns-viewers-") as tmp:
        (Path(tmp) / "a").mkdir()
        (Path(tmp) / "b").mkdir()
        a, b = ServiceProcess(Path(tmp) / "a"), ServiceProcess(Path(tmp) / "b")
        try:
            a.start()
            b.start()
            print(f"A {a.url}, B {b.url} (same seed, same drill); load average {load}",
                  flush=True)  # fmt: skip
            wa, wb, received = asyncio.run(run(a, b, args.viewers, reps * REP_S))
        finally:
            for svc in (a, b):
                with contextlib.suppress(Exception):
                    svc.stop()
    return report(args, wa, wb, delivery(wb, received), load)


if __name__ == "__main__":
    sys.exit(main())
