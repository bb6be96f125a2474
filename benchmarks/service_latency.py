"""Release → screen latency through the real service: a `batonsense demo` process on 127.0.0.1.

The service runs as its own process (`python -m batonsense demo`, virtual
sensors on its in-process radio, the real decoder, clock sync, live detector,
SQLite store and API); this process reads `GET /api/exchanges/stream` (SSE)
and stamps every event with `time.monotonic()` when its blank line arrives.
Exchange times (`release_s`) are on the service's host clock, which is
CLOCK_MONOTONIC — the same clock in every process on the machine (checked at
start against `/api/health`'s `host_s`) — so

    latency = receipt (this process, monotonic) − release_s (service, monotonic)

is the release → client latency, and it splits into

    release → publish = created_at − release_utc   (both UTC from the service:
                        the detector reported it, the exchange was committed
                        and handed to the viewers' queues)
    publish → receipt = latency − (release → publish)   (SSE encoding, the
                        event loop, the socket, this client's parsing)

A dropped baton with no release time is measured from `drop_s`.  The demo
drill does a rep every ~20 s of real time, so 22 exchanges (the default; a
p95 of fewer than 20 means little) take ~7.5 min.  Target (issue 4): p95 ≤
300 ms.  The machine's load average is printed: other work on it shows up
as latency.

`--truth` (optional, ~0.5 s CPU per rep, after the run) replays the demo's
drill (`LiveDrill`, seed 1, 200 Hz) in this process and compares: the drill's
origin on the host clock is not visible from outside, so release errors are
shown after removing one common offset (the median), and overlap errors
(grab → release, offset-free) as they are.

    .venv/bin/python benchmarks/service_latency.py                # >= 22 exchanges, ~8 min
    .venv/bin/python benchmarks/service_latency.py --quick        # 5 exchanges, indicative only
    .venv/bin/python benchmarks/service_latency.py --exchanges 40 --max-duration-s 900 --truth
    .venv/bin/python benchmarks/service_latency.py --json out/service_latency.json --strict
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' ServiceProcess starts the demo as a coach would

from tests.service._service import ServiceProcess

TARGET_P95_MS = 300.0
STREAM = "/api/exchanges/stream"


# ------------------------------------------------------------- shared helpers


def unix_s(iso: str) -> float:
    """Seconds since the epoch of an ISO-8601 UTC string ('...Z')."""
    return datetime.fromisoformat(iso).timestamp()


def event_time_s(exchange: dict[str, Any]) -> tuple[float, str] | None:
    """(host-clock time the latency counts from, its UTC string): release, else drop."""
    for key in ("release", "drop"):
        if exchange.get(f"{key}_s") is not None and exchange.get(f"{key}_utc"):
            return float(exchange[f"{key}_s"]), str(exchange[f"{key}_utc"])
    return None


def publish_lag_s(exchange: dict[str, Any]) -> float | None:
    """release (else drop) → created_at (s), both UTC as the service wrote them."""
    ref = event_time_s(exchange)
    if ref is None:
        return None
    return unix_s(exchange["created_at"]) - unix_s(ref[1])


@dataclass(frozen=True, slots=True)
class Received:
    """One SSE event as it arrived: the exchange object and time.monotonic() (s)."""

    exchange: dict[str, Any]
    recv_host_s: float

    @property
    def latency_s(self) -> float | None:
        ref = event_time_s(self.exchange)
        return None if ref is None else self.recv_host_s - ref[0]


async def sse_exchanges(
    client: httpx.AsyncClient, url: str, *, on_open: Callable[[], None] | None = None
) -> AsyncIterator[Received]:
    """Every `exchange` event of an SSE stream, stamped on arrival (until cancelled)."""
    async with client.stream("GET", url) as r:
        r.raise_for_status()
        if on_open is not None:
            on_open()
        data: str | None = None
        async for line in r.aiter_lines():
            if line == "":
                if data is not None:
                    yield Received(json.loads(data), time.monotonic())
                data = None
            elif line.startswith("data:"):
                data = line[5:].removeprefix(" ")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def check_same_clock(url: str) -> float:
    """|service host_s − this process's monotonic| (s) around one /api/health call."""
    t0 = time.monotonic()
    host_s = httpx.get(url + "/api/health", timeout=10.0).json()["host_s"]
    t1 = time.monotonic()
    off = abs(host_s - (t0 + t1) / 2) - (t1 - t0) / 2
    if off > 0.05:
        raise SystemExit(f"service clock differs from this process's by {off:.3f} s: not one host")
    return max(off, 0.0)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def summary_ms(values_s: list[float]) -> dict[str, float]:
    ms = [1000.0 * v for v in values_s]
    return {"n": len(ms), "median_ms": pct(ms, 50), "p95_ms": pct(ms, 95),
            "max_ms": max(ms) if ms else float("nan")}  # fmt: skip


def fmt(s: dict[str, float]) -> str:
    return f"median {s['median_ms']:6.1f}  p95 {s['p95_ms']:6.1f}  max {s['max_ms']:6.1f} ms"


async def health_rtt(client: httpx.AsyncClient, out: list[float], every_s: float = 1.0) -> None:
    """Round trips of GET /api/health (s): how responsive the service's event loop is."""
    while True:
        t0 = time.monotonic()
        with contextlib.suppress(httpx.HTTPError):
            await client.get("/api/health")
            out.append(time.monotonic() - t0)
        await asyncio.sleep(every_s)


# ------------------------------------------------------------------ the run


async def collect(
    svc: ServiceProcess, n_exchanges: int, max_duration_s: float
) -> tuple[list[Received], list[float], float]:
    """SSE events until n_exchanges arrived or max_duration_s passed; health round
    trips; the time (monotonic) the stream was open."""
    got: list[Received] = []
    rtts: list[float] = []
    opened: list[float] = []
    timeout = httpx.Timeout(10.0, read=None)
    async with httpx.AsyncClient(base_url=svc.url, timeout=timeout) as client:
        poller = asyncio.create_task(health_rtt(client, rtts))

        async def read() -> None:
            async for ev in sse_exchanges(
                client, STREAM, on_open=lambda: opened.append(time.monotonic())
            ):
                got.append(ev)
                _progress(ev)
                if len(got) >= n_exchanges:
                    return

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(read(), max_duration_s)
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller
    return got, rtts, opened[0] if opened else float("nan")


def _progress(ev: Received) -> None:
    e, lat, pub = ev.exchange, ev.latency_s, publish_lag_s(ev.exchange)
    if lat is None or pub is None:
        print(f"  #{e['id']:<4} {e['giver']}→{e['receiver']} {e['outcome']}: no release/drop time")
        return
    print(f"  #{e['id']:<4} {e['giver']!s:>4}→{e['receiver']!s:<4} {e['outcome']:<9} "
          f"release→publish {1e3 * pub:6.1f} ms  publish→client {1e3 * (lat - pub):6.1f} ms  "
          f"total {1e3 * lat:6.1f} ms", flush=True)  # fmt: skip


def truth_errors(received: list[Received], seed: int = 1) -> dict[str, Any]:
    """Detected vs the demo drill's truth (see the module docstring)."""
    from batonsense.sim.live import LiveDrill

    det = [r.exchange for r in received if r.exchange.get("release_s") is not None]
    if len(det) < 2:
        return {"matched": 0}
    drill, truth = LiveDrill(seed, 200.0), []
    span_s = det[-1]["release_s"] - det[0]["release_s"]
    while not truth or truth[-1].time_s < span_s + 200.0:
        truth += [t for t in drill.next_segment().truth if t.release_s is not None]
    # The drill's origin on the host clock: the candidate offset that matches most.
    best: tuple[int, float] = (0, 0.0)
    for t in truth[: len(truth) // 2 + 1]:
        off = det[0]["release_s"] - t.release_s
        hits = sum(any(abs(d["release_s"] - off - u.release_s) < 0.5 for u in truth) for d in det)
        best = max(best, (hits, off))
    off = best[1]
    pairs = []
    for d in det:
        u = min(truth, key=lambda u: abs(d["release_s"] - off - u.release_s))
        if abs(d["release_s"] - off - u.release_s) < 0.5:
            pairs.append((d, u))
    rel = np.array([d["release_s"] - off - u.release_s for d, u in pairs])
    rel -= np.median(rel)
    ovl = [abs(d["overlap_ms"] - u.overlap_ms) for d, u in pairs
           if d.get("overlap_ms") is not None and u.overlap_ms is not None]  # fmt: skip
    who = sum(d["giver"] == u.giver and d["receiver"] == u.receiver for d, u in pairs)
    return {
        "matched": len(pairs),
        "detected": len(det),
        "giver_receiver_right": who,
        "release_abs_err_ms_median": float(np.median(np.abs(rel)) * 1e3),
        "release_abs_err_ms_p95": float(np.percentile(np.abs(rel), 95) * 1e3),
        "overlap_abs_err_ms_median": float(np.median(ovl)) if ovl else float("nan"),
        "overlap_abs_err_ms_p95": float(np.percentile(ovl, 95)) if ovl else float("nan"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exchanges", type=int, default=22, help="stop after this many (default 22)")
    ap.add_argument("--max-duration-s", type=float, default=600.0,
                    help="stop after this long anyway (default 600 s)")  # fmt: skip
    ap.add_argument("--quick", action="store_true", help="5 exchanges (~2 min), indicative only")
    ap.add_argument("--truth", action="store_true", help="also compare with the drill's truth")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--strict", action="store_true", help="exit 1 if the target is missed")
    args = ap.parse_args()
    if args.quick:
        args.exchanges, args.max_duration_s = 5, min(args.max_duration_s, 150.0)

    with tempfile.TemporaryDirectory(prefix="bsns-latency-") as tmp:
        svc = ServiceProcess(Path(tmp)).start()
        try:
            assert svc.proc is not None
            clock_err_s = check_same_clock(svc.url)
            load0, cpu0, t0 = loadavg(), process_cpu_s(svc.proc.pid), time.monotonic()
            print(f"service {svc.url} (pid {svc.proc.pid}); host clocks agree within "
                  f"{1e3 * clock_err_s:.1f} ms; load average {load0}")  # fmt: skip
            print(f"reading {STREAM} until {args.exchanges} exchanges or "
                  f"{args.max_duration_s:.0f} s (a rep every ~20 s)")  # fmt: skip
            got, rtts, opened_s = asyncio.run(collect(svc, args.exchanges, args.max_duration_s))
            cpu_share = (process_cpu_s(svc.proc.pid) - cpu0) / (time.monotonic() - t0)
            stored = svc.get("/api/exchanges").json()
        finally:
            svc.stop()
    return report(args, got, rtts, stored, opened_s, cpu_share, load0)


def report(
    args: argparse.Namespace,
    got: list[Received],
    rtts: list[float],
    stored: list[dict[str, Any]],
    opened_s: float,
    cpu_share: float,
    load0: str,
) -> int:
    timed = [r for r in got if r.latency_s is not None]
    total = summary_ms([r.latency_s for r in timed if r.latency_s is not None])
    pub_s = [publish_lag_s(r.exchange) or 0.0 for r in timed]
    publish = summary_ms(pub_s)
    deliver = summary_ms([(r.latency_s or 0.0) - p for r, p in zip(timed, pub_s, strict=True)])
    # every exchange stored after the stream opened (monotonic → host clock) reached us
    seen = {r.exchange["id"] for r in got}
    last = max(seen) if seen else 0
    missed = [e["id"] for e in stored
              if (ref := event_time_s(e)) and ref[0] > opened_s and e["id"] <= last
              and e["id"] not in seen]  # fmt: skip
    print(f"\nrelease → SSE event at a client on 127.0.0.1, {len(timed)} exchanges "
          f"({len(got) - len(timed)} without a release/drop time; {len(missed)} stored but not "
          f"received{': ' + str(missed) if missed else ''})")  # fmt: skip
    print(f"  release → publish (detector, commit): {fmt(publish)}")
    print(f"  publish → client  (SSE, loopback):    {fmt(deliver)}")
    print(f"  release → client  (total):            {fmt(total)}")
    print(f"  service CPU {cpu_share:.0%} of a core; GET /api/health round trip "
          f"{fmt(summary_ms(rtts))}; load average {load0} → {loadavg()}")  # fmt: skip
    truth = truth_errors(got) if args.truth else None
    if truth:
        print(f"  truth (drill replayed, seed 1): {truth['matched']}/{truth.get('detected', 0)} "
              f"matched, giver+receiver right {truth.get('giver_receiver_right', 0)}; |release "
              f"error| after a common offset median "
              f"{truth.get('release_abs_err_ms_median', float('nan')):.1f} / p95 "
              f"{truth.get('release_abs_err_ms_p95', float('nan')):.1f} ms; |overlap error| median "
              f"{truth.get('overlap_abs_err_ms_median', float('nan')):.1f} / p95 "
              f"{truth.get('overlap_abs_err_ms_p95', float('nan')):.1f} ms")  # fmt: skip
    ok = len(timed) > 0 and total["p95_ms"] <= TARGET_P95_MS and not missed
    enough = len(timed) >= 20
    print(
        f"  -> target p95 ≤ {TARGET_P95_MS:.0f} ms: {total['p95_ms']:.1f} ms: "
        f"{'PASS' if ok else 'FAIL'}{'' if enough else ' (fewer than 20 exchanges: indicative)'}"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "total": total, "release_to_publish": publish, "publish_to_client": deliver,
            "health_rtt": summary_ms(rtts), "service_cpu_share": cpu_share, "missed": missed,
            "truth": truth, "target_p95_ms": TARGET_P95_MS, "pass": ok, "load_start": load0,
            "events": [{"id": r.exchange["id"], "latency_s": r.latency_s,
                        "release_to_publish_s": publish_lag_s(r.exchange)} for r in got],
        }, indent=1))  # fmt: skip
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
