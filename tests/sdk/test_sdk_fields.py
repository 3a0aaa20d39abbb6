"""What the SDKs read besides the answer, through the unmodified SDKs: request ids, token
counts, function call ids.

One scenario of openai, anthropic and google-genai calls runs against `localaik serve` in
`record` mode in front of the fake llama-server, then twice against `replay` on the same
cassette (one server each, the upstream dead). A recorded answer's request id is derived from
its recording, so it is the same in the three runs, and differs between recordings; an error
localaik makes itself carries a fresh one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import types

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess

DEAD_UPSTREAM = "http://127.0.0.1:9/v1"
OPENAI_ID = re.compile(r"req_[0-9a-f]{32}")
ANTHROPIC_ID = re.compile(r"req_011C[0-9A-Za-z]{20}")
WEATHER = types.FunctionDeclaration(
    name="get_weather",
    parameters=types.Schema(
        type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)}
    ),
)


def openai_steps(url: str) -> dict[str, Any]:
    client = openai.OpenAI(base_url=url + "/v1", api_key="test", max_retries=0)
    user = [{"role": "user", "content": "first question"}]
    with client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=user)
        parsed = raw.parse()
        second = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "second question"}]
        )
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "streamed"}], stream=True
        )
        list(stream)
        with pytest.raises(openai.BadRequestError) as recorded_error:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "x [[error:400]]"}]
            )
        with pytest.raises(openai.BadRequestError) as own_error:
            client.chat.completions.create(model="gpt-4o-mini", messages=[])
    return {
        "raw": raw.request_id,
        "parsed": parsed._request_id,
        "second": second._request_id,
        "stream": stream.response.headers.get("x-request-id"),
        "recorded_error": recorded_error.value.request_id,
        "own_error": own_error.value.request_id,
    }


def anthropic_steps(url: str, replaying: bool) -> dict[str, Any]:
    client = anthropic.Anthropic(base_url=url, api_key="test", max_retries=0)
    model = "claude-haiku-4-5"
    with client:
        message = client.messages.create(
            model=model, max_tokens=32, messages=[{"role": "user", "content": "Hello there"}]
        )
        usage = message.usage
        with client.messages.stream(
            model=model, max_tokens=32, messages=[{"role": "user", "content": "stream this"}]
        ) as stream:
            events = list(stream)
            final = stream.get_final_message()
        start = next(e for e in events if e.type == "message_start")
        with pytest.raises(anthropic.BadRequestError) as own_error:
            client.messages.create(model=model, max_tokens=32, messages=[])
        miss = None
        if replaying:
            with pytest.raises(anthropic.NotFoundError) as missed:
                client.messages.create(
                    model=model, max_tokens=32, messages=[{"role": "user", "content": "unknown"}]
                )
            miss = missed.value.request_id
    return {
        "create": message._request_id,
        "stream": stream.request_id,
        # User code adds these up: all numbers, none None.
        "total_input": usage.input_tokens
        + usage.cache_creation_input_tokens
        + usage.cache_read_input_tokens,
        "service_tier": usage.service_tier,
        "start_input_tokens": start.message.usage.input_tokens,
        "final_input_tokens": final.usage.input_tokens,
        "own_error": own_error.value.request_id,
        "miss": miss,
    }


def gemini_steps(url: str) -> dict[str, Any]:
    client = genai.Client(
        api_key="test", http_options=types.HttpOptions(base_url=url, api_version="v1beta")
    )
    with client:
        chunks = list(
            client.models.generate_content_stream(model="gemini-2.5-flash", contents="Hi there")
        )
        called = client.models.generate_content(
            model="gemini-2.5-flash",
            contents="Weather?",
            config=types.GenerateContentConfig(
                tools=[types.Tool(function_declarations=[WEATHER])],
                automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            ),
        )
    usages = [chunk.usage_metadata for chunk in chunks]
    return {
        "prompt_counts": [u.prompt_token_count if u else None for u in usages],
        "details": [(d.modality, d.token_count) for d in (usages[0].prompt_tokens_details or [])]
        if usages[0]
        else None,
        "last_candidates": usages[-1].candidates_token_count if usages[-1] else None,
        "call_id": called.function_calls[0].id if called.function_calls else None,
    }


def run(url: str, *, replaying: bool) -> dict[str, Any]:
    return {
        "openai": openai_steps(url),
        "anthropic": anthropic_steps(url, replaying),
        "gemini": gemini_steps(url),
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    """The scenario recorded, then replayed twice."""
    cassette = Path(tmp_path_factory.mktemp("fields")) / "fields.db"
    results = []
    with FakeLlama.start() as fake:
        with LocalaikProcess(
            {"LK_UPSTREAM": fake.url + "/v1", "LK_MODE": "record", "LK_CASSETTE": str(cassette)}
        ) as server:
            results.append(run(server.url, replaying=False))
    for _ in range(2):
        with LocalaikProcess(
            {"LK_UPSTREAM": DEAD_UPSTREAM, "LK_MODE": "replay", "LK_CASSETTE": str(cassette)}
        ) as server:
            results.append(run(server.url, replaying=True))
    yield results


RECORDED = [
    ("openai", "raw"),
    ("openai", "second"),
    ("openai", "stream"),
    ("openai", "recorded_error"),
    ("anthropic", "create"),
    ("anthropic", "stream"),
]


def test_recorded_answers_carry_the_same_request_id_in_every_run(
    runs: list[dict[str, Any]],
) -> None:
    for family, step in RECORDED:
        ids = [run[family][step] for run in runs]
        form = OPENAI_ID if family == "openai" else ANTHROPIC_ID
        assert form.fullmatch(ids[0] or ""), (family, step, ids)
        assert ids == [ids[0]] * 3, (family, step, ids)
    assert runs[0]["openai"]["parsed"] == runs[0]["openai"]["raw"]


def test_different_recordings_have_different_request_ids(runs: list[dict[str, Any]]) -> None:
    ids = [runs[0][family][step] for family, step in RECORDED]
    assert len(set(ids)) == len(ids), ids


def test_errors_localaik_makes_carry_a_request_id(runs: list[dict[str, Any]]) -> None:
    own = [run["openai"]["own_error"] for run in runs]
    assert all(OPENAI_ID.fullmatch(i or "") for i in own), own
    assert len(set(own)) == 3  # no recording answered: a fresh id each time
    own = [run["anthropic"]["own_error"] for run in runs]
    misses = [run["anthropic"]["miss"] for run in runs[1:]]  # replay misses
    for found in (own, misses):
        assert all(ANTHROPIC_ID.fullmatch(i or "") for i in found), found


def test_anthropic_usage_as_the_sdk_reads_it(runs: list[dict[str, Any]]) -> None:
    for run in runs:
        got = run["anthropic"]
        assert got["total_input"] == 2  # the fake counts "Hello there" as 2 tokens
        assert got["service_tier"] == "standard"
        assert got["start_input_tokens"] == got["final_input_tokens"] == 2
    assert runs[1]["anthropic"] == {**runs[0]["anthropic"], **_fresh(runs[1]["anthropic"])}
    assert runs[2]["anthropic"] == {**runs[0]["anthropic"], **_fresh(runs[2]["anthropic"])}


def test_gemini_stream_usage_and_call_ids_as_the_sdk_reads_them(
    runs: list[dict[str, Any]],
) -> None:
    got = runs[0]["gemini"]
    counts = got["prompt_counts"]
    assert len(counts) > 2 and counts == [2] * len(counts)  # on every chunk, the first included
    assert got["details"] == [(types.MediaModality.TEXT, 2)]
    assert got["last_candidates"] and got["last_candidates"] > 0
    assert got["call_id"] == "call_fake_1"
    assert runs[1]["gemini"] == runs[2]["gemini"] == got


def _fresh(result: dict[str, Any]) -> dict[str, Any]:
    """The fields of a run that are fresh by design (errors localaik makes, misses)."""
    return {key: result[key] for key in ("own_error", "miss")}
