"""Upstream faults while recording: answered in the caller's shape, and stored only when the
upstream's answer is a real, complete one (DESIGN D3, D10; replay.py's module docstring).

Stored: 2xx answers translated whole, 4xx (deterministic for the request), complete streams.
Not stored: 5xx, bodies that are not JSON, cut streams, unreachable or slow upstreams (rate
limits, redirects and answers the translation refuses: test_upstream_answers.py).
"Not stored" is checked twice: on the cassette (only the anchor recording made before the
fault is there) and by a replay-mode app on the same cassette, which misses.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.conftest import FakeTransport, HeldBack, RaisingTransport
from tests.support import all_recordings, assert_error

MODEL = "gemini-2.0-flash"
GENERATE = f"/v1beta/models/{MODEL}:generateContent"
STREAM_SSE = f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
STREAM_ARRAY = f"/v1beta/models/{MODEL}:streamGenerateContent"
CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
DONE_FRAME = b"data: [DONE]\n\n"

ANCHOR_TEXT = "recorded before the fault"


def gemini_body(text: str) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


def chat_body(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


Route = tuple[str, str, Callable[[str], Any]]

ROUTES: dict[str, Route] = {
    "gemini-plain": ("gemini", GENERATE, gemini_body),
    "gemini-sse": ("gemini", STREAM_SSE, gemini_body),
    "gemini-array": ("gemini", STREAM_ARRAY, gemini_body),
    "openai-plain": ("openai", CHAT, chat_body),
    "openai-stream": ("openai", CHAT, lambda text: chat_body(text, stream=True)),
    "completions-plain": ("openai", COMPLETIONS, lambda text: {"model": "m", "prompt": text}),
    "completions-stream": (
        "openai",
        COMPLETIONS,
        lambda text: {"model": "m", "prompt": text, "stream": True},
    ),
}
STREAM_ROUTES = ["gemini-sse", "gemini-array", "openai-stream", "completions-stream"]


def chat_calls(fake: Any) -> int:
    return sum(1 for r in fake.requests if r["path"].endswith("completions"))


async def record_anchor(make_localaik: Any, cassette: Path) -> bytes:
    """One ordinary recording, so the cassette exists before the fault."""
    async with make_localaik(mode="record", cassette=cassette) as client:
        response = await client.post(CHAT, json=chat_body(ANCHOR_TEXT))
    assert response.status_code == 200
    return response.content


async def assert_only_the_anchor(
    make_localaik: Any, fake: Any, cassette: Path, path: str, body: Any, family: str, anchor: bytes
) -> None:
    """The fault left nothing in the cassette: only the anchor is there, and replay misses."""
    recordings = all_recordings(cassette)
    assert [ANCHOR_TEXT in r.request for r in recordings] == [True], [
        (r.status, r.request[:120]) for r in recordings
    ]
    fake.reset()
    async with make_localaik(mode="replay", cassette=cassette) as client:
        assert (await client.post(CHAT, json=chat_body(ANCHOR_TEXT))).content == anchor
        miss = await client.post(path, json=body)
    error = assert_error(miss, 404, family)
    if family == "openai":
        assert error["code"] == "replay_miss"
    assert fake.requests == []


def gemini_stream_chunks(path: str, content: bytes) -> list[dict[str, Any]]:
    if path == STREAM_SSE:
        assert content.endswith(b"\r\n\r\n"), content[-40:]
        return [json.loads(e.removeprefix(b"data: ")) for e in content[:-4].split(b"\r\n\r\n")]
    return json.loads(content)


def openai_frames(content: bytes) -> list[bytes]:
    assert content.endswith(b"\n\n"), content[-40:]
    return [f.removeprefix(b"data: ") for f in content[:-2].split(b"\n\n")]


# --------------------------------------------------------------------------------------------
# Not recorded


@pytest.mark.parametrize("status", [500, 503])
@pytest.mark.parametrize("route", list(ROUTES))
async def test_upstream_5xx_is_answered_and_not_recorded(
    make_localaik: Any, fake: Any, tmp_path: Path, route: str, status: int
) -> None:
    family, path, make_body = ROUTES[route]
    body = make_body(f"please fail [[error:{status}]]")
    cassette = tmp_path / "c.db"
    anchor = await record_anchor(make_localaik, cassette)
    fake.reset()

    async with make_localaik(mode="record", cassette=cassette) as client:
        first = await client.post(path, json=body)
        second = await client.post(path, json=body)

    for response in (first, second):
        error = assert_error(response, status, family)
        assert error["message"] == f"fake error {status}"
        if family == "gemini":
            assert error["status"] == {500: "INTERNAL", 503: "UNAVAILABLE"}[status]
    assert chat_calls(fake) == 2, "the retry was not forwarded: the error was replayed"
    await assert_only_the_anchor(make_localaik, fake, cassette, path, body, family, anchor)


@pytest.mark.parametrize("route", list(ROUTES))
async def test_upstream_garbage_is_a_502_and_not_recorded(
    make_localaik: Any, fake: Any, tmp_path: Path, route: str
) -> None:
    family, path, make_body = ROUTES[route]
    body = make_body("say something [[garbage]]")
    cassette = tmp_path / "c.db"
    anchor = await record_anchor(make_localaik, cassette)

    async with make_localaik(mode="record", cassette=cassette) as client:
        response = await client.post(path, json=body)

    assert_error(response, 502, family)
    await assert_only_the_anchor(make_localaik, fake, cassette, path, body, family, anchor)


@pytest.mark.parametrize("route", STREAM_ROUTES)
async def test_cut_stream_ends_with_an_error_event_and_is_not_recorded(
    make_localaik: Any, fake: Any, tmp_path: Path, route: str
) -> None:
    family, path, make_body = ROUTES[route]
    body = make_body("hello world, this will be cut [[cut:3]]")
    cassette = tmp_path / "c.db"
    anchor = await record_anchor(make_localaik, cassette)

    async with make_localaik(mode="record", cassette=cassette) as client:
        response = await client.post(path, json=body)

    assert response.status_code == 200
    if family == "gemini":
        *arrived, last = gemini_stream_chunks(path, response.content)
        assert arrived, "no frame arrived before the error"
        assert all("candidates" in chunk for chunk in arrived)
        assert set(last) == {"error"} and last["error"]["code"] == 502, last
    else:
        *arrived, last = openai_frames(response.content)
        assert len(arrived) >= 2 and b"[DONE]" not in arrived
        assert all("choices" in json.loads(frame) for frame in arrived)
        assert set(json.loads(last)) == {"error"}, last
    await assert_only_the_anchor(make_localaik, fake, cassette, path, body, family, anchor)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (httpx.ConnectError, 502),
        (httpx.RemoteProtocolError, 502),
        (httpx.ReadTimeout, 504),
    ],
)
@pytest.mark.parametrize("route", ["gemini-plain", "gemini-sse", "openai-plain", "openai-stream"])
async def test_unreachable_upstream_is_answered_and_not_recorded(
    make_localaik: Any, fake: Any, tmp_path: Path, route: str, error: Any, status: int
) -> None:
    family, path, make_body = ROUTES[route]
    body = make_body("is anyone there?")
    cassette = tmp_path / "c.db"
    anchor = await record_anchor(make_localaik, cassette)
    transport = RaisingTransport(error)

    async with make_localaik(mode="record", cassette=cassette, transport=transport) as client:
        response = await client.post(path, json=body)

    assert_error(response, status, family)
    assert transport.requests, "localaik did not try the upstream"
    await assert_only_the_anchor(make_localaik, fake, cassette, path, body, family, anchor)


@pytest.mark.parametrize(
    ("route", "fault"),
    [
        ("gemini-sse", "[[error:503]]"),
        ("openai-stream", "[[error:503]]"),
        ("openai-plain", "[[error:503]]"),
        ("gemini-sse", "[[cut:2]]"),
        ("openai-stream", "[[cut:2]]"),
    ],
)
async def test_concurrent_identical_requests_behind_a_failing_upstream_all_get_answers(
    make_localaik: Any, fake: Any, tmp_path: Path, route: str, fault: str
) -> None:
    """Single flight must not turn one failure into a hang or a replayed failure: the 8
    requests overlap, and go upstream one after the other, each after the last one failed."""
    family, path, make_body = ROUTES[route]
    body = make_body(f"unlucky {fault}")
    cassette = tmp_path / "c.db"
    anchor = await record_anchor(make_localaik, cassette)
    fake.reset()
    upstream = HeldBack(fake, 0.1)

    async with make_localaik(
        mode="record", cassette=cassette, transport=FakeTransport(upstream), overlap=True
    ) as client:
        responses = await asyncio.wait_for(
            asyncio.gather(*(client.post(path, json=body) for _ in range(8))), 20
        )

    assert client.peak == 8, "the requests did not overlap inside localaik"
    assert upstream.peak == 1, "identical requests went upstream at once: no single flight"

    for response in responses:
        if fault == "[[error:503]]":
            assert_error(response, 503, family)
        elif family == "gemini":
            assert response.status_code == 200
            assert set(gemini_stream_chunks(path, response.content)[-1]) == {"error"}
        else:
            assert response.status_code == 200
            assert set(json.loads(openai_frames(response.content)[-1])) == {"error"}
    assert chat_calls(fake) == 8, "a failure was shared with (or replayed to) the followers"
    await assert_only_the_anchor(make_localaik, fake, cassette, path, body, family, anchor)


# --------------------------------------------------------------------------------------------
# Recorded


@pytest.mark.parametrize("status", [400, 404])
@pytest.mark.parametrize("route", list(ROUTES))
async def test_upstream_4xx_is_recorded_and_replayed_as_the_same_4xx(
    make_localaik: Any, fake: Any, tmp_path: Path, route: str, status: int
) -> None:
    family, path, make_body = ROUTES[route]
    body = make_body(f"a request the model rejects [[error:{status}]]")
    cassette = tmp_path / "c.db"

    async with make_localaik(mode="record", cassette=cassette) as client:
        live = await client.post(path, json=body)
        again = await client.post(path, json=body)  # now a hit

    error = assert_error(live, status, family)
    assert error["message"] == f"fake error {status}"
    assert again.content == live.content
    assert chat_calls(fake) == 1
    [recording] = all_recordings(cassette)
    assert recording.status == status
    assert recording.frames == []
    fake.reset()

    async with make_localaik(mode="replay", cassette=cassette) as client:
        replayed = await client.post(path, json=body)

    assert replayed.status_code == status
    assert replayed.headers["content-type"] == "application/json"
    assert replayed.content == live.content
    assert fake.requests == []


@pytest.mark.parametrize("route", STREAM_ROUTES)
async def test_stream_without_finish_reason_is_complete_and_recorded(
    make_localaik: Any, fake: Any, tmp_path: Path, route: str
) -> None:
    family, path, make_body = ROUTES[route]
    body = make_body("no finish reason here [[nofinish]]")
    cassette = tmp_path / "c.db"

    async with make_localaik(mode="record", cassette=cassette) as client:
        live = await client.post(path, json=body)

    assert live.status_code == 200
    if family == "gemini":
        last = gemini_stream_chunks(path, live.content)[-1]
        assert "error" not in last
        assert last["candidates"][0]["finishReason"] == "STOP"
    else:
        frames = openai_frames(live.content)
        assert frames[-1] == b"[DONE]"
        assert all("error" not in json.loads(f) for f in frames[:-1])
    [recording] = all_recordings(cassette)
    assert recording.stream and recording.status == 200
    assert recording.frames[-1].data == DONE_FRAME
    assert all(
        b'"finish_reason":null' in f.data or b'"choices":[]' in f.data
        for f in recording.frames[:-1]
    )
    fake.reset()

    async with make_localaik(mode="replay", cassette=cassette) as client:
        replayed = await client.post(path, json=body)

    assert replayed.status_code == 200
    assert replayed.content == live.content
    assert fake.requests == []
