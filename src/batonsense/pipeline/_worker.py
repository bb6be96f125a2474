"""The pipeline's own thread: notifications in through a bounded, counted queue.

    worker = IngestWorker(pipeline.on_notification, now=loop.time)
    worker.start()
    ingestor = Ingestor(on_raw=worker.put, ...)       # the loop only enqueues
    ...
    worker.drain(timeout_s=10.0); worker.stop()

bleak's pattern (examples/async_callback_with_queue.py), one step further:
the notification callback stamps the receive time and enqueues; decoding,
clock sync, detection and storage run in this thread, so a busy web server
(the event loop) cannot starve them, and a stall of the thread (or of the
whole process) only delays them: afterwards the queue is worked off in
order.  Nothing here raises into the caller: a notification whose handling
fails is counted (`errors`), logged once per kind with its traceback and
then once a minute, and the next one is handled.

Counters (read from any thread): `received`, `handled`, `overflows`
(notifications refused because the queue held `max_queue`), `errors`;
`lag_s()`: how far behind the receive times the worker is now (s, 0 when
idle); `max_lag_s`: the largest lag seen.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

_LOG = logging.getLogger(__name__)

#: ~10 min of 3 sensors at 200 Hz in 4-sample packets (150/s); ~200 B each
MAX_QUEUE = 100_000
#: a failing kind of notification is logged again at most this often (s)
ERROR_LOG_EVERY_S = 60.0

_STOP = object()


class IngestWorker:
    """Runs handle(item) for every `put(item)` in its own thread, in order (module docstring).

    handle: called with each item (an object with a `host_s` receive time, s);
    now: the clock of those receive times (s); max_queue: items waiting at most.
    """

    def __init__(
        self,
        handle: Callable[[Any], None],
        *,
        now: Callable[[], float] = time.monotonic,
        max_queue: int = MAX_QUEUE,
        name: str = "ingest",
    ) -> None:
        self._handle = handle
        self._now = now
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._busy_host_s: float | None = None  # receive time of the item in hand
        self._logged: dict[str, float] = {}
        self.received = 0
        self.handled = 0
        self.overflows = 0
        self.errors = 0
        self.max_lag_s = 0.0

    def start(self) -> None:
        self._thread.start()

    def put(self, item: Any) -> None:
        """Enqueue one item (never blocks; counted as an overflow when full)."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.overflows += 1
            return
        self.received += 1

    @property
    def waiting(self) -> int:
        """Items queued, not yet handled."""
        return self._queue.qsize()

    def lag_s(self) -> float:
        """Now minus the receive time of the oldest item not yet handled (s; 0 when idle)."""
        busy = self._busy_host_s
        return 0.0 if busy is None else max(0.0, self._now() - busy)

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until everything put so far is handled; False if timeout_s passed first."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline or not self._thread.is_alive():
                return False
            time.sleep(0.01)
        return True

    def stop(self, timeout_s: float = 300.0) -> None:
        """Handle what is queued, then end the thread."""
        if not self._thread.is_alive():
            return
        self._queue.put(_STOP)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                self._busy_host_s = float(getattr(item, "host_s", self._now()))
                self.max_lag_s = max(self.max_lag_s, self._now() - self._busy_host_s)
                self._handle(item)
                self.handled += 1
            except Exception as e:  # noqa: BLE001 - one bad notification must not stop ingest
                self.errors += 1
                self._log_error(e)
            finally:
                if self._queue.qsize() == 0:
                    self._busy_host_s = None
                self._queue.task_done()

    def _log_error(self, e: Exception) -> None:
        kind = f"{type(e).__name__}: {e}"[:200]
        now = time.monotonic()
        last = self._logged.get(kind)
        if last is None:
            _LOG.error("ingest: handling a notification failed (%s)", kind, exc_info=e)
        elif now - last >= ERROR_LOG_EVERY_S:
            _LOG.error("ingest: %d notifications failed so far, last: %s", self.errors, kind)
        else:
            return
        self._logged[kind] = now
