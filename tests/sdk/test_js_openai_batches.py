"""The JavaScript SDK openai (npm), unmodified: a batch over an uploaded JSONL file
(tests/js/openai_batches.mjs), recorded against the fake llama-server and replayed with no
upstream. Every result must be the same, ids, times, statuses and the output file included.
Without the SDK installed these tests fail (`npm ci --prefix tests/js`), they are never skipped.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_llama import FakeLlama
from tests.sdk.test_js_sdks import JS_DIR, SCRIPT_TIMEOUT, require_js_sdks, script_env
from tests.support import LocalaikProcess, all_recordings

DEAD_UPSTREAM = "http://127.0.0.1:9/v1"


def run(url: str) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(JS_DIR / "openai_batches.mjs")],
        env=script_env(url),
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"node openai_batches.mjs exited {done.returncode}\nstderr:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@dataclass
class Runs:
    cassette: Path
    recorded: dict[str, Any]
    replayed: dict[str, Any]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    require_js_sdks()
    cassette = tmp_path_factory.mktemp("js-openai-batches") / "c.db"
    with FakeLlama.start() as fake:
        env = {"LK_MODE": "record", "LK_UPSTREAM": f"{fake.url}/v1", "LK_CASSETTE": str(cassette)}
        with LocalaikProcess(env) as server:
            recorded = run(server.url)
    replay = {"LK_MODE": "replay", "LK_UPSTREAM": DEAD_UPSTREAM, "LK_CASSETTE": str(cassette)}
    with LocalaikProcess(replay) as server:
        replayed = run(server.url)
    yield Runs(cassette, recorded, replayed)


def test_replay_gives_the_recorded_results(runs: Runs) -> None:
    assert runs.replayed == runs.recorded


def test_the_batch_completes_with_each_line_answered(runs: Runs) -> None:
    recorded = runs.recorded
    assert recorded["created"]["status"] == "validating"
    assert recorded["done"]["status"] == "completed"
    assert recorded["done"]["request_counts"] == {"total": 2, "completed": 2, "failed": 0}
    texts = [
        (line["custom_id"], line["response"]["body"]["choices"][0]["message"]["content"])
        for line in recorded["output"]
    ]
    assert texts == [("js-1", "Echo: JS batch one"), ("js-2", "Echo: JS batch two")]


def test_cancel_list_and_an_unknown_batch(runs: Runs) -> None:
    recorded = runs.recorded
    assert recorded["cancelling"]["status"] == "cancelling"
    assert recorded["cancelled"]["status"] == "cancelled"
    assert recorded["listed"] == [recorded["cancelled"]["id"], recorded["created"]["id"]]
    assert recorded["unknown"]["status"] == 404


def test_members_are_recorded_as_chat_requests(runs: Runs) -> None:
    operations = sorted(r.operation for r in all_recordings(runs.cassette))
    assert operations == ["chat.completions"] * 2
