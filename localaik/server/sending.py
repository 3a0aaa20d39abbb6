"""An answer sent over ASGI: a whole body, or a stream whose ready frames go out together.

Headers are the framework's (Litestar's `ASGIResponse`), in the same order: the answer's own,
then a content type (`; charset=utf-8` for text) and, for a whole body, its length. A status
that has no body (1xx, 204, 304) goes through the framework's response, which knows what each
may carry.

A stream is made by one task and sent by another. Each write to the client's socket costs
about as much as translating a frame, and an upstream that sends several frames at once (a
burst, a replay at full speed) makes them all ready before the sender runs again: the sender
takes every frame ready and writes them as one body message. A model that streams a frame at a
time still gets each written as it comes. Making runs ahead of sending by at most
`AHEAD_FRAMES`, so a slow client slows the upstream read as before.

A client that leaves during a stream stops it: the disconnect cancels the making task, which
closes the upstream connection (the framework's streaming response did the same).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from litestar.response.base import ASGIResponse

from localaik.families.operation import Answer

AHEAD_FRAMES = 64  # frames made and not yet sent, at most (then making waits)
_END = b""  # a frame is never empty: the end of the stream


async def send_answer(answer: Answer, scope: Any, receive: Any, send: Any) -> None:
    """Send `answer` as the framework's ASGI response would."""
    if answer.frames is not None:
        await send(_start(answer, None))
        await _send_stream(answer.frames, receive, send)
        return
    if answer.status < 200 or answer.status in (204, 304):
        await ASGIResponse(
            body=answer.body,
            status_code=answer.status,
            media_type=answer.media_type,
            headers=answer.headers,
        )(scope, receive, send)
        return
    await send(_start(answer, len(answer.body)))
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})


def _start(answer: Answer, length: int | None) -> dict[str, Any]:
    headers = [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()
    ]
    given = {name for name, _ in headers}
    if b"content-type" not in given:
        media = answer.media_type
        media += "; charset=utf-8" if media.startswith("text/") else ""
        headers.append((b"content-type", media.encode("latin-1")))
    if length is not None and b"content-length" not in given:
        headers.append((b"content-length", str(length).encode("latin-1")))
    return {"type": "http.response.start", "status": answer.status, "headers": headers}


async def _send_stream(frames: AsyncIterator[bytes], receive: Any, send: Any) -> None:
    ready: asyncio.Queue[bytes] = asyncio.Queue()
    maker = asyncio.ensure_future(_make(frames, ready))
    watcher: asyncio.Future[None] = asyncio.ensure_future(_left(receive, maker))
    try:
        while True:
            batch = [await ready.get()]
            while not ready.empty():
                batch.append(ready.get_nowait())
            for _ in batch:
                ready.task_done()
            ended = batch[-1] is _END
            body = b"".join(batch)
            if body:
                await send({"type": "http.response.body", "body": body, "more_body": True})
            if ended:
                break
        if watcher.done() and not watcher.cancelled() and watcher.exception() is None:
            return  # the client left: nobody reads the rest (a `receive` that failed is not that)
        await maker  # raises what making the stream raised (the connection is then dropped)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        watcher.cancel()
        maker.cancel()  # this request itself was cancelled (no-op once done)


async def _make(frames: AsyncIterator[bytes], ready: asyncio.Queue[bytes]) -> None:
    try:
        async with contextlib.aclosing(frames):  # type: ignore[type-var]
            async for frame in frames:
                if frame:
                    ready.put_nowait(frame)
                    if ready.qsize() >= AHEAD_FRAMES:
                        await ready.join()
    finally:
        ready.put_nowait(_END)


async def _left(receive: Any, maker: asyncio.Future[None]) -> None:
    """Returns once the client disconnected, having cancelled `maker`."""
    while (await receive())["type"] != "http.disconnect":
        pass
    maker.cancel()
