"""Server-sent events: parsing what the upstream sends, framing what each client accepts.

Upstream parsing follows the SSE spec (CR, LF or CRLF line ends; `data:` lines joined with a
newline; comments and unknown fields skipped; a last event without its blank line still counts).
Client framing is what each SDK was measured to accept (reference/wire.md): Gemini wants exactly
`data: <one-line JSON>` and a blank line per event, nothing else; OpenAI chat ends with
`data: [DONE]`; Anthropic and the Responses API name every event (`event: message_start`
before its `data:` line), and the Responses API has no `[DONE]`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from localaik.wire.jsontext import dumps


@dataclass(frozen=True)
class Event:
    """One upstream event: its `data` (lines joined) and `event` name, if any."""

    data: str
    event: str | None = None


def gemini_frame(value: Any) -> bytes:
    return b"data: " + dumps(value).encode() + b"\r\n\r\n"


def openai_frame(value: Any) -> bytes:
    return b"data: " + dumps(value).encode() + b"\n\n"


OPENAI_DONE = b"data: [DONE]\n\n"


def anthropic_frame(event: str, value: Any) -> bytes:
    """`event: <name>`, `data: <one-line JSON>`, a blank line: what the Anthropic SDKs parse."""
    return b"event: " + event.encode() + b"\ndata: " + dumps(value).encode() + b"\n\n"


def responses_frame(event: dict[str, Any]) -> bytes:
    """An OpenAI Responses API event: framed as Anthropic's, named by its `type`."""
    return anthropic_frame(str(event["type"]), event)


class EventParser:
    """Incremental SSE parser: feed bytes, get complete events."""

    def __init__(self) -> None:
        self._buffer = ""
        self._data: list[str] = []
        self._event: str | None = None
        self._decoder = _utf8()

    def feed(self, chunk: bytes) -> list[Event]:
        self._buffer += self._decoder.decode(chunk)
        events: list[Event] = []
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                return events
            start, end = cut
            line, self._buffer = self._buffer[:start], self._buffer[end:]
            event = self._line(line)
            if event is not None:
                events.append(event)

    def close(self) -> list[Event]:
        """Flush a last event that the stream ended without a blank line after. What is left
        is cut at every line end: a CR held back as half a CRLF ends its line, even when the
        decoder's last flush put a replacement character after it."""
        tail = self._buffer + self._decoder.decode(b"", final=True)
        self._buffer = ""
        lines = [*_LINE_ENDS.split(tail), ""]  # and a blank line, which ends the last event
        return [event for line in lines if (event := self._line(line)) is not None]

    def _line(self, line: str) -> Event | None:
        if not line:
            if not self._data:
                self._event = None
                return None
            event = Event("\n".join(self._data), self._event)
            self._data, self._event = [], None
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None


def _utf8() -> Any:
    import codecs

    return codecs.getincrementaldecoder("utf-8")(errors="replace")


def _line_end(buffer: str) -> tuple[int, int] | None:
    """Position of the first line end (CRLF, LF or CR); a CR at the very end may be half a CRLF."""
    lf = buffer.find("\n")
    cr = buffer.find("\r")
    if cr == -1 and lf == -1:
        return None
    if cr == -1 or (lf != -1 and lf < cr):
        return lf, lf + 1
    if cr + 1 < len(buffer):
        return (cr, cr + 2) if buffer[cr + 1] == "\n" else (cr, cr + 1)
    return None


class FrameSplitter:
    """Cuts a byte stream into raw frames, one SSE event each, exactly as the bytes arrived.

    A frame runs up to and including the blank line that ends its event, so the frames of a
    stream joined together are the stream, byte for byte: that is what a cassette stores.
    Blank lines before an event belong to the frame of that event. The last event of a stream
    that ends without its blank line is what `close` returns.

    Each byte is searched once, whatever the chunks: a line that never ends costs time in
    proportion to its length, not to its square (the caller caps the total).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scan = 0  # where the line being read starts
        self._searched = 0  # no line end before this position (past the line's start)
        self._has_content = False

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buffer += chunk
        frames: list[bytes] = []
        while True:
            cut = _byte_line_end(self._buffer, max(self._scan, self._searched))
            if cut is None:
                # A CR at the very end may be half a CRLF: it is searched again.
                self._searched = max(self._scan, len(self._buffer) - 1)
                return frames
            start, end = cut
            if start == self._scan and self._has_content:
                frames.append(bytes(self._buffer[:end]))
                del self._buffer[:end]
                self._scan, self._searched, self._has_content = 0, 0, False
                continue
            if start > self._scan:
                self._has_content = True
            self._scan = end

    def close(self) -> bytes | None:
        """What is left when the stream ends: an event without its final blank line, if any."""
        tail = bytes(self._buffer)
        self._buffer, self._scan, self._searched, self._has_content = bytearray(), 0, 0, False
        return tail or None


def _byte_line_end(buffer: bytes | bytearray, start: int) -> tuple[int, int] | None:
    lf = buffer.find(b"\n", start)
    cr = buffer.find(b"\r", start, len(buffer) if lf == -1 else lf)  # only a CR before the LF
    if cr == -1 and lf == -1:
        return None
    if cr == -1 or (lf != -1 and lf < cr):
        return lf, lf + 1
    if cr + 1 < len(buffer):
        return (cr, cr + 2) if buffer[cr + 1 : cr + 2] == b"\n" else (cr, cr + 1)
    return None


_LINE_ENDS = re.compile(r"\r\n|\r|\n")
_PARSED_SIZE = 64 * 1024  # frames larger than this are parsed each time, never kept


def parse_frame(raw: bytes) -> Event | None:
    """The first event in one raw frame (None for a frame of comments only), as `EventParser`
    reads it; the last few frames parsed are kept, since the same frame is read again by each
    step of a recording (its check, its draft, its secret scan)."""
    return _parse_frame(raw) if len(raw) > _PARSED_SIZE else _parse_kept(raw)


def _parse_frame(raw: bytes) -> Event | None:
    # A frame is whole: decoded at once, its lines are what `feed` would cut one by one.
    parser = EventParser()
    for line in _LINE_ENDS.split(raw.decode("utf-8", errors="replace")):
        event = parser._line(line)
        if event is not None:
            return event
    return parser._line("")


# A recorded stream's frame is parsed by up to four readers in a row.
_parse_kept = functools.lru_cache(maxsize=64)(_parse_frame)


async def parse(chunks: AsyncIterator[bytes]) -> AsyncIterator[Event]:
    parser = EventParser()
    async for chunk in chunks:
        for event in parser.feed(chunk):
            yield event
    for event in parser.close():
        yield event
