"""`localaik serve` with the REAL bundled llama-server and the default model (smollm2-135m),
driven by the official Python SDKs: answers, streams, token counts and structured output recorded
from the model, then replayed with no model at all; and the runtime's process hygiene.

Requests are small (at most 24 new tokens; temperature 0 except in the check of the fixed seed)
so that the module stays well under two minutes on 2 busy cores. The model's words are never
asserted: only their shape, and that equal requests give equal answers (llama-server runs with
`-np 1 --no-cache-prompt --seed 42`).

Each SDK call is a method of `Calls`; `recorded` runs it once against the recording server and
keeps the result, so the replay test can run the very same calls against the replaying server.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from google import genai
from google.genai import types

from tests.live.conftest import (
    STOP_TIMEOUT,
    LiveServer,
    Shutdown,
    llama_servers,
    replaying,
    start_live_server,
    stop_with_signal,
)
from tests.support import LocalaikProcess

GEMINI_MODEL = "gemini-2.5-flash"
OPENAI_MODEL = "gpt-4o-mini"
MAX_TOKENS = 24
SEED = 7

GEMINI_PROMPT = "Name three colours."
COUNT_PROMPT = "The quick brown fox jumps over the lazy dog"
JSON_PROMPT = "Invent a person."
OPENAI_MESSAGES = [{"role": "user", "content": "Say hello in French."}]
POEM_MESSAGES = [{"role": "user", "content": "Write a short poem."}]

PERSON = types.Schema(
    type=types.Type.OBJECT,
    properties={
        "name": types.Schema(type=types.Type.STRING),
        "age": types.Schema(type=types.Type.INTEGER),
    },
    required=["name", "age"],
)

pytestmark = pytest.mark.usefixtures("clean_google_env")


@pytest.fixture()
def clean_google_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No GOOGLE_* / GEMINI_* / OPENAI_* variable of the developer's shell may steer the SDKs."""
    for name in list(os.environ):
        if name.startswith(("GOOGLE_", "GEMINI_", "OPENAI_")):
            monkeypatch.delenv(name)


# ---------------------------------------------------------------------------------------------
# The SDK calls, the same against the recording and the replaying server


def gemini_config(**extra: Any) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        temperature=0, seed=SEED, max_output_tokens=MAX_TOKENS, **extra
    )


class Calls:
    """The SDK calls of this module against one localaik; each returns SDK objects."""

    def __init__(self, url: str) -> None:
        self.gemini = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=url))
        self.openai = openai.OpenAI(api_key="test", base_url=url + "/v1", max_retries=0)

    def close(self) -> None:
        self.gemini.close()
        self.openai.close()

    def gemini_text(self) -> types.GenerateContentResponse:
        return self.gemini.models.generate_content(
            model=GEMINI_MODEL, contents=GEMINI_PROMPT, config=gemini_config()
        )

    def gemini_stream(self) -> list[types.GenerateContentResponse]:
        return list(
            self.gemini.models.generate_content_stream(
                model=GEMINI_MODEL, contents=GEMINI_PROMPT, config=gemini_config()
            )
        )

    def gemini_count(self) -> types.CountTokensResponse:
        return self.gemini.models.count_tokens(model=GEMINI_MODEL, contents=COUNT_PROMPT)

    def gemini_json(self) -> types.GenerateContentResponse:
        return self.gemini.models.generate_content(
            model=GEMINI_MODEL,
            contents=JSON_PROMPT,
            config=gemini_config(response_mime_type="application/json", response_schema=PERSON),
        )

    def openai_chat(self) -> Any:
        return self.openai.chat.completions.create(
            model=OPENAI_MODEL, messages=OPENAI_MESSAGES, max_tokens=MAX_TOKENS, temperature=0
        )

    def openai_stream(self) -> list[Any]:
        return list(
            self.openai.chat.completions.create(
                model=OPENAI_MODEL,
                messages=OPENAI_MESSAGES,
                max_tokens=MAX_TOKENS,
                temperature=0,
                stream=True,
            )
        )

    def _twice(self, temperature: float, name: str) -> tuple[Any, Any]:
        # The same body twice, each to its own cassette: in record mode both are misses, so
        # both reach llama-server (an identical request to one cassette would be replayed).
        return tuple(  # type: ignore[return-value]
            self.openai.chat.completions.create(
                model=OPENAI_MODEL,
                messages=POEM_MESSAGES,
                max_tokens=MAX_TOKENS,
                temperature=temperature,
                extra_headers={"X-Localaik-Cassette": f"{name}-{i}"},
            )
            for i in (1, 2)
        )

    def openai_twice(self) -> tuple[Any, Any]:
        """Temperature 0: greedy, so equal answers need `-np 1 --no-cache-prompt`."""
        return self._twice(0, "twice-greedy")

    def openai_twice_sampled(self) -> tuple[Any, Any]:
        """Temperature 1 and no seed in the request: equal answers need llama-server's fixed
        default seed (LK_SEED, 42)."""
        return self._twice(1.0, "twice-sampled")


CALLS = [name for name in vars(Calls) if name.startswith(("gemini_", "openai_"))]
# How many generations each call asks of llama-server (countTokens uses /tokenize).
GENERATIONS = {name: 0 if name == "gemini_count" else 2 if "twice" in name else 1 for name in CALLS}


class Recorded:
    """Each call run once against the recording server; how many llama-server tasks it took."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.calls = Calls(server.url)
        self.results: dict[str, Any] = {}
        self.tasks: dict[str, int] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self.results:
            before = self.server.llama_tasks()
            self.results[name] = getattr(self.calls, name)()
            self.tasks[name] = tasks_settled(self.server, GENERATIONS[name], before)
        return self.results[name]

    def all(self) -> dict[str, Any]:
        for name in CALLS:
            self[name]
        return self.results


@pytest.fixture(scope="module")
def recorded(record_server: LiveServer) -> Iterator[Recorded]:
    calls = Recorded(record_server)
    yield calls
    calls.calls.close()


def comparable(result: Any) -> Any:
    """An SDK result as plain JSON data, without the HTTP headers (dates differ)."""
    if isinstance(result, list | tuple):
        return [comparable(item) for item in result]
    return result.model_dump(mode="json", exclude={"sdk_http_response"})


def tasks_settled(server: LiveServer, expected: int, before: int) -> int:
    """llama-server's task count since `before`, once it reaches `expected` (its log is piped
    through localaik, so a line may land a moment after the answer)."""
    deadline = time.monotonic() + 2.0
    while server.llama_tasks() - before < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return server.llama_tasks() - before


# ---------------------------------------------------------------------------------------------
# Start


def test_the_bundled_runtime_starts_and_health_says_loading_then_ok(
    record_server: LiveServer,
) -> None:
    for body in record_server.health_503_bodies:  # the probes that came before the model loaded
        assert body["status"] == "loading", body
        assert body["upstream"]["runtime"] in ("starting", "loading"), body
    health = record_server.health
    assert health["status"] == "ok"
    assert health["mode"] == "record"
    assert health["upstream"] == {
        "url": f"http://127.0.0.1:{record_server.llama_port}/v1",
        "ok": True,
        "runtime": "ready",
        "embeddings_runtime": "stopped",
    }  # lazy: no request yet
    assert record_server.llama_model.endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    # llama-server is localaik's child and runs with the reproducible settings.
    assert llama_servers(port=record_server.llama_port, parent=record_server.pid) == [
        record_server.llama_pid
    ]
    log = record_server.log()
    for flag in ("-np 1", "--no-cache-prompt", "--seed 42", "--offline", "--host 127.0.0.1"):
        assert flag in log, flag


# ---------------------------------------------------------------------------------------------
# google-genai


def assert_text_answer(response: types.GenerateContentResponse) -> None:
    assert response.text, response
    assert response.model_version == GEMINI_MODEL
    assert response.response_id
    assert response.candidates is not None and len(response.candidates) == 1
    assert response.candidates[0].finish_reason in (
        types.FinishReason.STOP,
        types.FinishReason.MAX_TOKENS,
    )
    usage = response.usage_metadata
    assert usage is not None
    assert usage.prompt_token_count and usage.prompt_token_count > 0
    assert usage.candidates_token_count and 0 < usage.candidates_token_count <= MAX_TOKENS
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count


def test_gemini_text_answer(recorded: Recorded) -> None:
    response = recorded["gemini_text"]
    assert_text_answer(response)
    assert recorded.tasks["gemini_text"] == 1  # answered by llama-server, not the cassette


def test_gemini_stream_joins_to_the_same_answer_as_without_stream(recorded: Recorded) -> None:
    whole = recorded["gemini_text"]
    chunks = recorded["gemini_stream"]
    assert recorded.tasks["gemini_stream"] == 1  # a second generation, streamed this time
    texts = [chunk.text for chunk in chunks if chunk.text]
    assert len(texts) >= 2, chunks
    assert "".join(texts) == whole.text
    last = chunks[-1]
    assert last.candidates is not None
    assert last.candidates[0].finish_reason == whole.candidates[0].finish_reason
    assert last.usage_metadata == whole.usage_metadata
    assert all(chunk.model_version == GEMINI_MODEL for chunk in chunks)


def test_gemini_count_tokens_is_close_to_the_word_count(recorded: Recorded) -> None:
    count = recorded["gemini_count"]
    words = len(COUNT_PROMPT.split())
    assert count.total_tokens is not None
    assert words / 2 <= count.total_tokens <= words * 2, count


def test_gemini_structured_output_follows_the_schema(recorded: Recorded) -> None:
    response = recorded["gemini_json"]
    assert response.candidates is not None
    # llama-server enforces the grammar: the JSON is complete well within 24 tokens.
    assert response.candidates[0].finish_reason == types.FinishReason.STOP, response.text
    data = json.loads(response.text or "")
    assert set(data) == {"name", "age"}
    assert isinstance(data["name"], str) and data["name"]
    assert isinstance(data["age"], int)
    assert response.parsed == data


# ---------------------------------------------------------------------------------------------
# openai


def test_openai_chat_answer(recorded: Recorded) -> None:
    completion = recorded["openai_chat"]
    assert completion.model == OPENAI_MODEL
    assert completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert choice.finish_reason in ("stop", "length")
    assert completion.usage.prompt_tokens > 0
    assert 0 < completion.usage.completion_tokens <= MAX_TOKENS
    assert recorded.tasks["openai_chat"] == 1


def test_openai_stream_joins_to_the_same_answer_as_without_stream(recorded: Recorded) -> None:
    whole = recorded["openai_chat"]
    chunks = recorded["openai_stream"]
    assert recorded.tasks["openai_stream"] == 1
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert all(chunk.model == OPENAI_MODEL for chunk in chunks)
    contents = [
        chunk.choices[0].delta.content
        for chunk in chunks
        if chunk.choices and chunk.choices[0].delta.content
    ]
    assert len(contents) >= 2, chunks
    assert "".join(contents) == whole.choices[0].message.content
    finishes = [
        chunk.choices[0].finish_reason
        for chunk in chunks
        if chunk.choices and chunk.choices[0].finish_reason
    ]
    assert finishes == [whole.choices[0].finish_reason]


@pytest.mark.parametrize("call", ["openai_twice", "openai_twice_sampled"])
def test_openai_the_same_request_twice_gives_the_same_answer(recorded: Recorded, call: str) -> None:
    first, second = recorded[call]
    assert recorded.tasks[call] == 2  # both generated by llama-server
    assert first.choices[0].message.content
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.id != second.id  # two answers, not one replayed


# ---------------------------------------------------------------------------------------------
# Record, stop, replay


@pytest.fixture(scope="module")
def record_shutdown(recorded: Recorded, record_server: LiveServer) -> Shutdown:
    """Every call recorded, then the recording server stopped with SIGTERM."""
    recorded.all()
    return stop_with_signal(record_server, signal.SIGTERM)


def assert_clean_shutdown(shutdown: Shutdown, server: LiveServer) -> None:
    assert shutdown.localaik_seconds is not None, (
        f"localaik still ran {STOP_TIMEOUT:g} s after {shutdown.signal_name}:\n"
        f"{shutdown.log[-3000:]}"
    )
    assert shutdown.llama_seconds is not None and not shutdown.leftovers, (
        f"llama-server (pid {server.llama_pid}) still ran {STOP_TIMEOUT:g} s after "
        f"{shutdown.signal_name} to localaik: {shutdown.leftovers}\n{shutdown.log[-3000:]}"
    )
    # localaik stopped it itself (SIGTERM to its group), not the parent-death signal.
    assert f"stopping llama-server (pid {server.llama_pid})" in shutdown.log


def test_sigterm_stops_localaik_and_its_llama_server(
    record_shutdown: Shutdown, record_server: LiveServer
) -> None:
    assert_clean_shutdown(record_shutdown, record_server)


def test_sigint_stops_localaik_and_its_llama_server(
    bundled_runtime_installed: str, tmp_path: Path
) -> None:
    # Passthrough (LocalaikProcess's default): nothing is recorded.
    server = start_live_server({"LK_CASSETTE": str(tmp_path / "unused.db")})
    assert_clean_shutdown(stop_with_signal(server, signal.SIGINT), server)


@pytest.fixture(scope="module")
def replay_server(record_shutdown: Shutdown, cassette_dir: Path) -> Iterator[LocalaikProcess]:
    with replaying(cassette_dir) as server:
        yield server


@pytest.mark.parametrize("call", CALLS)
def test_replay_gives_the_recorded_results_with_no_model(
    call: str, recorded: Recorded, replay_server: LocalaikProcess
) -> None:
    expected = comparable(recorded[call])
    calls = Calls(replay_server.url)
    try:
        replayed = comparable(getattr(calls, call)())
    finally:
        calls.close()
    assert replayed == expected
    assert not llama_servers(parent=replay_server.process.pid)


def test_replay_started_no_llama_server(replay_server: LocalaikProcess) -> None:
    health = httpx.get(replay_server.url + "/health", timeout=5).json()
    assert health["status"] == "ok"
    assert "upstream" not in health  # replay shows none: it uses none
    assert "starting llama-server" not in replay_server.log()
    assert not llama_servers(parent=replay_server.process.pid)
