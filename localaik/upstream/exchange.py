"""One upstream exchange: what was sent upstream and what came back, live or from a cassette.

Routes and translators only see `Exchange`: whether its bytes come from llama-server right now
or from a recording made last week is invisible to them, so one response path serves both
(DESIGN §2). Turning an error status or a broken body into a localaik error happens here, once,
for live and replayed answers alike: a 2xx is an answer; a 4xx or 5xx is the upstream's error,
its status kept for the client (with its `Retry-After`); anything else (a redirect, which
localaik never follows) is a 502.

A live answer on its way into a cassette is stored only once it reached the client whole, in the
client's shape (`complete`): an answer the translation refused must not replay as a 502 forever.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localaik.errors import UpstreamBadResponse, UpstreamStatus
from localaik.wire import jsontext, sse

ERROR_BODY_LIMIT = 64 * 1024

# `Retry-After` as RFC 9110 spells it: seconds, or an HTTP date; anything else is dropped.
_RETRY_AFTER = re.compile(
    r"\d{1,9}|[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT", re.ASCII
)


def kept_headers(headers: Mapping[str, str], *, redact: Callable[[str], str]) -> dict[str, str]:
    """The upstream answer's headers that localaik acts on (lower-case names): a well-formed
    `retry-after`, and a redirect's `location` (redacted: only a message shows it)."""
    kept: dict[str, str] = {}
    retry_after = headers.get("retry-after", "").strip()
    if _RETRY_AFTER.fullmatch(retry_after):
        kept["retry-after"] = retry_after
    location = headers.get("location")
    if location:
        kept["location"] = redact(location)
    return kept


@dataclass(frozen=True)
class UpstreamCall:
    """A request for the upstream: an endpoint name (see `upstream.ENDPOINTS`) and a JSON body."""

    endpoint: str
    body: Any = None
    stream: bool = False

    @property
    def method(self) -> str:
        return "GET" if self.body is None else "POST"

    def describe(self) -> str:
        """JSON text of the call, as a cassette stores it (never any header)."""
        return jsontext.dumps({"method": self.method, "endpoint": self.endpoint, "body": self.body})


@dataclass(frozen=True)
class Hit:
    """A request answered from a recording: where from, the store's stamp at the lookup, and
    how to read the store's stamp now (`cassette.store.Stamp`)."""

    cassette: Path
    key: str
    ordinal: int
    stamp: Hashable
    current: Callable[[], Hashable]

    def fresh(self) -> bool:
        """Whether the cassette is unchanged since the lookup."""
        return self.current() == self.stamp


@dataclass
class Exchange:
    """An upstream answer: status, content type, and a body or a stream of raw SSE frames."""

    status: int
    content_type: str
    body: bytes = b""
    frames: AsyncIterator[bytes] | None = None
    source: str = "upstream"
    headers: dict[str, str] = field(default_factory=dict)  # `kept_headers` of a live answer
    hit: Hit | None = None  # set when the answer comes from a recording
    # The recording this answer is, or is being stored as ("<key>/<ordinal>"): what the ids
    # localaik makes for it derive from, so a replay gives the ids its recording gave.
    recording: str | None = None
    # A stream's upstream `usage`, when it is known before the stream is read (a recording's):
    # a family whose first event states the prompt's token count needs it at once.
    usage_ahead: Any = None
    on_close: list[Callable[[], None]] = field(default_factory=list)
    # Run once the answer reached the client whole, in its shape (the recorder stores it then).
    on_complete: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def being_recorded(self) -> bool:
        """A live answer the recorder will store: its replays must give the client what it
        gives now."""
        return self.recording is not None and self.hit is None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def raise_for_status(self) -> None:
        if self.status >= 400:
            raise UpstreamStatus(
                self.status,
                error_message(self.status, self.body),
                retry_after=self.headers.get("retry-after"),
            )
        if not self.ok:
            where = self.headers.get("location")
            raise UpstreamBadResponse(
                f"{self.source} answered HTTP {self.status}"
                + (f", a redirect to {where}" if where else "")
                + "; localaik does not follow upstream redirects: point LK_UPSTREAM at the "
                "server's final URL"
            )

    def json(self) -> Any:
        """The JSON answer; an error status or a body that is not JSON raises."""
        self.raise_for_status()
        try:
            return json.loads(self.body)
        except ValueError:
            raise UpstreamBadResponse(
                f"{self.source} answered with a body that is not JSON"
            ) from None

    async def require_stream(self) -> None:
        """Raise now, before a client sees a 200, unless this is a healthy event stream."""
        if not self.ok or self.frames is None:
            await self.aclose()
            self.raise_for_status()
            raise UpstreamBadResponse(
                f"{self.source} answered a stream request without an event stream"
            )

    async def events(self) -> AsyncGenerator[sse.Event, None]:
        """The stream's events. Iterate it inside `contextlib.aclosing`, then `aclose()`."""
        await self.require_stream()
        assert self.frames is not None
        async for raw in self.frames:
            event = sse.parse_frame(raw)
            if event is not None:
                yield event

    async def complete(self) -> None:
        """The answer reached the client whole, in the client's shape: run the completion
        callbacks (a live answer being recorded is stored now); once."""
        callbacks, self.on_complete = self.on_complete, []
        for callback in callbacks:
            await callback()

    async def aclose(self) -> None:
        """Release the upstream connection (or the replay) and run the close callbacks; once."""
        frames, self.frames = self.frames, None
        if frames is not None and hasattr(frames, "aclose"):
            await frames.aclose()
        callbacks, self.on_close = self.on_close, []
        for callback in callbacks:
            callback()


def error_message(status: int, body: bytes) -> str:
    """The message of an OpenAI-style (or any) error body."""
    body = body[:ERROR_BODY_LIMIT]
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        found = error.get("message") if isinstance(error, dict) else error
        if not isinstance(found, str):
            found = data.get("message")
        if isinstance(found, str):
            return found
    text = body.decode("utf-8", "replace").strip()
    return text[:500] if text else f"upstream error {status}"
