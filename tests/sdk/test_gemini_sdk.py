"""The official, unmodified google-genai SDK against a running `localaik serve`.

Behind localaik sits the fake llama-server (tests/fakes/fake_llama.py), whose answers are
deterministic: "Echo: <last user text>", "[sys] " with a system message, tool calls built from
the tools' schemas, "Tool said: …" after a tool message, JSON from response_format schemas.
The core tests run once per API version (`v1`, the SDK's default, and `v1beta`).
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types
from pydantic import BaseModel

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess

MODEL = "gemini-2.5-flash"
pytestmark = pytest.mark.usefixtures("clean_google_env")

NO_AFC = types.AutomaticFunctionCallingConfig(disable=True)

WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Current weather for a city",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={
            "city": types.Schema(type=types.Type.STRING),
            "unit": types.Schema(type=types.Type.STRING, enum=["celsius", "fahrenheit"]),
            "days": types.Schema(type=types.Type.INTEGER),
        },
        required=["city"],
    ),
)
WEATHER_ARGS = {"city": "text", "unit": "celsius", "days": 1}  # the fake's example values

LOOKUP = types.FunctionDeclaration(
    name="lookup",
    description="Look a word up",
    parameters=types.Schema(
        type=types.Type.OBJECT, properties={"word": types.Schema(type=types.Type.STRING)}
    ),
)


class Person(BaseModel):
    name: str
    age: int
    tags: list[str]


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


# ---------------------------------------------------------------------------------------------
# Helpers


def chat_requests(fake: FakeLlama) -> list[dict[str, Any]]:
    """The chat-completion requests the fake received, oldest first."""
    return [
        r for r in fake.requests() if r["method"] == "POST" and r["path"] == "/v1/chat/completions"
    ]


def only_chat_request(fake: FakeLlama) -> dict[str, Any]:
    requests = chat_requests(fake)
    assert len(requests) == 1, requests
    return requests[0]["body"]  # type: ignore[no-any-return]


def logged_since(server: LocalaikProcess, offset: int, fragment: str) -> str:
    """The server's log after `offset`, once it shows `fragment` (the line follows the answer)."""
    deadline = time.monotonic() + 3.0
    while True:
        text = server.log()[offset:]
        if fragment in text or time.monotonic() > deadline:
            return text
        time.sleep(0.02)


def sse_events(text: str) -> list[Any]:
    frames = [frame for frame in text.split("\r\n\r\n") if frame]
    assert all(frame.startswith("data: ") and "\n" not in frame for frame in frames), frames
    return [json.loads(frame.removeprefix("data: ")) for frame in frames]


def stream_calls(chunks: list[types.GenerateContentResponse]) -> list[types.FunctionCall]:
    return [call for chunk in chunks for call in (chunk.function_calls or [])]


def tools_config(
    *declarations: types.FunctionDeclaration, **extra: Any
) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=list(declarations))],
        automatic_function_calling=NO_AFC,
        **extra,
    )


# ---------------------------------------------------------------------------------------------
# Text


def assert_echo_response(response: types.GenerateContentResponse, text: str) -> None:
    assert response.text == f"Echo: {text}"
    assert response.model_version == MODEL
    assert response.response_id
    usage = response.usage_metadata
    assert usage is not None
    words = len(text.split())
    assert usage.prompt_token_count == words
    assert usage.candidates_token_count == words + 1
    assert usage.total_token_count == 2 * words + 1
    assert response.candidates is not None and len(response.candidates) == 1
    assert response.candidates[0].finish_reason == types.FinishReason.STOP


def assert_plain_upstream_request(fake: FakeLlama, text: str) -> None:
    requests = chat_requests(fake)
    assert len(requests) == 1
    body, headers = requests[0]["body"], requests[0]["headers"]
    assert body["model"] == "localaik"
    assert body["messages"][-1] == {"role": "user", "content": text}
    assert "x-goog-api-key" not in headers
    assert "authorization" not in headers


def test_generate_content_text(
    client: genai.Client, fake_llama: FakeLlama, localaik_server: LocalaikProcess, api_version: str
) -> None:
    offset = len(localaik_server.log())
    response = client.models.generate_content(model=MODEL, contents="hello")
    assert_echo_response(response, "hello")
    assert_plain_upstream_request(fake_llama, "hello")
    line = f"POST /{api_version}/models/{MODEL}:generateContent 200"
    assert line in logged_since(localaik_server, offset, line)


async def test_generate_content_text_async(
    aclient: genai.client.AsyncClient, fake_llama: FakeLlama
) -> None:
    response = await aclient.models.generate_content(model=MODEL, contents="hello async")
    assert_echo_response(response, "hello async")
    assert_plain_upstream_request(fake_llama, "hello async")


def test_client_from_environment_uses_v1(
    monkeypatch: pytest.MonkeyPatch,
    localaik_url: str,
    localaik_server: LocalaikProcess,
    fake_llama: FakeLlama,
) -> None:
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", localaik_url)
    monkeypatch.setenv("GEMINI_API_KEY", "test-env-key")
    client = genai.Client()
    try:
        offset = len(localaik_server.log())
        response = client.models.generate_content(model=MODEL, contents="from env")
        assert_echo_response(response, "from env")
        assert_plain_upstream_request(fake_llama, "from env")
        line = f"POST /v1/models/{MODEL}:generateContent 200"
        assert line in logged_since(localaik_server, offset, line)
    finally:
        client.close()


def test_system_instruction(client: genai.Client, fake_llama: FakeLlama) -> None:
    response = client.models.generate_content(
        model=MODEL,
        contents="hello",
        config=types.GenerateContentConfig(system_instruction="You are terse."),
    )
    assert response.text == "[sys] Echo: hello"
    messages = only_chat_request(fake_llama)["messages"]
    assert messages == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "hello"},
    ]


def test_multi_turn_contents(client: genai.Client, fake_llama: FakeLlama) -> None:
    contents = [
        types.Content(role="user", parts=[types.Part(text="hi")]),
        types.Content(role="model", parts=[types.Part(text="Hello, how can I help?")]),
        types.Content(role="user", parts=[types.Part(text="tell me more")]),
    ]
    response = client.models.generate_content(model=MODEL, contents=contents)
    assert response.text == "Echo: tell me more"
    assert only_chat_request(fake_llama)["messages"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello, how can I help?"},
        {"role": "user", "content": "tell me more"},
    ]


def test_chat_session_sends_history(client: genai.Client, fake_llama: FakeLlama) -> None:
    chat = client.chats.create(model=MODEL)
    first = chat.send_message("first question")
    second = chat.send_message("second question")
    assert first.text == "Echo: first question"
    assert second.text == "Echo: second question"
    requests = chat_requests(fake_llama)
    assert len(requests) == 2
    assert requests[1]["body"]["messages"] == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "Echo: first question"},
        {"role": "user", "content": "second question"},
    ]


def test_streamed_chat_keeps_its_turn(client: genai.Client, fake_llama: FakeLlama) -> None:
    """The SDK records a streamed turn chunk by chunk; it must stay in the history as one turn."""
    chat = client.chats.create(model=MODEL)
    chunks = list(chat.send_message_stream("first question"))
    assert len(chunks) > 2
    assert len(chat.get_history(curated=True)) > 1, "the SDK judged the streamed turn invalid"
    chat.send_message("second question")
    assert chat_requests(fake_llama)[1]["body"]["messages"] == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "Echo: first question"},
        {"role": "user", "content": "second question"},
    ]


async def test_chat_session_async(aclient: genai.client.AsyncClient, fake_llama: FakeLlama) -> None:
    chat = aclient.chats.create(model=MODEL)
    await chat.send_message("one")
    second = await chat.send_message("two")
    assert second.text == "Echo: two"
    roles = [m["role"] for m in chat_requests(fake_llama)[1]["body"]["messages"]]
    assert roles == ["user", "assistant", "user"]


# ---------------------------------------------------------------------------------------------
# Generation config


def test_generation_config_reaches_upstream(client: genai.Client, fake_llama: FakeLlama) -> None:
    config = types.GenerateContentConfig(
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        max_output_tokens=64,
        stop_sequences=["END"],
        seed=42,
        presence_penalty=0.1,
        frequency_penalty=0.2,
        candidate_count=2,
    )
    response = client.models.generate_content(model=MODEL, contents="hello", config=config)

    body = only_chat_request(fake_llama)
    assert body["temperature"] == 0.2
    assert body["top_p"] == 0.9
    assert body["top_k"] == 40 and isinstance(body["top_k"], int)
    assert body["max_tokens"] == 64
    assert body["stop"] == ["END"]
    assert body["seed"] == 42
    assert body["presence_penalty"] == 0.1
    assert body["frequency_penalty"] == 0.2
    assert body["n"] == 2

    assert response.candidates is not None
    assert [c.index for c in response.candidates] == [0, 1]
    assert [
        c.content.parts[0].text for c in response.candidates if c.content and c.content.parts
    ] == ["Echo: hello", "Echo: hello #1"]
    assert response.text == "Echo: hello"


def test_max_output_tokens_cut_is_max_tokens(client: genai.Client, fake_llama: FakeLlama) -> None:
    response = client.models.generate_content(
        model=MODEL,
        contents="one two three four",
        config=types.GenerateContentConfig(max_output_tokens=2),
    )
    assert response.text == "Echo: one"
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


# ---------------------------------------------------------------------------------------------
# Structured output


def test_response_schema_pydantic(client: genai.Client, fake_llama: FakeLlama) -> None:
    response = client.models.generate_content(
        model=MODEL,
        contents="a person",
        config=types.GenerateContentConfig(
            response_mime_type="application/json", response_schema=Person
        ),
    )
    assert isinstance(response.parsed, Person)
    assert response.parsed == Person(name="text", age=1, tags=["text"])
    response_format = only_chat_request(fake_llama)["response_format"]
    assert response_format["type"] == "json_schema"
    schema = response_format["json_schema"]["schema"]
    assert set(schema["properties"]) == {"name", "age", "tags"}


def test_response_json_schema(client: genai.Client, fake_llama: FakeLlama) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "score": {"type": "number"},
            "ok": {"type": "boolean"},
        },
        "required": ["city"],
    }
    response = client.models.generate_content(
        model=MODEL,
        contents="json please",
        config=types.GenerateContentConfig(
            response_mime_type="application/json", response_json_schema=schema
        ),
    )
    assert response.parsed == {"city": "text", "score": 1.5, "ok": True}
    assert only_chat_request(fake_llama)["response_format"]["json_schema"]["schema"] == schema


def test_enum_output(client: genai.Client, fake_llama: FakeLlama) -> None:
    response = client.models.generate_content(
        model=MODEL,
        contents="pick a colour",
        config=types.GenerateContentConfig(
            response_mime_type="text/x.enum", response_schema=Colour
        ),
    )
    assert response.text == "red"
    assert response.parsed == Colour.RED
    schema = only_chat_request(fake_llama)["response_format"]["json_schema"]["schema"]
    assert schema["enum"] == ["red", "green"]


async def test_response_schema_pydantic_async(
    aclient: genai.client.AsyncClient, fake_llama: FakeLlama
) -> None:
    response = await aclient.models.generate_content(
        model=MODEL,
        contents="a person",
        config=types.GenerateContentConfig(
            response_mime_type="application/json", response_schema=Person
        ),
    )
    assert response.parsed == Person(name="text", age=1, tags=["text"])


# ---------------------------------------------------------------------------------------------
# Function calling


def test_function_call_declared(client: genai.Client, fake_llama: FakeLlama) -> None:
    response = client.models.generate_content(
        model=MODEL, contents="weather in Paris?", config=tools_config(WEATHER)
    )
    assert response.function_calls is not None and len(response.function_calls) == 1
    call = response.function_calls[0]
    assert call.name == "get_weather"
    assert call.args == WEATHER_ARGS
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    tools = only_chat_request(fake_llama)["tools"]
    assert [t["function"]["name"] for t in tools] == ["get_weather"]
    assert tools[0]["function"]["parameters"]["required"] == ["city"]


def make_weather_tool() -> tuple[Callable[[str], str], list[str]]:
    seen: list[str] = []

    def get_weather(city: str) -> str:
        """Current weather for a city."""
        seen.append(city)
        return f"Sunny in {city}"

    return get_weather, seen


def assert_afc_round_trip(fake: FakeLlama, text: str | None, seen: list[str]) -> None:
    assert seen == ["text"]
    assert text is not None
    assert text.startswith("Tool said: ")
    assert "Sunny in text" in text
    requests = chat_requests(fake)
    assert len(requests) == 2
    messages = requests[1]["body"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    calls = messages[1]["tool_calls"]
    assert len(calls) == 1
    assert calls[0]["function"]["name"] == "get_weather"
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "text"}
    assert calls[0]["id"] == "call_fake_1"  # the upstream's id, sent back by the SDK
    assert messages[2]["tool_call_id"] == calls[0]["id"]
    assert "Sunny in text" in messages[2]["content"]


def test_automatic_function_calling(client: genai.Client, fake_llama: FakeLlama) -> None:
    get_weather, seen = make_weather_tool()
    response = client.models.generate_content(
        model=MODEL,
        contents="weather in Paris?",
        config=types.GenerateContentConfig(tools=[get_weather]),
    )
    assert_afc_round_trip(fake_llama, response.text, seen)


async def test_automatic_function_calling_async(
    aclient: genai.client.AsyncClient, fake_llama: FakeLlama
) -> None:
    get_weather, seen = make_weather_tool()
    response = await aclient.models.generate_content(
        model=MODEL,
        contents="weather in Paris?",
        config=types.GenerateContentConfig(tools=[get_weather]),
    )
    assert_afc_round_trip(fake_llama, response.text, seen)


def test_tool_config_any_with_allowed_name(client: genai.Client, fake_llama: FakeLlama) -> None:
    config = tools_config(
        WEATHER,
        LOOKUP,
        tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(
                mode=types.FunctionCallingConfigMode.ANY, allowed_function_names=["lookup"]
            )
        ),
    )
    response = client.models.generate_content(model=MODEL, contents="look it up", config=config)
    assert only_chat_request(fake_llama)["tool_choice"] == {
        "type": "function",
        "function": {"name": "lookup"},
    }
    assert response.function_calls is not None
    assert [c.name for c in response.function_calls] == ["lookup"]
    assert response.function_calls[0].args == {"word": "text"}


# ---------------------------------------------------------------------------------------------
# Streaming


def assert_text_stream(chunks: list[types.GenerateContentResponse], text: str) -> None:
    expected = f"Echo: {text}"
    texts = [chunk.text or "" for chunk in chunks]
    assert "".join(texts) == expected
    assert len([t for t in texts if t]) == -(-len(expected) // 3)  # the fake's 3-char deltas
    assert all(chunk.model_version == MODEL for chunk in chunks)
    last = chunks[-1]
    assert last.candidates is not None
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    assert last.usage_metadata is not None
    assert last.usage_metadata.prompt_token_count == len(text.split())
    assert last.usage_metadata.candidates_token_count == len(expected.split())


def test_stream_text(client: genai.Client, fake_llama: FakeLlama) -> None:
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="stream me please"))
    assert_text_stream(chunks, "stream me please")
    body = only_chat_request(fake_llama)
    assert body["stream"] is True
    assert body["messages"][-1] == {"role": "user", "content": "stream me please"}


async def test_stream_text_async(aclient: genai.client.AsyncClient, fake_llama: FakeLlama) -> None:
    stream = await aclient.models.generate_content_stream(model=MODEL, contents="async stream")
    chunks = [chunk async for chunk in stream]
    assert_text_stream(chunks, "async stream")


def test_stream_without_upstream_finish_ends_with_stop(
    client: genai.Client, fake_llama: FakeLlama
) -> None:
    chunks = list(
        client.models.generate_content_stream(model=MODEL, contents="no end [[nofinish]]")
    )
    assert "".join(chunk.text or "" for chunk in chunks) == "Echo: no end"
    last = chunks[-1]
    assert last.candidates is not None
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    assert last.usage_metadata is not None


def test_stream_tool_call_is_whole(client: genai.Client, fake_llama: FakeLlama) -> None:
    chunks = list(
        client.models.generate_content_stream(
            model=MODEL, contents="weather in Paris?", config=tools_config(WEATHER)
        )
    )
    calls = stream_calls(chunks)
    assert len(calls) == 1
    assert calls[0].name == "get_weather"
    assert calls[0].args == WEATHER_ARGS
    last = chunks[-1]
    assert last.candidates is not None
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    assert last.usage_metadata is not None


def test_stream_two_tool_calls(client: genai.Client, fake_llama: FakeLlama) -> None:
    chunks = list(
        client.models.generate_content_stream(
            model=MODEL, contents="both please [[two-tools]]", config=tools_config(WEATHER, LOOKUP)
        )
    )
    calls = stream_calls(chunks)
    assert [(c.name, c.args) for c in calls] == [
        ("get_weather", WEATHER_ARGS),
        ("lookup", {"word": "text"}),
    ]


async def test_stream_tool_call_async(
    aclient: genai.client.AsyncClient, fake_llama: FakeLlama
) -> None:
    stream = await aclient.models.generate_content_stream(
        model=MODEL, contents="weather in Paris?", config=tools_config(WEATHER)
    )
    calls = stream_calls([chunk async for chunk in stream])
    assert [(c.name, c.args) for c in calls] == [("get_weather", WEATHER_ARGS)]


def test_stream_without_alt_sse_is_json_array(
    localaik_url: str, fake_llama: FakeLlama, api_version: str
) -> None:
    url = f"{localaik_url}/{api_version}/models/{MODEL}:streamGenerateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "array please"}]}]}
    response = httpx.post(url, json=body, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    array = response.json()
    assert isinstance(array, list) and len(array) >= 3

    fake_llama.reset()  # same response id for the second, identical request
    sse = httpx.post(url, params={"alt": "sse"}, json=body, timeout=10)
    assert sse.status_code == 200
    assert sse.headers["content-type"].startswith("text/event-stream")
    assert array == sse_events(sse.text)
    assert (
        "".join(
            p.get("text", "") for chunk in array for p in chunk["candidates"][0]["content"]["parts"]
        )
        == "Echo: array please"
    )


# ---------------------------------------------------------------------------------------------
# countTokens and models


def test_count_tokens(client: genai.Client, fake_llama: FakeLlama) -> None:
    response = client.models.count_tokens(model=MODEL, contents="one two three four five")
    assert response.total_tokens == 5
    requests = fake_llama.requests()
    assert [(r["method"], r["path"]) for r in requests] == [("POST", "/tokenize")]
    assert requests[0]["body"]["content"] == "one two three four five"


async def test_count_tokens_async(aclient: genai.client.AsyncClient, fake_llama: FakeLlama) -> None:
    response = await aclient.models.count_tokens(model=MODEL, contents="alpha beta gamma")
    assert response.total_tokens == 3


def test_models_list(client: genai.Client, fake_llama: FakeLlama) -> None:
    models = list(client.models.list())
    assert "models/fake-model" in [m.name for m in models]


def test_models_list_page_size(client: genai.Client, fake_llama: FakeLlama) -> None:
    pager = client.models.list(config={"page_size": 1})
    assert len(pager.page) == 1
    assert [m.name for m in pager] == ["models/fake-model"]


def test_models_get(client: genai.Client, fake_llama: FakeLlama) -> None:
    model = client.models.get(model=MODEL)
    assert model.name == f"models/{MODEL}"


async def test_models_async(aclient: genai.client.AsyncClient, fake_llama: FakeLlama) -> None:
    model = await aclient.models.get(model=MODEL)
    assert model.name == f"models/{MODEL}"
    names = [m.name async for m in await aclient.models.list()]
    assert "models/fake-model" in names


# ---------------------------------------------------------------------------------------------
# Errors


def test_upstream_server_error(client: genai.Client, fake_llama: FakeLlama) -> None:
    with pytest.raises(errors.ServerError) as caught:
        client.models.generate_content(model=MODEL, contents="boom [[error:500]]")
    assert caught.value.code == 500
    assert caught.value.status == "INTERNAL"
    assert caught.value.message == "fake error 500"
    assert len(chat_requests(fake_llama)) == 1  # no retry


def test_upstream_client_error(client: genai.Client, fake_llama: FakeLlama) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=MODEL, contents="bad [[error:400]]")
    assert caught.value.code == 400
    assert caught.value.status == "INVALID_ARGUMENT"
    assert caught.value.message == "fake error 400"


async def test_upstream_error_async(
    aclient: genai.client.AsyncClient, fake_llama: FakeLlama
) -> None:
    with pytest.raises(errors.ServerError) as caught:
        await aclient.models.generate_content(model=MODEL, contents="boom [[error:500]]")
    assert caught.value.code == 500


def test_stream_upstream_error_raises_before_chunks(
    client: genai.Client, fake_llama: FakeLlama
) -> None:
    chunks = []
    with pytest.raises(errors.ServerError) as caught:
        for chunk in client.models.generate_content_stream(
            model=MODEL, contents="boom [[error:503]]"
        ):
            chunks.append(chunk)
    assert chunks == []
    assert caught.value.code == 503


def test_unsupported_tool_is_client_error(client: genai.Client, fake_llama: FakeLlama) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(
            model=MODEL,
            contents="search the web",
            config=types.GenerateContentConfig(
                tools=[types.Tool(google_search=types.GoogleSearch())]
            ),
        )
    assert caught.value.code == 400
    assert "googleSearch" in (caught.value.message or "")
    assert chat_requests(fake_llama) == []


def test_invalid_role_is_client_error(client: genai.Client, fake_llama: FakeLlama) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(
            model=MODEL, contents=[types.Content(role="narrator", parts=[types.Part(text="hi")])]
        )
    assert caught.value.code == 400
    message = caught.value.message or ""
    assert "narrator" in message and "role" in message
    assert chat_requests(fake_llama) == []


def test_unknown_method_is_gemini_404(localaik_url: str, api_version: str) -> None:
    response = httpx.post(f"{localaik_url}/{api_version}/models/x:fooBar", json={}, timeout=10)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == 404
    assert error["status"] == "NOT_FOUND"
    assert "fooBar" in error["message"]


def test_stream_cut_midway_raises(client: genai.Client, fake_llama: FakeLlama) -> None:
    chunks: list[types.GenerateContentResponse] = []
    with pytest.raises(errors.APIError) as caught:
        for chunk in client.models.generate_content_stream(
            model=MODEL, contents="cut me off [[cut:3]]"
        ):
            chunks.append(chunk)
    assert chunks, "the chunks before the cut should have been delivered"
    received = "".join(chunk.text or "" for chunk in chunks)
    assert received and "Echo: cut me off".startswith(received)
    assert isinstance(caught.value, errors.ServerError)
    assert caught.value.message


async def test_stream_cut_midway_raises_async(
    aclient: genai.client.AsyncClient, fake_llama: FakeLlama
) -> None:
    chunks: list[types.GenerateContentResponse] = []
    with pytest.raises(errors.APIError):
        async for chunk in await aclient.models.generate_content_stream(
            model=MODEL, contents="cut me off [[cut:3]]"
        ):
            chunks.append(chunk)
    assert chunks


def test_upstream_down_is_502(make_client: Callable[..., genai.Client]) -> None:
    with LocalaikProcess({"LK_UPSTREAM": "http://127.0.0.1:9/v1"}) as server:
        client = make_client("v1beta", base_url=server.url)
        with pytest.raises(errors.ServerError) as caught:
            client.models.generate_content(model=MODEL, contents="hello")
    assert caught.value.code == 502
    assert caught.value.message


def test_upstream_hang_is_504(
    make_client: Callable[..., genai.Client], fake_llama: FakeLlama
) -> None:
    env = {"LK_UPSTREAM": fake_llama.url + "/v1", "LK_UPSTREAM_TIMEOUT": "1"}
    with LocalaikProcess(env) as server:
        client = make_client("v1", base_url=server.url)
        started = time.monotonic()
        with pytest.raises(errors.ServerError) as caught:
            client.models.generate_content(model=MODEL, contents="wait [[hang]]")
        elapsed = time.monotonic() - started
    assert caught.value.code == 504
    assert caught.value.status == "DEADLINE_EXCEEDED"
    assert elapsed < 5
