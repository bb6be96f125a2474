"""What is wrong with the running service now, in words a coach can act on.

`problems` lists, most serious first: the database cannot be
written (a full disk: what is kept in memory, since when), the ingest thread
running behind (by how much) or refusing notifications, sensors connected
but sending no data for `STALE_S`, and streaming not running (no adapter, no
sensor found).  An empty list means all is well.  `ingest(runtime)` and
`storage(runtime)` are the figures behind them; `report(runtime)` all three,
for /api/health.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runtime import Runtime

#: a sensor without data this long (s) is not streaming (the page stops showing it ON)
STALE_S = 2.0
#: an ingest thread this far (s) behind the notifications' receive times is reported
LAG_REPORT_S = 1.0


def ingest(runtime: Runtime) -> dict[str, Any]:
    """The ingest thread's figures: lag_s (how far behind now), max_lag_s, queued
    notifications, overflows (refused: the queue was full), errors (handling failed)."""
    record = runtime.record
    worker = None if record is None else record.worker
    if worker is None:
        return {"lag_s": 0.0, "max_lag_s": 0.0, "queued": 0, "overflows": 0, "errors": 0}
    return {
        "lag_s": round(worker.lag_s(), 3),
        "max_lag_s": round(worker.max_lag_s, 3),
        "queued": worker.waiting,
        "overflows": worker.overflows,
        "errors": worker.errors,
    }


def storage(runtime: Runtime) -> dict[str, Any] | None:
    """None while the running session is written; else what keeps it from being
    written (`problem`), for how long (`for_s`) and what is kept in memory."""
    writer = runtime.writer
    if writer is None or writer.problem is None:
        return None
    since = writer.problem_since_s
    return {
        "problem": writer.problem,
        "for_s": None if since is None else round(time.monotonic() - since, 1),
        "kept": writer.backlog(),
        "max_kept_mb": writer.max_backlog_bytes // 2**20,
    }


def report(runtime: Runtime) -> dict[str, Any]:
    """`problems`, `ingest` and `storage` of /api/health, each worked out once."""
    ing, store = ingest(runtime), storage(runtime)
    return {"problems": problems(runtime, ing, store), "ingest": ing, "storage": store}


def problems(
    runtime: Runtime,
    ing: dict[str, Any],
    store: dict[str, Any] | None,
    rows: list[dict[str, Any]] | None = None,
) -> list[str]:
    """What is wrong now (module docstring), from `ingest(runtime)`, `storage(runtime)`
    and rows: `runtime.sensor_rows()` if known."""
    out = []
    if store is not None:
        kept = store["kept"]
        out.append(
            f"storage: the database cannot be written ({store['problem']}) for "
            f"{store['for_s']:.0f} s: {kept['exchanges']} exchanges and "
            f"{kept['span_s']:.0f} s of samples kept in memory (up to "
            f"{store['max_kept_mb']} MB), written when space returns"
            + (f"; {kept['dropped_samples']} samples dropped" if kept["dropped_samples"] else "")
        )
    if ing["lag_s"] >= LAG_REPORT_S:
        out.append(f"ingest: running {ing['lag_s']:.1f} s behind ({ing['queued']} queued)")
    if ing["overflows"]:
        out.append(f"ingest: {ing['overflows']} notifications refused (queue full)")
    for r in rows if rows is not None else runtime.sensor_rows():
        if r.get("connected") and str(r.get("state", "")).startswith("no data for"):
            out.append(f"sensor {r['id']}: {r['state']}")
    if runtime.problem is not None:
        out.append(f"sensors: {runtime.problem}")
    return out
