"""Faults on demand (D16) through the official `openai` Python SDK, unmodified: what it raises
for each fault, and that its own retries run as against the real API (`max_retries`, the
`retry-after` it honours). localaik runs in passthrough in front of the fake llama-server, so
the fake's request log shows what reached the upstream: a status fault reaches nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess

MODEL = "gpt-4o-mini"
FAULT = "X-Localaik-Fault"


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def chats(fake: FakeLlama) -> list[dict[str, Any]]:
    return [r for r in fake.requests() if r["path"] == "/v1/chat/completions"]


@pytest.fixture()
def client(localaik_url: str) -> Iterator[Any]:
    """`client(fault, max_retries=…, timeout=…)`: an SDK client sending the fault header."""
    made: list[OpenAI] = []

    def make(fault: str, max_retries: int = 0, timeout: float = 30.0) -> OpenAI:
        sdk = OpenAI(
            api_key="test",
            base_url=localaik_url + "/v1",
            max_retries=max_retries,
            timeout=timeout,
            default_headers={FAULT: fault},
        )
        made.append(sdk)
        return sdk

    yield make
    for sdk in made:
        sdk.close()


def test_429_twice_then_the_answer_with_the_sdk_retries_honouring_retry_after(
    client: Any, fake_llama: FakeLlama
) -> None:
    sdk = client("status=429; times=2", max_retries=2)
    start = time.monotonic()
    reply = sdk.chat.completions.with_raw_response.create(model=MODEL, messages=user("hi"))
    waited = time.monotonic() - start

    assert reply.parse().choices[0].message.content == "Echo: hi"
    assert reply.retries_taken == 2
    # Two waits of `retry-after: 1` (the SDK's own backoff would be ~0.4 s, then ~0.9 s).
    assert 1.9 <= waited < 6, waited
    assert len(chats(fake_llama)) == 1  # the faulted attempts reached nothing


def test_retry_after_is_settable(client: Any, fake_llama: FakeLlama) -> None:
    sdk = client("status=429; times=1; retry-after=2", max_retries=1)
    start = time.monotonic()
    reply = sdk.chat.completions.create(model=MODEL, messages=user("later"))
    assert reply.choices[0].message.content == "Echo: later"
    assert 1.9 <= time.monotonic() - start < 5


def test_429_three_times_raises_rate_limit_error_in_openai_shape(
    client: Any, fake_llama: FakeLlama
) -> None:
    sdk = client("status=429; times=3; retry-after=0", max_retries=2)
    with pytest.raises(openai.RateLimitError) as caught:
        sdk.chat.completions.create(model=MODEL, messages=user("hi"))

    error = caught.value
    assert error.status_code == 429
    assert error.code == "rate_limit_exceeded"
    assert error.type == "rate_limit_error"
    assert error.request_id and error.request_id.startswith("req_")
    headers = error.response.headers
    assert headers["retry-after"] == "0"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert {"x-ratelimit-limit-requests", "x-ratelimit-reset-requests"} <= set(headers)
    assert error.response.request.headers["x-stainless-retry-count"] == "2"  # 3 attempts
    assert chats(fake_llama) == []


@pytest.mark.parametrize(
    ("status", "error"), [(500, openai.InternalServerError), (503, openai.InternalServerError)]
)
def test_server_errors_raise_internal_server_error(
    client: Any, fake_llama: FakeLlama, status: int, error: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        client(f"status={status}").chat.completions.create(model=MODEL, messages=user("hi"))
    assert caught.value.status_code == status  # type: ignore[attr-defined]
    assert caught.value.type == "server_error"  # type: ignore[attr-defined]


def test_context_too_long_is_a_400_as_openai_words_it(client: Any, fake_llama: FakeLlama) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client("status=400", max_retries=2).chat.completions.create(
            model=MODEL, messages=user("hi")
        )
    assert caught.value.code == "context_length_exceeded"
    assert caught.value.param == "messages"
    assert "maximum context length" in caught.value.message
    assert chats(fake_llama) == []


def test_a_cut_stream_raises_mid_stream_after_the_real_frames(
    client: Any, fake_llama: FakeLlama, localaik_server: LocalaikProcess
) -> None:
    received: list[str] = []
    stream = client("cut-after=3").chat.completions.create(
        model=MODEL, messages=user("one two three four five six"), stream=True
    )
    with pytest.raises(openai.APIConnectionError) as caught:
        for chunk in stream:
            if chunk.choices:
                received.append(chunk.choices[0].delta.content or "")
    # A lost connection (the chunked body never ended), not an error event.
    cause = caught.value.__cause__
    assert type(cause).__name__ == "RemoteProtocolError", cause  # httpx's or httpx2's
    assert "incomplete chunked read" in str(cause)
    text = "".join(received)
    assert text and "Echo: one two three four five six".startswith(text)
    assert text != "Echo: one two three four five six"
    # A dropped connection is what the fault asked for, not an error of localaik's.
    assert "Exception in ASGI application" not in localaik_server.log()


def test_an_in_stream_error_raises_api_error(client: Any, fake_llama: FakeLlama) -> None:
    received: list[str] = []
    stream = client("error-after=2; status=503").chat.completions.create(
        model=MODEL, messages=user("one two three four five six"), stream=True
    )
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            if chunk.choices:
                received.append(chunk.choices[0].delta.content or "")
    assert not isinstance(caught.value, openai.APIStatusError)
    assert "overloaded" in caught.value.message
    assert received


def test_frame_delay_spaces_the_frames(client: Any, fake_llama: FakeLlama) -> None:
    stream = client("frame-delay-ms=60").chat.completions.create(
        model=MODEL, messages=user("a b c d"), stream=True
    )
    arrivals = []
    for _chunk in stream:
        arrivals.append(time.monotonic())
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert len(gaps) >= 3 and min(gaps) >= 0.05, gaps


def test_a_delay_beyond_the_client_timeout_raises_its_timeout_error(
    client: Any, fake_llama: FakeLlama
) -> None:
    sdk = client("delay-ms=1500", timeout=0.5)
    start = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        sdk.chat.completions.create(model=MODEL, messages=user("hi"))
    assert time.monotonic() - start < 1.4
    time.sleep(1.3)  # past the delay: the client left, so nothing was forwarded
    assert chats(fake_llama) == []
    # Within the timeout, the delay only delays.
    start = time.monotonic()
    reply = client("delay-ms=300", timeout=5).chat.completions.create(
        model=MODEL, messages=user("hi")
    )
    assert reply.choices[0].message.content == "Echo: hi"
    assert time.monotonic() - start >= 0.3


def test_a_reset_raises_connection_error_and_the_sdk_retries_it(
    client: Any, fake_llama: FakeLlama, localaik_server: LocalaikProcess
) -> None:
    with pytest.raises(openai.APIConnectionError) as caught:
        client("reset").chat.completions.create(model=MODEL, messages=user("hi"))
    assert not isinstance(caught.value, openai.APITimeoutError)
    assert chats(fake_llama) == []
    reply = client("reset; times=1", max_retries=1).chat.completions.create(
        model=MODEL, messages=user("hi")
    )
    assert reply.choices[0].message.content == "Echo: hi"
    assert "Exception in ASGI application" not in localaik_server.log()


def test_a_bad_fault_is_a_400_naming_the_problem_and_nothing_is_forwarded(
    client: Any, fake_llama: FakeLlama
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client("status=4x9; times=2", max_retries=2).chat.completions.create(
            model=MODEL, messages=user("hi")
        )
    assert "status='4x9' is not a whole number" in caught.value.message
    assert caught.value.code == "invalid_fault"
    assert chats(fake_llama) == []
