"""What a new user's first hour asks of the REAL bundled model (smollm2-135m), through the
official SDKs: a request that sets no output limit finishes, and a tool round trip records
through google-genai, OpenAI chat and Responses, and Anthropic, then replays with no model.

The model's words are never asserted, only their shape: a call names the declared function
with the required arguments, an answer is text, a capped answer stops at the cap.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import types

from tests.live.conftest import LiveServer, llama_servers, replaying, stop_with_signal
from tests.live.tools import APIS, PROMPTS, Api, RoundTrip, well_formed
from tests.support import LocalaikProcess

DEFAULT_CAP = 256  # LK_MAX_OUTPUT_TOKENS's default
ENOUGH_CALLS = 7  # of the 10 prompts per API; 8 on each when measured (issue 15), 9 of 10 raw


@pytest.fixture(scope="module")
def round_trips(record_server: LiveServer) -> dict[str, RoundTrip]:
    function, prompt = PROMPTS[0]
    return {api.name: api(record_server.url).round_trip(function, prompt) for api in APIS}


@pytest.mark.parametrize("api", [api.name for api in APIS])
def test_a_tool_round_trip_records_through_each_sdk(
    round_trips: dict[str, RoundTrip], api: str
) -> None:
    trip = round_trips[api]
    function, _ = PROMPTS[0]
    assert well_formed(trip.calls, function), trip.calls
    assert trip.answer.strip(), trip.raw[1]  # the model answered in text once it had the result


@pytest.mark.timeout(900)
@pytest.mark.parametrize("api", APIS, ids=[api.name for api in APIS])
def test_ten_tool_prompts_give_well_formed_calls(
    record_server: LiveServer, cassette_dir: Path, api: type[Api]
) -> None:
    client = api(record_server.url)
    outcomes = [client.tally(function, prompt) for function, prompt in PROMPTS]
    with (cassette_dir / "tool_calls.jsonl").open("a") as log:
        log.write(json.dumps({api.name: outcomes}) + "\n")
    print(f"\n{api.name}: {outcomes.count('call')} well-formed calls of {len(PROMPTS)}", outcomes)
    assert outcomes.count("call") >= ENOUGH_CALLS, outcomes


def test_a_request_without_a_limit_finishes_within_the_cap(record_server: LiveServer) -> None:
    # The README's own example: without the cap and the repetition guard it wrote 4,064 tokens.
    client = genai.Client(
        api_key="test", http_options=types.HttpOptions(base_url=record_server.url)
    )
    response = client.models.generate_content(model="gemini-2.5-flash", contents="Say hi")
    assert response.text
    usage = response.usage_metadata
    assert usage is not None and usage.candidates_token_count is not None
    assert 0 < usage.candidates_token_count <= DEFAULT_CAP
    assert response.candidates is not None
    assert response.candidates[0].finish_reason in (
        types.FinishReason.STOP,
        types.FinishReason.MAX_TOKENS,
    )


@pytest.fixture(scope="module")
def replay_server(
    round_trips: dict[str, RoundTrip], record_server: LiveServer, cassette_dir: Path
) -> Iterator[LocalaikProcess]:
    stop_with_signal(record_server, signal.SIGTERM)
    with replaying(cassette_dir) as server:
        yield server


def _comparable(results: list[Any]) -> list[Any]:
    return [r.model_dump(mode="json", exclude={"sdk_http_response"}) for r in results]


@pytest.mark.parametrize("api", APIS, ids=[api.name for api in APIS])
def test_the_round_trips_replay_with_no_model(
    round_trips: dict[str, RoundTrip], replay_server: LocalaikProcess, api: type[Api]
) -> None:
    function, prompt = PROMPTS[0]
    replayed = api(replay_server.url).round_trip(function, prompt)
    assert _comparable(replayed.raw) == _comparable(round_trips[api.name].raw)
    assert not llama_servers(parent=replay_server.process.pid)
