"""Anthropic routes through the ASGI app, with the fake llama-server in-process behind it.

The fake answers "Echo: <last user text>" (3-character stream deltas), a tool call built from
the first tool's schema when tools are given, and obeys directives such as `[[error:400]]`,
`[[cut:3]]` or `[[garbage]]` (tests/fakes/fake_llama.py).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.test_replay_app import tiny_pdf
from tests.support import all_recordings, assert_error

MODEL = "claude-haiku-4-5"
MESSAGES = "/v1/messages"
COUNT = "/v1/messages/count_tokens"
HEADERS = {"x-api-key": "sk-ant-api03-not-a-real-key", "anthropic-version": "2023-06-01"}
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def body(text: str = "Hello there", **extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of an Anthropic event stream; each frame exactly
    `event: <name>\\ndata: <one-line JSON>\\n\\n`."""
    text = response.text
    assert text.endswith("\n\n"), text[-80:]
    out = []
    for frame in text[:-2].split("\n\n"):
        event_line, data_line = frame.split("\n")
        assert event_line.startswith("event: ") and data_line.startswith("data: "), frame
        name, data = event_line[len("event: ") :], json.loads(data_line[len("data: ") :])
        assert data["type"] == name
        out.append((name, data))
    return out


def streamed_text(found: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(
        data["delta"].get("text", "") for name, data in found if name == "content_block_delta"
    )


# --------------------------------------------------------------------------------------------
# Messages


async def test_create(localaik: Any, fake: Any) -> None:
    response = await localaik.post(MESSAGES, json=body(), headers=HEADERS)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "id": "msg_fake1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": "Echo: Hello there"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 2,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 3,
            "service_tier": "standard",
        },
    }
    [sent] = fake.requests
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"] == {
        "model": "localaik",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hello there"}],
    }
    assert "x-api-key" not in sent["headers"] and "anthropic-version" not in sent["headers"]


async def test_create_uses_the_configured_upstream_model(make_localaik: Any, fake: Any) -> None:
    async with make_localaik(upstream_model="gemma-3-4b") as client:
        response = await client.post(MESSAGES, json=body(), headers=HEADERS)

    assert response.json()["model"] == MODEL
    assert fake.requests[0]["body"]["model"] == "gemma-3-4b"


async def test_system_and_turns(localaik: Any, fake: Any) -> None:
    request = {
        "model": MODEL,
        "max_tokens": 10,
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": "One"},
            {"role": "assistant", "content": "Ok"},
            {"role": "user", "content": [{"type": "text", "text": "Two"}]},
        ],
    }
    response = await localaik.post(MESSAGES, json=request, headers=HEADERS)

    assert response.json()["content"] == [{"type": "text", "text": "[sys] Echo: Two"}]
    assert fake.requests[0]["body"]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "One"},
        {"role": "assistant", "content": "Ok"},
        {"role": "user", "content": "Two"},
    ]


async def test_stream_event_sequence(localaik: Any, fake: Any) -> None:
    response = await localaik.post(MESSAGES, json=body(stream=True), headers=HEADERS)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    found = events(response)
    names = [name for name, _ in found]
    deltas = names.count("content_block_delta")
    assert names == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * deltas,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert deltas == len("Echo: Hello there") // 3 + 1  # the fake's 3-character deltas
    assert streamed_text(found) == "Echo: Hello there"
    start = found[0][1]["message"]
    assert start["id"] == "msg_fake1" and start["model"] == MODEL and start["content"] == []
    # Passthrough (these tests' mode) is not held for the prompt's count, which the upstream
    # says in its last chunk: a replay's or a recording's message_start states it
    # (test_stream_usage.py, test_record_then_replay_gives_the_same_bytes).
    assert start["usage"] == {
        "input_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 0,
        "service_tier": "standard",
    }
    assert found[-2][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {
            "input_tokens": 2,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 3,
        },
    }
    sent = fake.requests[0]["body"]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}


async def test_stream_tool_use_is_sent_whole(localaik: Any) -> None:
    response = await localaik.post(
        MESSAGES, json=body("Weather?", stream=True, tools=[WEATHER]), headers=HEADERS
    )

    found = events(response)
    assert [name for name, _ in found] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert found[1][1]["content_block"] == {
        "type": "tool_use",
        "id": "call_fake_1",
        "name": "get_weather",
        "input": {},
    }
    assert found[2][1]["delta"] == {"type": "input_json_delta", "partial_json": '{"city":"text"}'}
    assert found[4][1]["delta"]["stop_reason"] == "tool_use"


async def test_two_parallel_tool_calls_and_their_results(localaik: Any, fake: Any) -> None:
    tools = [WEATHER, {"name": "get_time", "input_schema": {"type": "object"}}]
    first = await localaik.post(
        MESSAGES, json=body("Both? [[two-tools]]", tools=tools), headers=HEADERS
    )
    message = first.json()
    assert message["stop_reason"] == "tool_use"
    calls = message["content"]
    assert [(c["type"], c["name"]) for c in calls] == [
        ("tool_use", "get_weather"),
        ("tool_use", "get_time"),
    ]
    assert len({c["id"] for c in calls}) == 2
    results = [
        {"type": "tool_result", "tool_use_id": c["id"], "content": f"{c['name']} ok"} for c in calls
    ]
    follow = {
        "model": MODEL,
        "max_tokens": 64,
        "tools": tools,
        "messages": [
            {"role": "user", "content": "Both?"},
            {"role": "assistant", "content": calls},
            {"role": "user", "content": results},
        ],
    }
    second = await localaik.post(MESSAGES, json=follow, headers=HEADERS)

    assert second.status_code == 200, second.text
    assert second.json()["content"] == [{"type": "text", "text": "Tool said: get_time ok"}]
    sent = fake.requests[1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool"]
    assert [c["id"] for c in sent[1]["tool_calls"]] == [c["id"] for c in calls]
    assert [m["tool_call_id"] for m in sent[2:]] == [c["id"] for c in calls]


@pytest.mark.parametrize("result_id", [{"id": "toolu_1"}, ["toolu_1"], 7, None])
async def test_a_tool_result_id_that_is_not_a_string_is_400(
    localaik: Any, fake: Any, result_id: Any
) -> None:
    # Fuzzing found this: pairing the tool_use of one turn with the results of the next put
    # each `tool_use_id` in a set, and an object or list there raised TypeError, a 500.
    request_body = {
        "model": MODEL,
        "max_tokens": 16,
        "tools": [WEATHER],
        "messages": [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": result_id, "content": "sunny"}],
            },
        ],
    }
    for stream in (False, True):
        response = await localaik.post(
            MESSAGES, json={**request_body, "stream": stream}, headers=HEADERS
        )
        error = assert_error(response, 400, "anthropic")
        assert error["type"] == "invalid_request_error"
        assert "`tool_use` ids were found without `tool_result` blocks" in error["message"]
        assert "toolu_1" in error["message"]
    assert fake.requests == []


async def test_tool_choice_tool_forces_that_function(localaik: Any, fake: Any) -> None:
    tools = [WEATHER, {"name": "get_time", "input_schema": {"type": "object"}}]
    response = await localaik.post(
        MESSAGES,
        json=body("Time?", tools=tools, tool_choice={"type": "tool", "name": "get_time"}),
        headers=HEADERS,
    )

    assert [c["name"] for c in response.json()["content"]] == ["get_time"]
    assert fake.requests[0]["body"]["tool_choice"] == {
        "type": "function",
        "function": {"name": "get_time"},
    }


async def test_structured_output(localaik: Any, fake: Any) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    response = await localaik.post(
        MESSAGES,
        json=body("A person", output_config={"format": {"type": "json_schema", "schema": schema}}),
        headers=HEADERS,
    )

    assert json.loads(response.json()["content"][0]["text"]) == {"name": "text"}
    assert fake.requests[0]["body"]["response_format"]["json_schema"]["schema"] == schema


async def test_image_and_pdf_document(localaik: Any, fake: Any) -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    pdf = base64.b64encode(tiny_pdf()).decode()
    request = body()
    request["messages"][0]["content"] = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": pdf},
        },
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
        {"type": "text", "text": "Describe"},
    ]
    response = await localaik.post(MESSAGES, json=request, headers=HEADERS)

    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "Echo: Describe [3 images]"
    parts = fake.requests[0]["body"]["messages"][0]["content"]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert urls[0] == f"data:image/png;base64,{png}"
    assert urls[1].startswith("data:image/png;base64,")  # the PDF's one page, rendered
    assert urls[2] == "https://example.com/a.png"  # passed on, never fetched


async def test_count_tokens(localaik: Any, fake: Any) -> None:
    request = {
        "model": MODEL,
        "system": "be brief",
        "messages": [{"role": "user", "content": "one two three"}],
    }
    response = await localaik.post(COUNT, json=request, headers=HEADERS)

    assert response.status_code == 200
    assert response.json() == {"input_tokens": 5}
    [sent] = fake.requests
    assert sent["path"] == "/tokenize"
    assert sent["body"] == {"content": "be brief\none two three", "add_special": False}


# --------------------------------------------------------------------------------------------
# Models


async def test_models_in_the_anthropic_shape(localaik: Any) -> None:
    listing = await localaik.get("/v1/models", headers=HEADERS)
    single = await localaik.get(f"/v1/models/{MODEL}", headers=HEADERS)

    assert listing.json() == {
        "data": [
            {
                "type": "model",
                "id": "fake-model",
                "display_name": "fake-model",
                "created_at": "2023-11-14T22:13:20Z",
                "lifecycle": "active",
                "max_input_tokens": 8192,
                "max_tokens": 8192,
            }
        ],
        "has_more": False,
        "first_id": "fake-model",
        "last_id": "fake-model",
    }
    assert single.json()["id"] == MODEL and single.json()["type"] == "model"
    # Without anthropic-version the same path answers OpenAI clients.
    plain = await localaik.get("/v1/models", headers={"authorization": "Bearer k"})
    assert plain.json()["object"] == "list"


def three_models(request: httpx.Request) -> httpx.Response:
    """An upstream serving three models (the fake serves one)."""
    assert request.url.path == "/v1/models"
    return httpx.Response(
        200,
        json={
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": 0, "owned_by": "x"}
                for name in ("a", "b", "c")
            ],
        },
    )


@pytest.mark.parametrize(
    ("query", "ids", "has_more"),
    [
        ("", ["a", "b", "c"], False),
        ("?limit=2", ["a", "b"], True),
        ("?limit=2&after_id=b", ["c"], False),
        ("?limit=1&before_id=c", ["b"], True),
        ("?after_id=a&before_id=c", ["b"], False),
    ],
)
async def test_models_paging(
    make_localaik: Any, query: str, ids: list[str], has_more: bool
) -> None:
    async with make_localaik(transport=httpx.MockTransport(three_models)) as client:
        page = (await client.get(f"/v1/models{query}", headers=HEADERS)).json()

    assert [m["id"] for m in page["data"]] == ids
    assert page["has_more"] is has_more
    assert (page["first_id"], page["last_id"]) == (ids[0], ids[-1])


@pytest.mark.parametrize("query", ["?limit=0", "?limit=x", "?after_id=zzz"])
async def test_models_paging_errors(make_localaik: Any, query: str) -> None:
    async with make_localaik(transport=httpx.MockTransport(three_models)) as client:
        response = await client.get(f"/v1/models{query}", headers=HEADERS)

    assert assert_error(response, 400, "anthropic")["type"] == "invalid_request_error"


# --------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        (
            {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
            "max_tokens: Field required",
        ),
        (body(temperature=2), "temperature: must be a number between 0 and 1"),
        (
            {"model": MODEL, "max_tokens": 5, "messages": []},
            "messages: at least one message is required",
        ),
        (
            body(tools=[{"type": "web_search_20250305", "name": "web_search"}]),
            "the Anthropic-defined tool 'web_search_20250305' is not supported",
        ),
        (
            {
                "model": MODEL,
                "max_tokens": 5,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {"type": "base64", "data": "AAAA"}}
                        ],
                    }
                ],
            },
            "messages.0.content.0.source.media_type: Field required",
        ),
    ],
)
async def test_bad_requests_are_400_in_the_anthropic_shape(
    localaik: Any, fake: Any, request_body: Any, message: str
) -> None:
    for stream in (False, True):
        response = await localaik.post(
            MESSAGES, json={**request_body, "stream": stream}, headers=HEADERS
        )
        error = assert_error(response, 400, "anthropic")
        assert error["type"] == "invalid_request_error"
        assert message in error["message"]
    assert fake.requests == []


async def test_invalid_json_is_400(localaik: Any) -> None:
    response = await localaik.post(
        MESSAGES, content=b'{"model": ', headers={**HEADERS, "content-type": "application/json"}
    )

    assert "invalid JSON" in assert_error(response, 400, "anthropic")["message"]


@pytest.mark.parametrize("stream", [False, True])
async def test_upstream_error_status_is_kept(localaik: Any, stream: bool) -> None:
    for code, kind in ((400, "invalid_request_error"), (500, "api_error"), (503, "api_error")):
        response = await localaik.post(
            MESSAGES, json=body(f"x [[error:{code}]]", stream=stream), headers=HEADERS
        )
        error = assert_error(response, code, "anthropic")
        assert error == {"type": kind, "message": f"fake error {code}"}


async def test_garbage_from_upstream_is_502(localaik: Any) -> None:
    response = await localaik.post(MESSAGES, json=body("[[garbage]]"), headers=HEADERS)

    assert assert_error(response, 502, "anthropic")["type"] == "api_error"


async def test_stream_cut_ends_with_an_error_event(localaik: Any) -> None:
    response = await localaik.post(
        MESSAGES, json=body("a long answer [[cut:3]]", stream=True), headers=HEADERS
    )

    assert response.status_code == 200
    found = events(response)
    assert found[0][0] == "message_start"
    assert streamed_text(found) == "Echo: "  # the role chunk, then two 3-character deltas
    name, data = found[-1]
    assert name == "error"
    assert data["type"] == "error" and data["error"]["type"] == "api_error"
    assert "ended the stream early" in data["error"]["message"]
    assert "message_stop" not in [n for n, _ in found]


async def test_stream_without_finish_reason_ends_the_turn(localaik: Any) -> None:
    response = await localaik.post(
        MESSAGES, json=body("hi [[nofinish]]", stream=True), headers=HEADERS
    )

    found = events(response)
    assert found[-2][1]["delta"]["stop_reason"] == "end_turn"
    assert found[-1][0] == "message_stop"


async def test_finish_length_is_max_tokens(localaik: Any) -> None:
    response = await localaik.post(
        MESSAGES, json=body("one two three four five", max_tokens=2), headers=HEADERS
    )

    assert response.json()["stop_reason"] == "max_tokens"
    assert response.json()["content"][0]["text"] == "Echo: one"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v1/messages/nope", 404),
        ("GET", "/v1/messages/batches/msgbatch_unknown", 404),
        ("GET", "/v1/messages", 405),
        ("GET", "/v1/messages/count_tokens", 405),
    ],
)
async def test_unknown_routes_and_methods_in_the_anthropic_shape(
    localaik: Any, method: str, path: str, status: int
) -> None:
    response = await localaik.request(
        method, path, json={} if method == "POST" else None, headers=HEADERS
    )

    error = assert_error(response, status, "anthropic")
    assert error["type"] == ("not_found_error" if status == 404 else "invalid_request_error")
    if status == 405:
        assert "POST" in response.headers["allow"]


# --------------------------------------------------------------------------------------------
# Record and replay


RECORDED = [
    (MESSAGES, body()),
    (MESSAGES, body(stream=True)),
    (MESSAGES, body("Weather?", stream=True, tools=[WEATHER])),
    (MESSAGES, body("Weather?", tools=[WEATHER])),
    (MESSAGES, body("bad [[error:400]]")),
    (COUNT, {"model": MODEL, "messages": [{"role": "user", "content": "a b c"}]}),
]


async def test_record_then_replay_gives_the_same_bytes(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "anthropic.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        live = [
            await client.post(path, json=request, headers=HEADERS) for path, request in RECORDED
        ]
        live.append(await client.get("/v1/models", headers=HEADERS))
        live.append(await client.get(f"/v1/models/{MODEL}", headers=HEADERS))
    assert len(fake.requests) == len(live)
    recordings = all_recordings(cassette)
    assert sorted((r.family, r.operation, r.stream) for r in recordings) == sorted(
        [("anthropic", "messages", False)] * 3
        + [("anthropic", "messages", True)] * 2
        + [
            ("anthropic", "messages.count_tokens", False),
            ("anthropic", "models.list", False),
            ("anthropic", "models.get", False),
        ]
    )
    fake.reset()

    async with make_localaik(
        mode="replay", cassette=cassette, upstream="http://127.0.0.1:9/v1"
    ) as client:
        replayed = [
            await client.post(path, json=request, headers=HEADERS) for path, request in RECORDED
        ]
        replayed.append(await client.get("/v1/models", headers=HEADERS))
        replayed.append(await client.get(f"/v1/models/{MODEL}", headers=HEADERS))

    assert [r.status_code for r in replayed] == [r.status_code for r in live]
    assert [r.status_code for r in live] == [200, 200, 200, 200, 400, 200, 200, 200]
    assert [r.content for r in replayed] == [r.content for r in live]
    assert [r.headers["content-type"] for r in replayed] == [
        r.headers["content-type"] for r in live
    ]
    assert fake.requests == []


async def test_metadata_and_headers_do_not_change_the_key(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        live = await client.post(
            MESSAGES, json=body(metadata={"user_id": "run-1"}), headers=HEADERS
        )
    async with make_localaik(mode="replay", cassette=cassette) as client:
        replayed = await client.post(
            MESSAGES,
            json=body(metadata={"user_id": "run-2"}),
            headers={"x-api-key": "other", "anthropic-version": "x", "anthropic-beta": "something"},
        )
    assert replayed.content == live.content
    assert len(fake.requests) == 1


async def test_replay_miss_is_a_not_found_error_that_explains(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        await client.post(MESSAGES, json=body("Name three colours"), headers=HEADERS)
    async with make_localaik(mode="replay", cassette=cassette) as client:
        miss = await client.post(MESSAGES, json=body("Name four colours"), headers=HEADERS)
        stream_miss = await client.post(
            MESSAGES, json=body("Name three colours", stream=True), headers=HEADERS
        )
        invalid = await client.post(
            MESSAGES, json=body("Name four colours", top_k=-1), headers=HEADERS
        )

    error = assert_error(miss, 404, "anthropic")
    assert error["type"] == "not_found_error"
    assert "replay miss" in error["message"]
    assert "anthropic messages claude-haiku-4-5" in error["message"]
    assert (
        'messages[0].content: "Name four colours" here, "Name three colours" recorded'
        in error["message"]
    )
    assert "LK_MODE=record" in error["message"]
    assert (
        "stream: true here, false recorded"
        in assert_error(stream_miss, 404, "anthropic")["message"]
    )
    # A request that is invalid anyway says so, rather than that it was not recorded.
    assert "top_k" in assert_error(invalid, 400, "anthropic")["message"]
    assert len(fake.requests) == 1


async def test_a_secret_in_the_request_is_refused_and_not_stored(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    secret = "sk-ant-api03-" + "a1B2c3D4e5F6g7H8i9J0" * 3
    async with make_localaik(mode="record", cassette=cassette) as client:
        response = await client.post(MESSAGES, json=body(f"my key is {secret}"), headers=HEADERS)

    error = assert_error(response, 400, "anthropic")
    assert "Anthropic key" in error["message"] and secret not in error["message"]
    assert fake.requests == []
    assert all_recordings(cassette) == []


async def test_body_over_the_cap_is_413_request_too_large(make_localaik: Any, fake: Any) -> None:
    async with make_localaik(max_body_size=1024) as client:
        response = await client.post(MESSAGES, json=body("x" * 4096), headers=HEADERS)
        small = await client.post(MESSAGES, json=body("fits"), headers=HEADERS)

    error = assert_error(response, 413, "anthropic")
    assert error["type"] == "request_too_large"
    assert "LK_MAX_BODY_SIZE" in error["message"]
    assert small.status_code == 200
    assert len(fake.requests) == 1
