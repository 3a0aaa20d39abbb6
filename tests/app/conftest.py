"""App-test fixtures: localaik's ASGI app in-process, the fake llama-server behind it in-process.

`fake` is a fresh fake per test (inspect `fake.requests`, set `fake.health_status`).
`make_localaik(**settings)` builds the app with `Settings(log=False, upstream="http://fake/v1",
**settings)` and an httpx client whose transport is the fake; use it as
`async with make_localaik(...) as client:` (the lifespan runs inside). `localaik` is that client
with the default settings.

Litestar's `AsyncTestClient` runs one request at a time (its async transport calls the
blocking one), so gathered requests never overlap through it. Tests of concurrency use
`make_localaik(overlap=True)`: an `Overlapping` client, the app on the test's own event loop
behind `httpx.ASGITransport`, which counts the requests inside the app at once (`peak`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from localaik.config import Settings
from localaik.server.app import create_app
from tests.fakes import fake_llama_server_bin
from tests.fakes.fake_llama import FakeLlamaApp, make_app

FAKE_UPSTREAM = "http://fake/v1"


class _BrokenBody(httpx.AsyncByteStream):
    """The bytes that arrived, then the error httpx raises when a socket closes mid-body."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.body:
            yield self.body
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body"
        )


class FakeTransport(httpx.AsyncBaseTransport):
    """The fake over `httpx.ASGITransport`, with one fix for realism.

    When the fake raises after it started answering (`[[cut:N]]`), plain ASGITransport would
    raise the fake's own exception type out of `send()`, which no real connection does. Here the
    frames sent before the cut arrive and reading on raises `httpx.RemoteProtocolError`, which is
    what httpx raises when a real upstream drops the connection mid-stream.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = False
        failed = False

        async def app(scope: Any, receive: Any, send: Any) -> None:
            nonlocal started, failed

            async def watch(message: Any) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                await send(message)

            try:
                await self.app(scope, receive, watch)
            except Exception:
                failed = True
                raise

        inner = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        response = await inner.handle_async_request(request)
        if not failed:
            return response
        if not started:
            raise httpx.RemoteProtocolError("server disconnected without sending a response")
        body = b"".join([part async for part in response.stream])  # type: ignore[union-attr]
        headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-length"]
        return httpx.Response(response.status_code, headers=headers, stream=_BrokenBody(body))


class RaisingTransport(httpx.AsyncBaseTransport):
    """An upstream that fails at the connection level with `error` (unreachable, timeout…)."""

    def __init__(self, error: type[httpx.TransportError]) -> None:
        self.error = error
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        raise self.error("simulated", request=request)


class Overlapping(httpx.AsyncClient):
    """An httpx client that runs the app on the test's own event loop: gathered requests
    overlap inside the app. `peak` is the most requests that were inside it at once."""

    def __init__(self, app: Any) -> None:
        self.inside = 0
        self.peak = 0

        async def counted(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            self.inside += 1
            self.peak = max(self.peak, self.inside)
            try:
                await app(scope, receive, send)
            finally:
                self.inside -= 1

        super().__init__(transport=httpx.ASGITransport(app=counted), base_url="http://testserver")


class HeldBack:
    """The fake, answering chat requests only after `seconds` (non-stream answers too), so that
    overlapping requests wait for it together; `peak` is the most chat calls in it at once."""

    def __init__(self, app: Any, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.inside = 0
        self.peak = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        self.inside += 1
        self.peak = max(self.peak, self.inside)
        try:
            await asyncio.sleep(self.seconds)
            await self.app(scope, receive, send)
        finally:
            self.inside -= 1


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """The app's ASGI lifespan (startup before the block, shutdown after), on this loop."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.ensure_future(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


MakeLocalaik = Callable[..., contextlib.AbstractAsyncContextManager[AsyncTestClient[Any]]]


@pytest.fixture()
def fake() -> FakeLlamaApp:
    """A fresh in-process fake llama-server for this test."""
    return make_app()


@pytest.fixture()
def make_localaik(fake: FakeLlamaApp) -> MakeLocalaik:
    """`make_localaik(transport=None, overlap=False, **settings)` -> async context giving an
    AsyncTestClient (with `overlap`, an `Overlapping` client)."""

    @contextlib.asynccontextmanager
    async def factory(
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        overlap: bool = False,
        **overrides: Any,
    ) -> AsyncIterator[Any]:
        settings = Settings(
            **{"log": False, "upstream": FAKE_UPSTREAM, "mode": "passthrough", **overrides}
        )
        upstream_client = httpx.AsyncClient(
            transport=transport or FakeTransport(fake), base_url="http://fake"
        )
        app = create_app(settings, client=upstream_client)
        try:
            if overlap:
                async with lifespan(app), Overlapping(app) as overlapping:
                    yield overlapping
            else:
                async with AsyncTestClient(app=app) as client:
                    yield client
        finally:
            await upstream_client.aclose()

    return factory


@pytest.fixture()
async def localaik(make_localaik: MakeLocalaik) -> AsyncIterator[AsyncTestClient[Any]]:
    """localaik with default test settings in front of `fake`."""
    async with make_localaik() as client:
        yield client


@pytest.fixture()
def fake_bin(tmp_path: Path) -> Path:
    """The fake llama-server as an executable, for the supervision tests."""
    return fake_llama_server_bin.executable(tmp_path)


@pytest.fixture()
def argv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the fake executable notes the arguments of each start."""
    path = tmp_path / "argv.jsonl"
    monkeypatch.setenv("FAKE_LLAMA_ARGV_FILE", str(path))
    return path
