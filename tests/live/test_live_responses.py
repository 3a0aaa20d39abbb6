"""The Responses API against the REAL bundled llama-server and default model (smollm2-135m),
through the official `openai` SDK: answers and streams recorded from the model, then replayed
with no model at all.

As in test_live_serve.py, requests are small (at most 24 new tokens, temperature 0) and the
model's words are never asserted, only the shape of the answers and that a stream and a plain
answer to the same request agree (llama-server runs with `-np 1 --no-cache-prompt --seed 42`).
Function tools are not exercised here: the 135M default model does not produce tool calls.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from tests.live.conftest import LiveServer, llama_servers, start_live_server, stop_with_signal
from tests.support import LocalaikProcess, all_recordings

MODEL = "gpt-4o-mini"
MAX_TOKENS = 24
PROMPT = "Say hello in French."


class Person(BaseModel):
    name: str
    age: int


@pytest.fixture(scope="module", autouse=True)
def clean_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("OPENAI_"):
                patch.delenv(name)
        yield


class Calls:
    """The SDK calls of this module against one localaik; each returns plain JSON data."""

    def __init__(self, url: str) -> None:
        self.sdk = openai.OpenAI(api_key="test", base_url=url + "/v1", max_retries=0)

    def text(self) -> Any:
        return self.sdk.responses.create(
            model=MODEL,
            input=PROMPT,
            instructions="Be brief.",
            max_output_tokens=MAX_TOKENS,
            temperature=0,
        ).model_dump(mode="json")

    def events(self) -> Any:
        return [
            event.model_dump(mode="json")
            for event in self.sdk.responses.create(
                model=MODEL,
                input=PROMPT,
                instructions="Be brief.",
                max_output_tokens=MAX_TOKENS,
                temperature=0,
                stream=True,
            )
        ]

    def parsed(self) -> Any:
        answer = self.sdk.responses.parse(
            model=MODEL,
            input="Invent a person.",
            text_format=Person,
            max_output_tokens=MAX_TOKENS,
            temperature=0,
        )
        return {
            "response": answer.model_dump(mode="json", warnings=False),
            "parsed": answer.output_parsed.model_dump() if answer.output_parsed else None,
        }

    def streamed_parse(self) -> Any:
        with self.sdk.responses.stream(
            model=MODEL,
            input="Invent a person.",
            text_format=Person,
            max_output_tokens=MAX_TOKENS,
            temperature=0,
        ) as stream:
            deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
            final = stream.get_final_response()
        return {
            "deltas": deltas,
            "final": final.model_dump(mode="json", warnings=False),
            "parsed": final.output_parsed.model_dump() if final.output_parsed else None,
        }

    def close(self) -> None:
        self.sdk.close()


CALLS = ("text", "events", "parsed", "streamed_parse")


@pytest.fixture(scope="module")
def cassette(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live-responses") / "responses.db"


@pytest.fixture(scope="module")
def recorded(bundled_runtime_installed: str, cassette: Path) -> dict[str, Any]:
    """Every call once against `localaik serve` in record mode with the bundled runtime; the
    server is stopped afterwards."""
    server: LiveServer = start_live_server({"LK_MODE": "record", "LK_CASSETTE": str(cassette)})
    calls = Calls(server.url)
    try:
        return {name: getattr(calls, name)() for name in CALLS}
    finally:
        calls.close()
        stop_with_signal(server, signal.SIGTERM)


def output_text(response: dict[str, Any]) -> str:
    return "".join(
        part["text"]
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text"
    )


def test_a_plain_answer(recorded: dict[str, Any]) -> None:
    answer = recorded["text"]
    assert answer["object"] == "response"
    assert answer["id"].startswith("resp_") and len(answer["id"]) > len("resp_")
    assert answer["model"] == MODEL
    assert answer["instructions"] == "Be brief."
    assert answer["status"] in ("completed", "incomplete")
    if answer["status"] == "incomplete":
        assert answer["incomplete_details"] == {"reason": "max_output_tokens"}
    [message] = answer["output"]
    assert message["type"] == "message" and message["id"].startswith("msg_")
    assert output_text(answer)
    usage = answer["usage"]
    assert usage["input_tokens"] > 0 and 0 < usage["output_tokens"] <= MAX_TOKENS
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_the_stream_says_what_the_plain_answer_says(recorded: dict[str, Any]) -> None:
    whole, events = recorded["text"], recorded["events"]
    kinds = [event["type"] for event in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    deltas = [event["delta"] for event in events if event["type"] == "response.output_text.delta"]
    assert len(deltas) >= 2
    assert "".join(deltas) == output_text(whole)
    final = events[-1]
    assert final["type"] == (
        "response.completed" if whole["status"] == "completed" else "response.incomplete"
    )
    assert final["response"]["usage"] == whole["usage"]
    assert [event["sequence_number"] for event in events] == list(range(len(events)))


def test_structured_output_parses(recorded: dict[str, Any]) -> None:
    # llama-server enforces the schema's grammar: the JSON is complete within 24 tokens.
    for result in (recorded["parsed"], recorded["streamed_parse"]):
        assert result["parsed"] is not None, result
        assert set(result["parsed"]) == {"name", "age"}
    assert recorded["parsed"]["response"]["status"] == "completed"
    assert "".join(recorded["streamed_parse"]["deltas"]) == output_text(
        recorded["parsed"]["response"]
    )


def test_every_call_was_recorded(recorded: dict[str, Any], cassette: Path) -> None:
    recordings = all_recordings(cassette)
    assert len(recordings) == len(CALLS)
    assert {(r.operation, r.stream) for r in recordings} == {
        ("responses", False),
        ("responses", True),
    }


@pytest.fixture(scope="module")
def replay_server(recorded: dict[str, Any], cassette: Path) -> Iterator[LocalaikProcess]:
    with LocalaikProcess(
        {"LK_MODE": "replay", "LK_CASSETTE": str(cassette), "LK_UPSTREAM": "http://127.0.0.1:9/v1"}
    ) as server:
        yield server


@pytest.mark.parametrize("call", CALLS)
def test_replay_gives_the_recorded_results_with_no_model(
    call: str, recorded: dict[str, Any], replay_server: LocalaikProcess
) -> None:
    calls = Calls(replay_server.url)
    try:
        assert getattr(calls, call)() == recorded[call]
    finally:
        calls.close()
    assert not llama_servers(parent=replay_server.process.pid)
