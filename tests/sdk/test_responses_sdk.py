"""The Responses API with the official, unmodified `openai` SDK against `localaik serve`.

The scenario (`responses.create`, `.parse`, `.stream`, `create(stream=True)`, function tools
and their outputs, sync and async, raw bytes) runs once through a localaik in `record` mode in
front of its own fake llama-server; then both are stopped and the same scenario runs against
`replay` on the same cassette with an upstream where nothing listens. Every SDK result (whole
dumped objects, every stream event) must be identical to the recorded run.

The other tests use the session's passthrough localaik in front of the shared fake (fixtures in
tests/conftest.py): what the SDK raises for refusals, upstream errors and broken streams.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from pydantic import BaseModel

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess, all_recordings

MODEL = "gpt-4o-mini"
DEAD_UPSTREAM = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAACAAFUok9dAAAAAElFTkSuQmCC"
WEATHER: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
RAW_PROMPT = "byte identity, responses"


class Person(BaseModel):
    name: str
    age: int


def dump(obj: BaseModel) -> Any:
    # warnings off: the SDK's Parsed* types declare `parsed` loosely and pydantic warns
    return obj.model_dump(mode="json", warnings=False)


def failure(exc: BaseException) -> dict[str, Any]:
    return {"raised": type(exc).__name__, "message": str(exc)[:3000]}


def is_failure(result: Any) -> bool:
    return isinstance(result, dict) and set(result) == {"raised", "message"}


def client(url: str) -> OpenAI:
    return OpenAI(api_key="test", base_url=url + "/v1", max_retries=0)


@pytest.fixture(scope="module", autouse=True)
def clean_env() -> Iterator[None]:
    """No OPENAI_* variable of the developer's shell may steer the SDK."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("OPENAI_"):
                patch.delenv(name)
        yield


# ---------------------------------------------------------------------------------------------
# The scenario


def sync_steps(sdk: OpenAI) -> dict[str, Callable[[], Any]]:
    responses = sdk.responses

    def text() -> Any:
        answer = responses.create(model=MODEL, input="Hello there", instructions="Be terse.")
        return {"response": dump(answer), "output_text": answer.output_text}

    def items() -> Any:
        answer = responses.create(
            model=MODEL,
            temperature=0.2,
            max_output_tokens=50,
            store=False,
            metadata={"suite": "sdk"},
            input=[
                {"role": "developer", "content": "Answer briefly."},
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "What is this?"},
                        {
                            "type": "input_image",
                            "image_url": f"data:image/png;base64,{PNG}",
                            "detail": "low",
                        },
                    ],
                },
            ],
        )
        return {"response": dump(answer), "output_text": answer.output_text}

    def parse() -> Any:
        answer = responses.parse(model=MODEL, input="Who is Ada?", text_format=Person)
        assert isinstance(answer.output_parsed, Person), answer.output_parsed
        return {"response": dump(answer), "parsed": answer.output_parsed.model_dump()}

    def tools() -> Any:
        return dump(responses.create(model=MODEL, input="Weather in Oslo?", tools=[WEATHER]))  # type: ignore[list-item]

    def tool_round_trip() -> Any:
        first = responses.create(model=MODEL, input="Weather in Paris?", tools=[WEATHER])  # type: ignore[list-item]
        call = first.output[0]
        assert call.type == "function_call", call
        conversation: list[Any] = [
            {"role": "user", "content": "Weather in Paris?"},
            *first.output,
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21 C"},
        ]
        second = responses.create(model=MODEL, input=conversation, tools=[WEATHER])  # type: ignore[list-item]
        return {"first": dump(first), "second": dump(second), "text": second.output_text}

    def stream_helper() -> Any:
        with responses.stream(model=MODEL, input="stream me please") as stream:
            seen = [dump(event) for event in stream]
            final = stream.get_final_response()
        return {"events": seen, "final": dump(final), "output_text": final.output_text}

    def stream_helper_parse() -> Any:
        with responses.stream(
            model=MODEL, input="a person, streamed", text_format=Person
        ) as stream:
            final = stream.get_final_response()
        assert isinstance(final.output_parsed, Person), final.output_parsed
        return {"final": dump(final), "parsed": final.output_parsed.model_dump()}

    def stream_helper_tools() -> Any:
        with responses.stream(
            model=MODEL, input="Weather in Lima? [[two-tools]]", tools=[WEATHER]
        ) as stream:  # type: ignore[list-item]
            seen = [dump(event) for event in stream]
            final = stream.get_final_response()
        return {"events": seen, "final": dump(final)}

    def create_stream() -> Any:
        return [
            dump(event) for event in responses.create(model=MODEL, input="raw events", stream=True)
        ]

    return {
        "text": text,
        "items": items,
        "parse": parse,
        "tools": tools,
        "tool_round_trip": tool_round_trip,
        "stream_helper": stream_helper,
        "stream_helper_parse": stream_helper_parse,
        "stream_helper_tools": stream_helper_tools,
        "create_stream": create_stream,
    }


async def async_steps(url: str, results: dict[str, Any]) -> None:
    async with AsyncOpenAI(api_key="test", base_url=url + "/v1", max_retries=0) as sdk:
        try:
            answer = await sdk.responses.create(model=MODEL, input="async hello")
            results["aio.text"] = {"response": dump(answer), "output_text": answer.output_text}
        except Exception as exc:  # noqa: BLE001 - compared, and reported by the step's test
            results["aio.text"] = failure(exc)
        try:
            async with sdk.responses.stream(model=MODEL, input="async stream") as stream:
                seen = [dump(event) async for event in stream]
                final = await stream.get_final_response()
            results["aio.stream_helper"] = {"events": seen, "final": dump(final)}
        except Exception as exc:  # noqa: BLE001
            results["aio.stream_helper"] = failure(exc)


def raw_stream(url: str) -> dict[str, Any]:
    response = httpx.post(
        url + "/v1/responses",
        timeout=20,
        json={"model": MODEL, "input": RAW_PROMPT, "stream": True},
    )
    return {
        "status": response.status_code,
        "content_type": response.headers["content-type"],
        "body": response.content.decode(),
    }


SYNC_STEPS = (
    "text",
    "items",
    "parse",
    "tools",
    "tool_round_trip",
    "stream_helper",
    "stream_helper_parse",
    "stream_helper_tools",
    "create_stream",
)
STEPS = (*SYNC_STEPS, "aio.text", "aio.stream_helper", "raw")


def run_scenario(url: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with client(url) as sdk:
        for name, step in sync_steps(sdk).items():
            try:
                results[name] = step()
            except Exception as exc:  # noqa: BLE001 - compared, and reported by the step's test
                results[name] = failure(exc)
    asyncio.run(async_steps(url, results))
    results["raw"] = raw_stream(url)
    return results


@dataclass
class Scenario:
    cassette: Path
    recorded: dict[str, Any]
    replayed: dict[str, Any]
    recorder_requests: list[dict[str, Any]]
    replay: LocalaikProcess  # still running, upstream dead


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    cassette = tmp_path_factory.mktemp("responses") / "c.db"
    recorder = FakeLlama.start()
    try:
        with LocalaikProcess(
            {"LK_MODE": "record", "LK_UPSTREAM": recorder.url + "/v1", "LK_CASSETTE": str(cassette)}
        ) as server:
            recorded = run_scenario(server.url)
        recorder_requests = recorder.requests()
    finally:
        recorder.stop()
    replay = LocalaikProcess(
        {"LK_MODE": "replay", "LK_UPSTREAM": DEAD_UPSTREAM, "LK_CASSETTE": str(cassette)}
    )
    try:
        yield Scenario(cassette, recorded, run_scenario(replay.url), recorder_requests, replay)
    finally:
        replay.stop()


def test_steps_are_all_run(scenario: Scenario) -> None:
    assert sorted(scenario.recorded) == sorted(STEPS)


@pytest.mark.parametrize("step", STEPS)
def test_replay_gives_the_recorded_result(scenario: Scenario, step: str) -> None:
    recorded = scenario.recorded[step]
    assert not is_failure(recorded), f"{step} failed while recording: {recorded}"
    assert scenario.replayed[step] == recorded, f"{step}: the replay differs"


def test_recorded_results_are_real_answers(scenario: Scenario) -> None:
    """The comparison above is only worth something if the recorded run really answered."""
    results = scenario.recorded
    assert results["text"]["output_text"] == "[sys] Echo: Hello there"
    assert results["text"]["response"]["id"].startswith("resp_")
    assert results["items"]["output_text"] == "[sys] Echo: What is this? [1 images]"
    assert results["items"]["response"]["metadata"] == {"suite": "sdk"}
    assert results["parse"]["parsed"] == {"name": "text", "age": 1}
    [call] = results["tools"]["output"]
    assert call["type"] == "function_call" and call["name"] == "get_weather"
    assert call["arguments"] == '{"city":"text"}' and call["call_id"]
    assert results["tool_round_trip"]["text"] == "Tool said: sunny, 21 C"
    helper = results["stream_helper"]
    deltas = [e["delta"] for e in helper["events"] if e["type"] == "response.output_text.delta"]
    assert len(deltas) > 2 and "".join(deltas) == "Echo: stream me please"
    assert helper["output_text"] == "Echo: stream me please"
    assert helper["events"][-1]["type"] == "response.completed"
    assert results["stream_helper_parse"]["parsed"] == {"name": "text", "age": 1}
    tools = results["stream_helper_tools"]
    assert "response.function_call_arguments.delta" in [e["type"] for e in tools["events"]]
    calls = tools["final"]["output"]
    assert [c["parsed_arguments"] for c in calls] == [{"city": "text"}, {"city": "text"}]
    assert len({c["call_id"] for c in calls}) == 2, "call ids are unique"
    assert [e["type"] for e in results["create_stream"]][:2] == [
        "response.created",
        "response.in_progress",
    ]
    assert results["aio.text"]["output_text"] == "Echo: async hello"
    assert results["raw"]["content_type"].startswith("text/event-stream")


def test_every_upstream_call_was_recorded_once(scenario: Scenario) -> None:
    recordings = all_recordings(scenario.cassette)
    assert len(scenario.recorder_requests) == len(recordings)
    assert {(r.family, r.operation) for r in recordings} == {("openai", "responses")}
    assert all(
        r.upstream_request.startswith('{"method":"POST","endpoint":"chat"') for r in recordings
    )


def test_replayed_stream_bytes_are_identical_twice(scenario: Scenario) -> None:
    first, second = raw_stream(scenario.replay.url), raw_stream(scenario.replay.url)
    assert first == second == scenario.recorded["raw"]
    assert first["status"] == 200
    assert first["body"].startswith("event: response.created\ndata: ")


def test_replay_miss_is_not_found_error(scenario: Scenario) -> None:
    with client(scenario.replay.url) as sdk, pytest.raises(openai.NotFoundError) as caught:
        sdk.responses.create(model=MODEL, input="Hello there!", instructions="Be terse.")
    assert caught.value.code == "replay_miss"
    assert "input" in caught.value.message


# ---------------------------------------------------------------------------------------------
# Errors, through the session's passthrough localaik


@pytest.fixture()
def sdk(localaik_url: str) -> Iterator[OpenAI]:
    with client(localaik_url) as made:
        yield made


def test_previous_response_id_is_a_bad_request(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model=MODEL, input="and then?", previous_response_id="resp_1")
    assert caught.value.param == "previous_response_id"
    assert "does not store responses" in caught.value.message
    assert fake_llama.requests() == []


def test_built_in_tool_is_a_bad_request(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model=MODEL, input="news?", tools=[{"type": "web_search"}])
    assert caught.value.param == "tools[0].type"
    assert "web_search" in caught.value.message
    assert fake_llama.requests() == []


def test_retrieving_a_stored_response_is_a_bad_request(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.retrieve("resp_123")
    assert "does not store responses" in caught.value.message


def test_upstream_400_is_bad_request_error(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model=MODEL, input="[[error:400]] nope")
    assert caught.value.message.endswith("fake error 400")


def test_cut_stream_is_surfaced_by_the_helper(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    with sdk.responses.stream(model=MODEL, input="this will be cut [[cut:4]]") as stream:
        seen = list(stream)
        with pytest.raises(RuntimeError, match="response.completed"):
            stream.get_final_response()
    error, failed = seen[-2:]
    assert error.type == "error" and "ended the stream early" in error.message
    assert failed.type == "response.failed"
    assert failed.response.status == "failed"
    assert failed.response.error is not None
    assert failed.response.error.message == error.message


def test_cut_stream_with_create(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    seen = list(sdk.responses.create(model=MODEL, input="cut me [[cut:3]]", stream=True))

    assert [e.type for e in seen][-2:] == ["error", "response.failed"]
