"""OpenAI routes through the ASGI app, with the fake llama-server in-process behind it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.app.conftest import FakeTransport

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
OPENAI_HEADERS = {"authorization": "Bearer sk-test"}
ALIAS = "gguf-alias"


def chat_body(text: str = "Hello there", **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


def reports_own_model(app: Any) -> Any:
    """The fake, answering with its own model alias whatever the request asked for.

    llama-server names its loaded model in every answer; the fake echoes the requested one, so
    this wrapper puts the alias back to show that localaik rewrites it.
    """

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        async def rewrite(message: Any) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                body = message["body"]
                for model in (b"gpt-4o-mini", b"davinci-002"):
                    body = body.replace(
                        b'"model":"' + model + b'"', b'"model":"' + ALIAS.encode() + b'"'
                    )
                message = {**message, "body": body}
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [
                        (k, v) for k, v in message["headers"] if k.lower() != b"content-length"
                    ],
                }
            await send(message)

        await app(scope, receive, rewrite)

    return wrapped


@pytest.fixture()
async def aliased(make_localaik: Any, fake: Any) -> Any:
    async with make_localaik(transport=FakeTransport(reports_own_model(fake))) as client:
        yield client


def openai_frames(body: bytes) -> list[bytes]:
    assert body.endswith(b"\n\n"), body[-40:]
    return body[:-2].split(b"\n\n")


def stream_chunks(body: bytes) -> list[dict[str, Any]]:
    frames = openai_frames(body)
    assert frames[-1] == b"data: [DONE]"
    return [json.loads(frame.removeprefix(b"data: ")) for frame in frames[:-1]]


async def test_chat_completion(aliased: Any, fake: Any) -> None:
    sent = chat_body(temperature=0.2, max_tokens=50, seed=7)
    response = await aliased.post(CHAT, json=sent, headers=OPENAI_HEADERS)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "gpt-4o-mini"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Echo: Hello there"},
            "finish_reason": "stop",
        }
    ]
    assert body["usage"] == {"completion_tokens": 3, "prompt_tokens": 2, "total_tokens": 5}
    # The request goes upstream as the client wrote it.
    [upstream] = fake.requests
    assert upstream["path"] == "/v1/chat/completions"
    assert upstream["body"] == sent


async def test_fake_really_reports_its_alias(fake: Any) -> None:
    """Guard for the wrapper above: without localaik's rewrite the alias would show."""
    client = httpx.AsyncClient(
        transport=FakeTransport(reports_own_model(fake)), base_url="http://fake"
    )
    async with client:
        answer = await client.post("/v1/chat/completions", json=chat_body())
    assert answer.json()["model"] == ALIAS


async def test_chat_stream_transcript(aliased: Any, snapshot: Any) -> None:
    response = await aliased.post(CHAT, json=chat_body(stream=True), headers=OPENAI_HEADERS)

    assert response.status_code == 200
    assert response.content == snapshot


async def test_chat_stream_framing(aliased: Any) -> None:
    response = await aliased.post(CHAT, json=chat_body(stream=True), headers=OPENAI_HEADERS)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content.endswith(b"\n\ndata: [DONE]\n\n")
    assert response.content.count(b"[DONE]") == 1
    for frame in openai_frames(response.content):
        assert frame.startswith(b"data: "), frame
        assert b"\n" not in frame and b"\r" not in frame, frame
    chunks = stream_chunks(response.content)
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert all(chunk["model"] == "gpt-4o-mini" for chunk in chunks)
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
    assert text == "Echo: Hello there"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_chat_stream_usage_chunk_passes_through(aliased: Any, fake: Any) -> None:
    sent = chat_body(stream=True, stream_options={"include_usage": True})
    response = await aliased.post(CHAT, json=sent)

    assert response.status_code == 200
    chunks = stream_chunks(response.content)
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"completion_tokens": 3, "prompt_tokens": 2, "total_tokens": 5}
    assert chunks[-1]["object"] == "chat.completion.chunk"
    assert chunks[-1]["model"] == "gpt-4o-mini"
    assert fake.requests[0]["body"] == sent


async def test_chat_tool_call(localaik: Any) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
    ]
    response = await localaik.post(CHAT, json=chat_body(tools=tools))

    assert response.status_code == 200
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    assert call["function"] == {"name": "lookup", "arguments": '{"q":"text"}'}


async def test_legacy_completion(aliased: Any, fake: Any) -> None:
    sent = {"model": "davinci-002", "prompt": "say hi", "max_tokens": 5}
    response = await aliased.post(COMPLETIONS, json=sent, headers=OPENAI_HEADERS)

    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "text_completion"
    assert body["model"] == "davinci-002"
    assert body["choices"][0]["text"] == "Echo: say hi"
    assert fake.requests[0]["path"] == "/v1/completions"
    assert fake.requests[0]["body"] == sent


async def test_legacy_completion_stream(aliased: Any) -> None:
    response = await aliased.post(
        COMPLETIONS, json={"model": "davinci-002", "prompt": "say hi", "stream": True}
    )

    assert response.status_code == 200
    chunks = stream_chunks(response.content)
    assert all(chunk["object"] == "text_completion" for chunk in chunks)
    assert all(chunk["model"] == "davinci-002" for chunk in chunks)
    assert "".join(chunk["choices"][0]["text"] for chunk in chunks) == "Echo: say hi"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": [{"content": "no role"}]}, "messages[0].role"),
        ({"model": 5, "messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "stream": "yes", "messages": [{"role": "user", "content": "x"}]}, "stream"),
    ],
)
async def test_chat_request_validated(
    localaik: Any, fake: Any, body: dict[str, Any], param: str
) -> None:
    response = await localaik.post(CHAT, json=body)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert fake.requests == []


async def test_completion_without_prompt(localaik: Any) -> None:
    response = await localaik.post(COMPLETIONS, json={"model": "m"})

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "prompt"


async def test_models_list_and_get(localaik: Any) -> None:
    listing = await localaik.get("/v1/models", headers=OPENAI_HEADERS)
    single = await localaik.get("/v1/models/gpt-4o", headers=OPENAI_HEADERS)

    assert listing.status_code == 200
    assert [m["id"] for m in listing.json()["data"]] == ["fake-model"]
    assert listing.json()["object"] == "list"
    assert single.status_code == 200
    assert single.json() == {
        "id": "gpt-4o",
        "object": "model",
        "created": 1700000000,
        "owned_by": "llamacpp",
    }
