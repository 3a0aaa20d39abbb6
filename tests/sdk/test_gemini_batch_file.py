"""A Gemini batch from an uploaded file through the official google-genai SDK against `localaik
serve`: JSON lines uploaded with `files.upload`, `batches.create(src="files/…")`, the results
file read with `files.download`; recorded against the fake llama-server, then replayed with no
upstream: the same names, states and results file, and a changed line misses alone.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import errors, types

from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess, all_recordings

MODEL = "gemini-2.5-flash"
DEAD_UPSTREAM = "http://127.0.0.1:9/v1"


def line(key: str, text: str) -> dict[str, Any]:
    return {"key": key, "request": {"contents": [{"role": "user", "parts": [{"text": text}]}]}}


LINES = [line("k1", "File batch one"), line("k2", "File batch two")]


def jsonl(lines: list[Any]) -> bytes:
    return "".join(json.dumps(item) + "\n" for item in lines).encode()


def client_for(url: str) -> genai.Client:
    return genai.Client(api_key="test", http_options=types.HttpOptions(base_url=url))


def run_batch(client: genai.Client, lines: list[Any]) -> dict[str, Any]:
    source = client.files.upload(
        file=io.BytesIO(jsonl(lines)), config={"mime_type": "application/jsonl"}
    )
    assert source.name is not None
    job = client.batches.create(model=MODEL, src=source.name)
    assert job.name is not None
    done = client.batches.get(name=job.name)
    assert done.dest is not None and done.dest.file_name is not None
    results = client.files.get(name=done.dest.file_name)
    data = client.files.download(file=done.dest.file_name)
    return {
        "job": job.model_dump(mode="json", exclude={"sdk_http_response"}, exclude_none=True),
        "done": done.model_dump(mode="json", exclude={"sdk_http_response"}, exclude_none=True),
        "results_file": results.model_dump(mode="json", exclude={"sdk_http_response"}),
        "lines": [json.loads(text) for text in data.decode().splitlines()],
    }


def scenario(url: str) -> dict[str, Any]:
    client = client_for(url)
    out = run_batch(client, LINES)
    try:
        client.batches.create(model=MODEL, src="files/nope")
    except errors.APIError as exc:
        out["unknown"] = {"status": exc.code, "message": exc.message}
    duplicate = client.files.upload(
        file=io.BytesIO(jsonl([LINES[0], LINES[0]])), config={"mime_type": "application/jsonl"}
    )
    try:
        client.batches.create(model=MODEL, src=duplicate.name or "")
    except errors.APIError as exc:
        out["duplicate"] = {"status": exc.code, "message": exc.message}
    return out


@dataclass
class Runs:
    cassette: Path
    recorded: dict[str, Any]
    replayed: dict[str, Any]
    changed: dict[str, Any]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("GOOGLE_", "GEMINI_")):
                patch.delenv(name)
        cassette = tmp_path_factory.mktemp("gemini-batch-file") / "c.db"
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
            changed = run_batch(client_for(server.url), [LINES[0], line("k2", "changed")])
        yield Runs(cassette, recorded, replayed, changed)


def test_replay_gives_the_recorded_results(runs: Runs) -> None:
    assert runs.replayed == runs.recorded


def test_the_results_file_answers_each_line_by_key(runs: Runs) -> None:
    recorded = runs.recorded
    assert recorded["job"]["state"] == "JOB_STATE_PENDING"
    assert recorded["done"]["state"] == "JOB_STATE_SUCCEEDED"
    assert recorded["done"]["dest"]["file_name"].startswith("files/")
    assert recorded["results_file"]["source"] == "GENERATED"
    assert recorded["results_file"]["download_uri"].endswith(":download?alt=media")
    texts = [
        (item["key"], item["response"]["candidates"][0]["content"]["parts"][0]["text"])
        for item in recorded["lines"]
    ]
    assert texts == [("k1", "Echo: File batch one"), ("k2", "Echo: File batch two")]


def test_each_line_is_recorded_as_a_generate_content_request(runs: Runs) -> None:
    operations = sorted(r.operation for r in all_recordings(runs.cassette))
    assert operations == ["generateContent"] * 2


def test_a_changed_line_misses_alone(runs: Runs) -> None:
    first, second = runs.changed["lines"]
    assert first["key"] == "k1" and "response" in first
    assert second["key"] == "k2" and second["error"]["code"] == 404
    assert '"changed" here, "File batch two" recorded' in second["error"]["message"]


def test_bad_input_is_a_clear_error(runs: Runs) -> None:
    assert runs.recorded["unknown"]["status"] == 404
    assert "files/nope" in runs.recorded["unknown"]["message"]
    assert runs.recorded["duplicate"]["status"] == 400
    assert "line 2" in runs.recorded["duplicate"]["message"]
