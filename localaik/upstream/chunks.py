"""Reading an upstream chat stream: its JSON chunks, up to `[DONE]`.

llama-server (and every OpenAI-compatible server) streams `data: <chat.completion.chunk>`
events and ends with `data: [DONE]`. A stream that stops before `[DONE]` was cut, and an error
object in the stream is the upstream's error: both raise here, once for every family, live and
replayed alike.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from localaik.errors import UpstreamBadResponse, UpstreamStatus
from localaik.upstream.exchange import Exchange
from localaik.wire import sse

# A frame that may hold a `usage` object: only those are parsed when a recording is scanned.
_USAGE = re.compile(rb'"usage"\s*:\s*\{')


def is_done(data: str) -> bool:
    return data.strip() == "[DONE]"


async def upstream_chunks(upstream_stream: Exchange) -> AsyncGenerator[Any, None]:
    """The JSON chunks of an upstream chat stream, up to its `[DONE]`. A stream that ends
    before it raises UpstreamBadResponse; an error object in it raises UpstreamStatus. Iterate
    it inside `contextlib.aclosing`."""
    async with contextlib.aclosing(upstream_stream.events()) as events:
        async for event in events:
            if is_done(event.data):
                return
            yield upstream_chunk(event.data)
    raise UpstreamBadResponse("upstream stream ended before it was complete")


def upstream_chunk(data: str) -> Any:
    """One upstream stream event's JSON; an error object in the stream raises its error."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise UpstreamBadResponse("upstream sent a stream event that is not JSON") from None
    if isinstance(chunk, dict) and isinstance(chunk.get("error"), dict):
        raise in_stream_error(chunk)
    return chunk


def in_stream_error(chunk: dict[str, Any]) -> UpstreamStatus:
    """The error of a chunk that holds an `error` member."""
    error = chunk.get("error")
    error = error if isinstance(error, dict) else {"message": error}
    code = error.get("code")
    status = code if isinstance(code, int) and not isinstance(code, bool) else 500
    return UpstreamStatus(status, str(error.get("message") or "upstream error"), raw=chunk)


def chunk_usage(chunk: Any) -> dict[str, Any] | None:
    """A chunk's `usage` object (prompt and completion tokens), or None. OpenAI-compatible
    servers send it in one of the last chunks, when the request set `stream_options`'
    `include_usage`; the other chunks have none or `"usage": null`."""
    usage = chunk.get("usage") if isinstance(chunk, dict) else None
    return usage if isinstance(usage, dict) else None


def stream_usage(frames: Sequence[bytes]) -> dict[str, Any] | None:
    """The usage of a whole recorded stream, or None: its last chunk's to carry one, found from
    the end (where the upstream puts it), so a replay pays for a frame or two. A translator is
    told it only for the prompt's counts, which every usage of one stream states alike; the
    later counts it reads from the chunks themselves."""
    for raw in reversed(frames):
        if b'"usage"' not in raw or not _USAGE.search(raw):
            continue
        event = sse.parse_frame(raw)
        if event is None or is_done(event.data):
            continue
        try:
            usage = chunk_usage(json.loads(event.data))
        except ValueError:
            continue
        if usage is not None:
            return usage
    return None
