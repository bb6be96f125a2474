"""ExchangeHub: fans each new exchange out to every live viewer (SSE), never blocking.

The detector's callback publishes on the event loop; each subscriber owns a
bounded queue.  A viewer that stops reading (a phone that went to sleep) has
its queue filled and is dropped — `closed` is set and its stream ends, the
browser's EventSource reconnects and catches up with Last-Event-ID — so one
slow viewer never slows ingestion, detection or the other viewers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Subscription:
    """One viewer's queue of (exchange id, exchange object)."""

    queue: asyncio.Queue[tuple[int, dict[str, Any]]]
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def events(self) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        """The events as they come, until the hub drops or closes this viewer.

        A viewer that goes away mid-wait (the stream cancelled or closed) leaves no
        task pending ("Task was destroyed but it is pending!")."""
        pending: set[asyncio.Future[Any]] = set()
        try:
            while True:
                get = asyncio.ensure_future(self.queue.get())
                closed = asyncio.ensure_future(self.closed.wait())
                pending = {get, closed}
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if get in done:
                    closed.cancel()
                    yield get.result()
                    continue
                get.cancel()
                while not self.queue.empty():  # what was queued before the close
                    yield self.queue.get_nowait()
                return
        finally:
            for task in pending:
                task.cancel()


class ExchangeHub:
    """Publish/subscribe for new exchanges on one event loop.

    max_queue: events a viewer may fall behind before it is dropped.
    """

    def __init__(self, max_queue: int = 256) -> None:
        self.max_queue = max_queue
        self._subs: set[Subscription] = set()
        self._closed = False
        self.published = 0
        self.dropped_viewers = 0

    @property
    def viewers(self) -> int:
        return len(self._subs)

    def subscribe(self) -> Subscription:
        """A new viewer; after close() its stream ends at once."""
        sub = Subscription(asyncio.Queue(self.max_queue))
        if self._closed:
            sub.closed.set()
        else:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)
        sub.closed.set()

    def publish(self, exchange_id: int, item: dict[str, Any]) -> None:
        """Hand one exchange to every viewer now (call on the hub's event loop)."""
        self.published += 1
        for sub in list(self._subs):
            try:
                sub.queue.put_nowait((exchange_id, item))
            except asyncio.QueueFull:
                self.dropped_viewers += 1
                self.unsubscribe(sub)

    def close(self) -> None:
        """End every viewer's stream, and any later one's (service shutdown)."""
        self._closed = True
        for sub in list(self._subs):
            self.unsubscribe(sub)
