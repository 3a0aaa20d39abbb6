"""The OpenAI-compatible upstream (llama-server), reached through one `Transport`
(`upstream/transport.py`: the direct client or aiohttp in the server, a given httpx client in
the app tests).

This is the one boundary where the HTTP client's errors become localaik errors:

    connect error, reset before an answer   -> UpstreamUnreachable (502)
    no data within LK_UPSTREAM_TIMEOUT        -> UpstreamTimeout (504)
    a stream cut before its end               -> UpstreamBadResponse (502)
    an answer over LK_UPSTREAM_MAX_BYTES      -> UpstreamBadResponse (502), the rest unread

Every answer is bounded: a body or a whole stream by LK_UPSTREAM_MAX_BYTES (so one event of a
stream too), an error body by the first 64 KiB, which is all its message needs. When the client
goes away, the server cancels the request (`server/app.py`), and the upstream connection is
closed with it.

Answers come back as an `Exchange` whatever their status: error statuses and bodies that are
not JSON are judged there, once for live and replayed answers.

A request with images for an upstream whose model cannot see them is refused here with a 400
that names the settings that give it vision, not llama-server's bare 500: llama-server says in
`/props` whether it has a vision projector (asked once), and its 500 "image input is not
supported" is recognised for servers that do not say.

Client API keys never reach this module: each request to the upstream is built fresh from the
translated body, with only the operator's own `LK_UPSTREAM_AUTH_HEADER`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import aiohttp
import httpx

from localaik.config import Settings, redact_url
from localaik.errors import (
    Unsupported,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from localaik.upstream.connection import TransportError
from localaik.upstream.exchange import ERROR_BODY_LIMIT, Exchange, UpstreamCall, kept_headers
from localaik.upstream.transport import (
    HttpxTransport,
    Reply,
    ServerTransport,
    Transport,
    json_body,
)
from localaik.wire import sse

# Endpoint name -> (path, relative to the base URL or to the server root).
ENDPOINTS = {
    "chat": ("/chat/completions", "base"),
    "completions": ("/completions", "base"),
    "models": ("/models", "base"),
    "embeddings": ("/embeddings", "base"),
    "tokenize": ("/tokenize", "root"),
    "health": ("/health", "root"),
    "props": ("/props", "root"),
}

NO_VISION = (
    "the upstream model cannot read images (it has no vision projector). For the "
    "bundled runtime, set LK_MODEL to a vision model and LK_MMPROJ to its projector "
    "(.gguf); or set LK_UPSTREAM to a server whose model reads images"
)
NO_VISION_MARK = b"image input is not supported"
DEFAULT_MAX_BYTES = 64 * 1024**2  # LK_UPSTREAM_MAX_BYTES's default
QUESTION_LIMIT = 4 * 1024**2  # /props and /health: a chat template can be long


def make_transport(settings: Settings, client: httpx.AsyncClient | None = None) -> Transport:
    """The server's transport (`ServerTransport`), or one over the httpx `client` a caller
    gives."""
    if client is not None:
        return HttpxTransport(client)
    return ServerTransport(settings.upstream_timeout)


@contextlib.contextmanager
def _boundary(shown: str) -> Iterator[None]:
    try:
        yield
    except UpstreamError:
        raise
    # aiohttp's read timeout is both a TimeoutError and a ClientError: a timeout first.
    except (httpx.TimeoutException, TimeoutError):
        raise UpstreamTimeout(f"upstream {shown} did not answer in time") from None
    # Connect, reset, protocol errors: the upstream is not there.
    except (httpx.HTTPError, aiohttp.ClientError, TransportError) as exc:
        raise UpstreamUnreachable(f"failed to reach upstream {shown}: {_error_name(exc)}") from None


# aiohttp's names for what httpx calls these; a message names the error as httpx did.
_AIOHTTP_NAMES = {
    "ClientConnectorError": "ConnectError",
    "ClientConnectorDNSError": "ConnectError",
    "ServerDisconnectedError": "RemoteProtocolError",
    "ClientPayloadError": "RemoteProtocolError",
    "ClientOSError": "ReadError",
}


def _error_name(exc: Exception) -> str:
    name = type(exc).__name__
    return _AIOHTTP_NAMES.get(name, name)


class Upstream:
    """URLs and calls of one upstream server."""

    def __init__(
        self,
        base_url: str,
        transport: Transport,
        *,
        auth_header: tuple[str, str] | None = None,
        gate: Callable[[], Awaitable[None]] | None = None,
        embeddings: Upstream | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.root = self.base.removesuffix("/v1")
        self.transport = transport
        self.shown = redact_url(self.base)
        # The operator's credential for the upstream; redirects are never followed, so it
        # cannot travel to another host.
        self.headers = dict([auth_header]) if auth_header else {}
        # Waits until a bundled llama-server is ready (or raises when it cannot be).
        self.gate = gate
        self._vision: bool | None = None
        self._vision_asked = False
        # Where `embeddings` calls go when another server answers them (the bundled runtime's
        # embeddings llama-server); None: this one.
        self.embeddings = embeddings
        self.max_bytes = max_bytes

    def for_call(self, call: UpstreamCall) -> Upstream:
        """The upstream that answers `call`."""
        if call.endpoint == "embeddings" and self.embeddings is not None:
            return self.embeddings
        return self

    def url(self, endpoint: str) -> str:
        path, anchor = ENDPOINTS[endpoint]
        return (self.base if anchor == "base" else self.root) + path

    async def send(self, call: UpstreamCall) -> Exchange:
        """Send one call; the answer comes back whatever its status (see `Exchange`)."""
        if self.for_call(call) is not self:
            return await self.for_call(call).send(call)
        if self.gate is not None:
            await self.gate()
        images = call.endpoint == "chat" and has_images(call.body)
        if images and await self.vision() is False:
            raise Unsupported(NO_VISION)
        headers = dict(self.headers)
        if call.stream:
            headers["Accept"] = "text/event-stream"
        sent = None if call.body is None else json_body(call.body)
        if sent is not None:
            headers["Content-Type"] = "application/json"
        with _boundary(self.shown):
            response = await self.transport.send(
                call.method, self.url(call.endpoint), headers=headers, body=sent
            )
            status = response.status
            content_type = response.headers.get("content-type", "")
            headers = kept_headers(response.headers, redact=redact_url)
            ok = 200 <= status < 300
            if not (call.stream and ok and "text/event-stream" in content_type):
                try:
                    if ok:
                        body = await _read(response, self.max_bytes, cut=False)
                    else:  # an error's message is in its first bytes
                        body = await _read(response, ERROR_BODY_LIMIT, cut=True)
                finally:
                    await response.close()
                if body is None:
                    raise UpstreamBadResponse(self._too_long("an answer"))
                if images and status == 500 and NO_VISION_MARK in body:
                    raise Unsupported(NO_VISION)
                return Exchange(status, content_type, body, source=self.shown, headers=headers)
        return Exchange(
            status, content_type, frames=self._frames(response), source=self.shown, headers=headers
        )

    async def _frames(self, response: Reply) -> AsyncIterator[bytes]:
        splitter = sse.FrameSplitter()
        total = 0
        try:
            with _boundary(self.shown):
                async for chunk in response.chunks():
                    total += len(chunk)
                    if total > self.max_bytes:
                        raise UpstreamBadResponse(self._too_long("a stream"))
                    for frame in splitter.feed(chunk):
                        yield frame
            tail = splitter.close()
            if tail is not None:
                yield tail
        except UpstreamUnreachable:
            raise UpstreamBadResponse(f"upstream {self.shown} ended the stream early") from None
        finally:
            await response.close()

    def _too_long(self, what: str) -> str:
        return (
            f"upstream {self.shown} sent {what} longer than LK_UPSTREAM_MAX_BYTES "
            f"({self.max_bytes} bytes); it was not read further, nor recorded"
        )

    async def vision(self) -> bool | None:
        """Whether the upstream's model reads images, as its `/props` says; None if unsaid."""
        if not self._vision_asked:
            try:
                status, body = await self._ask("props")
            except UpstreamError:
                return None  # not reachable now: the call itself will say so; ask again later
            self._vision_asked = True
            try:
                modalities = json.loads(body).get("modalities") if status == 200 else None
            except (ValueError, AttributeError):
                modalities = None
            if isinstance(modalities, dict) and isinstance(modalities.get("vision"), bool):
                self._vision = modalities["vision"]
        return self._vision

    async def healthy(self) -> bool:
        try:
            status, _ = await self._ask("health")
        except UpstreamError:
            return False
        return status == 200

    async def _ask(self, endpoint: str) -> tuple[int, bytes]:
        """A quick GET (5 s at most): its status and first `QUESTION_LIMIT` bytes."""
        with _boundary(self.shown):
            response = await self.transport.send(
                "GET", self.url(endpoint), headers=self.headers, body=None, timeout=5.0
            )
            try:
                body = await _read(response, QUESTION_LIMIT, cut=True)
            finally:
                await response.close()
        return response.status, body or b""


def has_images(body: object) -> bool:
    """Whether a chat completions body holds an image part."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return False
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(
            isinstance(part, dict) and part.get("type") == "image_url" for part in content
        ):
            return True
    return False


async def _read(response: Reply, limit: int, *, cut: bool) -> bytes | None:
    """The body; when it is longer than `limit` bytes, its first `limit` bytes (`cut`) or None,
    the rest left unread."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.chunks():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit] if cut else None
    return b"".join(chunks)
