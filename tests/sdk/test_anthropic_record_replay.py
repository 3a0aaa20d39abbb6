"""Record, then replay, with the official `anthropic` SDK against `localaik serve` (D3–D8).

A scenario of SDK calls (create, stream with text and with tool use, the raw event stream,
a tool round trip, the SDK's tool runner, structured output, count_tokens, models, async, an
upstream error) runs
through a localaik in `record` mode in front of its own fake llama-server. Then both are
stopped, and the same scenario runs against `replay` on the same cassette, once with the SDK
pointed by `base_url` at an upstream where nothing listens, once pointed by
`ANTHROPIC_BASE_URL` with a second fake as the upstream whose request log must stay empty.
Every SDK result must be identical to the recorded run, and the raw stream byte for byte.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from anthropic import Anthropic, AsyncAnthropic
from pydantic import BaseModel

from localaik.cassette.store import store_for
from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess

MODEL = "claude-haiku-4-5"
DEAD_UPSTREAM = "http://127.0.0.1:9/v1"
WEATHER: dict[str, Any] = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
RAW_BODY = {
    "model": MODEL,
    "max_tokens": 32,
    "stream": True,
    "messages": [{"role": "user", "content": "byte identity, anthropic"}],
}
RAW_HEADERS = {"x-api-key": "test", "anthropic-version": "2023-06-01"}


class Person(BaseModel):
    name: str
    age: int


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def dump(value: Any) -> Any:
    if isinstance(value, list):
        return [dump(item) for item in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", warnings=False)
    return value


def failure(exc: BaseException) -> dict[str, Any]:
    return {"raised": type(exc).__name__, "message": str(exc)[:3000]}


def is_failure(result: Any) -> bool:
    return isinstance(result, dict) and set(result) == {"raised", "message"}


def sync_steps(client: Anthropic) -> dict[str, Callable[[], Any]]:
    messages = client.messages

    def stream_text() -> Any:
        with messages.stream(
            model=MODEL, max_tokens=64, messages=user("stream me please")
        ) as stream:
            pieces = list(stream.text_stream)
            return {"pieces": pieces, "final": dump(stream.get_final_message())}

    def stream_tools() -> Any:
        with messages.stream(
            model=MODEL,
            max_tokens=64,
            tools=[WEATHER],  # type: ignore
            messages=user("stream a call"),
        ) as stream:
            events = [dump(event) for event in stream]
            return {"events": events, "final": dump(stream.get_final_message())}

    def tool_round_trip() -> Any:
        first = messages.create(
            model=MODEL,
            max_tokens=64,
            tools=[WEATHER],  # type: ignore
            messages=user("Weather in Oslo?"),
        )
        call = first.content[0]
        assert call.type == "tool_use", first
        second = messages.create(
            model=MODEL,
            max_tokens=64,
            tools=[WEATHER],  # type: ignore[list-item]
            messages=[
                {"role": "user", "content": "Weather in Oslo?"},
                {"role": "assistant", "content": first.content},
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": call.id, "content": "Sunny"}
                    ],
                },
            ],
        )
        return [dump(first), dump(second)]

    def parse() -> Any:
        message = messages.parse(
            model=MODEL, max_tokens=64, messages=user("Who is Ada?"), output_format=Person
        )
        return {"message": dump(message), "parsed": dump(message.parsed_output)}

    def tool_runner() -> Any:
        seen: list[str] = []

        @anthropic.beta_tool
        def get_weather(city: str) -> str:
            """Weather for a city."""
            seen.append(city)
            return f"Sunny in {city}"

        runner = client.beta.messages.tool_runner(
            model=MODEL, max_tokens=64, tools=[get_weather], messages=user("Weather in Lima?")
        )
        return {"replies": dump(list(runner)), "calls": seen}

    def upstream_400() -> Any:
        with pytest.raises(anthropic.BadRequestError) as caught:
            messages.create(model=MODEL, max_tokens=64, messages=user("bad [[error:400]]"))
        return {"status": caught.value.status_code, "body": caught.value.body}

    return {
        "create": lambda: dump(
            messages.create(
                model=MODEL,
                max_tokens=64,
                system="Be brief.",
                messages=user("Hello"),
                metadata={"user_id": "run"},
            )
        ),
        "stream_text": stream_text,
        "stream_tools": stream_tools,
        "raw_events": lambda: dump(
            list(
                messages.create(
                    model=MODEL, max_tokens=64, messages=user("raw events"), stream=True
                )
            )
        ),
        "tool_round_trip": tool_round_trip,
        "parse": parse,
        "count_tokens": lambda: dump(
            messages.count_tokens(model=MODEL, messages=user("one two three"))
        ),
        "models_list": lambda: dump(list(client.models.list())),
        "models_retrieve": lambda: dump(client.models.retrieve(MODEL)),
        "tool_runner": tool_runner,
        "upstream_400": upstream_400,
    }


async def async_steps(client: AsyncAnthropic) -> dict[str, Any]:
    create = await client.messages.create(model=MODEL, max_tokens=64, messages=user("async hi"))
    async with client.messages.stream(
        model=MODEL, max_tokens=64, messages=user("async stream")
    ) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    return {"create": dump(create), "stream": {"pieces": pieces, "final": dump(final)}}


def raw_stream(url: str) -> dict[str, Any]:
    response = httpx.post(url + "/v1/messages", json=RAW_BODY, headers=RAW_HEADERS, timeout=20)
    return {
        "status": response.status_code,
        "content_type": response.headers["content-type"],
        "body": response.text,
    }


def run_scenario(make_client: Callable[[], Anthropic], url: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with make_client() as client:
        for name, step in sync_steps(client).items():
            try:
                results[name] = step()
            except Exception as exc:  # noqa: BLE001 - compared, and reported by the step test
                results[name] = failure(exc)

    async def run_async() -> Any:
        async with AsyncAnthropic(api_key="test", base_url=url, max_retries=0) as client:
            return await async_steps(client)

    try:
        results["async"] = asyncio.run(run_async())
    except Exception as exc:  # noqa: BLE001
        results["async"] = failure(exc)
    results["raw_stream"] = raw_stream(url)
    return results


STEPS = (
    "create",
    "stream_text",
    "stream_tools",
    "raw_events",
    "tool_round_trip",
    "parse",
    "count_tokens",
    "models_list",
    "models_retrieve",
    "tool_runner",
    "upstream_400",
    "async",
    "raw_stream",
)


def by_base_url(url: str) -> Callable[[], Anthropic]:
    return lambda: Anthropic(api_key="test", base_url=url, max_retries=0)


def by_environment(url: str) -> Callable[[], Anthropic]:
    def make() -> Anthropic:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("ANTHROPIC_BASE_URL", url)
            patch.setenv("ANTHROPIC_API_KEY", "env-key")
            return Anthropic(max_retries=0)

    return make


@dataclass
class Main:
    cassette: Path
    recorded: dict[str, Any]
    recorder_requests: list[dict[str, Any]]
    replayed_dead: dict[str, Any]
    replayed_witness: dict[str, Any]
    witness_requests: list[dict[str, Any]]
    miss: dict[str, Any]


@pytest.fixture(scope="module")
def main(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Main]:
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("ANTHROPIC_"):
                patch.delenv(name)
        cassette = tmp_path_factory.mktemp("anthropic") / "c.db"
        with FakeLlama.start() as recorder:
            with LocalaikProcess(
                {
                    "LK_MODE": "record",
                    "LK_UPSTREAM": recorder.url + "/v1",
                    "LK_CASSETTE": str(cassette),
                }
            ) as server:
                recorded = run_scenario(by_base_url(server.url), server.url)
            recorder_requests = recorder.requests()
        replay_env = {"LK_MODE": "replay", "LK_CASSETTE": str(cassette)}
        with LocalaikProcess({**replay_env, "LK_UPSTREAM": DEAD_UPSTREAM}) as dead:
            replayed_dead = run_scenario(by_base_url(dead.url), dead.url)
        with FakeLlama.start() as witness:
            with LocalaikProcess({**replay_env, "LK_UPSTREAM": witness.url + "/v1"}) as server:
                replayed_witness = run_scenario(by_environment(server.url), server.url)
                with Anthropic(api_key="test", base_url=server.url, max_retries=0) as client:
                    try:
                        client.messages.create(
                            model=MODEL, max_tokens=64, messages=user("Hello again")
                        )
                        miss: dict[str, Any] = {"raised": None}
                    except anthropic.APIStatusError as exc:
                        miss = {
                            "raised": type(exc).__name__,
                            "status": exc.status_code,
                            "message": exc.message,
                            "body": exc.body,
                        }
            witness_requests = witness.requests()
        yield Main(
            cassette,
            recorded,
            recorder_requests,
            replayed_dead,
            replayed_witness,
            witness_requests,
            miss,
        )


def test_steps_are_all_run(main: Main) -> None:
    assert sorted(main.recorded) == sorted(STEPS)


@pytest.mark.parametrize("step", STEPS)
def test_replay_gives_the_recorded_result(main: Main, step: str) -> None:
    recorded = main.recorded[step]
    assert not is_failure(recorded), f"{step} failed while recording: {recorded}"
    assert main.replayed_dead[step] == recorded, f"{step}: replay (no upstream) differs"
    assert main.replayed_witness[step] == recorded, f"{step}: replay (witness, env) differs"


def test_recorded_results_are_real_answers(main: Main) -> None:
    """The comparison above is only worth something if the recorded run really answered."""
    results = main.recorded
    assert results["create"]["content"] == [
        {"type": "text", "text": "[sys] Echo: Hello", "citations": None}
    ]
    assert "".join(results["stream_text"]["pieces"]) == "Echo: stream me please"
    assert len(results["stream_text"]["pieces"]) > 3
    tool = results["stream_tools"]["final"]["content"][0]
    assert (tool["type"], tool["name"], tool["input"]) == (
        "tool_use",
        "get_weather",
        {"city": "text"},
    )
    assert results["stream_tools"]["final"]["stop_reason"] == "tool_use"
    assert [e["type"] for e in results["raw_events"]][-1] == "message_stop"
    assert results["tool_round_trip"][1]["content"][0]["text"] == "Tool said: Sunny"
    assert results["parse"]["parsed"] == {"name": "text", "age": 1}
    assert results["count_tokens"] == {"input_tokens": 3}
    assert [m["id"] for m in results["models_list"]] == ["fake-model"]
    assert results["models_retrieve"]["id"] == MODEL
    assert results["tool_runner"]["calls"] == ["text"]
    assert results["tool_runner"]["replies"][-1]["content"][0]["text"] == "Tool said: Sunny in text"
    assert results["upstream_400"]["status"] == 400
    assert "".join(results["async"]["stream"]["pieces"]) == "Echo: async stream"
    raw = results["raw_stream"]
    assert raw["status"] == 200 and raw["content_type"].startswith("text/event-stream")
    assert raw["body"].startswith("event: message_start\ndata: ")
    assert raw["body"].endswith('event: message_stop\ndata: {"type":"message_stop"}\n\n')


def test_every_upstream_call_was_recorded_once(main: Main) -> None:
    cassette = store_for(main.cassette, readonly=True)
    assert cassette.open()
    try:
        recordings = cassette.summaries()
    finally:
        cassette.close()
    assert len(main.recorder_requests) == len(recordings)
    assert {s.family for s in recordings} == {"anthropic"}
    assert {s.operation for s in recordings} == {
        "messages",
        "messages.count_tokens",
        "models.list",
        "models.get",
    }


def test_replay_never_reached_an_upstream(main: Main) -> None:
    assert main.witness_requests == []


def test_a_replay_miss_is_a_not_found_error_that_explains(main: Main) -> None:
    assert main.miss["raised"] == "NotFoundError"
    assert main.miss["status"] == 404
    body = main.miss["body"]
    assert body["type"] == "error" and body["error"]["type"] == "not_found_error"
    message = body["error"]["message"]
    # The SDK's own message holds the body's repr: the message is one line, readable in it.
    assert "\n" not in message and message in main.miss["message"]
    assert "replay miss: no recording matches this anthropic messages claude-haiku-4-5" in message
    assert str(main.cassette) in message
    assert 'messages[0].content: "Hello again" here, "Hello" recorded' in message
    assert "LK_MODE=record" in message
