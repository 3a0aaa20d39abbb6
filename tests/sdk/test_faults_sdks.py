"""Faults on demand (D16) through the official google-genai and anthropic Python SDKs: what
each raises for each fault, in its API's own shape, and how their retries behave (google-genai
retries only with `retry_options`; anthropic as openai, `max_retries` and `retry-after`).
localaik runs in passthrough in front of the fake llama-server.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from anthropic import Anthropic
from google import genai
from google.genai import errors, types

from tests.fakes.fake_llama import FakeLlama

GEMINI = "gemini-2.5-flash"
CLAUDE = "claude-sonnet-4-5"
FAULT = "X-Localaik-Fault"
TEXT = "one two three four five six"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No variable of the developer's shell may steer the SDKs."""
    for name in list(os.environ):
        if name.startswith(("GOOGLE_", "GEMINI_", "ANTHROPIC_")):
            monkeypatch.delenv(name)


@pytest.fixture()
def gemini(localaik_url: str) -> Iterator[Any]:
    """`gemini(fault, retry=None, timeout_ms=None)`: a google-genai client sending the fault."""
    made: list[genai.Client] = []

    def make(
        fault: str, retry: types.HttpRetryOptions | None = None, timeout_ms: int | None = None
    ) -> genai.Client:
        client = genai.Client(
            api_key="test",
            http_options=types.HttpOptions(
                base_url=localaik_url,
                api_version="v1beta",
                headers={FAULT: fault},
                retry_options=retry,
                timeout=timeout_ms,
            ),
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture()
def claude(localaik_url: str) -> Iterator[Any]:
    """`claude(fault, max_retries=0, timeout=30)`: an anthropic client sending the fault."""
    made: list[Anthropic] = []

    def make(fault: str, max_retries: int = 0, timeout: float = 30.0) -> Anthropic:
        client = Anthropic(
            api_key="test",
            base_url=localaik_url,
            max_retries=max_retries,
            timeout=timeout,
            default_headers={FAULT: fault},
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def chats(fake: FakeLlama) -> list[dict[str, Any]]:
    return [r for r in fake.requests() if r["path"] == "/v1/chat/completions"]


def ask(client: Anthropic, text: str = "hi") -> str:
    message = client.messages.create(
        model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": text}]
    )
    return "".join(block.text for block in message.content if block.type == "text")


# ------------------------------------------------------------------------------ google-genai


@pytest.mark.parametrize(
    ("status", "kind", "name"),
    [
        (429, errors.ClientError, "RESOURCE_EXHAUSTED"),
        (500, errors.ServerError, "INTERNAL"),
        (503, errors.ServerError, "UNAVAILABLE"),
        (400, errors.ClientError, "INVALID_ARGUMENT"),
    ],
)
def test_gemini_status_faults_raise_in_google_shape_without_retrying(
    gemini: Any, fake_llama: FakeLlama, status: int, kind: type[errors.APIError], name: str
) -> None:
    with pytest.raises(kind) as caught:
        gemini(f"status={status}").models.generate_content(model=GEMINI, contents="hi")
    assert caught.value.code == status
    assert caught.value.status == name
    assert chats(fake_llama) == []  # and one attempt: google-genai retries by default never
    if status == 400:
        assert "exceeds the maximum number of tokens" in (caught.value.message or "")


def test_gemini_retry_options_retry_a_429_then_get_the_answer(
    gemini: Any, fake_llama: FakeLlama
) -> None:
    retry = types.HttpRetryOptions(attempts=3, initial_delay=0.1, max_delay=0.2)
    reply = gemini("status=429; times=2", retry=retry).models.generate_content(
        model=GEMINI, contents="hi"
    )
    assert reply.text == "Echo: hi"
    with pytest.raises(errors.ClientError):
        gemini("status=429; times=3", retry=retry).models.generate_content(
            model=GEMINI, contents="again"
        )


def test_gemini_cut_stream_raises_mid_stream(gemini: Any, fake_llama: FakeLlama) -> None:
    chunks: list[str] = []
    with pytest.raises(Exception) as caught:  # noqa: PT011 (what it raises is the finding)
        for chunk in gemini("cut-after=2").models.generate_content_stream(
            model=GEMINI, contents=TEXT
        ):
            chunks.append(chunk.text or "")
    assert type(caught.value).__name__ == "RemoteProtocolError", repr(caught.value)
    assert chunks and ("Echo: " + TEXT).startswith("".join(chunks))


def test_gemini_in_stream_error_raises_server_error(gemini: Any, fake_llama: FakeLlama) -> None:
    chunks: list[str] = []
    with pytest.raises(errors.APIError) as caught:
        for chunk in gemini("error-after=2; status=503").models.generate_content_stream(
            model=GEMINI, contents=TEXT
        ):
            chunks.append(chunk.text or "")
    assert isinstance(caught.value, errors.ServerError)
    assert caught.value.code == 503
    assert chunks


def test_gemini_delay_beyond_the_timeout_raises(gemini: Any, fake_llama: FakeLlama) -> None:
    start = time.monotonic()
    with pytest.raises(Exception) as caught:  # noqa: PT011
        gemini("delay-ms=1500", timeout_ms=500).models.generate_content(model=GEMINI, contents="x")
    assert type(caught.value).__name__ == "ReadTimeout", repr(caught.value)
    assert time.monotonic() - start < 1.4


def test_gemini_bad_fault_is_invalid_argument(gemini: Any, fake_llama: FakeLlama) -> None:
    with pytest.raises(errors.ClientError) as caught:
        gemini("cut-after=x").models.generate_content(model=GEMINI, contents="hi")
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
    assert "cut-after='x' is not a whole number" in (caught.value.message or "")
    assert chats(fake_llama) == []


# --------------------------------------------------------------------------------- anthropic


def test_anthropic_429_retried_honouring_retry_after(claude: Any, fake_llama: FakeLlama) -> None:
    start = time.monotonic()
    assert ask(claude("status=429; times=2", max_retries=2)) == "Echo: hi"
    assert 1.9 <= time.monotonic() - start < 6
    assert len(chats(fake_llama)) == 1


def test_anthropic_429_raises_rate_limit_error_with_its_headers(
    claude: Any, fake_llama: FakeLlama
) -> None:
    with pytest.raises(anthropic.RateLimitError) as caught:
        ask(claude("status=429"))
    error = caught.value
    assert error.status_code == 429
    assert error.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    headers = error.response.headers
    assert headers["retry-after"] == "1"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert {"anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-requests-reset"} <= set(
        headers
    )
    assert error.request_id and error.request_id.startswith("req_011C")


def test_anthropic_529_is_overloaded_and_retried(claude: Any, fake_llama: FakeLlama) -> None:
    with pytest.raises(anthropic.APIStatusError) as caught:
        ask(claude("status=529; retry-after=0"))
    assert caught.value.status_code == 529
    assert type(caught.value).__name__ == "OverloadedError"
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    assert ask(claude("status=529; times=1; retry-after=0", max_retries=1)) == "Echo: hi"


def test_anthropic_context_too_long(claude: Any, fake_llama: FakeLlama) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        ask(claude("status=400", max_retries=2))
    assert "prompt is too long" in caught.value.message
    assert chats(fake_llama) == []


def test_anthropic_cut_stream_raises_mid_stream(claude: Any, fake_llama: FakeLlama) -> None:
    texts: list[str] = []
    with (
        pytest.raises(anthropic.APIConnectionError),
        claude("cut-after=4").messages.stream(
            model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": TEXT}]
        ) as stream,
    ):
        for text in stream.text_stream:
            texts.append(text)
    assert ("Echo: " + TEXT).startswith("".join(texts))


def test_anthropic_in_stream_error_raises_overloaded(claude: Any, fake_llama: FakeLlama) -> None:
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        claude("error-after=3; status=529").messages.stream(
            model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": TEXT}]
        ) as stream,
    ):
        for _ in stream.text_stream:
            pass
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


def test_anthropic_delay_beyond_the_timeout_raises_timeout(
    claude: Any, fake_llama: FakeLlama
) -> None:
    with pytest.raises(anthropic.APITimeoutError):
        ask(claude("delay-ms=1500", timeout=0.5))


def test_anthropic_reset_is_a_connection_error(claude: Any, fake_llama: FakeLlama) -> None:
    with pytest.raises(anthropic.APIConnectionError):
        ask(claude("reset"))
    assert ask(claude("reset; times=1", max_retries=1)) == "Echo: hi"


def test_gemini_reset_raises_the_transport_error(gemini: Any, fake_llama: FakeLlama) -> None:
    with pytest.raises(Exception) as caught:  # noqa: PT011 (what it raises is the finding)
        gemini("reset").models.generate_content(model=GEMINI, contents="hi")
    assert type(caught.value).__name__ == "RemoteProtocolError", repr(caught.value)
    assert chats(fake_llama) == []


def test_anthropic_503_is_internal_server_error(claude: Any, fake_llama: FakeLlama) -> None:
    with pytest.raises(anthropic.InternalServerError) as caught:
        ask(claude("status=503; retry-after=0"))
    assert caught.value.status_code == 503
    assert caught.value.body["error"]["type"] == "api_error"  # type: ignore[index]
