"""The OpenAI-compatible upstream (llama-server), reached through one httpx client.

This is the one boundary where httpx errors become localaik errors:

    connect error, reset before an answer   -> UpstreamUnreachable (502)
    no data within LK_UPSTREAM_TIMEOUT        -> UpstreamTimeout (504)
    an error status from the upstream         -> UpstreamStatus (that status, its message)
    a body that is not the promised JSON/SSE  -> UpstreamBadResponse (502)

Client API keys never reach this module: each request to the upstream is built fresh from the
translated body, with only the operator's own `LK_UPSTREAM_AUTH_HEADER`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from localaik import sse
from localaik.config import Settings, redact_url
from localaik.errors import (
    UpstreamBadResponse,
    UpstreamError,
    UpstreamStatus,
    UpstreamTimeout,
    UpstreamUnreachable,
)

ERROR_BODY_LIMIT = 64 * 1024

# Endpoint name -> (path, relative to the base URL or to the server root).
ENDPOINTS = {
    "chat": ("/chat/completions", "base"),
    "completions": ("/completions", "base"),
    "models": ("/models", "base"),
    "embeddings": ("/embeddings", "base"),
    "tokenize": ("/tokenize", "root"),
    "health": ("/health", "root"),
}


def make_client(settings: Settings) -> httpx.AsyncClient:
    timeout = httpx.Timeout(settings.upstream_timeout, connect=10.0)
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False,
                             limits=httpx.Limits(max_connections=64,
                                                 max_keepalive_connections=16))


@contextlib.contextmanager
def _boundary(shown: str) -> Iterator[None]:
    try:
        yield
    except UpstreamError:
        raise
    except httpx.TimeoutException:
        raise UpstreamTimeout(f"upstream {shown} did not answer in time") from None
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError,
            httpx.WriteError) as exc:
        raise UpstreamUnreachable(f"failed to reach upstream {shown}: "
                                  f"{type(exc).__name__}") from None
    except httpx.HTTPError as exc:
        raise UpstreamUnreachable(f"failed to reach upstream {shown}: "
                                  f"{type(exc).__name__}") from None


def _error_message(status: int, body: bytes, reason: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        if isinstance(error, str):
            return error
        if isinstance(data.get("message"), str):
            return data["message"]
    text = body.decode("utf-8", "replace").strip()
    return text[:500] if text else (reason or f"upstream error {status}")


class Stream:
    """An open upstream event stream; iterate `events()` once, then it is closed."""

    def __init__(self, response: httpx.Response, shown: str) -> None:
        self.response = response
        self.shown = shown

    async def events(self) -> AsyncIterator[sse.Event]:
        try:
            with _boundary(self.shown):
                async for event in sse.parse(self.response.aiter_bytes()):
                    yield event
        except UpstreamUnreachable:
            raise UpstreamBadResponse(f"upstream {self.shown} ended the stream early") from None
        finally:
            await self.response.aclose()

    async def aclose(self) -> None:
        await self.response.aclose()


class Upstream:
    """URLs and calls of one upstream server."""

    def __init__(self, base_url: str, client: httpx.AsyncClient, *,
                 auth_header: tuple[str, str] | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.root = self.base.removesuffix("/v1")
        self.client = client
        self.shown = redact_url(self.base)
        # The operator's credential for the upstream; redirects are never followed, so it
        # cannot travel to another host.
        self.headers = dict([auth_header]) if auth_header else {}

    def url(self, endpoint: str) -> str:
        path, anchor = ENDPOINTS[endpoint]
        return (self.base if anchor == "base" else self.root) + path

    async def call(self, endpoint: str, body: Any = None) -> Any:
        """One request and its JSON answer (GET without a body, POST with one)."""
        method = "GET" if body is None else "POST"
        with _boundary(self.shown):
            response = await self.client.request(method, self.url(endpoint), json=body,
                                                 headers=self.headers, follow_redirects=False)
            content = response.content
        if response.status_code >= 400:
            raise UpstreamStatus(response.status_code,
                                 _error_message(response.status_code, content[:ERROR_BODY_LIMIT],
                                                response.reason_phrase))
        try:
            return json.loads(content)
        except ValueError:
            raise UpstreamBadResponse(f"upstream {self.shown} answered with a body that is not "
                                      "JSON") from None

    async def stream(self, endpoint: str, body: Any) -> Stream:
        """Open an event stream; error statuses raise here, before any byte reaches the client."""
        request = self.client.build_request("POST", self.url(endpoint), json=body,
                                            headers={**self.headers,
                                                     "Accept": "text/event-stream"})
        with _boundary(self.shown):
            response = await self.client.send(request, stream=True)
            if response.status_code >= 400:
                try:
                    content = await _read_capped(response)
                finally:
                    await response.aclose()
                raise UpstreamStatus(response.status_code,
                                     _error_message(response.status_code, content,
                                                    response.reason_phrase))
        if "text/event-stream" not in response.headers.get("content-type", ""):
            await response.aclose()
            raise UpstreamBadResponse(f"upstream {self.shown} answered a stream request without "
                                      "an event stream")
        return Stream(response, self.shown)

    async def healthy(self) -> bool:
        try:
            with _boundary(self.shown):
                response = await self.client.get(self.url("health"), headers=self.headers,
                                                 timeout=5.0, follow_redirects=False)
        except UpstreamError:
            return False
        return response.status_code == 200


async def _read_capped(response: httpx.Response) -> bytes:
    content = b""
    async for chunk in response.aiter_bytes():
        content += chunk
        if len(content) >= ERROR_BODY_LIMIT:
            break
    return content[:ERROR_BODY_LIMIT]
