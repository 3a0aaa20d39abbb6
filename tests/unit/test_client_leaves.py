"""`_unless_client_leaves`: an upstream wait stopped when its client disconnects, and only
then."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from localaik.server.app import _unless_client_leaves
from localaik.server.pipeline import ClientLeft


class Receive:
    """An ASGI `receive` whose only message, once `gone` is set, is the disconnect."""

    def __init__(self) -> None:
        self.gone = asyncio.Event()

    async def __call__(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}


def leftover_tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}


async def test_the_answer_comes_back_and_nothing_is_left_running() -> None:
    async def upstream() -> str:
        await asyncio.sleep(0.01)
        return "answer"

    assert await _unless_client_leaves(upstream(), receive=Receive()) == "answer"
    await asyncio.sleep(0)  # the watcher's cancellation lands
    assert not leftover_tasks()


async def test_a_client_that_leaves_cancels_the_wait() -> None:
    receive = Receive()
    cancelled = asyncio.Event()

    async def upstream() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()  # the upstream call is closed here
            raise
        return "never"

    asyncio.get_running_loop().call_later(0.02, receive.gone.set)
    with pytest.raises(ClientLeft):
        await _unless_client_leaves(upstream(), receive=receive)
    assert cancelled.is_set()
    current = asyncio.current_task()
    assert current is not None and current.cancelling() == 0  # nothing left pending
    await asyncio.sleep(0.01)  # and this task goes on undisturbed


async def test_a_wait_that_swallows_its_cancellation_still_ends_as_the_client_left() -> None:
    receive = Receive()

    async def stubborn() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            return "ignored the cancel"
        return "never"

    asyncio.get_running_loop().call_later(0.02, receive.gone.set)
    with pytest.raises(ClientLeft):
        await _unless_client_leaves(stubborn(), receive=receive)
    current = asyncio.current_task()
    assert current is not None and current.cancelling() == 0


async def test_cancelling_the_request_itself_is_no_client_leaving() -> None:
    async def request() -> str:
        return await _unless_client_leaves(asyncio.sleep(30, "never"), receive=Receive())

    task = asyncio.ensure_future(request())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert not leftover_tasks()


async def test_a_receive_that_fails_is_no_disconnect() -> None:
    async def broken() -> dict[str, Any]:
        raise RuntimeError("receive failed")

    assert await _unless_client_leaves(asyncio.sleep(0.02, "answer"), receive=broken) == "answer"


async def test_a_disconnect_as_the_answer_comes_stops_nothing_later() -> None:
    async def gone() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    for _ in range(20):  # the watcher ends in the same turn of the loop as the wait
        try:
            await _unless_client_leaves(asyncio.sleep(0, "answer"), receive=gone)
        except ClientLeft:
            pass
        await asyncio.sleep(0.001)  # what the request does next (sending) is not cancelled
        current = asyncio.current_task()
        assert current is not None and current.cancelling() == 0
