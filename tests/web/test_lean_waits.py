"""The queue and flag that stand in for asyncio's on every WebSocket connection."""

from __future__ import annotations

import asyncio

from chatserver.web.lean_waits import Flag, ReceiveQueue


async def test_the_queue_hands_over_items_in_order_and_wakes_a_waiting_reader() -> None:
    queue: ReceiveQueue[int] = ReceiveQueue()
    reader = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not reader.done() and queue.empty()
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert await reader == 1
    assert queue.qsize() == 1 and not queue.empty()
    assert await queue.get() == 2
    assert queue.empty() and queue.qsize() == 0


async def test_a_cancelled_get_leaves_the_queue_usable() -> None:
    queue: ReceiveQueue[str] = ReceiveQueue()
    reader = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    queue.put_nowait("after")
    assert await queue.get() == "after"


async def test_the_flag_lets_waiters_through_once_set_and_holds_them_while_clear() -> None:
    flag = Flag()
    assert not flag.is_set()
    waiters = [asyncio.ensure_future(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(waiter.done() for waiter in waiters)
    flag.set()
    assert await asyncio.gather(*waiters) == [True, True, True]
    assert await flag.wait() is True  # set: no waiting at all
    flag.clear()
    held = asyncio.ensure_future(flag.wait())
    await asyncio.sleep(0)
    assert not held.done()
    held.cancel()
    await asyncio.gather(held, return_exceptions=True)
    flag.set()  # a cancelled waiter is forgotten, not woken
    assert flag.is_set()
