"""The OpenAI Responses API through the ASGI app, with the fake llama-server in-process behind it.

The fake answers "Echo: <last user text>" (with "[sys] " when there is a system message),
makes a tool call when tools are given, answers "Tool said: <output>" after a tool message,
and obeys directives such as `[[cut:3]]` or `[[error:400]]` (tests/fakes/fake_llama.py).
"""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from localaik.cassette import transcript
from localaik.server.verify import verify
from tests.app.test_replay_app import tiny_pdf
from tests.support import all_recordings, assert_error

RESPONSES = "/v1/responses"
OPENAI = {"authorization": "Bearer sk-test"}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAACAAFUok9dAAAAAElFTkSuQmCC"
WEATHER = {
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
LIFECYCLE = ["response.created", "response.in_progress"]


def body(prompt: str = "Hello there", /, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "input": prompt, **extra}


def chat_requests(fake: Any) -> list[dict[str, Any]]:
    return [r["body"] for r in fake.requests if r["path"] == "/v1/chat/completions"]


def events(content: bytes) -> list[dict[str, Any]]:
    """The stream's events; each frame is `event: <type>` then `data: <json>` and a blank line,
    the event line naming the data's type."""
    assert content.endswith(b"\n\n"), content[-40:]
    out = []
    for frame in content[:-2].split(b"\n\n"):
        name, data = frame.split(b"\n")
        assert name.startswith(b"event: ") and data.startswith(b"data: "), frame
        event = json.loads(data.removeprefix(b"data: "))
        assert event["type"] == name.removeprefix(b"event: ").decode()
        out.append(event)
    assert [e["sequence_number"] for e in out] == list(range(len(out)))
    return out


def output_text(response: dict[str, Any]) -> str:
    return "".join(
        part["text"]
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text"
    )


# --------------------------------------------------------------------------------------------
# Answers


async def test_answer_object(localaik: Any, fake: Any) -> None:
    sent = body(
        instructions="Be terse.",
        temperature=0.2,
        max_output_tokens=50,
        top_p=0.9,
        metadata={"run": "7"},
        store=True,
    )
    response = await localaik.post(RESPONSES, json=sent, headers=OPENAI)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert answer["object"] == "response"
    assert answer["id"] == "resp_fake1"
    assert answer["status"] == "completed"
    assert answer["model"] == "gpt-4o-mini"
    assert answer["output"] == [
        {
            "id": "msg_fake1",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [
                {
                    "type": "output_text",
                    "text": "[sys] Echo: Hello there",
                    "annotations": [],
                    "logprobs": [],
                }
            ],
        }
    ]
    assert answer["usage"] == {
        "input_tokens": 4,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 4,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 8,
    }
    assert (
        answer["instructions"],
        answer["temperature"],
        answer["top_p"],
        answer["max_output_tokens"],
        answer["metadata"],
    ) == ("Be terse.", 0.2, 0.9, 50, {"run": "7"})
    assert chat_requests(fake) == [
        {
            "model": "gpt-4o-mini",
            "temperature": 0.2,
            "top_p": 0.9,
            "max_tokens": 50,
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": "Hello there"},
            ],
        }
    ]
    assert "authorization" not in fake.requests[0]["headers"]


async def test_image_items_reach_the_upstream(localaik: Any, fake: Any) -> None:
    sent = body(
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Describe"},
                    {
                        "type": "input_image",
                        "image_url": f"data:image/png;base64,{PNG}",
                        "detail": "low",
                    },
                    {"type": "input_image", "image_url": "https://example.com/cat.png"},
                ],
            }
        ]
    )
    response = await localaik.post(RESPONSES, json=sent)

    assert response.status_code == 200, response.text
    assert output_text(response.json()) == "Echo: Describe [2 images]"
    [chat] = chat_requests(fake)
    assert [part.get("image_url") for part in chat["messages"][0]["content"]] == [
        None,
        {"url": f"data:image/png;base64,{PNG}"},
        {"url": "https://example.com/cat.png"},
    ]


async def test_structured_output(localaik: Any, fake: Any) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    sent = body(
        text={"format": {"type": "json_schema", "name": "Person", "strict": True, "schema": schema}}
    )
    response = await localaik.post(RESPONSES, json=sent)

    answer = response.json()
    assert json.loads(output_text(answer)) == {"name": "text", "age": 1}
    assert answer["text"] == sent["text"]
    assert chat_requests(fake)[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Person", "schema": schema, "strict": True},
    }


async def test_max_output_tokens_cut_is_incomplete(localaik: Any) -> None:
    response = await localaik.post(
        RESPONSES, json=body("one two three four five", max_output_tokens=2)
    )

    answer = response.json()
    assert answer["status"] == "incomplete"
    assert answer["incomplete_details"] == {"reason": "max_output_tokens"}
    assert output_text(answer) == "Echo: one"


async def test_tool_call_then_its_output(localaik: Any, fake: Any) -> None:
    first = (await localaik.post(RESPONSES, json=body("Weather in Oslo?", tools=[WEATHER]))).json()
    [call] = first["output"]
    assert call == {
        "id": "fc_fake1_0",
        "type": "function_call",
        "status": "completed",
        "arguments": '{"city":"text"}',
        "call_id": "call_fake_1",
        "name": "get_weather",
    }
    assert first["tools"] == [WEATHER]

    conversation = [
        {"role": "user", "content": "Weather in Oslo?"},
        call,
        {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"},
    ]
    second = (await localaik.post(RESPONSES, json=body(input=conversation, tools=[WEATHER]))).json()

    assert output_text(second) == "Tool said: sunny"
    upstream = chat_requests(fake)[1]["messages"]
    assert upstream[1:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_fake_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"text"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_fake_1", "name": "get_weather", "content": "sunny"},
    ]


async def test_parallel_tool_calls_get_unique_ids(localaik: Any) -> None:
    answer = (await localaik.post(RESPONSES, json=body("[[two-tools]] go", tools=[WEATHER]))).json()

    calls = answer["output"]
    assert [c["type"] for c in calls] == ["function_call", "function_call"]
    assert len({c["id"] for c in calls}) == 2
    assert len({c["call_id"] for c in calls}) == 2


# --------------------------------------------------------------------------------------------
# Streams


async def test_stream_transcript(localaik: Any, snapshot: Any) -> None:
    response = await localaik.post(RESPONSES, json=body(stream=True), headers=OPENAI)

    assert response.status_code == 200
    assert response.content == snapshot


async def test_stream_text_events(localaik: Any, fake: Any) -> None:
    response = await localaik.post(RESPONSES, json=body("stream me please", stream=True))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert b"[DONE]" not in response.content
    stream = events(response.content)
    kinds = [e["type"] for e in stream]
    deltas = [e["delta"] for e in stream if e["type"] == "response.output_text.delta"]
    assert kinds == [
        *LIFECYCLE,
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * len(deltas),
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert len(deltas) > 2 and "".join(deltas) == "Echo: stream me please"
    final = stream[-1]["response"]
    assert final["id"] == stream[0]["response"]["id"] == "resp_fake1"
    assert output_text(final) == "Echo: stream me please"
    assert final["usage"]["total_tokens"] > 0
    assert chat_requests(fake)[0]["stream_options"] == {"include_usage": True}


async def test_stream_tool_call_events(localaik: Any) -> None:
    response = await localaik.post(RESPONSES, json=body("Weather?", tools=[WEATHER], stream=True))

    stream = events(response.content)
    kinds = [e["type"] for e in stream]
    pieces = [e["delta"] for e in stream if e["type"] == "response.function_call_arguments.delta"]
    assert kinds == [
        *LIFECYCLE,
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * len(pieces),
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert len(pieces) > 1 and "".join(pieces) == '{"city":"text"}'
    assert stream[2]["item"]["call_id"] == "call_fake_1"
    assert stream[-1]["response"]["output"] == [stream[-2]["item"]]
    assert stream[-2]["item"]["arguments"] == '{"city":"text"}'


async def test_cut_stream_ends_with_error_and_failed_and_is_not_recorded(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    sent = body("this answer will be cut short [[cut:4]]", stream=True)
    async with make_localaik(mode="record", cassette=cassette) as client:
        response = await client.post(RESPONSES, json=sent)

    assert response.status_code == 200
    stream = events(response.content)
    assert [e["type"] for e in stream][-2:] == ["error", "response.failed"]
    error, failed = stream[-2], stream[-1]
    assert error["code"] == "upstream_bad_response" and "ended the stream early" in error["message"]
    assert failed["response"]["status"] == "failed"
    assert failed["response"]["error"] == {"code": "server_error", "message": error["message"]}
    assert failed["response"]["output"][0]["status"] == "incomplete"
    assert all_recordings(cassette) == []


async def test_no_frame_before_the_cut_still_starts_with_created(localaik: Any) -> None:
    response = await localaik.post(RESPONSES, json=body("[[cut:0]]", stream=True))

    assert [e["type"] for e in events(response.content)] == [*LIFECYCLE, "error", "response.failed"]


async def test_stream_without_finish_reason_completes(localaik: Any) -> None:
    response = await localaik.post(RESPONSES, json=body("[[nofinish]] hi", stream=True))

    assert events(response.content)[-1]["response"]["status"] == "completed"


# --------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"previous_response_id": "resp_1"}, "previous_response_id"),
        ({"conversation": {"id": "conv_1"}}, "conversation"),
        ({"background": True}, "background"),
        ({"prompt": {"id": "pmpt_1"}}, "prompt"),
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"tools": [{"type": "file_search", "vector_store_ids": ["vs"]}]}, "tools[0].type"),
        ({"tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]}, "tools[0].type"),
        (
            {
                "tools": [
                    {
                        "type": "computer_use_preview",
                        "display_width": 1,
                        "display_height": 1,
                        "environment": "browser",
                    }
                ]
            },
            "tools[0].type",
        ),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
        ({"seed": 1}, "seed"),
        ({"temperature": "hot"}, "temperature"),
        (
            {
                "input": [
                    {
                        "role": "user",
                        "content": [{"type": "input_file", "file_url": "https://e.com/a.pdf"}],
                    }
                ]
            },
            "input[0].content[0].file_url",
        ),
    ],
)
@pytest.mark.parametrize("mode", ["record", "replay"])
async def test_refused_requests_are_400s_naming_the_field(
    make_localaik: Any, fake: Any, tmp_path: Path, extra: dict[str, Any], param: str, mode: str
) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode=mode, cassette=cassette) as client:
        response = await client.post(RESPONSES, json=body(**extra))

    error = assert_error(response, 400, "openai")
    assert error["param"] == param
    assert error["message"].startswith(param), error["message"]
    assert error["code"] in ("unsupported", "invalid_request")
    assert fake.requests == []
    assert all_recordings(cassette) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/responses/resp_123"),
        ("GET", "/v1/responses/resp_123?stream=true"),
        ("DELETE", "/v1/responses/resp_123"),
        ("POST", "/v1/responses/resp_123/cancel"),
        ("GET", "/v1/responses/resp_123/input_items"),
        ("POST", "/v1/responses/input_tokens"),
        ("POST", "/v1/responses/compact"),
    ],
)
async def test_stored_response_calls_are_refused(
    localaik: Any, fake: Any, method: str, path: str
) -> None:
    response = await localaik.request(method, path, headers=OPENAI, json=None)

    error = assert_error(response, 400, "openai")
    assert "does not store responses" in error["message"]
    assert fake.requests == []


@pytest.mark.parametrize("stream", [False, True])
async def test_upstream_4xx_keeps_its_status(localaik: Any, stream: bool) -> None:
    response = await localaik.post(RESPONSES, json=body("[[error:400]] bad", stream=stream))

    error = assert_error(response, 400, "openai")
    assert error["message"] == "fake error 400"


async def test_upstream_garbage_is_a_502(localaik: Any) -> None:
    response = await localaik.post(RESPONSES, json=body("[[garbage]]"))

    assert_error(response, 502, "openai")


# --------------------------------------------------------------------------------------------
# Record and replay


@pytest.mark.parametrize(
    "sent",
    [
        body("round trip"),
        body("round trip", stream=True),
        body("round trip", tools=[WEATHER], stream=True),
        body("round trip", tools=[WEATHER]),
    ],
    ids=["answer", "stream", "stream-tools", "tools"],
)
async def test_replay_is_byte_identical(
    make_localaik: Any, fake: Any, tmp_path: Path, sent: dict[str, Any]
) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        live = await client.post(RESPONSES, json=sent)
    assert live.status_code == 200, live.text
    [recording] = all_recordings(cassette)
    assert (recording.family, recording.operation, recording.model, recording.stream) == (
        "openai",
        "responses",
        "gpt-4o-mini",
        sent.get("stream", False),
    )
    assert json.loads(recording.upstream_request)["endpoint"] == "chat"
    fake.reset()

    async with make_localaik(mode="replay", cassette=cassette) as client:
        first = await client.post(RESPONSES, json=sent)
        second = await client.post(RESPONSES, json=sent)

    assert first.status_code == second.status_code == 200
    assert first.headers["content-type"] == live.headers["content-type"]
    assert first.content == second.content == live.content
    assert fake.requests == []


async def test_volatile_fields_are_left_out_of_the_key(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        live = (
            await client.post(RESPONSES, json=body(store=True, metadata={"run": "1"}, user="u1"))
        ).json()
    fake.reset()
    async with make_localaik(mode="replay", cassette=cassette) as client:
        replayed = await client.post(
            RESPONSES,
            json=body(
                store=False, metadata={"run": "2"}, safety_identifier="s", prompt_cache_key="k"
            ),
        )

    assert replayed.status_code == 200, replayed.text
    answer = replayed.json()
    assert answer["output"] == live["output"] and answer["id"] == live["id"]
    # The answer repeats this request's bookkeeping, as the real API does.
    assert (answer["metadata"], answer["user"], answer["safety_identifier"]) == (
        {"run": "2"},
        None,
        "s",
    )
    assert fake.requests == []


async def test_a_changed_input_is_a_replay_miss(make_localaik: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        assert (await client.post(RESPONSES, json=body("recorded"))).status_code == 200
    async with make_localaik(mode="replay", cassette=cassette) as client:
        response = await client.post(RESPONSES, json=body("changed"))

    error = assert_error(response, 404, "openai")
    assert error["code"] == "replay_miss"
    assert "input" in error["message"]


async def test_verify_replays_responses_recordings(make_localaik: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        for sent in (
            body("checked"),
            body("checked", stream=True),
            body("checked", tools=[WEATHER], stream=True),
        ):
            assert (await client.post(RESPONSES, json=sent)).status_code == 200

    report = verify(cassette)
    assert report.recordings == 3
    assert report.problems == []

    # A recorded stream whose tool call has no name: the stream still ends in [DONE], but the
    # translation can only end it with an error event; verify must say so.
    [key] = [r.key for r in all_recordings(cassette) if "tools" in r.request]
    with closing(sqlite3.connect(cassette)) as conn, conn:
        conn.execute(
            "UPDATE frames SET data = CAST(replace(CAST(data AS TEXT), "
            '\'"name":"get_weather"\', \'"name":""\') AS BLOB) WHERE recording_id '
            "= (SELECT id FROM recordings WHERE key = ?)",
            (key,),
        )
    [problem] = verify(cassette).problems
    assert problem.key == key
    assert "the stream ends in an error" in problem.message
    assert "without a function name" in problem.message


async def test_cassette_show_reads_a_responses_recording(
    make_localaik: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="record", cassette=cassette) as client:
        await client.post(RESPONSES, json=body("shown", instructions="terse", stream=True))

    [recording] = all_recordings(cassette)
    text = transcript.text(recording, timing=False)
    assert "openai responses  model gpt-4o-mini  stream" in text
    assert '"instructions": "terse"' in text
    assert "upstream request  POST chat" in text
    assert "answer: [sys] Echo: shown" in text


async def test_input_file_pdf_pages_reach_the_upstream(localaik: Any, fake: Any) -> None:
    if shutil.which("pdftoppm") is None or shutil.which("pdfinfo") is None:
        pytest.skip("poppler-utils (pdftoppm, pdfinfo) is not installed")
    data = base64.b64encode(tiny_pdf()).decode()
    sent = body(
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Summarise"},
                    {
                        "type": "input_file",
                        "filename": "a.pdf",
                        "file_data": f"data:application/pdf;base64,{data}",
                    },
                ],
            }
        ]
    )
    response = await localaik.post(RESPONSES, json=sent)

    assert output_text(response.json()) == "Echo: Summarise [1 images]"
    [page] = [
        p for p in chat_requests(fake)[0]["messages"][0]["content"] if p["type"] == "image_url"
    ]
    assert page["image_url"]["url"].startswith("data:image/png;base64,iVBOR")
