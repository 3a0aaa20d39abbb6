"""Inspector fixtures: `localaik serve`'s app with the inspector mounted, over the fake.

`make_served(cassette, mode)` gives an async context with an httpx client on the app (the API and
`/_localaik/` alike), its lifespan run on the test's loop. `recorded_cassette` records a few
answers of every family (a stream among them, a prompt holding `<script>`, an image) into a
cassette of its own, so the pages have something to show.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from localaik.config import Settings
from localaik.inspector.mount import WithInspector
from localaik.server.app import create_app
from tests.app.conftest import FAKE_UPSTREAM, FakeTransport, lifespan
from tests.fakes.fake_llama import FakeLlamaApp, make_app

# A 1x1 PNG: the thumbnail a Gemini request's inline image becomes.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
SCRIPT = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"
GEMINI = "/v1beta/models/gemini-2.0-flash"
ANTHROPIC = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
REQUESTS: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    (
        f"{GEMINI}:generateContent",
        {
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [
                {
                    "parts": [
                        {"text": "What is in this picture?"},
                        {
                            "inlineData": {
                                "mimeType": "image/png",
                                "data": base64.b64encode(PNG).decode(),
                            }
                        },
                    ]
                }
            ],
        },
        {},
    ),
    (
        "/v1/chat/completions",
        {
            "model": "m",
            "stream": True,
            "messages": [{"role": "user", "content": "[[slow:20]] count to five"}],
        },
        {},
    ),
    ("/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": SCRIPT}]}, {}),
    (
        "/v1/messages",
        {
            "model": "claude-haiku-4-5",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "weather in Paris?"}],
            "tools": [{"name": "w", "input_schema": {"type": "object"}}],
        },
        ANTHROPIC,
    ),
]

MakeServed = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture()
def fake() -> FakeLlamaApp:
    return make_app()


@pytest.fixture()
def make_served(fake: FakeLlamaApp) -> MakeServed:
    @contextlib.asynccontextmanager
    async def factory(cassette: Path, mode: str) -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings(log=False, upstream=FAKE_UPSTREAM, mode=mode, cassette=cassette)
        upstream = httpx.AsyncClient(transport=FakeTransport(fake), base_url="http://fake")
        app = WithInspector(create_app(settings, client=upstream), settings)
        transport = httpx.ASGITransport(app=app)
        async with (
            lifespan(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        ):
            yield client
        await upstream.aclose()

    return factory


async def record_all(client: httpx.AsyncClient) -> None:
    for path, body, headers in REQUESTS:
        answer = await client.post(path, json=body, headers=headers)
        assert answer.status_code == 200, answer.text


@pytest.fixture()
async def recorded_cassette(tmp_path: Path, make_served: MakeServed) -> Path:
    cassette = tmp_path / "cassettes" / "recorded.db"
    async with make_served(cassette, "record") as client:
        await record_all(client)
    return cassette
