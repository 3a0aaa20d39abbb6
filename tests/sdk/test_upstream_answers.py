"""Upstream answers that must not be recorded, through the real SDKs and real sockets.

`localaik serve` records in front of the fake llama-server (its own process), whose outage
(`POST /__fake/outage`) answers every generation request with a rate limit (429 and
Retry-After), a redirect (307 with a JSON body) or a 200 that is not a chat completion. Each SDK
gets its own typed error with the right status, the rate limit with its Retry-After (which the
openai and anthropic SDKs honour when they retry), and the cassette file holds no row for it.
Once the outage is over, the very same request records and is then replayed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors, types

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess

RATE_LIMIT = "[[error:429]][[retry-after:1]]"


@pytest.fixture(scope="module")
def recording(
    fake_llama_process: FakeLlama, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LocalaikProcess, Path]]:
    cassette = tmp_path_factory.mktemp("answers") / "c.db"
    env = {
        "LK_UPSTREAM": fake_llama_process.url + "/v1",
        "LK_MODE": "record",
        "LK_CASSETTE": str(cassette),
    }
    with LocalaikProcess(env) as server:
        yield server, cassette


@pytest.fixture()
def server(
    recording: tuple[LocalaikProcess, Path], fake_llama: FakeLlama
) -> Iterator[LocalaikProcess]:
    yield recording[0]
    fake_llama.set_outage("")


def rows(cassette: Path, text: str) -> int:
    """Recordings in the cassette file whose request holds `text` (read with sqlite3)."""
    if not cassette.exists():
        return 0
    with sqlite3.connect(f"file:{cassette}?mode=ro", uri=True) as db:
        found = db.execute(
            "SELECT count(*) FROM recordings WHERE request LIKE ?", (f"%{text}%",)
        ).fetchone()
    return int(found[0])


def chat_calls(fake: FakeLlama) -> int:
    return sum(1 for r in fake.requests() if r["path"].endswith("/chat/completions"))


def openai_client(server: LocalaikProcess, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(api_key="test", base_url=server.url + "/v1", max_retries=retries)


def anthropic_client(server: LocalaikProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="test", base_url=server.url, max_retries=0)


def gemini_client(server: LocalaikProcess) -> genai.Client:
    options = types.HttpOptions(base_url=server.url, api_version="v1beta")
    return genai.Client(api_key="test", http_options=options)


def ask_openai(server: LocalaikProcess, text: str, retries: int = 0) -> str | None:
    with openai_client(server, retries) as client:
        answer = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
        )
    return answer.choices[0].message.content


def ask_anthropic(server: LocalaikProcess, text: str) -> str:
    with anthropic_client(server) as client:
        message = client.messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": text}]
        )
    block = message.content[0]
    assert block.type == "text"
    return block.text


def ask_gemini(server: LocalaikProcess, text: str) -> str | None:
    client = gemini_client(server)
    try:
        return client.models.generate_content(model="gemini-2.5-flash", contents=text).text
    finally:
        client.close()


def records_after_recovery(
    fake: FakeLlama,
    cassette: Path,
    text: str,
    ask: Callable[[LocalaikProcess, str], str | None],
    server: LocalaikProcess,
) -> None:
    """The outage over, the same request is answered and recorded, then replayed."""
    fake.set_outage("")
    fake.reset()
    first = ask(server, text)
    assert first and "Echo:" in first
    assert rows(cassette, text) == 1
    assert ask(server, text) == first
    assert chat_calls(fake) == 1, "the second request was not replayed"


def test_openai_rate_limit(
    server: LocalaikProcess, fake_llama: FakeLlama, recording: tuple[LocalaikProcess, Path]
) -> None:
    cassette = recording[1]
    text = "openai, are you rate limited?"
    fake_llama.set_outage(RATE_LIMIT)

    with pytest.raises(openai.RateLimitError) as caught:
        ask_openai(server, text)

    assert caught.value.status_code == 429
    assert caught.value.type == "rate_limit_error"
    assert caught.value.response.headers["retry-after"] == "1"
    assert rows(cassette, text) == 0
    records_after_recovery(fake_llama, cassette, text, ask_openai, server)


def test_openai_sdk_retries_after_the_passed_on_retry_after(
    server: LocalaikProcess, fake_llama: FakeLlama, recording: tuple[LocalaikProcess, Path]
) -> None:
    """max_retries=1: the SDK waits the upstream's Retry-After (1 s; its own first backoff is
    about 0.5 s), asks again, and localaik forwards the retry instead of replaying a 429."""
    text = "openai, try again later"
    fake_llama.set_outage(RATE_LIMIT)

    started = time.monotonic()
    with pytest.raises(openai.RateLimitError):
        ask_openai(server, text, retries=1)
    elapsed = time.monotonic() - started

    assert chat_calls(fake_llama) == 2
    assert 0.9 <= elapsed < 10, elapsed
    assert rows(recording[1], text) == 0


def test_anthropic_rate_limit(
    server: LocalaikProcess, fake_llama: FakeLlama, recording: tuple[LocalaikProcess, Path]
) -> None:
    cassette = recording[1]
    text = "claude, are you rate limited?"
    fake_llama.set_outage(RATE_LIMIT)

    with pytest.raises(anthropic.RateLimitError) as caught:
        ask_anthropic(server, text)

    assert caught.value.status_code == 429
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert caught.value.response.headers["retry-after"] == "1"
    assert rows(cassette, text) == 0
    records_after_recovery(fake_llama, cassette, text, ask_anthropic, server)


def test_gemini_rate_limit(
    server: LocalaikProcess, fake_llama: FakeLlama, recording: tuple[LocalaikProcess, Path]
) -> None:
    cassette = recording[1]
    text = "gemini, are you rate limited?"
    fake_llama.set_outage(RATE_LIMIT)

    with pytest.raises(errors.ClientError) as caught:
        ask_gemini(server, text)

    assert caught.value.code == 429
    assert caught.value.status == "RESOURCE_EXHAUSTED"
    assert caught.value.response.headers["retry-after"] == "1"
    assert rows(cassette, text) == 0
    records_after_recovery(fake_llama, cassette, text, ask_gemini, server)


@pytest.mark.parametrize("outage", ["[[redirect]]", "[[notchat]]"], ids=["307-json", "200-other"])
def test_openai_answer_the_translation_refuses(
    server: LocalaikProcess,
    fake_llama: FakeLlama,
    recording: tuple[LocalaikProcess, Path],
    outage: str,
) -> None:
    cassette = recording[1]
    text = f"openai, what is this {outage[2:-2]}?"
    fake_llama.set_outage(outage)

    for _ in range(2):  # the second is forwarded too: nothing was recorded
        with pytest.raises(openai.InternalServerError) as caught:
            ask_openai(server, text)
        assert caught.value.status_code == 502
        assert caught.value.code == "upstream_bad_response"

    assert chat_calls(fake_llama) == 2
    assert rows(cassette, text) == 0
    records_after_recovery(fake_llama, cassette, text, ask_openai, server)


@pytest.mark.parametrize("outage", ["[[redirect]]", "[[notchat]]"], ids=["307-json", "200-other"])
def test_anthropic_and_gemini_answer_the_translation_refuses(
    server: LocalaikProcess,
    fake_llama: FakeLlama,
    recording: tuple[LocalaikProcess, Path],
    outage: str,
) -> None:
    cassette = recording[1]
    claude, gemini = f"claude, what is {outage[2:-2]}?", f"gemini, what is {outage[2:-2]}?"
    fake_llama.set_outage(outage)

    with pytest.raises(anthropic.InternalServerError) as refused:
        ask_anthropic(server, claude)
    with pytest.raises(errors.ServerError) as failed:
        ask_gemini(server, gemini)

    assert refused.value.status_code == 502
    assert failed.value.code == 502
    assert rows(cassette, claude) == rows(cassette, gemini) == 0
    records_after_recovery(fake_llama, cassette, claude, ask_anthropic, server)
    records_after_recovery(fake_llama, cassette, gemini, ask_gemini, server)
