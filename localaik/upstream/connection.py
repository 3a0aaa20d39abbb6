"""One HTTP/1.1 connection to the upstream (`direct.DirectTransport` pools them): it writes
a request in one `write` and reads the answer with httptools (llhttp, the parser uvicorn serves
with), as asyncio hands it the bytes.

- A body ends by its Content-Length, its last chunk, or the upstream closing (`feed_eof`).
- `Accept-Encoding: identity` is asked; a gzip or deflate answer is decompressed all the same.
- Reading pauses while `PAUSE_BYTES` wait for the reader; what arrived before a cut is read
  first, then the error.
- Failures are named as httpx names them (`ConnectError`, `RemoteProtocolError`, `ReadError`):
  `client.py`'s boundary turns them into localaik's errors.
- The connection may be kept only when its answer was read to the end and the upstream did not
  ask to close it (`reusable`).
"""

from __future__ import annotations

import asyncio
import functools
import socket
import zlib
from collections import deque
from collections.abc import Iterator, Mapping
from typing import cast
from urllib.parse import quote, urlsplit

import httptools

MAX_HEAD_BYTES = 64 * 1024  # an answer's status line and headers
PAUSE_BYTES = 256 * 1024  # read on once the reader has taken all but a quarter of them


class TransportError(Exception):
    """A failure of the connection or of the answer's HTTP, named as httpx names it."""


class ConnectError(TransportError):
    pass


class RemoteProtocolError(TransportError):
    pass


class ReadError(TransportError):
    pass


class LocalProtocolError(TransportError):
    pass


class Headers(Mapping[str, str]):
    """An answer's headers, looked up by any case (the first of repeated ones)."""

    def __init__(self, items: dict[str, str]) -> None:
        self._items = items  # lower-case names

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@functools.lru_cache(maxsize=64)
def target(url: str) -> tuple[tuple[str, int], bytes]:
    """(host, port) and the request line's target with the Host header, for a plain URL."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 80
    shown = f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")
    authority = shown if port == 80 else f"{shown}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    target = quote(target, safe=_URL_SAFE)  # a non-ASCII path as UTF-8, the rest as given
    return (host, port), f"{target} HTTP/1.1\r\nHost: {authority}\r\n".encode("ascii")


_URL_SAFE = "/?&=%:@!$'()*+,;[]~-._"


def request_bytes(method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> bytes:
    """The whole request as it goes on the wire, refused before anything is sent when a header
    could split it (a line break, or a colon in a name)."""
    lines = [f"{method} ".encode("ascii"), target(url)[1], _FIXED]
    for name, value in headers.items():
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value or ":" in name:
            raise LocalProtocolError(f"not a header line: {name!r} (a line break or a colon)")
        try:
            lines.append(f"{name}: {value}\r\n".encode("latin-1"))
        except UnicodeEncodeError:
            raise LocalProtocolError(f"a header must be Latin-1 text: {name!r}") from None
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(b"Content-Length: %d\r\n" % (len(body) if body is not None else 0))
    lines.append(b"\r\n")
    if body:
        lines.append(body)
    return b"".join(lines)


_FIXED = b"User-Agent: localaik\r\nAccept-Encoding: identity\r\n"


class Connection(asyncio.Protocol):
    """One keep-alive connection and the answer it is reading."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.idle_since = 0.0
        self.lost = False
        self._waiter: asyncio.Future[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: dict[str, str] = {}
        self.head_done = self.complete = self.started = self.reusable = False
        self.error: TransportError | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = self._head_bytes = 0
        self._paused = False
        self._until_close = False
        self._inflate: zlib._Decompress | None = None

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if self.complete or not self.started:  # nothing was asked: the connection is spoilt
            self._fail(RemoteProtocolError("the upstream sent data nobody asked for"))
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(RemoteProtocolError(f"the upstream's answer is not HTTP: {exc}"))
        if self._head_bytes > MAX_HEAD_BYTES:
            self._fail(RemoteProtocolError(f"the answer's headers exceed {MAX_HEAD_BYTES} bytes"))

    def eof_received(self) -> bool:
        self.feed_eof()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if exc is not None and not self.complete:
            self._fail(ReadError(str(exc) or type(exc).__name__))
        self.feed_eof()

    def feed_eof(self) -> None:
        """The upstream closed: the end of a body read until close, else a cut answer."""
        self.reusable = False
        if not self.started or self.complete or self.error is not None:
            self._wake()
            return
        if self._until_close:
            self._end()
        elif self.head_done:
            self._fail(RemoteProtocolError("peer closed connection without sending complete body"))
        else:
            self._fail(RemoteProtocolError("server disconnected without sending a response"))

    # -- httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value)
        if self._head_bytes <= MAX_HEAD_BYTES:
            self.headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if 100 <= self.status < 200:  # an interim answer: the real one follows
            self.headers = {}
            return
        self.head_done = True
        self._until_close = (
            "content-length" not in self.headers
            and "chunked" not in self.headers.get("transfer-encoding", "").lower()
            and self.status not in (204, 304)
        )
        coding = self.headers.get("content-encoding", "identity").strip().lower()
        if coding in ("gzip", "x-gzip", "deflate"):
            self._inflate = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)
        elif coding != "identity":
            self._fail(RemoteProtocolError(f"unsupported content encoding {coding!r}"))
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self._inflate is not None:
            try:
                body = self._inflate.decompress(body)
            except zlib.error as exc:
                self._fail(RemoteProtocolError(f"the answer does not decompress: {exc}"))
                return
        if body:
            self._chunks.append(body)
            self._buffered += len(body)
            if self._buffered > PAUSE_BYTES and not self._paused and self.transport is not None:
                self._paused = True
                self.transport.pause_reading()
            self._wake()

    def on_message_complete(self) -> None:
        if self.head_done:
            self.reusable = self.parser.should_keep_alive()
            self._end()

    # -- the exchange, as `DirectTransport` drives it

    def start(self, request: bytes) -> None:
        self._reset()
        self.started = True
        assert self.transport is not None
        self.transport.write(request)

    async def head(self, timeout: float | None, deadline: float | None) -> None:
        while not self.head_done:
            if self.error is not None:
                raise self.error
            await self._wait(timeout, deadline)

    async def read(self, timeout: float | None, deadline: float | None) -> bytes:
        """What arrived since the last read (b"" at the end); an error once all was read."""
        while True:
            if self._chunks:
                chunk = self._chunks.popleft() if len(self._chunks) == 1 else self._take_all()
                self._buffered -= len(chunk)
                if self._paused and self._buffered <= PAUSE_BYTES // 4 and not self.lost:
                    self._paused = False
                    assert self.transport is not None
                    self.transport.resume_reading()
                return chunk
            if self.error is not None:
                raise self.error
            if self.complete:
                return b""
            await self._wait(timeout, deadline)

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()

    def _take_all(self) -> bytes:
        chunk = b"".join(self._chunks)
        self._chunks.clear()
        return chunk

    def _end(self) -> None:
        if self._inflate is not None:
            tail = self._inflate.flush()
            if tail:
                self._chunks.append(tail)
            self._inflate = None
        self.complete = True
        self._wake()

    def _fail(self, error: TransportError) -> None:
        if self.error is None:
            self.error = error
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self, timeout: float | None, deadline: float | None) -> None:
        waiter = self._waiter = self.loop.create_future()
        when = self.loop.time() + timeout if timeout is not None else None
        if deadline is not None:
            when = deadline if when is None else min(when, deadline)
        timer = None if when is None else self.loop.call_at(when, _time_out, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()


def _time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("the upstream did not answer in time"))
