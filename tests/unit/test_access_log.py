"""The access log: one line per request on the `localaik.access` logger, no secrets in it."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from localaik.config import Settings
from localaik.server.app import create_app
from tests.fakes.fake_llama import FakeLlamaApp, make_app

GENERATE = "/v1beta/models/gemini-2.0-flash:generateContent"
LINE = re.compile(
    r"^(?P<family>\S+)\s+(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) "
    r"(?P<ms>\d+(\.\d+)?)ms$"
)


@pytest.fixture()
def fake() -> FakeLlamaApp:
    return make_app()


@pytest.fixture()
def localaik(fake: FakeLlamaApp) -> Callable[..., Any]:
    @asynccontextmanager
    async def start(log: bool) -> AsyncIterator[AsyncTestClient[Any]]:
        upstream = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fake), base_url="http://fake"
        )
        app = create_app(
            Settings(log=log, upstream="http://fake/v1", mode="passthrough"), client=upstream
        )
        async with upstream, AsyncTestClient(app=app) as client:
            yield client

    return start


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "localaik.access"]


def gemini_body(text: str = "hi") -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


async def test_one_line_per_request(localaik: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="localaik.access")
    async with localaik(log=True) as client:
        await client.post(
            f"{GENERATE}?key=SECRET", json=gemini_body(), headers={"x-goog-api-key": "HEADERKEY"}
        )
        await client.post(
            "/v1/chat/completions?key=SECRET",
            json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
            headers={"authorization": "Bearer HEADERKEY"},
        )
        await client.get("/v1/models", headers={"x-goog-api-key": "HEADERKEY"})
        await client.get("/nope?token=SECRET")
        await client.post(GENERATE, content=b"{bad json")

    lines = access_lines(caplog)
    assert len(lines) == 5, lines
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m["family"], m["method"], m["path"], m["status"]) for m in parsed if m] == [
        ("gemini", "POST", GENERATE, "200"),
        ("openai", "POST", "/v1/chat/completions", "200"),
        ("gemini", "GET", "/v1/models", "200"),
        ("-", "GET", "/nope", "404"),
        ("gemini", "POST", GENERATE, "400"),
    ]
    text = "\n".join(lines)
    assert "SECRET" not in text
    assert "HEADERKEY" not in text
    assert "?" not in text


async def test_health_ok_not_logged_but_failing_health_is(
    localaik: Any, fake: FakeLlamaApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="localaik.access")
    async with localaik(log=True) as client:
        ok = await client.get("/health")
        fake.health_status = 503
        failing = await client.get("/health")

    assert (ok.status_code, failing.status_code) == (200, 503)
    lines = access_lines(caplog)
    assert len(lines) == 1, lines
    match = LINE.match(lines[0])
    assert match and (match["method"], match["path"], match["status"]) == ("GET", "/health", "503")


async def test_control_characters_in_path_are_escaped(
    localaik: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="localaik.access")
    async with localaik(log=True) as client:
        await client.get("/nope%0Afake%20line")

    [line] = access_lines(caplog)
    assert "\n" not in line
    assert LINE.match(line), line


async def test_log_off_logs_nothing(localaik: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with localaik(log=False) as client:
        assert (await client.post(GENERATE, json=gemini_body())).status_code == 200
        assert (await client.get("/nope")).status_code == 404

    assert access_lines(caplog) == []


async def test_a_key_used_as_the_model_name_is_redacted(
    localaik: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The model name is part of a Gemini path: a key pasted there must not reach the log."""
    caplog.set_level(logging.INFO, logger="localaik.access")
    key = "AI" + "za" + "SyB" + "x7Q2mN4pL9kR1tV6wZ3cF8hJ0dG5sA2e"
    async with localaik(log=True) as client:
        await client.post(f"/v1beta/models/{key}:generateContent", json=gemini_body())
        await client.get(f"/v1beta/models/{key}")
    lines = access_lines(caplog)
    assert len(lines) == 2
    # One field: the marker's space is escaped as any space in a path is.
    assert all("/v1beta/models/[redacted%20google-api-key]" in line for line in lines), lines
    assert not [line for line in lines if key[4:14] in line]
