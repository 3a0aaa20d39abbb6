"""Upstream faults over real sockets: the fake llama-server runs as its own process and injects
them (its `[[directive]]`s), localaik records through a real httpx connection to it.

tests/app/test_replay_faults.py checks the same promises with the fake in-process behind a
simulated transport; here the faults are the real thing: a refused TCP connection, a read that
times out, a stream whose connection is dropped after N frames, a stream that stalls after N
frames, frames that come slowly (within the timeout, and past it).

Each fault gives the documented error (README, Errors) in the caller's shape, before the stream
starts when it can (a status), as the stream's last event when the answer had already begun
(a 200 then the error event); and no partial answer is ever recorded: the cassette holds only
the recording made before the fault, and a replay of the faulty request misses.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from localaik.config import Settings
from localaik.server.app import create_app
from localaik.wire.sse import parse_frame
from tests.app.test_replay_faults import (
    ROUTES,
    STREAM_ROUTES,
    assert_only_the_anchor,
    gemini_stream_chunks,
    openai_frames,
    record_anchor,
)
from tests.fakes.fake_llama import FakeLlama
from tests.support import all_recordings, assert_error

TIMEOUT = 1.0  # LK_UPSTREAM_TIMEOUT for these tests: seconds without upstream data


@dataclass(frozen=True)
class Fault:
    directive: str  # written into the request for the fake ("" for none)
    status: int  # the status of the error, in the response or the last event
    says: str  # what its message says
    mid_stream: bool = False


FAULTS = {
    "refused": Fault("", 502, "failed to reach upstream"),
    "hang": Fault("[[hang]]", 504, "did not answer in time"),
    "status-500": Fault("[[error:500]]", 500, "fake error 500"),
    "status-503": Fault("[[error:503]]", 503, "fake error 503"),
    "garbage": Fault("[[garbage]]", 502, ""),
    "cut-after-3-frames": Fault("[[cut:3]]", 502, "ended the stream early", mid_stream=True),
    "stall-after-3-frames": Fault("[[stall:3]]", 504, "did not answer in time", mid_stream=True),
    # The headers came at once, then no frame within the timeout: an error event alone.
    "slow-past-timeout": Fault("[[slow:2500]]", 504, "did not answer in time", mid_stream=True),
}
CASES = [
    (fault, route)
    for fault in FAULTS
    for route in ROUTES
    if route in STREAM_ROUTES or not FAULTS[fault].mid_stream
]


def closed_port() -> int:
    """A local port with nothing listening on it: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def over_sockets(
    upstream: str, cassette: Path, **settings: Any
) -> AsyncIterator[AsyncTestClient[Any]]:
    """localaik with its own httpx client (as `serve` builds it) to a real upstream URL."""
    app = create_app(
        Settings(
            log=False,
            upstream=upstream,
            mode="record",
            cassette=cassette,
            upstream_timeout=TIMEOUT,
            **settings,
        )
    )
    async with AsyncTestClient(app=app, timeout=30) as client:
        yield client


def last_event_error(family: str, path: str, content: bytes) -> tuple[list[Any], dict[str, Any]]:
    """The events before the last, and the error object the stream ended with."""
    if family == "gemini":
        *arrived, last = gemini_stream_chunks(path, content)
        assert set(last) == {"error"}, last
        assert set(last["error"]) == {"code", "message", "status"}
        return arrived, last["error"]
    *frames, last_frame = openai_frames(content)
    assert b"[DONE]" not in frames
    last = json.loads(last_frame)
    assert set(last) == {"error"}, last
    assert set(last["error"]) == {"message", "type", "param", "code"}
    return [json.loads(f) for f in frames], last["error"]


async def with_fault(
    make_localaik: Any,
    fake_llama: FakeLlama,
    cassette: Path,
    fault: str,
    path: str,
    body: Any,
    make_body: Any,
) -> tuple[bytes, Any, Any]:
    """Record the anchor, send `body` (which holds the fault's directive) over real sockets,
    then a healthy request; returns the anchor's answer and both responses."""
    anchor = await record_anchor(make_localaik, cassette)
    upstream = (
        f"http://127.0.0.1:{closed_port()}/v1" if fault == "refused" else fake_llama.url + "/v1"
    )
    async with over_sockets(upstream, cassette) as client:
        response = await client.post(path, json=body)
        # (Recorded in another cassette, so that this one shows what the fault left.)
        healthy = await client.post(
            path, json=make_body("and now a short one"), headers={"x-localaik-cassette": "after"}
        )
    return anchor, response, healthy


@pytest.mark.parametrize(("fault", "route"), CASES, ids=[f"{f}-{r}" for f, r in CASES])
async def test_fault_gives_the_documented_error_and_records_nothing(
    make_localaik: Any, fake: Any, fake_llama: FakeLlama, tmp_path: Path, fault: str, route: str
) -> None:
    spec = FAULTS[fault]
    family, path, make_body = ROUTES[route]
    body = make_body(f"tell me a long story {spec.directive}")
    cassette = tmp_path / "c.db"
    anchor, response, healthy = await with_fault(
        make_localaik, fake_llama, cassette, fault, path, body, make_body
    )

    if spec.mid_stream:
        assert response.status_code == 200
        arrived, error = last_event_error(family, path, response.content)
        assert bool(arrived) == (fault != "slow-past-timeout"), arrived
        if family == "gemini":
            assert error["code"] == spec.status
            assert error["status"] == {502: "INTERNAL", 504: "DEADLINE_EXCEEDED"}[spec.status]
        else:
            assert error["type"] == "server_error"
            assert (
                error["code"]
                == {502: "upstream_bad_response", 504: "upstream_timeout"}[spec.status]
            )
    else:
        error = assert_error(response, spec.status, family)
        if family == "gemini":
            assert (
                error["status"]
                == {500: "INTERNAL", 502: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}[
                    spec.status
                ]
            )
        else:
            assert error["type"] == "server_error"
    assert spec.says in error["message"], error
    # The next request over the same client is answered: a fault leaves nothing stuck.
    if fault != "refused":
        assert healthy.status_code == 200
    await assert_only_the_anchor(make_localaik, fake, cassette, path, body, family, anchor)


@pytest.mark.parametrize("route", STREAM_ROUTES)
async def test_slow_frames_within_the_timeout_are_answered_and_recorded_with_their_timing(
    make_localaik: Any, fake: Any, fake_llama: FakeLlama, tmp_path: Path, route: str
) -> None:
    family, path, make_body = ROUTES[route]
    body = make_body("slow but steady [[slow:40]]")
    cassette = tmp_path / "c.db"

    async with over_sockets(fake_llama.url + "/v1", cassette) as client:
        live = await client.post(path, json=body)

    assert live.status_code == 200
    if family == "gemini":
        assert "error" not in gemini_stream_chunks(path, live.content)[-1]
    else:
        assert openai_frames(live.content)[-1] == b"[DONE]"
    [recording] = all_recordings(cassette)
    frames = recording.frames
    event = parse_frame(frames[-1].data)
    assert event is not None and event.data == "[DONE]"
    offsets = [frame.offset_ms for frame in frames]
    assert offsets == sorted(offsets)
    # The fake waits 40 ms before each frame, so frame i cannot arrive before (i + 1) * 40 ms
    # (a busy machine only delays it), and the recorded offsets keep that pacing.
    assert all(offset >= (i + 1) * 40 - 1 for i, offset in enumerate(offsets)), offsets
    gaps = sorted(b - a for a, b in zip(offsets, offsets[1:], strict=False))
    assert gaps[len(gaps) // 2] >= 30, offsets
    fake.reset()

    async with make_localaik(mode="replay", cassette=cassette) as client:
        replayed = await client.post(path, json=body)

    assert replayed.content == live.content
    assert fake.requests == []


# --------------------------------------------------------------------------------------------
# The event-named streams: Anthropic Messages and the OpenAI Responses API

NAMED_ROUTES: dict[str, tuple[str, str, Any]] = {
    "anthropic-stream": (
        "anthropic",
        "/v1/messages",
        lambda text: {
            "model": "claude-haiku-4-5",
            "max_tokens": 64,
            "stream": True,
            "messages": [{"role": "user", "content": text}],
        },
    ),
    "responses-stream": (
        "openai",
        "/v1/responses",
        lambda text: {"model": "gpt-4o-mini", "input": text, "stream": True},
    ),
}
NAMED_CASES = [(fault, route) for fault in FAULTS for route in NAMED_ROUTES]


def named_events(content: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of each `event:`/`data:` frame."""
    found = []
    for frame in content.decode().split("\n\n"):
        if frame.strip():
            event = parse_frame(frame.encode())
            assert event is not None and event.event, frame
            found.append((event.event, json.loads(event.data)))
    return found


@pytest.mark.parametrize(("fault", "route"), NAMED_CASES, ids=[f"{f}-{r}" for f, r in NAMED_CASES])
async def test_fault_in_an_event_named_stream(
    make_localaik: Any, fake: Any, fake_llama: FakeLlama, tmp_path: Path, fault: str, route: str
) -> None:
    spec = FAULTS[fault]
    family, path, make_body = NAMED_ROUTES[route]
    body = make_body(f"tell me a long story {spec.directive}")
    cassette = tmp_path / "c.db"
    anchor, response, healthy = await with_fault(
        make_localaik, fake_llama, cassette, fault, path, body, make_body
    )

    if spec.mid_stream:
        assert response.status_code == 200
        found = named_events(response.content)
        names = [name for name, _ in found]
        if family == "anthropic":
            assert names[-1] == "error" and "message_stop" not in names
            message = found[-1][1]["error"]["message"]
            assert found[-1][1]["error"]["type"] == "api_error"
        else:
            assert names[-2:] == ["error", "response.failed"]
            assert "response.completed" not in names
            message = found[-2][1]["message"]
            assert found[-1][1]["response"]["status"] == "failed"
    else:
        message = assert_error(response, spec.status, family)["message"]
    assert spec.says in message
    if fault != "refused":
        assert healthy.status_code == 200
    await assert_only_the_anchor(make_localaik, fake, cassette, path, body, family, anchor)
