"""A client's stream made from an upstream chat stream: one loop for every family.

Each family says how upstream chunks become its events (`EventTranslator`: Gemini chunks,
Anthropic and Responses API events, OpenAI chunks passed on) and how its events are framed on
the wire (`Framing`: SSE `data:` lines, named `event:` lines, Gemini's JSON array). The loop
here is the same for all: translate each chunk as it arrives, finish when the upstream's
`[DONE]` came (then the exchange is complete: a live stream is stored), and when anything fails
after the client got its 200, end the stream with the family's in-stream error (`fail`), since
the status can no longer change.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, Protocol, TypeVar

from localaik.errors import Error
from localaik.upstream.chunks import upstream_chunks
from localaik.upstream.exchange import Exchange

E = TypeVar("E")
E_contra = TypeVar("E_contra", contravariant=True)


class EventTranslator(Protocol[E]):
    """Upstream `chat.completion.chunk` objects -> a family's stream events."""

    def feed(self, chunk: Any) -> list[E]: ...

    def finish(self) -> list[E]: ...

    def fail(self, error: Error) -> list[E]: ...


class Framing(Protocol[E_contra]):
    """A family's events as bytes on the wire."""

    def frame(self, event: E_contra) -> bytes: ...

    def close(self) -> bytes: ...


class Frames(Generic[E]):
    """Framing by a function per event and nothing at the end (every SSE family)."""

    def __init__(self, frame: Callable[[E], bytes]) -> None:
        self.frame = frame

    def close(self) -> bytes:
        return b""


async def client_stream(
    upstream_stream: Exchange, events: EventTranslator[E], framing: Framing[E]
) -> AsyncIterator[bytes]:
    """The client's frames for one upstream stream, ending with an error event on failure."""
    try:
        try:
            async with contextlib.aclosing(upstream_chunks(upstream_stream)) as chunks:
                async for chunk in chunks:
                    for event in events.feed(chunk):
                        yield framing.frame(event)
            tail = events.finish()
            await upstream_stream.complete()  # translated whole: a live stream is stored now
        except Error as exc:
            tail = events.fail(exc)
        for event in tail:
            yield framing.frame(event)
        end = framing.close()
        if end:
            yield end
    finally:
        await upstream_stream.aclose()
