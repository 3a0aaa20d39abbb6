"""The prompt's token count in the first event of a Gemini or Anthropic stream.

Gemini's first chunk and Anthropic's `message_start` state how many tokens the prompt had; an
OpenAI-compatible upstream says so only in its last chunk. A stream being recorded is therefore
held until that chunk comes, and a replayed one, whose recording holds the count, streams at its
recorded pace: both give the client the same bytes. A passthrough stream, which nothing replays,
is not held. The answers are read from the pipeline
itself, frame by frame, since the test client would only give them whole, from a fake
llama-server process (in-process, httpx's ASGI transport would give its frames all at once).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from localaik.config import Settings
from localaik.server.app import create_app, services_of
from localaik.server.pipeline import Incoming
from tests.app.conftest import lifespan
from tests.fakes.fake_llama import FakeLlama

SLOW_MS = 80  # the fake sleeps this long before each frame it sends

CASES = {
    "anthropic": (
        "/v1/messages",
        {},
        {"x-api-key": "k", "anthropic-version": "2023-06-01"},
        {
            "model": "claude-haiku-4-5",
            "max_tokens": 64,
            "stream": True,
            "messages": [{"role": "user", "content": f"Hello there [[slow:{SLOW_MS}]]"}],
        },
    ),
    "gemini": (
        "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
        {"alt": "sse"},
        {"x-goog-api-key": "k"},
        {"contents": [{"role": "user", "parts": [{"text": f"Hello there [[slow:{SLOW_MS}]]"}]}]},
    ),
}


@contextlib.asynccontextmanager
async def serving(fake: FakeLlama, **settings: Any) -> AsyncIterator[Any]:
    """localaik's app, started on this loop (as a server runs it: its upstream client belongs
    to the loop that started it), in front of the fake process."""
    app = create_app(Settings(log=False, upstream=fake.url + "/v1", **settings))
    async with lifespan(app):
        yield app


async def timed(app: Any, family: str) -> tuple[float, float, list[bytes]]:
    """Seconds to the first frame and to the last, and the frames, of one streamed answer."""
    path, query, headers, body = CASES[family]
    content = json.dumps(body).encode()

    async def read_body() -> bytes:
        return content

    pipeline = services_of(app).pipeline
    started = time.perf_counter()
    answer = await pipeline.handle(
        Incoming("POST", path, query, {**headers, "content-type": "application/json"}, read_body)
    )
    assert answer.status == 200 and answer.frames is not None
    frames: list[bytes] = []
    first = 0.0
    async for frame in answer.frames:
        if not frames:
            first = time.perf_counter() - started
        frames.append(frame)
    return first, time.perf_counter() - started, frames


def prompt_count(family: str, first_frame: bytes) -> int:
    data = json.loads(first_frame.decode().split("data: ", 1)[1])
    if family == "anthropic":
        assert data["type"] == "message_start"
        return int(data["message"]["usage"]["input_tokens"])
    return int(data["usageMetadata"]["promptTokenCount"])


@pytest.mark.parametrize("family", sorted(CASES))
async def test_live_holds_until_the_count_and_replay_streams_at_its_pace(
    fake_llama: FakeLlama, tmp_path: Path, family: str
) -> None:
    cassette = tmp_path / "usage.db"
    async with serving(fake_llama, mode="record", cassette=cassette) as app:
        live_first, live_total, live = await timed(app, family)
    async with serving(fake_llama, mode="replay", cassette=cassette, replay_speed=1.0) as app:
        replay_first, replay_total, replayed = await timed(app, family)

    assert replayed == live  # byte for byte
    assert prompt_count(family, live[0]) == 3  # "Hello there [[slow:80]]": the fake's words
    timings = (live_first, live_total, replay_first, replay_total)
    # Live: nothing before the upstream's last chunk, which carries the count (the fake sleeps
    # before each of its frames, so that is at least 6 sleeps in).
    assert live_first > 6 * SLOW_MS / 1000 and live_first > 0.75 * live_total, timings
    # Replay: the first event at about the first recorded frame, the rest at their pace.
    assert replay_first < live_first / 2 and replay_total > 0.6 * live_total, timings


@pytest.mark.parametrize("family", sorted(CASES))
async def test_passthrough_is_not_held_for_the_count(fake_llama: FakeLlama, family: str) -> None:
    """Nothing is recorded in passthrough, so nothing must replay alike: the stream reaches
    the client as the upstream sends it, and only its last events state the counts."""
    async with serving(fake_llama, mode="passthrough") as app:
        first, total, frames = await timed(app, family)
    assert total > 6 * SLOW_MS / 1000 and first < 0.5 * total, (first, total)
    data = json.loads(frames[0].decode().split("data: ", 1)[1])
    if family == "anthropic":
        assert data["message"]["usage"]["input_tokens"] == 0
    else:
        assert "usageMetadata" not in data
