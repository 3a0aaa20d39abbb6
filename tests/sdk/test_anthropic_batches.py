"""Anthropic Message Batches through the official `anthropic` SDK against `localaik serve`:
recorded against the fake llama-server, then replayed with no upstream.

The same scenario (create, retrieve, results, list, cancel, delete, and bad input) runs in
`record` mode and in `replay` mode with a dead upstream: every SDK result must be the same,
ids, times and statuses included. A batch is recorded as its member requests only (ordinary
`messages` recordings), so in replay a batch with one member changed misses that member only,
with the miss's explanation in its result.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic import Anthropic, AsyncAnthropic
from pydantic import BaseModel

from localaik.server.verify import verify
from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess, all_recordings

MODEL = "claude-haiku-4-5"
DEAD_UPSTREAM = "http://127.0.0.1:9/v1"


def member(custom_id: str, text: str) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "params": {
            "model": MODEL,
            "max_tokens": 32,
            "messages": [{"role": "user", "content": text}],
        },
    }


BATCH = [member("first", "Batch one"), member("second", "Batch two"), member("third", "Three")]


def dump(value: Any) -> Any:
    if isinstance(value, list):
        return [dump(item) for item in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", warnings=False)
    return value


def refused(call: Any) -> dict[str, Any]:
    try:
        call()
    except anthropic.APIStatusError as exc:
        return {"status": exc.status_code, "body": exc.body}
    return {"status": None}


def scenario(url: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with Anthropic(api_key="test", base_url=url, max_retries=0) as client:
        batches = client.messages.batches
        created = batches.create(requests=BATCH)  # type: ignore[arg-type]
        out["created"] = dump(created)
        out["retrieved"] = dump(batches.retrieve(created.id))
        out["results"] = dump(list(batches.results(created.id)))
        second = batches.create(requests=BATCH[:1])  # type: ignore[arg-type]
        out["canceled"] = dump(batches.cancel(second.id))
        out["refused_delete"] = refused(lambda: batches.delete(second.id))
        out["after_cancel"] = dump(batches.retrieve(second.id))
        out["canceled_results"] = dump(list(batches.results(second.id)))
        out["list"] = dump(list(batches.list()))
        out["page"] = dump(batches.list(limit=1).data)
        out["deleted"] = dump(batches.delete(second.id))
        out["unknown"] = refused(lambda: batches.retrieve("msgbatch_nope"))
        out["empty"] = refused(lambda: batches.create(requests=[]))
        malformed = [{"custom_id": "x", "params": {"model": MODEL, "messages": []}}]
        out["malformed"] = refused(lambda: batches.create(requests=malformed))  # type: ignore
        twice = [BATCH[0], BATCH[0]]
        out["twice"] = refused(lambda: batches.create(requests=twice))  # type: ignore
        again = batches.create(requests=BATCH)  # type: ignore[arg-type]
        out["again_id"] = again.id
    out["async"] = asyncio.run(async_steps(url))
    return out


async def async_steps(url: str) -> dict[str, Any]:
    async with AsyncAnthropic(api_key="test", base_url=url, max_retries=0) as client:
        batches = client.messages.batches
        created = await batches.create(requests=BATCH[1:])  # type: ignore[arg-type]
        ended = await batches.retrieve(created.id)
        results = [dump(line) async for line in await batches.results(created.id)]
    return {"created": dump(created), "ended": dump(ended), "results": results}


@dataclass
class Runs:
    cassette: Path
    recorded: dict[str, Any]
    replayed: dict[str, Any]
    changed: list[Any]
    polled: list[str]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("ANTHROPIC_"):
                patch.delenv(name)
        cassette = tmp_path_factory.mktemp("anthropic-batches") / "c.db"
        with FakeLlama.start() as fake:
            env = {
                "LK_MODE": "record",
                "LK_UPSTREAM": fake.url + "/v1",
                "LK_CASSETTE": str(cassette),
            }
            with LocalaikProcess(env) as server:
                recorded = scenario(server.url)
        replay = {"LK_MODE": "replay", "LK_CASSETTE": str(cassette), "LK_UPSTREAM": DEAD_UPSTREAM}
        with LocalaikProcess(replay) as server:
            replayed = scenario(server.url)
            with Anthropic(api_key="test", base_url=server.url, max_retries=0) as client:
                changed_batch = [BATCH[0], member("second", "Batch two, changed"), BATCH[2]]
                batch = client.messages.batches.create(requests=changed_batch)  # type: ignore
                client.messages.batches.retrieve(batch.id)
                changed = dump(list(client.messages.batches.results(batch.id)))
        with LocalaikProcess({**replay, "LK_BATCH_POLLS": "2"}) as server:
            with Anthropic(api_key="test", base_url=server.url, max_retries=0) as client:
                batch = client.messages.batches.create(requests=BATCH)  # type: ignore
                polled = [batch.processing_status]
                polled += [
                    client.messages.batches.retrieve(batch.id).processing_status for _ in "abc"
                ]
        yield Runs(cassette, recorded, replayed, changed, polled)


def test_replay_gives_the_recorded_results(runs: Runs) -> None:
    assert runs.replayed == runs.recorded


def test_a_batch_runs_its_members_as_messages(runs: Runs) -> None:
    created, retrieved = runs.recorded["created"], runs.recorded["retrieved"]
    assert created["processing_status"] == "in_progress"
    assert created["request_counts"]["processing"] == 3
    assert created["id"].startswith("msgbatch_") and created["results_url"] is None
    assert retrieved["processing_status"] == "ended"
    assert retrieved["request_counts"] == {
        "canceled": 0,
        "errored": 0,
        "expired": 0,
        "processing": 0,
        "succeeded": 3,
    }
    assert retrieved["results_url"] == f"/v1/messages/batches/{created['id']}/results"
    results = runs.recorded["results"]
    assert [line["custom_id"] for line in results] == ["first", "second", "third"]
    texts = [line["result"]["message"]["content"][0]["text"] for line in results]
    assert texts == ["Echo: Batch one", "Echo: Batch two", "Echo: Three"]
    assert {line["result"]["type"] for line in results} == {"succeeded"}


def test_a_batch_is_recorded_as_its_members(runs: Runs) -> None:
    recordings = all_recordings(runs.cassette)
    assert sorted(r.operation for r in recordings) == ["messages"] * 3


def test_the_cassette_verifies(runs: Runs) -> None:
    """Batch members and expanded cached requests are ordinary recordings: verify rebuilds and
    replays each."""
    report = verify(runs.cassette)
    assert report.recordings > 0 and report.problems == []


def test_ids_and_times_are_derived_not_random(runs: Runs) -> None:
    recorded = runs.recorded
    # The same content made again in the same cassette gets the next id, not the same one.
    assert recorded["again_id"] != recorded["created"]["id"]
    created = recorded["created"]
    assert created["created_at"] < created["expires_at"]
    assert recorded["retrieved"]["ended_at"] > created["created_at"]


def test_the_async_client_reads_the_same_results(runs: Runs) -> None:
    done = runs.recorded["async"]
    assert done["ended"]["processing_status"] == "ended"
    assert done["results"] == runs.recorded["results"][1:]


def test_cancel_ends_a_batch_with_every_member_canceled(runs: Runs) -> None:
    recorded = runs.recorded
    assert recorded["canceled"]["processing_status"] == "canceling"
    assert recorded["canceled"]["cancel_initiated_at"] is not None
    assert recorded["refused_delete"]["status"] == 400
    assert recorded["after_cancel"]["processing_status"] == "ended"
    assert recorded["after_cancel"]["request_counts"]["canceled"] == 1
    assert recorded["canceled_results"] == [{"custom_id": "first", "result": {"type": "canceled"}}]
    assert recorded["deleted"]["type"] == "message_batch_deleted"


def test_list_pages_the_newest_first(runs: Runs) -> None:
    recorded = runs.recorded
    ids = [batch["id"] for batch in recorded["list"]]
    assert ids == [recorded["canceled"]["id"], recorded["created"]["id"]]
    assert [batch["id"] for batch in recorded["page"]] == ids[:1]


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("unknown", 404, "msgbatch_nope"),
        ("empty", 400, "non-empty list"),
        ("malformed", 400, "requests[0].params"),
        ("twice", 400, "used twice"),
    ],
)
def test_bad_input_is_a_clear_error(runs: Runs, case: str, status: int, words: str) -> None:
    got = runs.recorded[case]
    assert got["status"] == status
    assert got["body"]["type"] == "error"
    assert words in got["body"]["error"]["message"]


def test_a_changed_member_misses_alone(runs: Runs) -> None:
    first, second, third = runs.changed
    assert first == runs.recorded["results"][0]
    assert third == runs.recorded["results"][2]
    assert second["custom_id"] == "second"
    assert second["result"]["type"] == "errored"
    error = second["result"]["error"]["error"]
    assert error["type"] == "not_found_error"
    assert error["message"].startswith("localaik replay miss: no recording matches")


def test_status_moves_by_reads_as_set(runs: Runs) -> None:
    assert runs.polled == ["in_progress", "in_progress", "in_progress", "ended"]
