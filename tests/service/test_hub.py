"""ExchangeHub on its own: fan-out, a stalled viewer dropped, close ends every stream."""

from __future__ import annotations

import asyncio

from batonsense.service.hub import ExchangeHub


async def _drain(sub) -> list[int]:  # type: ignore[no-untyped-def]
    return [i async for i, _ in sub.events()]


def test_every_viewer_gets_every_event_and_close_ends_the_streams() -> None:
    async def main() -> tuple[list[int], list[int], list[int]]:
        hub = ExchangeHub(max_queue=4)
        a, b = hub.subscribe(), hub.subscribe()
        tasks = [asyncio.create_task(_drain(s)) for s in (a, b)]
        for i in (1, 2, 3):
            hub.publish(i, {"id": i})
            await asyncio.sleep(0)
        hub.close()
        late = hub.subscribe()  # a viewer arriving during shutdown ends at once
        got_a, got_b = await asyncio.wait_for(asyncio.gather(*tasks), 5)
        got_late = await asyncio.wait_for(_drain(late), 5)
        assert hub.viewers == 0
        return got_a, got_b, got_late

    a, b, late = asyncio.run(main())
    assert a == b == [1, 2, 3]
    assert late == []


def test_a_viewer_that_stops_reading_is_dropped_not_waited_for() -> None:
    async def main() -> tuple[int, int, list[int]]:
        hub = ExchangeHub(max_queue=2)
        stalled = hub.subscribe()  # never read
        reader = hub.subscribe()
        task = asyncio.create_task(_drain(reader))
        for i in range(1, 6):
            hub.publish(i, {"id": i})
            await asyncio.sleep(0.01)  # exchanges come seconds apart; the reader keeps up
        hub.close()
        got = await asyncio.wait_for(task, 5)
        return hub.dropped_viewers, int(stalled.closed.is_set()), got

    dropped, closed, got = asyncio.run(main())
    assert dropped == 1 and closed == 1
    assert got == [1, 2, 3, 4, 5]
