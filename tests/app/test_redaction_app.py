"""LK_REDACT through the app: a token-shaped fixture in a request of every keyed operation of
every family is refused without a rule, and with one is recorded as a placeholder, replayed by
the same request, and verified; the fixture reaches neither the upstream nor any byte of the
cassette (the .db and its -wal and -shm, while the server runs and after)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from localaik.server.verify import verify
from tests.app.test_replay_app import cassette_bytes
from tests.support import all_recordings, assert_error

# Token-shaped test data, built from parts so this file does not look like a leaked key.
FIXTURE = "s" + "k-test-a1b2c3d4e5f6g7h8i9j0k1"
OTHER = "s" + "k-test-zz99yy88xx77ww66vv55"
AWS = "AK" + "IA" + "TESTFIXTURE23456"
RULES = "/sk-test-[a-z0-9]+/, $.systemInstruction.parts[*].text, $.system"

GEMINI = "/v1beta/models/gemini-2.0-flash"
EMBED = "/v1beta/models/gemini-embedding-001"
GOOGLE = {"x-goog-api-key": "test"}
OPENAI = {"authorization": "Bearer test"}
ANTHROPIC = {"x-api-key": "test", "anthropic-version": "2023-06-01"}


@dataclass(frozen=True)
class Case:
    name: str
    family: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def with_text(self, old: str, new: str) -> dict[str, Any]:
        return json.loads(json.dumps(self.body).replace(old, new))  # type: ignore[no-any-return]


def gemini(text: str) -> dict[str, Any]:
    """As Python google-genai sends it: snake_case `system_instruction`, which the path rule
    names in camelCase (the family's key spelling)."""
    return {
        "contents": [{"role": "user", "parts": [{"text": text}]}],
        "system_instruction": {"parts": [{"text": f"The deploy key is {AWS}."}]},
    }


def chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


def claude(text: str, **extra: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": text}]
    return {"model": "claude-haiku-4-5", "messages": messages, "system": f"AWS {AWS}", **extra}


ASK = f"Call the API with {FIXTURE}"
CASES = [
    Case("gemini-generate", "gemini", f"{GEMINI}:generateContent", gemini(ASK), GOOGLE),
    Case("gemini-stream", "gemini", f"{GEMINI}:streamGenerateContent?alt=sse", gemini(ASK), GOOGLE),
    Case("gemini-count", "gemini", f"{GEMINI}:countTokens", gemini(ASK), GOOGLE),
    Case(
        "gemini-embed", "gemini", f"{EMBED}:embedContent", {"content": {"parts": [{"text": ASK}]}}
    ),
    Case(
        "gemini-batch-embed",
        "gemini",
        f"{EMBED}:batchEmbedContents",
        {
            "requests": [
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": ASK}]}}
            ]
        },
    ),
    Case("openai-chat", "openai", "/v1/chat/completions", chat(ASK), OPENAI),
    Case("openai-chat-stream", "openai", "/v1/chat/completions", chat(ASK, stream=True), OPENAI),
    Case("openai-completions", "openai", "/v1/completions", {"model": "m", "prompt": ASK}, OPENAI),
    Case("openai-responses", "openai", "/v1/responses", {"model": "gpt-4o-mini", "input": ASK}),
    Case(
        "openai-responses-stream",
        "openai",
        "/v1/responses",
        {"model": "gpt-4o-mini", "input": ASK, "stream": True},
    ),
    Case("openai-embeddings", "openai", "/v1/embeddings", {"model": "m", "input": ASK}, OPENAI),
    Case("anthropic-messages", "anthropic", "/v1/messages", claude(ASK, max_tokens=32), ANTHROPIC),
    Case(
        "anthropic-stream",
        "anthropic",
        "/v1/messages",
        claude(ASK, max_tokens=32, stream=True),
        ANTHROPIC,
    ),
    Case("anthropic-count", "anthropic", "/v1/messages/count_tokens", claude(ASK), ANTHROPIC),
]
SECRETS = (FIXTURE, OTHER, AWS)


def leaked(files: dict[str, bytes]) -> list[str]:
    return [name for name, data in files.items() for s in SECRETS if s.encode() in data]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_a_redacted_fixture_records_replays_and_verifies(
    make_localaik: Any, fake: Any, tmp_path: Path, case: Case
) -> None:
    cassette = tmp_path / "redacted.db"

    # Without a rule: refused, nothing forwarded, nothing stored.
    async with make_localaik(mode="record", cassette=cassette) as client:
        refused = await client.post(case.path, json=case.body, headers=case.headers)
    error = assert_error(refused, 400, case.family)
    assert FIXTURE not in error["message"] and "LK_REDACT" in error["message"]
    assert fake.requests == []
    assert all_recordings(cassette) == []

    # With the rules: recorded, the upstream and the cassette see only placeholders.
    async with make_localaik(mode="record", cassette=cassette, redact=RULES) as client:
        recorded = await client.post(case.path, json=case.body, headers=case.headers)
        while_open = cassette_bytes(cassette)
    assert recorded.status_code == 200, recorded.text
    forwarded = json.dumps(fake.requests)
    assert len(fake.requests) == 1
    assert "<redacted:1>" in forwarded
    assert not [s for s in SECRETS if s in forwarded]
    assert {"redacted.db", "redacted.db-wal"} <= set(while_open)
    assert leaked(while_open) == []
    assert leaked(cassette_bytes(cassette)) == []
    [recording] = all_recordings(cassette)
    assert "<redacted:1>" in recording.request

    # Replay: the same request (the fixture in it) computes the same key; no upstream.
    async with make_localaik(mode="replay", cassette=cassette, redact=RULES) as client:
        replayed = await client.post(case.path, json=case.body, headers=case.headers)
        # Another fixture in the same place reads the same once redacted: the same recording.
        other = await client.post(
            case.path, json=case.with_text(FIXTURE, OTHER), headers=case.headers
        )
    assert replayed.status_code == 200, replayed.text
    assert replayed.content == recorded.content
    assert other.content == recorded.content
    assert len(fake.requests) == 1

    # `cassette verify` rebuilds the request from the redacted recording: it still agrees.
    report = verify(cassette)
    assert report.recordings == 1 and report.problems == []


async def test_text_no_rule_covers_is_still_refused(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette, redact=RULES) as client:
        # The AWS fixture in the user's text: no rule names it (only the system text's path).
        response = await client.post(
            "/v1/chat/completions", json=chat(f"{FIXTURE} and {AWS}"), headers=OPENAI
        )
    error = assert_error(response, 400, "openai")
    assert error["code"] == "secret_refused"
    assert "AWS access key" in error["message"]
    assert fake.requests == []
    assert all_recordings(cassette) == []


async def test_a_replay_miss_shows_placeholders_not_the_fixture(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette, redact=RULES) as client:
        await client.post("/v1/chat/completions", json=chat(ASK), headers=OPENAI)
    async with make_localaik(mode="replay", cassette=cassette, redact=RULES) as client:
        missed = await client.post(
            "/v1/chat/completions", json=chat(f"{ASK}, twice"), headers=OPENAI
        )
    error = assert_error(missed, 404, "openai")
    assert "<redacted:1>, twice" in error["message"]
    assert FIXTURE not in error["message"]


async def test_passthrough_forwards_the_redacted_text_too(make_localaik: Any, fake: Any) -> None:
    """One rule for every mode: what the model sees live is what a recording would hold."""
    async with make_localaik(mode="passthrough", redact=RULES) as client:
        response = await client.post("/v1/chat/completions", json=chat(ASK), headers=OPENAI)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == (
        "Echo: Call the API with <redacted:1>"
    )
    assert FIXTURE not in json.dumps(fake.requests)
