"""Upstream answers that must not be recorded (server/policy.py's storing rule), in-process.

A rate limit (429, with its Retry-After passed on), a redirect (307 with a JSON body), a 200
that is not a chat completion and a stream the translation refuses at its end are answered in
the caller's shape and leave nothing in the cassette; once the upstream recovers, the very
same request records and replays as usual. tests/sdk/test_upstream_answers.py checks the same
through the real SDKs and real sockets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.test_replay_faults import (
    ROUTES,
    STREAM_ROUTES,
    assert_only_the_anchor,
    chat_calls,
    record_anchor,
)
from tests.support import all_recordings, assert_error

ROUTE_NAMES = list(ROUTES)


async def recovers(make_localaik: Any, fake: Any, cassette: Path, path: str, body: Any) -> None:
    """With the outage over, the same request is forwarded, recorded, and replayed."""
    fake.outage = ""
    fake.reset()
    async with make_localaik(mode="record", cassette=cassette) as client:
        live = await client.post(path, json=body)
        again = await client.post(path, json=body)
    assert live.status_code == 200, live.text
    assert again.content == live.content
    assert chat_calls(fake) == 1
    assert len(all_recordings(cassette)) == 2  # the anchor, and this one
    fake.reset()
    async with make_localaik(mode="replay", cassette=cassette) as client:
        replayed = await client.post(path, json=body)
    assert replayed.status_code == 200
    assert replayed.content == live.content
    assert fake.requests == []


@pytest.mark.parametrize("route", ROUTE_NAMES)
async def test_rate_limit_is_passed_on_with_retry_after_and_not_recorded(
    make_localaik: Any, fake: Any, tmp_path: Path, route: str
) -> None:
    family, path, make_body = ROUTES[route]
    body = make_body("are you busy?")
    cassette = tmp_path / "c.db"
    anchor = await record_anchor(make_localaik, cassette)
    fake.reset()
    fake.outage = "[[error:429]][[retry-after:7]]"

    async with make_localaik(mode="record", cassette=cassette) as client:
        first = await client.post(path, json=body)
        second = await client.post(path, json=body)

    for response in (first, second):
        error = assert_error(response, 429, family)
        assert error["message"] == "fake error 429"
        assert response.headers["retry-after"] == "7"
        expected = {"gemini": "RESOURCE_EXHAUSTED", "openai": "rate_limit_error"}[family]
        assert error.get("status", error.get("type")) == expected
    assert chat_calls(fake) == 2, "the second request was answered from a recorded 429"
    await assert_only_the_anchor(make_localaik, fake, cassette, path, body, family, anchor)
    await recovers(make_localaik, fake, cassette, path, body)


@pytest.mark.parametrize("value", ["soon", "7; drop table", "1" * 12, ""])
async def test_a_malformed_retry_after_is_not_passed_on(
    make_localaik: Any, fake: Any, tmp_path: Path, value: str
) -> None:
    family, path, make_body = ROUTES["openai-plain"]

    def limited(request: httpx.Request) -> httpx.Response:
        error = {"error": {"code": 429, "message": "slow down", "type": "unavailable_error"}}
        return httpx.Response(429, json=error, headers={"retry-after": value})

    transport = httpx.MockTransport(limited)
    async with make_localaik(mode="record", cassette=tmp_path / "c.db", transport=transport) as c:
        response = await c.post(path, json=make_body("hi"))

    assert_error(response, 429, family)
    assert "retry-after" not in response.headers
    assert all_recordings(tmp_path / "c.db") == []


async def test_an_http_date_retry_after_is_passed_on(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    when = "Wed, 21 Oct 2015 07:28:00 GMT"
    fake.outage = f"[[error:503]][[retry-after:{when}]]"
    async with make_localaik(mode="record", cassette=tmp_path / "c.db") as client:
        response = await client.post(CHAT_PATH, json=ROUTES["openai-plain"][2]("loading?"))

    assert_error(response, 503, "openai")
    assert response.headers["retry-after"] == when


CHAT_PATH = ROUTES["openai-plain"][1]


@pytest.mark.parametrize(
    ("outage", "says"),
    [
        ("[[redirect]]", "answered HTTP 307, a redirect to http://elsewhere.invalid/"),
        ("[[notchat]]", ""),
    ],
    ids=["redirect-307-with-json", "200-not-a-chat-completion"],
)
@pytest.mark.parametrize("route", ROUTE_NAMES)
async def test_an_answer_the_translation_refuses_is_a_502_and_not_recorded(
    make_localaik: Any, fake: Any, tmp_path: Path, route: str, outage: str, says: str
) -> None:
    family, path, make_body = ROUTES[route]
    body = make_body("where did it go?")
    cassette = tmp_path / "c.db"
    anchor = await record_anchor(make_localaik, cassette)
    fake.reset()
    fake.outage = outage

    async with make_localaik(mode="record", cassette=cassette) as client:
        first = await client.post(path, json=body)
        second = await client.post(path, json=body)

    for response in (first, second):
        error = assert_error(response, 502, family)
        assert says in error["message"]
        assert "location" not in response.headers
    assert chat_calls(fake) == 2, "the second request replayed a recording of the first"
    await assert_only_the_anchor(make_localaik, fake, cassette, path, body, family, anchor)
    await recovers(make_localaik, fake, cassette, path, body)


def nameless_tool_call_stream(request: httpx.Request) -> httpx.Response:
    """A whole chat stream (`[DONE]` included) whose tool call never gets a name: the Responses
    API translation refuses it when the stream ends."""
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1"}]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    body = b"".join(b"data: " + json.dumps({**base, **c}).encode() + b"\n\n" for c in chunks)
    body += b"data: [DONE]\n\n"
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


async def test_a_whole_stream_the_translation_refuses_is_not_recorded(
    make_localaik: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    transport = httpx.MockTransport(nameless_tool_call_stream)
    body = {"model": "gpt-4o-mini", "input": "call a tool", "stream": True}

    async with make_localaik(mode="record", cassette=cassette, transport=transport) as client:
        response = await client.post("/v1/responses", json=body)

    assert response.status_code == 200
    assert b"without a function name" in response.content
    assert all_recordings(cassette) == []


@pytest.mark.parametrize("route", STREAM_ROUTES)
async def test_a_stream_ending_without_its_blank_line_records_and_replays(
    make_localaik: Any, fake: Any, tmp_path: Path, route: str
) -> None:
    family, path, make_body = ROUTES[route]
    body = make_body("the last event has no blank line after it [[noblank]]")
    cassette = tmp_path / "c.db"

    async with make_localaik(mode="record", cassette=cassette) as client:
        live = await client.post(path, json=body)

    assert live.status_code == 200
    assert b'"error"' not in live.content
    [recording] = all_recordings(cassette)
    assert recording.frames[-1].data == b"data: [DONE]"
    fake.reset()
    async with make_localaik(mode="replay", cassette=cassette) as client:
        replayed = await client.post(path, json=body)
    assert replayed.content == live.content
    assert fake.requests == []
