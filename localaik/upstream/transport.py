"""How the upstream is spoken to over HTTP: the `Transport` seam, and its implementations.

`Upstream` (`upstream/client.py`) asks a transport to send one request and gets back a `Reply`:
its status, its headers (case-insensitive) and its body as chunks, read as they arrive. A
transport only moves bytes; what an answer means, its size caps and which of its errors the
client sees stay in `client.py`, whose `boundary` is the one place a transport's exceptions
become localaik's.

- `ServerTransport` is the server's own. It sends to a plain `http://` upstream reached
  straight (the bundled llama-server, a local vLLM: the live path's usual case) with
  `direct.DirectTransport`, HTTP/1.1 on asyncio and httptools, and anything else (https, a
  proxy, credentials in the URL) with `AiohttpTransport`. `bench/upstream_clients.py` measures
  the clients: on one keep-alive connection aiohttp takes about a fifth of httpx's time, and
  the direct client about a fifth of aiohttp's.
- `HttpxTransport` wraps an `httpx.AsyncClient` that the caller gives `create_app` (the app
  tests give one whose transport is the fake llama-server in-process).

All: HTTP/1.1 keep-alive, redirects never followed, no cookies kept between requests, the
operator's proxy from the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), answers decompressed
as sent. aiohttp's own `trust_env` is off: it reads ~/.netrc and the proxy variables again on
a worker thread for every request, which cost more than the request itself; the proxy is
looked up once per host here instead, and no .netrc credential is ever sent.
"""

from __future__ import annotations

import functools
import urllib.request
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import httpx

from localaik.upstream.direct import (
    CONNECT_TIMEOUT,
    KEEPALIVE_SECONDS,
    MAX_CONNECTIONS,
    DirectTransport,
)
from localaik.wire.jsontext import compact_encoder

_no_nan_compact = compact_encoder(allow_nan=False)


def json_body(value: Any) -> bytes:
    """A JSON request body: compact, UTF-8 as is, no NaN (what httpx's `json=` sends)."""
    return _no_nan_compact(value).encode()


class Reply(Protocol):
    """An upstream's answer, its body not read yet."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...  # case-insensitive

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def close(self) -> None: ...  # the connection is kept only when the body was read


class Transport(Protocol):
    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: float | None = None,
    ) -> Reply:
        """Send one request (`headers` as given: the caller names the body's type); return
        once the answer's headers are in. `timeout`: the whole
        exchange's limit (quick questions such as /health); None: `CONNECT_TIMEOUT` to connect,
        then the configured read timeout between two reads."""
        ...

    async def aclose(self) -> None: ...


class _AiohttpReply:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    async def chunks(self) -> AsyncIterator[bytes]:
        content = self._response.content
        while True:
            try:
                chunk = await content.readany()
            except aiohttp.ClientPayloadError:
                # A connection cut after some frames: aiohttp raises before handing over what
                # it had already read (aio-libs/aiohttp#3026), so the frames that arrived with
                # the cut would be lost. They are the client's: pass them on, then the error.
                left = _buffered(content)
                if left:
                    yield left
                raise
            if not chunk:
                return
            yield chunk

    async def close(self) -> None:
        if self._response.content.at_eof():
            self._response.release()
        else:  # a body left unread (capped, or its client went away): drop the connection
            self._response.close()


def _buffered(content: aiohttp.StreamReader) -> bytes:
    """What a failed stream still holds (`read_nowait` raises the stored error instead)."""
    try:
        return content._read_nowait(-1)
    except Exception:  # a later aiohttp without the method: the frames are lost as before
        return b""


class AiohttpTransport:
    """aiohttp, one session and pool for the server's life. Made inside the running loop."""

    def __init__(self, read_timeout: float) -> None:
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=CONNECT_TIMEOUT, sock_read=read_timeout
        )
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS
            ),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=self._timeout,
            trust_env=False,
            raise_for_status=False,
        )

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: float | None = None,
    ) -> Reply:
        limit = self._timeout if timeout is None else aiohttp.ClientTimeout(total=timeout)
        response = await self._session.request(
            method,
            url,
            data=body,
            headers=dict(headers),
            allow_redirects=False,
            timeout=limit,
            proxy=proxy_for(url),
        )
        return _AiohttpReply(response)

    async def aclose(self) -> None:
        await self._session.close()


@functools.lru_cache(maxsize=64)
def _proxy_for(scheme: str, netloc: str, host: str) -> str | None:
    if urllib.request.proxy_bypass(host):  # NO_PROXY
        return None
    return urllib.request.getproxies().get(scheme)


def proxy_for(url: str) -> str | None:
    """The operator's proxy for `url` from the environment, looked up once per host."""
    parts = urlsplit(url)
    return _proxy_for(parts.scheme, parts.netloc, parts.hostname or "")


@functools.lru_cache(maxsize=64)
def goes_direct(url: str) -> bool:
    """Whether `DirectTransport` sends to `url`: plain http, no credentials, no proxy."""
    parts = urlsplit(url)
    return parts.scheme == "http" and "@" not in parts.netloc and proxy_for(url) is None


class ServerTransport:
    """The server's: `DirectTransport` where `goes_direct`, else aiohttp (made when first
    needed, inside the running loop)."""

    def __init__(self, read_timeout: float) -> None:
        self._read_timeout = read_timeout
        self._direct = DirectTransport(read_timeout)
        self._aiohttp: AiohttpTransport | None = None

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: float | None = None,
    ) -> Reply:
        if goes_direct(url):
            return await self._direct.send(method, url, headers=headers, body=body, timeout=timeout)
        if self._aiohttp is None:
            self._aiohttp = AiohttpTransport(self._read_timeout)
        return await self._aiohttp.send(method, url, headers=headers, body=body, timeout=timeout)

    async def aclose(self) -> None:
        await self._direct.aclose()
        if self._aiohttp is not None:
            await self._aiohttp.aclose()


class _HttpxReply:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.aiter_bytes():
            yield chunk

    async def close(self) -> None:
        await self._response.aclose()


class HttpxTransport:
    """A caller's `httpx.AsyncClient`; the caller closes it."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: float | None = None,
    ) -> Reply:
        request = self.client.build_request(
            method,
            url,
            content=body,
            headers=dict(headers),
            timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
        )
        response = await self.client.send(request, stream=True, follow_redirects=False)
        return _HttpxReply(response)

    async def aclose(self) -> None:
        pass
