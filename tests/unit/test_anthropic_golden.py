"""Golden-file tests of the pure Anthropic Messages <-> OpenAI translation functions.

Each case is one JSON file under `tests/golden/<kind>/`; adding a case is adding a file.

- `anthropic_request/`: a Messages request as a client sends it -> the OpenAI chat request sent
  upstream (`expected`), or the error it must raise (`expected_error`).
- `anthropic_response/`: an upstream chat.completion -> the Message (`request` gives the model
  and whether thinking is on).
- `anthropic_stream/`: upstream chat.completion.chunk objects -> every `[event, data]` pair of
  the Messages stream, in order, ending with message_stop.

Expected values are written from the API reference and the project's decisions, not copied from
the code's output; values are also compared as sorted-key JSON text, so `40` and `40.0` differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import pytest

from localaik import errors
from localaik.families.anthropic import request as anthropic_request
from localaik.families.anthropic import response as anthropic_response
from localaik.families.streaming import UsageFirst
from localaik.upstream.chunks import stream_usage
from tests.unit.test_golden import GoldenMedia, as_frames

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
KINDS = ("anthropic_request", "anthropic_response", "anthropic_stream")
REQUIRED = {
    "anthropic_request": {"description", "request"},
    "anthropic_response": {"description", "request", "upstream"},
    "anthropic_stream": {"description", "request", "upstream_chunks", "expected"},
}
ONE_OUTCOME = {"anthropic_request", "anthropic_response"}


def _files(kind: str) -> list[Path]:
    return sorted((GOLDEN / kind).glob("*.json"))


def _params(kind: str) -> list[Any]:
    return [pytest.param(path, id=path.stem) for path in _files(kind)]


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _assert_same(actual: Any, expected: Any) -> None:
    assert actual == expected
    assert _canonical(actual) == _canonical(expected), "same values, different JSON types"


def _assert_error(exc: errors.Error, expected: dict[str, Any]) -> None:
    assert exc.status == expected["status"], exc.message
    if "type" in expected:
        assert type(exc).__name__ == expected["type"], exc.message
    assert expected["message_contains"] in exc.message


def _stream(case: dict[str, Any], *, ahead: bool = False) -> list[list[Any]]:
    """The events of a case as a live stream gives them (its chunks held until the usage
    comes) or, `ahead`, as a replay does (the usage known before the first chunk)."""
    upstream = case["upstream_chunks"]
    usage = stream_usage(as_frames(upstream)) if ahead else None
    context = anthropic_response.context_for(case["request"])
    stream = UsageFirst(anthropic_response.AnthropicStream(context), usage, hold=True)
    events: list[tuple[str, dict[str, Any]]] = []
    for chunk in upstream:
        events.extend(stream.feed(chunk))
    events.extend(stream.finish())
    return [[name, data] for name, data in events]


@pytest.mark.parametrize("path", _params("anthropic_request"))
def test_anthropic_request(path: Path) -> None:
    case = _load(path)

    def translate() -> dict[str, Any]:
        return anthropic_request.messages_request_to_openai(
            case["request"], upstream_model="localaik", media=GoldenMedia()
        )

    if "expected_error" in case:
        with pytest.raises(errors.Error) as caught:
            translate()
        _assert_error(caught.value, case["expected_error"])
    else:
        _assert_same(translate(), case["expected"])


@pytest.mark.parametrize("path", _params("anthropic_response"))
def test_anthropic_response(path: Path) -> None:
    case = _load(path)
    ctx = anthropic_response.context_for(case["request"])
    if "expected_error" in case:
        with pytest.raises(errors.Error) as caught:
            anthropic_response.openai_response_to_anthropic(case["upstream"], ctx)
        _assert_error(caught.value, case["expected_error"])
    else:
        _assert_same(
            anthropic_response.openai_response_to_anthropic(case["upstream"], ctx), case["expected"]
        )


@pytest.mark.parametrize("path", _params("anthropic_stream"))
def test_anthropic_stream(path: Path) -> None:
    case = _load(path)
    _assert_same(_stream(case), case["expected"])
    assert _stream(case, ahead=True) == _stream(case)  # a replay streams the same events


# ---------------------------------------------------------------------------------------------
# The expected answers are what the real SDK reads


@pytest.mark.parametrize("path", _params("anthropic_response"))
def test_expected_messages_are_valid_sdk_messages(path: Path) -> None:
    case = _load(path)
    if "expected" in case:
        message = anthropic.types.Message.model_validate(case["expected"])
        assert message.model_dump(mode="json", exclude_unset=True) == case["expected"]


@pytest.mark.parametrize("path", _params("anthropic_stream"))
def test_expected_streams_accumulate_in_the_sdk(path: Path) -> None:
    """The SDK's own accumulator (what `messages.stream()` uses) accepts every expected event
    sequence, and its final message agrees with the events."""
    from anthropic.lib.streaming._messages import accumulate_event

    case = _load(path)
    snapshot = None
    for name, data in case["expected"]:
        assert data["type"] == name
        snapshot = accumulate_event(event=data, current_snapshot=snapshot, json_bufs={})
    assert snapshot is not None
    stop = next(data for name, data in case["expected"] if name == "message_delta")
    assert snapshot.stop_reason == stop["delta"]["stop_reason"]
    assert [block.type for block in snapshot.content] == [
        data["content_block"]["type"]
        for name, data in case["expected"]
        if name == "content_block_start"
    ]


def test_stream_and_response_agree() -> None:
    """The same answer, streamed or not, gives the same content (the text_and_tool_call case
    spelled as chunks)."""
    ctx = anthropic_response.AnthropicContext(model="m")
    whole = anthropic_response.openai_response_to_anthropic(
        {
            "id": "chatcmpl-x",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "content": "Checking.",
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "f", "arguments": '{"a":1}'},
                            }
                        ],
                    },
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2},
        },
        ctx,
    )
    stream = anthropic_response.AnthropicStream(ctx)
    events = []
    for chunk in [
        {"id": "chatcmpl-x", "choices": [{"index": 0, "delta": {"content": "Check"}}]},
        {"id": "chatcmpl-x", "choices": [{"index": 0, "delta": {"content": "ing."}}]},
        {
            "id": "chatcmpl-x",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_1",
                                "function": {"name": "f", "arguments": '{"a"'},
                            }
                        ]
                    },
                }
            ],
        },
        {
            "id": "chatcmpl-x",
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]},
                    "finish_reason": "tool_calls",
                }
            ],
        },
        {"id": "chatcmpl-x", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}},
    ]:
        events += stream.feed(chunk)
    events += stream.finish()
    from anthropic.lib.streaming._messages import accumulate_event

    snapshot = None
    for _, data in events:
        snapshot = accumulate_event(event=data, current_snapshot=snapshot, json_bufs={})
    assert snapshot is not None
    streamed = snapshot.model_dump(mode="json", exclude_none=True)
    assert streamed == {name: value for name, value in whole.items() if value is not None}
    assert streamed["content"] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}},
    ]


# ---------------------------------------------------------------------------------------------
# The case files themselves


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=f"{kind}/{p.stem}") for kind in KINDS for p in _files(kind)]
)
def test_case_file_is_well_formed(path: Path) -> None:
    kind = path.parent.name
    case = _load(path)
    keys = set(case)
    assert REQUIRED[kind] <= keys, f"missing keys: {sorted(REQUIRED[kind] - keys)}"
    assert keys <= REQUIRED[kind] | {"expected", "expected_error"}, sorted(keys)
    assert isinstance(case["description"], str) and case["description"]
    if kind in ONE_OUTCOME:
        assert ("expected" in case) != ("expected_error" in case)
    if "expected_error" in case:
        error = case["expected_error"]
        assert isinstance(error.get("status"), int)
        assert isinstance(error.get("message_contains"), str) and error["message_contains"]
        assert set(error) <= {"status", "type", "message_contains"}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_cases(kind: str) -> None:
    assert len(_files(kind)) >= 10, f"too few golden cases in {GOLDEN / kind}"
