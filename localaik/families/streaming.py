"""A client's stream made from an upstream chat stream: one loop for every family.

Each family says how upstream chunks become its events (`EventTranslator`: Gemini chunks,
Anthropic and Responses API events, OpenAI chunks passed on) and how its events are framed on
the wire (`Framing`: SSE `data:` lines, named `event:` lines, Gemini's JSON array). The loop
here is the same for all: translate each chunk as it arrives, finish when the upstream's
`[DONE]` came (then the exchange is complete: a live stream is stored), and when anything fails
after the client got its 200, end the stream with the family's in-stream error (`fail`), since
the status can no longer change.

`usage_first` serves the families whose first event states the prompt's token count (Gemini's
first chunk, Anthropic's `message_start`), which an OpenAI-compatible upstream gives only at
the end of its stream: a replay knows it ahead.
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
T = TypeVar("T", bound="NeedsUsage[Any]")


class EventTranslator(Protocol[E]):
    """Upstream `chat.completion.chunk` objects -> a family's stream events."""

    def feed(self, chunk: Any) -> list[E]: ...

    def finish(self) -> list[E]: ...

    def fail(self, error: Error) -> list[E]: ...


class NeedsUsage(EventTranslator[E], Protocol[E]):
    """A translator whose first event states the upstream's token counts, told them first."""

    def know_usage(self, usage: dict[str, Any]) -> None: ...


def usage_first(translator: T, usage_ahead: dict[str, Any] | None) -> T:
    """`translator`, told the upstream's usage when it is known before the stream is read.

    An OpenAI-compatible stream (llama-server's included) gives its usage in a last chunk, and
    the first Gemini chunk and Anthropic `message_start` carry the prompt's token count. A
    replay knows it ahead (the recording's last chunk: `Exchange.usage_ahead`), so its first
    events state it, the same on every replay. A live stream is not held back for it (that
    would hold the whole answer until the upstream finished): its first events say what is
    known when they are sent, and its last ones the upstream's counts.
    """
    if usage_ahead is not None:
        translator.know_usage(usage_ahead)
    return translator


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
