"""Secrets planted everywhere a request or an answer can carry them leak nowhere (issue 14).

Every fake token of `tests/secret_tokens.py` (30 tokens, 24 kinds) is planted in every
placement, one request each, through the real Python SDKs against localaik's app with the fake
llama-server behind it:

- record mode: the user text, the system instruction, a tool call's arguments and a tool's
  schema (OpenAI, Anthropic, Gemini each), the model name in a Gemini URL path, the
  `X-Localaik-Cassette` header, and the upstream's answer (text and stream: the fake says what
  `[[say:HEX]]` decodes to, which the request does not hold);
- replay mode: the same request fields in requests that miss, so that the miss explanation
  compares them with near recordings.

Then everything localaik wrote is searched for each token and for every 10-character piece of
its random part: the cassette's bytes and its -wal and -shm while the server runs and after,
the usage notes, `localaik cassette export`, every log record localaik emitted, every error
message the SDKs raised (the miss explanations among them), the names of every file in the
cassette folder, and what the fake upstream received (nothing holding a secret is forwarded).
The totals are printed: run with `-s` to see them.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from click.testing import CliRunner
from google.genai import errors as genai_errors

from localaik.cli import cli
from tests.app.conftest import MakeLocalaik
from tests.app.sdk_clients import Clients
from tests.fakes.fake_llama import FakeLlamaApp
from tests.secret_tokens import FAKES, Fake

CLIENT_LOGGERS = ("httpx", "httpcore", "openai", "anthropic", "google", "asyncio")
URL_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
Plant = Callable[["Clients", str], Awaitable[Any]]


def _say(text: str) -> str:
    """A prompt the fake answers with `text`, which the prompt itself does not hold."""
    return f"[[say:{text.encode().hex()}]]"


def _schema(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"city": {"type": "string", "description": description}},
        "required": ["city"],
    }


# -- the placements: each sends one request holding `secret` -----------------------------------


async def openai_text(c: Clients, secret: str) -> Any:
    content = f"What is the capital of France? My key is {secret}"
    return await c.openai.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": content}]
    )


async def openai_system(c: Clients, secret: str) -> Any:
    return await c.openai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": f"You are terse. Use the key {secret} for tools."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
    )


async def openai_tool_arguments(c: Clients, secret: str) -> Any:
    return await c.openai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "user", "content": "What is the weather in Paris?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": json.dumps({"city": "Paris", "api_key": secret}),
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
    )


async def openai_tool_schema(c: Clients, secret: str) -> Any:
    return await c.openai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[
            {
                "type": "function",
                "function": {"name": "get_weather", "parameters": _schema(f"key {secret}")},
            }
        ],
    )


async def anthropic_text(c: Clients, secret: str) -> Any:
    return await c.anthropic.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=64,
        messages=[{"role": "user", "content": f"What is the capital of France? Key: {secret}"}],
    )


async def anthropic_system(c: Clients, secret: str) -> Any:
    return await c.anthropic.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=64,
        system=f"You are terse. The key is {secret}.",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
    )


async def anthropic_tool_arguments(c: Clients, secret: str) -> Any:
    return await c.anthropic.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=64,
        messages=[
            {"role": "user", "content": "What is the weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_01",
                        "name": "get_weather",
                        "input": {"city": "Paris", "api_key": secret},
                    }
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "sun"}],
            },
        ],
    )


async def anthropic_tool_schema(c: Clients, secret: str) -> Any:
    return await c.anthropic.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=64,
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[{"name": "get_weather", "input_schema": _schema(f"key {secret}")}],
    )


async def gemini_text(c: Clients, secret: str) -> Any:
    return await c.gemini.models.generate_content(
        model="gemini-2.5-flash", contents=f"What is the capital of France? Key: {secret}"
    )


async def gemini_system(c: Clients, secret: str) -> Any:
    return await c.gemini.models.generate_content(
        model="gemini-2.5-flash",
        contents="What is the capital of France?",
        config={"system_instruction": f"You are terse. The key is {secret}."},
    )


async def gemini_tool_arguments(c: Clients, secret: str) -> Any:
    return await c.gemini.models.generate_content(
        model="gemini-2.5-flash",
        contents=[
            {"role": "user", "parts": [{"text": "What is the weather in Paris?"}]},
            {
                "role": "model",
                "parts": [{"function_call": {"name": "get_weather", "args": {"api_key": secret}}}],
            },
            {
                "role": "user",
                "parts": [
                    {"function_response": {"name": "get_weather", "response": {"sky": "sun"}}}
                ],
            },
        ],
    )


async def gemini_tool_schema(c: Clients, secret: str) -> Any:
    declaration = {"name": "get_weather", "parameters_json_schema": _schema(f"key {secret}")}
    return await c.gemini.models.generate_content(
        model="gemini-2.5-flash",
        contents="What is the weather in Paris?",
        config={"tools": [{"function_declarations": [declaration]}]},
    )


async def gemini_model_in_path(c: Clients, secret: str) -> Any:
    return await c.gemini.models.generate_content(
        model=secret, contents="What is the capital of France?"
    )


async def cassette_header(c: Clients, secret: str) -> Any:
    return await c.openai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        extra_headers={"X-Localaik-Cassette": secret},
    )


async def openai_answer(c: Clients, secret: str) -> Any:
    return await c.openai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": _say(f"Here it is: {secret}")}],
    )


async def openai_answer_stream(c: Clients, secret: str) -> Any:
    stream = await c.openai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": _say(f"Here it is: {secret}") + " (stream)"}],
        stream=True,
    )
    return [chunk async for chunk in stream]


async def anthropic_answer(c: Clients, secret: str) -> Any:
    return await c.anthropic.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=512,
        messages=[{"role": "user", "content": _say(f"Your key: {secret}")}],
    )


async def gemini_answer_stream(c: Clients, secret: str) -> Any:
    stream = await c.gemini.models.generate_content_stream(
        model="gemini-2.5-flash", contents=_say(f"The key {secret} works.")
    )
    return [chunk async for chunk in stream]


REQUEST_FIELDS: list[Plant] = [
    openai_text,
    openai_system,
    openai_tool_arguments,
    openai_tool_schema,
    anthropic_text,
    anthropic_system,
    anthropic_tool_arguments,
    anthropic_tool_schema,
    gemini_text,
    gemini_system,
    gemini_tool_arguments,
    gemini_tool_schema,
]
IN_URL_OR_HEADER: list[Plant] = [gemini_model_in_path, cassette_header]
ANSWERS: list[Plant] = [openai_answer, openai_answer_stream, anthropic_answer, gemini_answer_stream]
# Replay: each request field, and the model in the path, in requests that miss near recordings.
MISSES: list[Plant] = [*REQUEST_FIELDS, gemini_model_in_path]


def _fits(plant: Plant, fake: Fake) -> bool:
    """A URL path segment or a header value cannot hold every token (a PEM block's newlines,
    a webhook's slashes): those plants would be refused by the SDK or HTTP, not by localaik."""
    if plant in IN_URL_OR_HEADER:
        return set(fake.token) <= URL_SAFE
    return True


# -- what leaked ---------------------------------------------------------------------------------


class Leaks:
    def __init__(self) -> None:
        self.found: list[str] = []
        self.searched: Counter[str] = Counter()

    def search(self, where: str, text: str) -> None:
        self.searched[where] += 1
        for fake in FAKES:
            if fake.token in text:
                self.found.append(f"{fake.name} whole in {where}")
            elif any(piece in text for piece in fake.pieces(10)):
                self.found.append(f"{fake.name} partly in {where}")

    def search_folder(self, folder: Path, when: str) -> None:
        for path in sorted(folder.rglob("*")):
            self.search(f"a file name ({when})", str(path.relative_to(folder)))
            if path.is_file():
                self.search(f"{path.name} ({when})", path.read_bytes().decode("latin-1"))


def _localaik_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What localaik logged (the SDKs and httpx log the client's side of each request; httpx
    lines about localaik's own upstream calls, to http://fake, are kept)."""
    return [
        record
        for record in caplog.records
        if not record.name.startswith(CLIENT_LOGGERS) or "http://fake" in record.getMessage()
    ]


async def _plant(plant: Plant, clients: Clients, secret: str, errors: list[str]) -> None:
    try:
        await plant(clients, secret)
    except (openai.APIError, anthropic.APIError, genai_errors.APIError) as exc:
        errors.append(str(exc))


async def test_planted_secrets_reach_no_cassette_log_message_or_file_name(
    make_localaik: MakeLocalaik,
    fake: FakeLlamaApp,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    folder = tmp_path / "cassettes"
    cassette = folder / "plants.db"
    leaks = Leaks()
    errors: list[str] = []
    planted: Counter[str] = Counter()
    kinds: set[str] = set()

    async with make_localaik(mode="record", cassette=cassette, log=True) as http:
        clients = Clients(http)
        # Clean recordings first: what the misses of the replay below come nearest to.
        for plant in MISSES:
            await plant(clients, "(no key here)")
        assert not errors
        clean = len(fake.requests)
        for fake_token in FAKES:
            for plant in [*REQUEST_FIELDS, *IN_URL_OR_HEADER, *ANSWERS]:
                if _fits(plant, fake_token):
                    before = len(errors)
                    await _plant(plant, clients, fake_token.token, errors)
                    planted[f"record: {plant.__name__}"] += 1
                    kinds.add(fake_token.kind)
                    refused = len(errors) > before
                    # Streams may end without an error the SDK raises (the refusal comes
                    # after the text); everything else is refused outright.
                    assert refused or plant in (openai_answer_stream, gemini_answer_stream), (
                        f"{plant.__name__} with {fake_token.name} was not refused"
                    )
        await clients.http2.aclose()
        leaks.search_folder(folder, "record, server running")
        forwarded = json.dumps(fake.requests[clean:])
        leaks.search("the requests the upstream received", forwarded)

    async with make_localaik(mode="replay", cassette=cassette, log=True) as http:
        clients = Clients(http)
        for fake_token in FAKES:
            for plant in MISSES:
                if _fits(plant, fake_token):
                    before = len(errors)
                    await _plant(plant, clients, fake_token.token, errors)
                    assert len(errors) == before + 1, f"{plant.__name__}: no miss"
                    planted[f"replay miss: {plant.__name__}"] += 1
        misses = [e for e in errors if "replay miss" in e]
        assert len(misses) >= len(FAKES) * len(REQUEST_FIELDS)
        assert any("[redacted " in miss for miss in misses)
        await clients.http2.aclose()
        leaks.search_folder(folder, "replay, server running")

    leaks.search_folder(folder, "servers stopped")
    exported = CliRunner().invoke(cli, ["cassette", "export", str(cassette), "--to", "-"])
    assert exported.exit_code == 0, exported.output
    assert exported.output.count('"format"') == len(MISSES)  # the clean recordings, only
    leaks.search("localaik cassette export", exported.output)
    for record in _localaik_records(caplog):
        leaks.search(f"the log ({record.name})", record.getMessage())
    for message in errors:
        leaks.search("an error message (miss explanations included)", message)

    total = sum(planted.values())
    print(
        f"\nplanted {total} secrets of {len(kinds)} kinds ({len(FAKES)} tokens) in "
        f"{len(planted)} placements; searched {sum(leaks.searched.values())} texts "
        f"({len(misses)} miss messages, {len(_localaik_records(caplog))} log records); "
        f"leaked: {len(leaks.found)}"
    )
    for placement, count in sorted(planted.items()):
        print(f"  {count:4d}  {placement}")
    assert total >= 300 and len(kinds) >= 15
    assert leaks.found == []
