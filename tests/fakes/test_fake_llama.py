"""Tests of the fake llama-server itself (tests/fakes/fake_llama.py)."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.fakes.fake_llama import (
    ConnectionCut,
    FakeLlama,
    FakeLlamaApp,
    example_from_schema,
    make_app,
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
    },
}


@pytest.fixture
def fake_app() -> FakeLlamaApp:
    return make_app()


@pytest_asyncio.fixture
async def client(fake_app: FakeLlamaApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=fake_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as http:
        yield http


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def sse_payloads(body: str) -> list[Any]:
    """Split an SSE body into decoded JSON payloads ('[DONE]' kept as a string)."""
    assert body.endswith("\n\n")
    payloads: list[Any] = []
    for frame in body.split("\n\n")[:-1]:
        assert frame.startswith("data: "), frame
        data = frame[len("data: ") :]
        payloads.append(data if data == "[DONE]" else json.loads(data))
    return payloads


async def chat(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/v1/chat/completions", json=body)


# --------------------------------------------------------------------------
# Simple endpoints
# --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_health_and_control(client: httpx.AsyncClient, fake_app: FakeLlamaApp) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    await client.post("/__fake/health", json={"status": 503})
    response = await client.get("/health")
    assert response.status_code == 503
    assert response.json() == {
        "error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}
    }
    await client.post("/__fake/reset")
    assert (await client.get("/health")).status_code == 200
    fake_app.health_status = 503
    fake_app.reset()
    assert fake_app.health_status == 200


@pytest.mark.asyncio
async def test_models(client: httpx.AsyncClient) -> None:
    for path in ("/v1/models", "/models"):
        body = (await client.get(path)).json()
        assert body["data"][0]["id"] == "fake-model"
        assert body["data"][0]["meta"]["n_ctx_train"] == 8192
        assert body["models"][0]["capabilities"] == ["completion"]


@pytest.mark.asyncio
async def test_unknown_route_and_bad_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}
    }
    response = await client.post("/v1/chat/completions", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    response = await client.post("/v1/chat/completions", json={"model": "x"})
    assert response.status_code == 400


@pytest.mark.asyncio
async def test_request_log(client: httpx.AsyncClient, fake_app: FakeLlamaApp) -> None:
    await client.get("/health")
    await client.post(
        "/v1/chat/completions?a=1", json={"messages": [user("hi")]}, headers={"X-Key": "v"}
    )
    await client.post("/tokenize", content=b"oops")
    log = (await client.get("/__fake/requests")).json()
    assert log == fake_app.requests
    assert [(entry["method"], entry["path"]) for entry in log] == [
        ("POST", "/v1/chat/completions"),
        ("POST", "/tokenize"),
    ]
    assert log[0]["query"] == "a=1"
    assert log[0]["headers"]["x-key"] == "v"
    assert log[0]["body"] == {"messages": [user("hi")]}
    assert log[1]["body"] is None
    await client.post("/__fake/reset")
    assert fake_app.requests == []


@pytest.mark.asyncio
async def test_tokenize(client: httpx.AsyncClient) -> None:
    plain = (await client.post("/tokenize", json={"content": "hello big world"})).json()["tokens"]
    special = (
        await client.post("/tokenize", json={"content": "hello big world", "add_special": True})
    ).json()
    assert len(plain) == 3 and all(0 <= token < 32000 for token in plain)
    assert special["tokens"] == [1, *plain]
    again = (await client.post("/tokenize", json={"content": "hello"})).json()["tokens"]
    assert again == plain[:1]


@pytest.mark.asyncio
async def test_embeddings(client: httpx.AsyncClient) -> None:
    body = (await client.post("/v1/embeddings", json={"input": ["a b", "c"]})).json()
    assert body["object"] == "list" and body["model"] == "fake-model"
    assert [item["index"] for item in body["data"]] == [0, 1]
    vector = body["data"][0]["embedding"]
    assert len(vector) == 8 and all(isinstance(x, float) for x in vector)
    assert body["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    single = (await client.post("/embeddings", json={"input": "a b", "model": "m"})).json()
    assert single["model"] == "m"
    assert single["data"][0]["embedding"] == vector
    assert abs(math.sqrt(sum(x * x for x in vector)) - 1.0) < 1e-5  # unit length
    assert body["data"][1]["embedding"] != vector


@pytest.mark.asyncio
async def test_embeddings_token_arrays(client: httpx.AsyncClient) -> None:
    # A list of token ids is ONE input (as llama-server reads it), a list of lists is several.
    one = (await client.post("/v1/embeddings", json={"input": [5, 6, 7]})).json()
    assert len(one["data"]) == 1
    two = (await client.post("/v1/embeddings", json={"input": [[5, 6, 7], [8]]})).json()
    assert [item["index"] for item in two["data"]] == [0, 1]
    assert two["data"][0]["embedding"] == one["data"][0]["embedding"]
    text = (await client.post("/v1/embeddings", json={"input": "5 6 7"})).json()
    assert text["data"][0]["embedding"] != one["data"][0]["embedding"]


@pytest.mark.asyncio
async def test_embeddings_refusals_are_llama_servers(client: httpx.AsyncClient) -> None:
    empty = await client.post("/v1/embeddings", json={"input": ["a", ""]})
    assert empty.status_code == 400
    assert empty.json()["error"]["message"] == "Input content cannot be empty"
    long = await client.post("/v1/embeddings", json={"input": ["short", "w " * 513]})
    assert long.status_code == 500
    assert long.json()["error"]["message"].startswith(
        "input (513 tokens) is too large to process. increase the physical batch size"
    )
    fits = await client.post("/v1/embeddings", json={"input": "w " * 512})
    assert fits.status_code == 200
    failed = await client.post("/v1/embeddings", json={"input": ["x", "[[error:503]] y"]})
    assert failed.status_code == 503


@pytest.mark.asyncio
async def test_lifespan(fake_app: FakeLlamaApp) -> None:
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await fake_app({"type": "lifespan"}, receive, send)
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


# --------------------------------------------------------------------------
# Chat completions
# --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_chat_echo(client: httpx.AsyncClient) -> None:
    body = (await chat(client, model="m", messages=[user("hello  there")])).json()
    assert body["id"] == "chatcmpl-fake1"
    assert body["object"] == "chat.completion"
    assert body["model"] == "m"
    assert body["system_fingerprint"] == "b0-fake"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Echo: hello  there"},
            "finish_reason": "stop",
        }
    ]
    assert body["usage"] == {"completion_tokens": 3, "prompt_tokens": 2, "total_tokens": 5}
    assert body["timings"]["prompt_n"] == 2 and body["timings"]["predicted_n"] == 3


@pytest.mark.asyncio
async def test_chat_system_images_and_directives_removed(client: httpx.AsyncClient) -> None:
    content = [
        {"type": "text", "text": "look [[finish:length]]"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "here"},
        {"type": "image_url", "image_url": {"url": "http://x/y.png"}},
    ]
    messages = [{"role": "system", "content": "be nice"}, {"role": "user", "content": content}]
    choice = (await chat(client, messages=messages)).json()["choices"][0]
    assert choice["message"]["content"] == "[sys] Echo: look \nhere [2 images]"
    assert choice["finish_reason"] == "length"


@pytest.mark.asyncio
async def test_without_vision_images_get_llama_servers_500(client: httpx.AsyncClient) -> None:
    assert (await client.get("/props")).json()["modalities"]["vision"] is True
    assert (await client.post("/__fake/vision", json={"vision": False})).status_code == 200
    assert (await client.get("/props")).json()["modalities"]["vision"] is False
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    earlier = [
        {"role": "user", "content": [image]},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "and now?"},
    ]
    refused = await chat(client, messages=earlier)
    assert refused.status_code == 500
    assert refused.json()["error"]["message"].startswith("image input is not supported")
    assert (await chat(client, messages=[{"role": "user", "content": "text"}])).status_code == 200
    assert (await client.post("/__fake/vision", json={"vision": "no"})).status_code == 400
    await client.post("/__fake/reset")
    assert (await chat(client, messages=earlier)).status_code == 200


@pytest.mark.asyncio
async def test_chat_n_and_max_tokens(client: httpx.AsyncClient) -> None:
    body = (await chat(client, n=2, messages=[user("one two three")])).json()
    assert [c["message"]["content"] for c in body["choices"]] == [
        "Echo: one two three",
        "Echo: one two three #1",
    ]
    body = (await chat(client, max_tokens=2, messages=[user("one two three")])).json()
    assert body["choices"][0]["message"]["content"] == "Echo: one"
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 2
    body = (await chat(client, max_completion_tokens=10, messages=[user("one")])).json()
    assert body["choices"][0]["finish_reason"] == "stop"


@pytest.mark.asyncio
async def test_chat_tool_call(client: httpx.AsyncClient) -> None:
    body = (await chat(client, messages=[user("weather?")], tools=[WEATHER_TOOL, TIME_TOOL])).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_fake_1",
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "arguments": '{"city":"text","unit":"celsius"}',
                },
            }
        ],
    }
    assert body["usage"]["completion_tokens"] == 5


@pytest.mark.asyncio
async def test_chat_tool_choice_variants(client: httpx.AsyncClient) -> None:
    tools = [WEATHER_TOOL, TIME_TOOL]
    named = {"type": "function", "function": {"name": "get_time"}}
    message = (await chat(client, messages=[user("x")], tools=tools, tool_choice=named)).json()[
        "choices"
    ][0]
    assert message["message"]["tool_calls"][0]["function"] == {
        "name": "get_time",
        "arguments": '{"tz":"text"}',
    }

    calls = (await chat(client, messages=[user("x [[two-tools]]")], tools=tools)).json()
    names = [call["function"]["name"] for call in calls["choices"][0]["message"]["tool_calls"]]
    ids = [call["id"] for call in calls["choices"][0]["message"]["tool_calls"]]
    assert names == ["get_weather", "get_time"] and ids == ["call_fake_2", "call_fake_3"]

    calls = (await chat(client, messages=[user("x [[two-tools]]")], tools=[TIME_TOOL])).json()
    assert [c["function"]["name"] for c in calls["choices"][0]["message"]["tool_calls"]] == [
        "get_time"
    ] * 2

    for extra in ({"tool_choice": "none"}, {}):
        text = "x" if extra else "x [[notool]]"
        body = (await chat(client, messages=[user(text)], tools=tools, **extra)).json()
        assert body["choices"][0]["message"]["content"] == "Echo: x"


@pytest.mark.asyncio
async def test_chat_after_tool_result(client: httpx.AsyncClient) -> None:
    messages = [
        user("weather?"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    body = (await chat(client, messages=messages, tools=[WEATHER_TOOL])).json()
    assert body["choices"][0]["message"]["content"] == "Tool said: sunny"
    assert body["choices"][0]["finish_reason"] == "stop"


@pytest.mark.asyncio
async def test_chat_response_format(client: httpx.AsyncClient) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "p", "schema": schema}}
    body = (await chat(client, messages=[user("who")], response_format=fmt)).json()
    assert body["choices"][0]["message"]["content"] == '{"name":"text","age":1}'
    body = (
        await chat(
            client, messages=[user("who [[slow:1]]")], response_format={"type": "json_object"}
        )
    ).json()
    assert json.loads(body["choices"][0]["message"]["content"]) == {"answer": "Echo: who"}


def test_example_from_schema() -> None:
    schema = {
        "$defs": {"Item": {"properties": {"sku": {"const": "A1"}, "qty": {"type": "integer"}}}},
        "type": "object",
        "properties": {
            "z": {"type": ["null", "number"]},
            "when": {"type": "string", "format": "date"},
            "ok": {"type": "boolean"},
            "none": {"type": "null"},
            "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
            "choice": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            "one": {"oneOf": [{"enum": ["x", "y"]}]},
            "legacy": {"$ref": "#/definitions/L"},
            "other": {},
        },
        "definitions": {"L": {"type": "boolean"}},
        "required": ["ok"],
    }
    assert example_from_schema(schema) == {
        "z": 1.5,
        "when": "2026-01-01",
        "ok": True,
        "none": None,
        "items": [{"sku": "A1", "qty": 1}],
        "choice": 1,
        "one": "x",
        "legacy": True,
        "other": "text",
    }


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (404, "not_found_error"),
        (500, "server_error"),
        (501, "not_supported_error"),
        (503, "unavailable_error"),
        (429, "server_error"),  # llama-server has no type for it
    ],
)
async def test_chat_error_directive(client: httpx.AsyncClient, code: int, error_type: str) -> None:
    for stream in (False, True):
        response = await chat(client, stream=stream, messages=[user(f"x [[error:{code}]]")])
        assert response.status_code == code
        assert response.json() == {
            "error": {"code": code, "message": f"fake error {code}", "type": error_type}
        }


@pytest.mark.asyncio
async def test_chat_garbage(client: httpx.AsyncClient) -> None:
    for stream in (False, True):
        response = await chat(client, stream=stream, messages=[user("[[garbage]]")])
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.text == "this is not json"


@pytest.mark.asyncio
async def test_chat_hang_is_cancellable(client: httpx.AsyncClient) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(chat(client, messages=[user("[[hang]]")]), timeout=0.2)


# --------------------------------------------------------------------------
# Streaming (in process)
# --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_chat_stream_text(client: httpx.AsyncClient) -> None:
    response = await chat(client, stream=True, messages=[user("hello world")])
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    payloads = sse_payloads(response.text)
    assert payloads[-1] == "[DONE]"
    chunks = payloads[:-1]
    assert all(c["object"] == "chat.completion.chunk" and "usage" not in c for c in chunks)
    assert chunks[0]["choices"] == [
        {"index": 0, "delta": {"role": "assistant", "content": None}, "finish_reason": None}
    ]
    pieces = [c["choices"][0]["delta"]["content"] for c in chunks[1:-1]]
    assert all(len(piece) == 3 for piece in pieces[:-1])
    assert "".join(pieces) == "Echo: hello world"
    assert chunks[-1]["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert chunks[-1]["timings"]["predicted_n"] == 3
    assert all("timings" not in c for c in chunks[:-1])


@pytest.mark.asyncio
async def test_chat_stream_usage_and_nofinish(client: httpx.AsyncClient) -> None:
    body = {
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [user("hi [[nofinish]]")],
    }
    chunks = sse_payloads((await client.post("/chat/completions", json=body)).text)[:-1]
    assert all(c["usage"] is None for c in chunks[:-1])
    assert (
        chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 4
    )  # prompt words include the directive
    assert "timings" in chunks[-1]
    assert all(choice["finish_reason"] is None for c in chunks for choice in c["choices"])


@pytest.mark.asyncio
async def test_chat_stream_tool_calls(client: httpx.AsyncClient) -> None:
    response = await chat(
        client, stream=True, messages=[user("x [[two-tools]]")], tools=[WEATHER_TOOL, TIME_TOOL]
    )
    chunks = sse_payloads(response.text)[:-1]
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks[1:-1]:
        for delta in chunk["choices"][0]["delta"]["tool_calls"]:
            if "id" in delta:
                assert delta["function"]["arguments"] == ""
                calls[delta["index"]] = {
                    "id": delta["id"],
                    "name": delta["function"]["name"],
                    "arguments": "",
                }
            else:
                assert len(delta["function"]["arguments"]) <= 4
                calls[delta["index"]]["arguments"] += delta["function"]["arguments"]
    assert calls == {
        0: {
            "id": "call_fake_1",
            "name": "get_weather",
            "arguments": '{"city":"text","unit":"celsius"}',
        },
        1: {"id": "call_fake_2", "name": "get_time", "arguments": '{"tz":"text"}'},
    }
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.asyncio
async def test_chat_stream_cut_in_process(client: httpx.AsyncClient) -> None:
    with pytest.raises(ConnectionCut):
        await chat(client, stream=True, messages=[user("hello [[cut:2]]")])


# --------------------------------------------------------------------------
# Legacy completions
# --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_completions(client: httpx.AsyncClient) -> None:
    body = (await client.post("/v1/completions", json={"prompt": ["say hi", "ignored"]})).json()
    assert body["object"] == "text_completion"
    assert body["choices"] == [
        {"text": "Echo: say hi", "index": 0, "logprobs": None, "finish_reason": "stop"}
    ]
    response = await client.post("/completions", json={"prompt": "abc", "stream": True})
    payloads = sse_payloads(response.text)
    assert payloads[-1] == "[DONE]"
    assert "".join(p["choices"][0]["text"] for p in payloads[:-1]) == "Echo: abc"
    assert payloads[-2]["choices"][0]["finish_reason"] == "stop"


# --------------------------------------------------------------------------
# Real subprocess
# --------------------------------------------------------------------------


def test_subprocess_server() -> None:
    with FakeLlama.start() as fake:
        assert fake.url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=fake.url, trust_env=False, timeout=5) as http:
            assert http.get("/health").json() == {"status": "ok"}

            # Frames arrive one by one while the server sleeps between them.
            body = {"stream": True, "messages": [user("hello world [[slow:30]]")]}
            arrivals: list[float] = []
            text = ""
            with http.stream("POST", "/v1/chat/completions", json=body) as response:
                assert response.headers["content-type"] == "text/event-stream"
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        arrivals.append(time.monotonic())
                        text += line + "\n\n"
            assert sse_payloads(text)[-1] == "[DONE]"
            assert arrivals[-1] - arrivals[0] > 0.15

            # [[cut:2]] drops the connection after two frames.
            cut = {"stream": True, "messages": [user("hello world [[cut:2]]")]}
            frames: list[str] = []
            with pytest.raises(httpx.RemoteProtocolError):
                with http.stream("POST", "/v1/chat/completions", json=cut) as response:
                    for line in response.iter_lines():
                        if line:
                            frames.append(line)
            assert len(frames) == 2

            fake.set_health(503)
            assert http.get("/health").status_code == 503
            logged = fake.requests()
            assert [entry["path"] for entry in logged] == ["/v1/chat/completions"] * 2
            assert logged[1]["body"] == cut
            fake.reset()
            assert fake.requests() == []
            assert http.get("/health").status_code == 200
    assert fake.process.returncode == 0


@pytest.mark.asyncio
async def test_rate_limit_with_retry_after(client: httpx.AsyncClient) -> None:
    response = await chat(client, messages=[user("x [[error:429]][[retry-after:3]]")])
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert (await chat(client, messages=[user("x [[error:429]]")])).headers.get(
        "retry-after"
    ) is None


@pytest.mark.asyncio
async def test_redirect_and_notchat(client: httpx.AsyncClient) -> None:
    for stream in (False, True):
        moved = await chat(client, stream=stream, messages=[user("[[redirect]]")])
        assert moved.status_code == 307
        assert moved.headers["location"].startswith("http://elsewhere.invalid/")
        assert moved.json()["message"] == "moved"
        other = await chat(client, stream=stream, messages=[user("[[notchat]]")])
        assert other.status_code == 200 and other.json()["object"] == "list"


@pytest.mark.asyncio
async def test_outage_applies_until_cleared(
    client: httpx.AsyncClient, fake_app: FakeLlamaApp
) -> None:
    set_outage = await client.post("/__fake/outage", json={"directives": "[[error:503]]"})
    assert set_outage.status_code == 200
    assert (await chat(client, messages=[user("hi")])).status_code == 503
    assert (await client.post("/v1/completions", json={"prompt": "hi"})).status_code == 503
    await client.post("/__fake/outage", json={"directives": ""})
    assert (await chat(client, messages=[user("hi")])).status_code == 200
    fake_app.outage = "[[notchat]]"
    fake_app.reset()
    assert fake_app.outage == ""


@pytest.mark.asyncio
async def test_noblank_ends_without_the_blank_line(client: httpx.AsyncClient) -> None:
    response = await chat(client, stream=True, messages=[user("hi [[noblank]]")])
    assert response.text.endswith("}\n\ndata: [DONE]")


def test_endless_answers_until_the_client_leaves() -> None:
    """Over a real socket: the fake sends without end, and notes when the client went away."""
    with FakeLlama.start() as fake:
        for stream in (False, True):
            body = {"messages": [user("[[endless]]")], "stream": stream}
            with httpx.stream("POST", fake.url + "/v1/chat/completions", json=body) as response:
                got = 0
                for chunk in response.iter_bytes():
                    got += len(chunk)
                    if got > 100_000:
                        break
            left = time.time()
            deadline = time.monotonic() + 5
            while len(fake.closed()) <= stream and time.monotonic() < deadline:
                time.sleep(0.05)
            closed = fake.closed()[-1]
            assert closed["sent"] > 100_000
            assert closed["time"] - left < 2
