"""OpenAI Batch through the official `openai` SDK against `localaik serve`: a JSONL file
uploaded, a batch made over it, its output and error files read back; recorded against the fake
llama-server, then replayed with no upstream.

The same scenario runs in `record` mode and in `replay` mode with a dead upstream: every SDK
result must be the same, ids, times, statuses and file contents included. A batch is recorded
as its member requests only (ordinary chat and embeddings recordings), so in replay a batch
with one line changed misses that line only: it lands in the error file with the miss's
explanation, the others in the output file.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

from localaik.server.verify import verify
from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess, all_recordings

DEAD_UPSTREAM = "http://127.0.0.1:9/v1"
CHAT = "/v1/chat/completions"


def chat_line(custom_id: str, text: str) -> dict[str, Any]:
    body = {"model": "m", "max_tokens": 16, "messages": [{"role": "user", "content": text}]}
    return {"custom_id": custom_id, "method": "POST", "url": CHAT, "body": body}


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


LINES = [chat_line("first", "Batch one"), chat_line("second", "Batch two"), chat_line("c", "3")]
RESPONSES = [
    {
        "custom_id": "r1",
        "method": "POST",
        "url": "/v1/responses",
        "body": {"model": "m", "input": "Respond once"},
    }
]
EMBED = [
    {
        "custom_id": "e1",
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {"model": "m", "input": "x"},
    }
]


def refused(call: Any) -> dict[str, Any]:
    try:
        call()
    except openai.APIStatusError as exc:
        return {"status": exc.status_code, "body": exc.body}
    return {"status": None}


def upload(client: OpenAI, data: bytes, name: str = "in.jsonl") -> str:
    return client.files.create(file=(name, io.BytesIO(data)), purpose="batch").id


def lines_of(client: OpenAI, file_id: str | None) -> list[Any]:
    if file_id is None:
        return []
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


def scenario(url: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with OpenAI(api_key="test", base_url=url + "/v1", max_retries=0) as client:
        batches = client.batches
        input_id = upload(client, jsonl(LINES))
        created = batches.create(input_file_id=input_id, endpoint=CHAT, completion_window="24h")
        out["created"] = created.model_dump(mode="json")
        done = batches.retrieve(created.id)
        out["done"] = done.model_dump(mode="json")
        out["output"] = lines_of(client, done.output_file_id)
        embed_id = upload(client, jsonl(EMBED), "embed.jsonl")
        embed = batches.create(
            input_file_id=embed_id, endpoint="/v1/embeddings", completion_window="24h"
        )
        out["embed"] = lines_of(client, batches.retrieve(embed.id).output_file_id)
        responses_id = upload(client, jsonl(RESPONSES), "responses.jsonl")
        responses = batches.create(
            input_file_id=responses_id, endpoint="/v1/responses", completion_window="24h"
        )
        out["responses"] = lines_of(client, batches.retrieve(responses.id).output_file_id)
        third = batches.create(input_file_id=input_id, endpoint=CHAT, completion_window="24h")
        out["cancelling"] = batches.cancel(third.id).model_dump(mode="json")
        out["cancelled"] = batches.retrieve(third.id).model_dump(mode="json")
        out["list"] = [batch.id for batch in batches.list()]
        out["page"] = [batch.id for batch in batches.list(limit=1).data]
        out["unknown"] = refused(lambda: batches.retrieve("batch_nope"))
        out["no_file"] = refused(
            lambda: batches.create(
                input_file_id="file-nope", endpoint=CHAT, completion_window="24h"
            )
        )
        out["endpoint"] = refused(
            lambda: batches.create(
                input_file_id=input_id,
                endpoint="/v1/completions",  # type: ignore[arg-type]
                completion_window="24h",
            )
        )
        bad = upload(client, jsonl([LINES[0]]) + b"{not json\n", "bad.jsonl")
        out["malformed"] = refused(
            lambda: batches.create(input_file_id=bad, endpoint=CHAT, completion_window="24h")
        )
        wrong = upload(client, jsonl([{**LINES[0], "url": "/v1/embeddings"}]), "wrong.jsonl")
        out["wrong_url"] = refused(
            lambda: batches.create(input_file_id=wrong, endpoint=CHAT, completion_window="24h")
        )
    return out


@dataclass
class Runs:
    cassette: Path
    recorded: dict[str, Any]
    replayed: dict[str, Any]
    changed: dict[str, Any]
    polled: list[str]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("OPENAI_"):
                patch.delenv(name)
        cassette = tmp_path_factory.mktemp("openai-batches") / "c.db"
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
            with OpenAI(api_key="test", base_url=server.url + "/v1", max_retries=0) as client:
                changed_lines = [LINES[0], chat_line("second", "Batch two, changed"), LINES[2]]
                input_id = upload(client, jsonl(changed_lines))
                batch = client.batches.create(
                    input_file_id=input_id, endpoint=CHAT, completion_window="24h"
                )
                done = client.batches.retrieve(batch.id)
                changed = {
                    "done": done.model_dump(mode="json"),
                    "output": lines_of(client, done.output_file_id),
                    "errors": lines_of(client, done.error_file_id),
                }
        with LocalaikProcess({**replay, "LK_BATCH_POLLS": "2"}) as server:
            with OpenAI(api_key="test", base_url=server.url + "/v1", max_retries=0) as client:
                input_id = upload(client, jsonl(LINES))
                batch = client.batches.create(
                    input_file_id=input_id, endpoint=CHAT, completion_window="24h"
                )
                polled = [batch.status] + [client.batches.retrieve(batch.id).status for _ in "abc"]
        yield Runs(cassette, recorded, replayed, changed, polled)


def test_replay_gives_the_recorded_results(runs: Runs) -> None:
    assert runs.replayed == runs.recorded


def test_a_batch_answers_each_line_in_its_output_file(runs: Runs) -> None:
    created, done = runs.recorded["created"], runs.recorded["done"]
    assert created["status"] == "validating" and created["id"].startswith("batch_")
    assert created["output_file_id"] is None
    assert done["status"] == "completed"
    assert done["request_counts"] == {"total": 3, "completed": 3, "failed": 0}
    assert done["error_file_id"] is None and done["output_file_id"].startswith("file-")
    output = runs.recorded["output"]
    assert [line["custom_id"] for line in output] == ["first", "second", "c"]
    assert {line["response"]["status_code"] for line in output} == {200}
    texts = [line["response"]["body"]["choices"][0]["message"]["content"] for line in output]
    assert texts == ["Echo: Batch one", "Echo: Batch two", "Echo: 3"]
    assert len({line["id"] for line in output}) == 3


def test_an_embeddings_batch_answers_vectors(runs: Runs) -> None:
    (line,) = runs.recorded["embed"]
    assert line["custom_id"] == "e1" and line["response"]["status_code"] == 200
    assert line["response"]["body"]["data"][0]["embedding"]


def test_a_responses_batch_answers_responses(runs: Runs) -> None:
    (line,) = runs.recorded["responses"]
    body = line["response"]["body"]
    assert line["custom_id"] == "r1" and line["response"]["status_code"] == 200
    assert body["object"] == "response" and body["status"] == "completed"
    assert body["output"][0]["content"][0]["text"] == "Echo: Respond once"


def test_a_batch_is_recorded_as_its_members(runs: Runs) -> None:
    operations = sorted(r.operation for r in all_recordings(runs.cassette))
    assert operations == ["chat.completions"] * 3 + ["embeddings", "responses"]
    report = verify(runs.cassette)
    assert report.recordings == 5 and report.problems == []


def test_a_changed_line_misses_alone_into_the_error_file(runs: Runs) -> None:
    changed = runs.changed
    assert changed["done"]["request_counts"] == {"total": 3, "completed": 2, "failed": 1}
    assert [line["custom_id"] for line in changed["output"]] == ["first", "c"]
    (error,) = changed["errors"]
    assert error["custom_id"] == "second" and error["response"]["status_code"] == 404
    miss = error["response"]["body"]["error"]
    assert miss["code"] == "replay_miss"
    assert '"Batch two, changed" here, "Batch two" recorded' in miss["message"]


def test_status_moves_by_reads(runs: Runs) -> None:
    assert runs.polled == ["validating", "in_progress", "in_progress", "completed"]


def test_cancel_and_list(runs: Runs) -> None:
    recorded = runs.recorded
    assert recorded["cancelling"]["status"] == "cancelling"
    assert recorded["cancelled"]["status"] == "cancelled"
    assert recorded["cancelled"]["output_file_id"] is None
    ids = recorded["list"]
    assert ids[0] == recorded["cancelled"]["id"] and recorded["created"]["id"] in ids
    assert recorded["page"] == ids[:1]
    # The same input made into a batch again gets the next id, not the same one.
    assert recorded["cancelled"]["id"] != recorded["created"]["id"]


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("unknown", 404, "batch_nope"),
        ("no_file", 404, "file-nope"),
        ("endpoint", 400, "endpoint"),
        ("malformed", 400, "line 2"),
        ("wrong_url", 400, "line 1"),
    ],
)
def test_bad_input_is_a_clear_error(runs: Runs, case: str, status: int, words: str) -> None:
    got = runs.recorded[case]
    assert got["status"] == status
    assert words in json.dumps(got["body"])
