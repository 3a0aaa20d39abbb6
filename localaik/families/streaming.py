"""A client's stream made from an upstream chat stream: one loop for every family.

Each family says how upstream chunks become its events (`EventTranslator`: Gemini chunks,
Anthropic and Responses API events, OpenAI chunks passed on) and how its events are framed on
the wire (`Framing`: SSE `data:` lines, named `event:` lines, Gemini's JSON array). The loop
here is the same for all: translate each chunk as it arrives, finish when the upstream's
`[DONE]` came (then the exchange is complete: a live stream is stored), and when anything fails
after the client got its 200, end the stream with the family's in-stream error (`fail`), since
the status can no longer change.

A stream fault a test asked for (D16, `server/faults.py`) is applied here, to the real frames,
recorded or live: `frame_delay` spaces them; after frame `after`, the stream either ends with
the family's in-stream error event (`error`) or is cut: `Dropped` is raised, which the HTTP
server turns into a lost connection (no final chunk). A stream being recorded is still read
whole behind a fault, so its recording holds every frame.

`UsageFirst` serves the families whose first event states the prompt's token count (Gemini's
first chunk, Anthropic's `message_start`), which an OpenAI-compatible upstream gives only at
the end of its stream: a replay knows it ahead, a stream being recorded waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from localaik.errors import Error
from localaik.upstream.chunks import chunk_usage, upstream_chunks
from localaik.upstream.exchange import Exchange

E = TypeVar("E")
E_contra = TypeVar("E_contra", contravariant=True)


class EventTranslator(Protocol[E]):
    """Upstream `chat.completion.chunk` objects -> a family's stream events."""

    def feed(self, chunk: Any) -> list[E]: ...

    def finish(self) -> list[E]: ...

    def fail(self, error: Error) -> list[E]: ...


class NeedsUsage(EventTranslator[E], Protocol[E]):
    """A translator whose first event states the upstream's token counts, told them first."""

    def know_usage(self, usage: dict[str, Any]) -> None: ...


class UsageFirst(Generic[E]):
    """The events of `translator`, translated knowing the upstream's usage when it matters.

    An OpenAI-compatible stream (llama-server's included) gives its usage in a last chunk, and
    the first Gemini chunk and Anthropic `message_start` carry the prompt's token count. A
    replay knows it ahead (the recording's: `Exchange.usage_ahead`) and streams at its recorded
    pace. A stream being recorded (`hold`) is held until a chunk carries it (or the stream
    ends), then translated in order, so that the client gets the bytes every replay will give
    (and the identical requests that wait for the recording replay it). A stream that is not
    recorded (passthrough) is not held: its first events cannot state the count, its last ones
    do, and it reaches the client as the upstream sends it.
    """

    def __init__(
        self, translator: NeedsUsage[E], usage_ahead: dict[str, Any] | None, *, hold: bool
    ) -> None:
        self.translator = translator
        self.held: list[Any] | None = [] if hold else None
        if usage_ahead is not None:
            translator.know_usage(usage_ahead)
            self.held = None

    def feed(self, chunk: Any) -> list[E]:
        if self.held is None:
            return self.translator.feed(chunk)
        self.held.append(chunk)
        usage = chunk_usage(chunk)
        return [] if usage is None else self._release(usage)

    def _release(self, usage: dict[str, Any] | None) -> list[E]:
        held, self.held = self.held or [], None
        if usage is not None:
            self.translator.know_usage(usage)
        return [event for chunk in held for event in self.translator.feed(chunk)]

    def finish(self) -> list[E]:
        return self._release(None) + self.translator.finish()

    def fail(self, error: Error) -> list[E]:
        """What was held, then the error: the client gets what the upstream sent before."""
        try:
            released = self._release(None)
        except Error:
            released = []
        return released + self.translator.fail(error)


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


class Dropped(Exception):
    """The connection is to be dropped without finishing the answer (a fault asked for it)."""


@dataclass(frozen=True)
class StreamFault:
    """What a fault does to a stream: after frame `after` (None: never), its `error` as the
    family's in-stream error event, or without one a cut; `frame_delay` seconds between
    frames."""

    after: int | None = None
    error: Error | None = None
    frame_delay: float = 0.0


class ClientStream:
    """The client's frames for one upstream stream (an async iterator), ending with an error
    event on failure; `fault` is the pipeline's to set before the first frame is read."""

    def __init__(
        self, upstream_stream: Exchange, events: EventTranslator[Any], framing: Framing[Any]
    ) -> None:
        self.upstream_stream = upstream_stream
        self.events = events
        self.framing = framing
        self.fault: StreamFault | None = None
        self._frames: AsyncGenerator[bytes, None] | None = None

    def __aiter__(self) -> ClientStream:
        return self

    async def __anext__(self) -> bytes:
        if self._frames is None:
            self._frames = self._faulted() if self.fault else self._translated()
        return await self._frames.__anext__()

    async def aclose(self) -> None:
        if self._frames is None:
            await self.upstream_stream.aclose()
        else:
            await self._frames.aclose()

    async def _translated(self) -> AsyncGenerator[bytes, None]:
        events, framing, upstream_stream = self.events, self.framing, self.upstream_stream
        try:
            try:
                async with contextlib.aclosing(upstream_chunks(upstream_stream)) as chunks:
                    async for chunk in chunks:
                        for event in events.feed(chunk):
                            yield framing.frame(event)
                tail = events.finish()
                await upstream_stream.complete()  # translated whole: a live stream is stored
            except Error as exc:
                tail = events.fail(exc)
            for event in tail:
                yield framing.frame(event)
            end = framing.close()
            if end:
                yield end
        finally:
            await upstream_stream.aclose()

    async def _faulted(self) -> AsyncGenerator[bytes, None]:
        fault = self.fault
        assert fault is not None
        async with contextlib.aclosing(self._translated()) as frames:
            sent = 0
            async for frame in frames:
                if sent and fault.frame_delay:
                    await asyncio.sleep(fault.frame_delay)
                yield frame
                sent += 1
                if sent == fault.after:
                    break
            else:
                return  # the stream ended before the fault's frame: it was given whole
            if self.upstream_stream.being_recorded:
                async for _ in frames:  # the recording holds every frame
                    pass
        if fault.error is None:
            raise Dropped(f"stream cut after frame {sent}")
        for event in self.events.fail(fault.error):
            yield self.framing.frame(event)
        end = self.framing.close()
        if end:
            yield end


def client_stream(
    upstream_stream: Exchange, events: EventTranslator[E], framing: Framing[E]
) -> ClientStream:
    """The client's frames for one upstream stream, ending with an error event on failure."""
    return ClientStream(upstream_stream, events, framing)
