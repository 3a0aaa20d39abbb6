"""Golden-file tests of the pure Responses API <-> chat-completions translation.

Each case is one JSON file under `tests/golden/<kind>/`; adding a case is adding a file.

- `responses_request/`: a Responses request -> the chat request sent upstream (`expected`), or
  the error it must raise (`expected_error`).
- `responses_response/`: an upstream chat.completion (and the request) -> the Response object.
- `responses_stream/`: upstream chat.completion.chunk objects -> every stream event, in order;
  with `fail`, the stream breaks after the chunks with that error instead of ending whole.

Expected values are written from reference/wire.md §4.6, the SDK's types and the project's
decisions, not copied from the code's output. In a stream case, `FALLBACK` in an id stands for
the request's fallback id (a digest of the request, pinned by its own tests below).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from localaik import errors
from localaik.families.openai import responses_request as responses
from localaik.families.openai.responses_output import chat_response_to_responses
from localaik.families.openai.responses_stream import ResponsesStream
from tests.unit.test_golden import GoldenMedia, _assert_error, _assert_same

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
KINDS = ("responses_request", "responses_response", "responses_stream")
REQUIRED = {
    "responses_request": {"description", "request"},
    "responses_response": {"description", "request", "upstream"},
    "responses_stream": {"description", "request", "upstream_chunks", "expected"},
}
OPTIONAL = {
    "responses_request": {"stream", "expected", "expected_error"},
    "responses_response": {"expected", "expected_error"},
    "responses_stream": {"fail"},
}


def _files(kind: str) -> list[Path]:
    return sorted((GOLDEN / kind).glob("*.json"))


def _params(kind: str) -> list[Any]:
    return [pytest.param(path, id=path.stem) for path in _files(kind)]


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _translate(case: dict[str, Any]) -> dict[str, Any]:
    return responses.responses_request_to_chat(
        case["request"],
        upstream_model="localaik",
        stream=case.get("stream", False),
        media=GoldenMedia(),
    )


@pytest.mark.parametrize("path", _params("responses_request"))
def test_responses_request(path: Path) -> None:
    case = _load(path)
    if "expected_error" in case:
        with pytest.raises(errors.Error) as caught:
            _translate(case)
        _assert_error(caught.value, case["expected_error"])
    else:
        _assert_same(_translate(case), case["expected"])


@pytest.mark.parametrize("path", _params("responses_response"))
def test_responses_response(path: Path) -> None:
    case = _load(path)
    ctx = responses.context_for(case["request"])
    if "expected_error" in case:
        with pytest.raises(errors.Error) as caught:
            chat_response_to_responses(case["upstream"], ctx)
        _assert_error(caught.value, case["expected_error"])
    else:
        _assert_same(chat_response_to_responses(case["upstream"], ctx), case["expected"])


def _stream_events(case: dict[str, Any]) -> list[dict[str, Any]]:
    stream = ResponsesStream(responses.context_for(case["request"]))
    events: list[dict[str, Any]] = []
    for chunk in case["upstream_chunks"]:
        events.extend(stream.feed(chunk))
    if "fail" in case:
        error = getattr(errors, case["fail"]["type"])(case["fail"]["message"])
        events.extend(stream.fail(error))
    else:
        events.extend(stream.finish())
    return events


@pytest.mark.parametrize("path", _params("responses_stream"))
def test_responses_stream(path: Path) -> None:
    case = _load(path)
    fallback = responses.context_for(case["request"]).fallback_id
    expected = json.loads(json.dumps(case["expected"]).replace("FALLBACK", fallback))
    _assert_same(_stream_events(case), expected)


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=f"{kind}/{p.stem}") for kind in KINDS for p in _files(kind)]
)
def test_case_file_is_well_formed(path: Path) -> None:
    kind = path.parent.name
    case = _load(path)
    keys = set(case)
    assert REQUIRED[kind] <= keys, f"missing keys: {sorted(REQUIRED[kind] - keys)}"
    assert keys <= REQUIRED[kind] | OPTIONAL[kind], (
        f"unknown keys: {sorted(keys - REQUIRED[kind] - OPTIONAL[kind])}"
    )
    assert isinstance(case["description"], str) and case["description"]
    if kind != "responses_stream":
        assert ("expected" in case) != ("expected_error" in case)
    if kind == "responses_stream":
        numbers = [event["sequence_number"] for event in case["expected"]]
        assert numbers == list(range(len(numbers))), "sequence numbers count from 0 by 1"
        assert case["expected"][0]["type"] == "response.created"
        assert case["upstream_chunks"] or "fail" in case


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_cases(kind: str) -> None:
    assert len(_files(kind)) >= 5, f"too few golden cases in {GOLDEN / kind}"


# ---------------------------------------------------------------------------------------------
# Properties the cases rely on


def test_fallback_id_is_a_digest_of_the_request() -> None:
    first = responses.context_for({"model": "m", "input": "a"}).fallback_id
    assert first == responses.context_for({"input": "a", "model": "m"}).fallback_id
    assert first != responses.context_for({"model": "m", "input": "b"}).fallback_id
    assert len(first) == 24 and all(c in "0123456789abcdef" for c in first)


def test_a_stream_ends_as_the_single_answer_does() -> None:
    """The final response of a stream is the non-stream answer to the same upstream output."""
    request = {"model": "gpt-4o-mini", "input": "x", "tools": [{"type": "function", "name": "f"}]}
    ctx = responses.context_for(request)
    call = {"id": "c", "function": {"name": "f", "arguments": "{}"}}
    usage = {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}
    answer = chat_response_to_responses(
        {
            "id": "chatcmpl-z",
            "created": 1,
            "usage": usage,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {"content": "Hm.", "tool_calls": [call]},
                }
            ],
        },
        ctx,
    )

    def chunk(**fields: Any) -> dict[str, Any]:
        return {"id": "chatcmpl-z", "created": 1, **fields}

    stream = ResponsesStream(ctx)
    for upstream in [
        chunk(choices=[{"index": 0, "delta": {"content": "Hm."}}]),
        chunk(choices=[{"index": 0, "delta": {"tool_calls": [{"index": 0, **call}]}}]),
        chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]),
        chunk(choices=[], usage=usage),
    ]:
        stream.feed(upstream)
    final = stream.finish()[-1]
    assert final["type"] == "response.completed"
    assert final["response"] == answer


def test_the_same_upstream_answer_translates_to_the_same_bytes() -> None:
    """No clock and no randomness: translating twice gives identical output."""
    case = _load(GOLDEN / "responses_stream" / "text_then_two_calls.json")
    assert json.dumps(_stream_events(case)) == json.dumps(_stream_events(case))
