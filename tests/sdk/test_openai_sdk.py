"""The official `openai` Python SDK, unmodified, against a running `localaik serve`.

Behind localaik is the fake llama-server (tests/fakes/fake_llama.py): it answers
"Echo: <last user text>" and obeys directives such as `[[error:400]]` or `[[cut:3]]`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from pydantic import BaseModel

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess

MODEL = "gpt-4o-mini"
OPENAI_ERROR_KEYS = {"message", "type", "param", "code"}
CLIENT_KEY_HEADERS = ("authorization", "x-api-key", "x-goog-api-key")

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
        },
    },
}


class Person(BaseModel):
    name: str
    age: int


@pytest.fixture()
def sdk(localaik_url: str) -> Iterator[OpenAI]:
    """The sync OpenAI client pointed at localaik, without retries."""
    with OpenAI(api_key="test", base_url=localaik_url + "/v1", max_retries=0) as client:
        yield client


@pytest.fixture()
async def async_sdk(localaik_url: str) -> AsyncIterator[AsyncOpenAI]:
    """The async OpenAI client pointed at localaik, without retries."""
    async with AsyncOpenAI(api_key="test", base_url=localaik_url + "/v1", max_retries=0) as client:
        yield client


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def chat_requests(fake: FakeLlama) -> list[dict[str, Any]]:
    return [r for r in fake.requests() if r["path"] == "/v1/chat/completions"]


def assert_openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == OPENAI_ERROR_KEYS
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- chat completions


def test_chat_create_echoes_and_forwards_the_body_unchanged(
    sdk: OpenAI, fake_llama: FakeLlama
) -> None:
    answer = sdk.chat.completions.create(model=MODEL, messages=user("Hello there"))

    assert answer.object == "chat.completion"
    assert answer.model == MODEL
    assert answer.choices[0].message.role == "assistant"
    assert answer.choices[0].message.content == "Echo: Hello there"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.total_tokens > 0
    (received,) = chat_requests(fake_llama)
    assert received["method"] == "POST"
    assert received["body"] == {"model": MODEL, "messages": user("Hello there")}
    for header in CLIENT_KEY_HEADERS:
        assert header not in received["headers"]


def test_chat_create_with_env_base_url_and_key(
    localaik_url: str, fake_llama: FakeLlama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", localaik_url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    answer = OpenAI(max_retries=0).chat.completions.create(model=MODEL, messages=user("via env"))

    assert answer.choices[0].message.content == "Echo: via env"
    (received,) = chat_requests(fake_llama)
    assert "authorization" not in received["headers"]


def test_system_message(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    messages: list[Any] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    answer = sdk.chat.completions.create(model=MODEL, messages=messages)

    assert answer.choices[0].message.content == "[sys] Echo: Hi"
    assert chat_requests(fake_llama)[0]["body"]["messages"] == messages


def test_stream_chunks_join_to_the_echo(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    chunks = list(
        sdk.chat.completions.create(model=MODEL, messages=user("stream me please"), stream=True)
    )

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: stream me please"
    assert len(chunks) > 3
    assert all(c.object == "chat.completion.chunk" and c.model == MODEL for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    (received,) = chat_requests(fake_llama)
    assert received["body"]["stream"] is True
    assert "authorization" not in received["headers"]


def test_stream_ends_with_done_on_the_wire(localaik_url: str, fake_llama: FakeLlama) -> None:
    body = {"model": MODEL, "messages": user("raw"), "stream": True}
    response = httpx.post(localaik_url + "/v1/chat/completions", json=body, timeout=10)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [block for block in response.text.split("\n\n") if block.strip()]
    assert events[-1] == "data: [DONE]"
    assert all(event.startswith("data: ") for event in events)


def test_stream_include_usage_gives_a_final_usage_chunk(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    chunks = list(
        sdk.chat.completions.create(
            model=MODEL,
            messages=user("count me"),
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    final = chunks[-1]
    assert final.choices == []
    assert final.usage is not None and final.usage.total_tokens > 0
    assert final.usage.completion_tokens > 0
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: count me"
    assert chat_requests(fake_llama)[0]["body"]["stream_options"] == {"include_usage": True}


def test_stream_helper_final_completion(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    with sdk.chat.completions.stream(model=MODEL, messages=user("helper text")) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()

    assert "".join(deltas) == "Echo: helper text"
    assert len(deltas) > 1
    assert final.model == MODEL
    assert final.choices[0].message.content == "Echo: helper text"
    assert final.choices[0].finish_reason == "stop"


def test_parse_with_pydantic_model(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    answer = sdk.chat.completions.parse(
        model=MODEL, messages=user("Who is Ada?"), response_format=Person
    )

    parsed = answer.choices[0].message.parsed
    assert isinstance(parsed, Person)
    assert parsed == Person(name="text", age=1)
    sent = chat_requests(fake_llama)[0]["body"]["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "Person"
    assert set(sent["json_schema"]["schema"]["properties"]) == {"name", "age"}


def test_json_object_response_format(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    answer = sdk.chat.completions.create(
        model=MODEL, messages=user("as json"), response_format={"type": "json_object"}
    )

    assert json.loads(answer.choices[0].message.content or "") == {"answer": "Echo: as json"}
    assert chat_requests(fake_llama)[0]["body"]["response_format"] == {"type": "json_object"}


def test_tool_call(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    answer = sdk.chat.completions.create(
        model=MODEL, messages=user("Weather in Oslo?"), tools=[WEATHER_TOOL]
    )  # type: ignore[list-item]

    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.id
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "text", "days": 1}
    assert chat_requests(fake_llama)[0]["body"]["tools"] == [WEATHER_TOOL]


def test_streamed_tool_call_fragments_are_joined_by_the_helper(
    sdk: OpenAI, fake_llama: FakeLlama
) -> None:
    with sdk.chat.completions.stream(
        model=MODEL, messages=user("Weather in Oslo?"), tools=[WEATHER_TOOL]
    ) as stream:  # type: ignore[list-item]
        fragments = [
            e.arguments_delta for e in stream if e.type == "tool_calls.function.arguments.delta"
        ]
        final = stream.get_final_completion()

    assert len(fragments) > 1
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert call.function.arguments == "".join(fragments)
    assert json.loads(call.function.arguments) == {"city": "text", "days": 1}


def test_two_choices(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    answer = sdk.chat.completions.create(model=MODEL, messages=user("twice"), n=2)

    assert [c.index for c in answer.choices] == [0, 1]
    assert [c.message.content for c in answer.choices] == ["Echo: twice", "Echo: twice #1"]
    assert chat_requests(fake_llama)[0]["body"]["n"] == 2


# --------------------------------------------------------------------------- legacy, models


def test_legacy_completion(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    answer = sdk.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say this")

    assert answer.object == "text_completion"
    assert answer.model == "gpt-3.5-turbo-instruct"
    assert answer.choices[0].text == "Echo: Say this"
    assert answer.choices[0].finish_reason == "stop"
    (received,) = [r for r in fake_llama.requests() if r["path"] == "/v1/completions"]
    assert received["body"] == {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this"}


def test_legacy_completion_stream(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    chunks = list(
        sdk.completions.create(model="gpt-3.5-turbo-instruct", prompt="Stream this", stream=True)
    )

    assert len(chunks) > 1
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "Echo: Stream this"
    assert all(c.model == "gpt-3.5-turbo-instruct" for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_models_list(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    models = list(sdk.models.list())

    assert [m.id for m in models] == ["fake-model"]
    assert models[0].object == "model"
    assert isinstance(models[0].created, int)
    assert models[0].owned_by


def test_models_retrieve_echoes_the_id(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    model = sdk.models.retrieve(MODEL)

    assert model.id == MODEL
    assert model.object == "model"


def test_models_route_shape_depends_on_gemini_headers(
    localaik_url: str, fake_llama: FakeLlama
) -> None:
    gemini = httpx.get(localaik_url + "/v1/models", headers={"x-goog-api-key": "test"})
    plain = httpx.get(localaik_url + "/v1/models", headers={"authorization": "Bearer test"})

    assert gemini.status_code == 200
    assert "object" not in gemini.json()
    names = [m["name"] for m in gemini.json()["models"]]
    assert names and all(name.startswith("models/") for name in names)
    assert plain.status_code == 200
    assert plain.json()["object"] == "list"
    assert [m["id"] for m in plain.json()["data"]] == ["fake-model"]
    assert "models" not in plain.json()


# --------------------------------------------------------------------------- async client


async def test_async_create_and_stream(async_sdk: AsyncOpenAI, fake_llama: FakeLlama) -> None:
    answer = await async_sdk.chat.completions.create(model=MODEL, messages=user("async hi"))
    stream = await async_sdk.chat.completions.create(
        model=MODEL, messages=user("async stream"), stream=True
    )
    chunks = [chunk async for chunk in stream]

    assert answer.choices[0].message.content == "Echo: async hi"
    assert answer.model == MODEL
    assert len(chunks) > 1
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == "Echo: async stream"
    )
    assert chunks[-1].choices[0].finish_reason == "stop"


# --------------------------------------------------------------------------- errors


def test_upstream_400_is_bad_request_error(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model=MODEL, messages=user("boom [[error:400]]"))

    assert caught.value.status_code == 400
    assert "fake error 400" in caught.value.message
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["message"] == "fake error 400"
    assert set(caught.value.body) == OPENAI_ERROR_KEYS


def test_upstream_500_is_internal_server_error(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        sdk.chat.completions.create(model=MODEL, messages=user("boom [[error:500]]"))

    assert caught.value.status_code == 500
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["message"] == "fake error 500"
    assert len(chat_requests(fake_llama)) == 1


def test_upstream_error_on_stream_request(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model=MODEL, messages=user("[[error:400]]"), stream=True)

    assert caught.value.status_code == 400
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["message"] == "fake error 400"


def test_invalid_json_body_is_400_in_openai_shape(localaik_url: str, fake_llama: FakeLlama) -> None:
    response = httpx.post(
        localaik_url + "/v1/chat/completions",
        content=b'{"model": "x", ',
        headers={"content-type": "application/json"},
    )

    error = assert_openai_error(response, 400)
    assert error["type"] == "invalid_request_error"
    assert fake_llama.requests() == []


def test_missing_messages_is_400_in_openai_shape(localaik_url: str, fake_llama: FakeLlama) -> None:
    response = httpx.post(localaik_url + "/v1/chat/completions", json={"model": MODEL})

    error = assert_openai_error(response, 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "messages"
    assert fake_llama.requests() == []


def test_empty_messages_via_sdk_is_bad_request_error(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model=MODEL, messages=[])

    assert caught.value.status_code == 400
    assert caught.value.param == "messages"
    assert caught.value.type == "invalid_request_error"
    assert fake_llama.requests() == []


def test_unknown_route_is_not_found_error(
    sdk: OpenAI, localaik_url: str, fake_llama: FakeLlama
) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.post("/nope", cast_to=object, body={"model": MODEL})
    response = httpx.post(localaik_url + "/v1/nope", json={})

    assert caught.value.status_code == 404
    assert isinstance(caught.value.body, dict) and set(caught.value.body) == OPENAI_ERROR_KEYS
    assert assert_openai_error(response, 404)["type"] == "invalid_request_error"
    assert fake_llama.requests() == []


def test_wrong_method_is_405_in_openai_shape(localaik_url: str, fake_llama: FakeLlama) -> None:
    response = httpx.get(
        localaik_url + "/v1/chat/completions", headers={"authorization": "Bearer test"}
    )

    assert_openai_error(response, 405)
    assert "POST" in response.headers.get("allow", "")
    assert fake_llama.requests() == []


def test_cut_mid_stream_raises_api_error(sdk: OpenAI, fake_llama: FakeLlama) -> None:
    received: list[str] = []
    stream = sdk.chat.completions.create(
        model=MODEL, messages=user("long answer [[cut:3]]"), stream=True
    )
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            if chunk.choices:
                received.append(chunk.choices[0].delta.content or "")

    assert not isinstance(caught.value, openai.APIStatusError)
    assert caught.value.message
    assert "".join(received) == "Echo: "  # 3 frames: the role chunk and two 3-char deltas


def test_upstream_down_is_502_internal_server_error() -> None:
    with (
        LocalaikProcess({"LK_UPSTREAM": "http://127.0.0.1:9/v1"}) as server,
        OpenAI(api_key="test", base_url=server.url + "/v1", max_retries=0) as sdk,
    ):
        with pytest.raises(openai.InternalServerError) as caught:
            sdk.chat.completions.create(model=MODEL, messages=user("anyone?"))
        with pytest.raises(openai.InternalServerError) as caught_stream:
            sdk.chat.completions.create(model=MODEL, messages=user("anyone?"), stream=True)

    assert caught.value.status_code == 502
    assert isinstance(caught.value.body, dict) and set(caught.value.body) == OPENAI_ERROR_KEYS
    assert caught.value.body["type"] == "server_error"
    assert caught_stream.value.status_code == 502


def test_body_over_the_cap_is_413_in_openai_shape(fake_llama: FakeLlama) -> None:
    env = {"LK_UPSTREAM": fake_llama.url + "/v1", "LK_MAX_BODY_SIZE": "1KiB"}
    with (
        LocalaikProcess(env) as server,
        OpenAI(api_key="test", base_url=server.url + "/v1", max_retries=0) as sdk,
    ):
        with pytest.raises(openai.APIStatusError) as caught:
            sdk.chat.completions.create(model=MODEL, messages=user("x" * 4096))
        response = httpx.post(
            server.url + "/v1/chat/completions", json={"model": MODEL, "messages": user("x" * 4096)}
        )
        small = sdk.chat.completions.create(model=MODEL, messages=user("fits"))

    assert caught.value.status_code == 413
    assert isinstance(caught.value.body, dict) and set(caught.value.body) == OPENAI_ERROR_KEYS
    assert assert_openai_error(response, 413)["type"] == "invalid_request_error"
    assert small.choices[0].message.content == "Echo: fits"
    assert [r["body"]["messages"] for r in chat_requests(fake_llama)] == [user("fits")]
