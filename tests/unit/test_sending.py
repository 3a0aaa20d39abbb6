"""How an answer's stream goes out over ASGI (`server/sending.py`): frames ready together are
written as one body message, frames that come one at a time are written as they come, a client
that leaves stops the stream, and a stream that fails drops the connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from localaik.families.operation import stream_answer
from localaik.server.sending import AHEAD_FRAMES, send_answer


class Client:
    """The ASGI side of one request: what was sent, and a disconnect when told."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.gone = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        await asyncio.sleep(0)  # a write lets others run, as a socket's does

    @property
    def bodies(self) -> list[bytes]:
        return [m["body"] for m in self.sent if m["type"] == "http.response.body"]


async def burst(n: int) -> AsyncIterator[bytes]:
    for i in range(n):
        yield b"data: %d\n\n" % i


async def test_frames_ready_together_go_out_as_one_message() -> None:
    client = Client()
    await send_answer(stream_answer(burst(8)), {"type": "http"}, client.receive, client.send)

    start = client.sent[0]
    assert start["type"] == "http.response.start" and start["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in start["headers"]
    assert b"".join(client.bodies) == b"".join(b"data: %d\n\n" % i for i in range(8))
    assert len(client.bodies) <= 3  # not one write a frame: the 8 frames, then the end
    assert client.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_frames_that_come_apart_are_sent_as_they_come() -> None:
    client = Client()

    async def paced() -> AsyncIterator[bytes]:
        for i in range(4):
            await asyncio.sleep(0.01)
            assert len(client.bodies) == i, "the frame before was sent before this one was made"
            yield b"data: %d\n\n" % i

    await send_answer(stream_answer(paced()), {"type": "http"}, client.receive, client.send)

    assert client.bodies == [b"data: %d\n\n" % i for i in range(4)] + [b""]


async def test_making_waits_for_a_slow_client() -> None:
    made = 0
    client = Client()
    most_ahead = 0

    async def many() -> AsyncIterator[bytes]:
        nonlocal made
        for i in range(AHEAD_FRAMES * 4):
            made += 1
            yield b"data: %d\n\n" % i

    async def slow_send(message: dict[str, Any]) -> None:
        nonlocal most_ahead
        sent = sum(b.count(b"data:") for b in client.bodies)
        most_ahead = max(most_ahead, made - sent)
        await client.send(message)
        await asyncio.sleep(0.001)

    await send_answer(stream_answer(many()), {"type": "http"}, client.receive, slow_send)

    assert b"".join(client.bodies).count(b"data:") == AHEAD_FRAMES * 4
    assert most_ahead <= 2 * AHEAD_FRAMES + 1


async def test_a_client_that_leaves_stops_the_stream() -> None:
    client = Client()
    closed = asyncio.Event()

    async def endless() -> AsyncIterator[bytes]:
        try:
            while True:
                await asyncio.sleep(0.005)
                yield b"data: more\n\n"
        finally:
            closed.set()  # the upstream connection is closed here

    sending = asyncio.ensure_future(
        send_answer(stream_answer(endless()), {"type": "http"}, client.receive, client.send)
    )
    await asyncio.sleep(0.05)
    client.gone.set()
    await asyncio.wait_for(sending, 5)

    assert closed.is_set()
    assert client.bodies and all(b == b"data: more\n\n" * b.count(b"data:") for b in client.bodies)
    assert not any(m.get("more_body") is False for m in client.sent)


async def test_a_stream_that_fails_raises_after_what_it_made() -> None:
    client = Client()

    async def failing() -> AsyncIterator[bytes]:
        yield b"data: 0\n\n"
        raise RuntimeError("broken")

    with pytest.raises(RuntimeError, match="broken"):
        await send_answer(stream_answer(failing()), {"type": "http"}, client.receive, client.send)
    assert client.bodies == [b"data: 0\n\n"]  # and no end: the server drops the connection


async def test_a_receive_that_fails_is_no_disconnect() -> None:
    client = Client()

    async def broken_receive() -> dict[str, Any]:
        raise RuntimeError("receive failed")

    async def paced() -> AsyncIterator[bytes]:
        for i in range(3):
            await asyncio.sleep(0.005)
            yield b"data: %d\n\n" % i

    await send_answer(stream_answer(paced()), {"type": "http"}, broken_receive, client.send)

    assert b"".join(client.bodies) == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
    assert client.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
