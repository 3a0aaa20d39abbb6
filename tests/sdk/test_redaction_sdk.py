"""LK_REDACT with the real SDKs against `localaik serve`: a token-shaped fixture in a prompt is
refused without a rule; with one, openai (chat and Responses), anthropic and google-genai
record through the fake llama-server, which sees only placeholders, then replay from the
cassette with no upstream (only a hit answers there), with the same results; the fixture is
in no byte of the cassette."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import types

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess

# Token-shaped test data, built from parts so this file does not look like a leaked key.
FIXTURE = "s" + "k-test-a1b2c3d4e5f6g7h8i9j0k1"
AWS = "AK" + "IA" + "TESTFIXTURE23456"
RULES = "/sk-test-[a-z0-9]+/, $.systemInstruction.parts[*].text, $.system"
PROMPT = f"Call the weather API with the key {FIXTURE}."
DEAD_UPSTREAM = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there


def env(cassette: Path, mode: str, upstream: str, **extra: str) -> dict[str, str]:
    return {"LK_MODE": mode, "LK_CASSETTE": str(cassette), "LK_UPSTREAM": upstream, **extra}


def ask_all(url: str) -> dict[str, Any]:
    """Each SDK's whole result for one request holding the fixture."""
    with openai.OpenAI(api_key="test", base_url=url + "/v1", max_retries=0) as client:
        chat = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}]
        )
        responses = client.responses.create(model="gpt-4o-mini", input=PROMPT)
    with anthropic.Anthropic(api_key="test", base_url=url, max_retries=0) as claude:
        message = claude.messages.create(
            model="claude-haiku-4-5",
            max_tokens=32,
            system=f"The deploy key is {AWS}.",
            messages=[{"role": "user", "content": PROMPT}],
        )
    gemini = genai.Client(
        api_key="test", http_options=types.HttpOptions(base_url=url, api_version="v1beta")
    )
    try:
        generated = gemini.models.generate_content(
            model="gemini-2.5-flash",
            contents=PROMPT,
            config=types.GenerateContentConfig(system_instruction=f"The deploy key is {AWS}."),
        )
    finally:
        gemini.close()
    return {
        "chat": chat.model_dump(),
        "responses": responses.model_dump(),
        "anthropic": message.model_dump(),
        "gemini": generated.model_dump(exclude={"sdk_http_response"}),
    }


def test_redacted_fixtures_record_then_replay_through_every_sdk(
    tmp_path: Path, fake_llama: FakeLlama
) -> None:
    cassette = tmp_path / "redacted.db"
    upstream = fake_llama.url + "/v1"

    with (
        LocalaikProcess(env(cassette, "record", upstream)) as server,
        openai.OpenAI(api_key="test", base_url=server.url + "/v1", max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as refused,
    ):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}]
        )
    assert "LK_REDACT" in refused.value.message and FIXTURE not in refused.value.message
    assert fake_llama.requests() == []

    with LocalaikProcess(env(cassette, "record", upstream, LK_REDACT=RULES)) as server:
        recorded = ask_all(server.url)
    forwarded = json.dumps(fake_llama.requests())
    assert FIXTURE not in forwarded and AWS not in forwarded
    assert "<redacted:1>" in forwarded
    assert "<redacted:1>" in recorded["chat"]["choices"][0]["message"]["content"]
    for path in tmp_path.glob("redacted.db*"):
        data = path.read_bytes()
        assert FIXTURE.encode() not in data and AWS.encode() not in data, path.name

    with LocalaikProcess(env(cassette, "replay", DEAD_UPSTREAM, LK_REDACT=RULES)) as server:
        replayed = ask_all(server.url)
    assert replayed == recorded
