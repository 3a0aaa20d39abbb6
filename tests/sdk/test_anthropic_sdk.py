"""The official `anthropic` Python SDK, unmodified, against a running `localaik serve`.

Behind localaik is the fake llama-server (tests/fakes/fake_llama.py): it answers
"Echo: <last user text>", calls the first tool when tools are given (arguments built from its
schema), answers a tool result with "Tool said: <result>", and obeys directives such as
`[[error:400]]` or `[[cut:3]]`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import pytest
from anthropic import Anthropic, AsyncAnthropic
from pydantic import BaseModel

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess

MODEL = "claude-haiku-4-5"
WEATHER: dict[str, Any] = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
    },
}
CLIENT_KEY_HEADERS = ("authorization", "x-api-key", "x-goog-api-key", "anthropic-version")


class Person(BaseModel):
    name: str
    age: int


@pytest.fixture(autouse=True)
def clean_anthropic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ANTHROPIC_* variable of the developer's shell may steer the SDK."""
    for name in list(os.environ):
        if name.startswith("ANTHROPIC_"):
            monkeypatch.delenv(name)


@pytest.fixture()
def sdk(localaik_url: str) -> Iterator[Anthropic]:
    """The sync client pointed at localaik by base_url, without retries."""
    with Anthropic(api_key="test", base_url=localaik_url, max_retries=0) as client:
        yield client


@pytest.fixture()
async def async_sdk(localaik_url: str) -> AsyncIterator[AsyncAnthropic]:
    async with AsyncAnthropic(api_key="test", base_url=localaik_url, max_retries=0) as client:
        yield client


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def chat_requests(fake: FakeLlama) -> list[dict[str, Any]]:
    return [r for r in fake.requests() if r["path"] == "/v1/chat/completions"]


# --------------------------------------------------------------------------- messages.create


def test_create(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    message = sdk.messages.create(model=MODEL, max_tokens=64, messages=user("Hello there"))

    assert message.type == "message" and message.role == "assistant"
    assert message.model == MODEL
    assert message.id.startswith("msg_")
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "Echo: Hello there"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.input_tokens == 2 and message.usage.output_tokens == 3
    (received,) = chat_requests(fake_llama)
    assert received["body"] == {
        "model": "localaik",
        "max_tokens": 64,
        "messages": user("Hello there"),
    }
    for header in CLIENT_KEY_HEADERS:
        assert header not in received["headers"]


def test_create_with_env_base_url_and_key(
    localaik_url: str, fake_llama: FakeLlama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", localaik_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    with Anthropic(max_retries=0) as client:
        message = client.messages.create(model=MODEL, max_tokens=64, messages=user("via env"))

    assert message.content[0].text == "Echo: via env"  # type: ignore[union-attr]
    assert len(chat_requests(fake_llama)) == 1


def test_system_prompt_and_history(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    message = sdk.messages.create(
        model=MODEL,
        max_tokens=64,
        system="Be brief.",
        messages=[
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": [{"type": "text", "text": "Again"}]},
        ],
    )

    assert message.content[0].text == "[sys] Echo: Again"  # type: ignore[union-attr]
    assert chat_requests(fake_llama)[0]["body"]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Again"},
    ]


def test_max_tokens_reached(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    message = sdk.messages.create(model=MODEL, max_tokens=2, messages=user("one two three four"))

    assert message.stop_reason == "max_tokens"
    assert message.content[0].text == "Echo: one"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- streams


def test_stream_text_stream_and_final_message(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    with sdk.messages.stream(
        model=MODEL, max_tokens=64, messages=user("stream me please")
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()

    assert len(pieces) > 3
    assert "".join(pieces) == "Echo: stream me please"
    assert final.content[0].text == "Echo: stream me please"  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert final.model == MODEL
    assert final.usage.input_tokens == 3 and final.usage.output_tokens == 4
    assert chat_requests(fake_llama)[0]["body"]["stream"] is True


def test_stream_events_and_final_text(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    with sdk.messages.stream(model=MODEL, max_tokens=64, messages=user("events")) as stream:
        kinds = [event.type for event in stream]
        text = stream.get_final_text()

    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds.count("text") == kinds.count("content_block_delta") > 1
    assert text == "Echo: events"


def test_create_stream_true_gives_raw_events(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    raw = list(
        sdk.messages.create(model=MODEL, max_tokens=64, messages=user("raw events"), stream=True)
    )

    assert [e.type for e in raw[:2]] == ["message_start", "content_block_start"]
    assert [e.type for e in raw[-3:]] == ["content_block_stop", "message_delta", "message_stop"]
    deltas = [e.delta.text for e in raw if e.type == "content_block_delta"]  # type: ignore
    assert "".join(deltas) == "Echo: raw events"
    assert raw[-2].delta.stop_reason == "end_turn"  # type: ignore[union-attr]


def test_stream_tool_use(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    with sdk.messages.stream(
        model=MODEL,
        max_tokens=64,
        tools=[WEATHER],  # type: ignore[list-item]
        messages=user("Weather in Oslo?"),
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()

    assert "input_json" in kinds
    assert final.stop_reason == "tool_use"
    [block] = final.content
    assert block.type == "tool_use"
    assert block.name == "get_weather" and block.input == {"city": "text", "days": 1}
    assert block.id


# --------------------------------------------------------------------------- tools


def test_tool_use_round_trip(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    first = sdk.messages.create(
        model=MODEL,
        max_tokens=64,
        tools=[WEATHER],  # type: ignore
        messages=user("Weather in Oslo?"),
    )
    assert first.stop_reason == "tool_use"
    [call] = first.content
    assert call.type == "tool_use" and call.input == {"city": "text", "days": 1}

    second = sdk.messages.create(
        model=MODEL,
        max_tokens=64,
        tools=[WEATHER],  # type: ignore[list-item]
        messages=[
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": first.content},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": call.id, "content": "Sunny, 20 C"}
                ],
            },
        ],
    )

    assert second.content[0].text == "Tool said: Sunny, 20 C"  # type: ignore[union-attr]
    assert second.stop_reason == "end_turn"
    sent = chat_requests(fake_llama)[1]["body"]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call.id
    assert sent[2] == {
        "role": "tool",
        "tool_call_id": call.id,
        "content": "Sunny, 20 C",
        "name": "get_weather",
    }


def test_beta_tool_runner_runs_the_tool_and_answers(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    """The SDK's agent loop. Where it asks for a server-held thread, localaik's refusal (its
    error_code) makes it send the whole conversation instead, as it would to any server
    without threads."""
    seen: list[str] = []

    @anthropic.beta_tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        seen.append(city)
        return f"Sunny in {city}"

    runner = sdk.beta.messages.tool_runner(
        model=MODEL, max_tokens=64, tools=[get_weather], messages=user("Weather in Oslo?")
    )
    replies = list(runner)

    assert seen == ["text"]
    assert [r.stop_reason for r in replies] == ["tool_use", "end_turn"]
    assert replies[-1].content[0].text == "Tool said: Sunny in text"  # type: ignore[union-attr]
    sent = chat_requests(fake_llama)
    assert len(sent) == 2
    assert [m["role"] for m in sent[1]["body"]["messages"]] == ["user", "assistant", "tool"]


def test_tool_choice_none_answers_with_text(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    message = sdk.messages.create(
        model=MODEL,
        max_tokens=64,
        tools=[WEATHER],  # type: ignore
        tool_choice={"type": "none"},
        messages=user("Just talk"),
    )

    assert message.content[0].text == "Echo: Just talk"  # type: ignore[union-attr]
    assert chat_requests(fake_llama)[0]["body"]["tool_choice"] == "none"


def test_parse_with_pydantic_output_format(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    message = sdk.messages.parse(
        model=MODEL, max_tokens=64, messages=user("Who is Ada?"), output_format=Person
    )

    assert message.parsed_output == Person(name="text", age=1)
    sent = chat_requests(fake_llama)[0]["body"]["response_format"]
    assert sent["type"] == "json_schema"
    assert set(sent["json_schema"]["schema"]["properties"]) == {"name", "age"}


# --------------------------------------------------------------------------- count, models


def test_count_tokens(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    count = sdk.messages.count_tokens(model=MODEL, messages=user("one two three four"))

    assert count.input_tokens == 4
    (received,) = [r for r in fake_llama.requests() if r["path"] == "/tokenize"]
    assert received["body"] == {"content": "one two three four", "add_special": False}


def test_models_list_and_retrieve(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    models = list(sdk.models.list())
    model = sdk.models.retrieve(MODEL)

    assert [m.id for m in models] == ["fake-model"]
    assert models[0].type == "model" and models[0].display_name == "fake-model"
    assert models[0].created_at.year == 2023
    assert model.id == MODEL and model.type == "model"


# --------------------------------------------------------------------------- async client


async def test_async_create_and_stream(async_sdk: AsyncAnthropic, fake_llama: FakeLlama) -> None:
    message = await async_sdk.messages.create(model=MODEL, max_tokens=64, messages=user("async hi"))
    async with async_sdk.messages.stream(
        model=MODEL, max_tokens=64, messages=user("async stream")
    ) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()

    assert message.content[0].text == "Echo: async hi"  # type: ignore[union-attr]
    assert "".join(pieces) == "Echo: async stream"
    assert final.stop_reason == "end_turn"


# --------------------------------------------------------------------------- errors


def test_invalid_request_is_bad_request_error(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        sdk.messages.create(model=MODEL, max_tokens=64, messages=[])

    assert caught.value.status_code == 400
    assert caught.value.type == "invalid_request_error"  # type: ignore[attr-defined]
    assert caught.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "messages: at least one message is required",
        },
    }
    assert fake_llama.requests() == []


def test_server_tools_are_refused(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        sdk.messages.create(
            model=MODEL,
            max_tokens=64,
            messages=user("search"),
            tools=[{"type": "web_search_20250305", "name": "web_search"}],
        )

    assert "web_search_20250305" in str(caught.value.message)
    assert fake_llama.requests() == []


def test_upstream_400_and_500(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    with pytest.raises(anthropic.BadRequestError) as bad:
        sdk.messages.create(model=MODEL, max_tokens=64, messages=user("boom [[error:400]]"))
    with pytest.raises(anthropic.InternalServerError) as broken:
        sdk.messages.create(model=MODEL, max_tokens=64, messages=user("boom [[error:500]]"))
    with pytest.raises(anthropic.BadRequestError) as bad_stream:
        with sdk.messages.stream(
            model=MODEL, max_tokens=64, messages=user("boom [[error:400]]")
        ) as stream:
            stream.get_final_message()

    assert bad.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "fake error 400"},
    }
    assert broken.value.status_code == 500
    assert broken.value.body == {
        "type": "error",
        "error": {"type": "api_error", "message": "fake error 500"},
    }
    assert bad_stream.value.status_code == 400


def test_cut_mid_stream_raises_from_the_error_event(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    received: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        with sdk.messages.stream(
            model=MODEL, max_tokens=64, messages=user("long answer [[cut:3]]")
        ) as stream:
            for text in stream.text_stream:
                received.append(text)

    assert "".join(received) == "Echo: "  # the role chunk and two 3-character deltas
    body = caught.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "api_error"
    assert "ended the stream early" in body["error"]["message"]


def test_unknown_route_is_not_found_error(sdk: Anthropic, fake_llama: FakeLlama) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        sdk.get("/v1/messages/nope", cast_to=object)

    assert caught.value.body == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "no route for GET /v1/messages/nope"},
    }


def test_upstream_down_is_502() -> None:
    with (
        LocalaikProcess({"LK_UPSTREAM": "http://127.0.0.1:9/v1"}) as server,
        Anthropic(api_key="test", base_url=server.url, max_retries=0) as sdk,
    ):
        with pytest.raises(anthropic.InternalServerError) as caught:
            sdk.messages.create(model=MODEL, max_tokens=64, messages=user("anyone?"))
        with pytest.raises(anthropic.InternalServerError) as caught_stream:
            with sdk.messages.stream(
                model=MODEL, max_tokens=64, messages=user("anyone?")
            ) as stream:
                stream.get_final_message()

    assert caught.value.status_code == 502
    assert caught.value.type == "api_error"  # type: ignore[attr-defined]
    assert "failed to reach upstream" in str(caught.value.message)
    assert caught_stream.value.status_code == 502
