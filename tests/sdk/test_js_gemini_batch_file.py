"""The JavaScript SDK @google/genai (npm), unmodified: a Gemini batch from an uploaded JSONL file
and its results file downloaded (tests/js/gemini_batch_file.mjs), recorded against the fake
llama-server and replayed with no upstream: every result the same, names and states included.
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


def run(url: str, folder: Path) -> dict[str, Any]:
    env = {**script_env(url), "DOWNLOAD_PATH": str(folder / "results.jsonl")}
    done = subprocess.run(
        ["node", str(JS_DIR / "gemini_batch_file.mjs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"node gemini_batch_file.mjs exited {done.returncode}\n{done.stderr}")
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
    folder = tmp_path_factory.mktemp("js-gemini-batch-file")
    cassette = folder / "c.db"
    with FakeLlama.start() as fake:
        env = {"LK_MODE": "record", "LK_UPSTREAM": f"{fake.url}/v1", "LK_CASSETTE": str(cassette)}
        with LocalaikProcess(env) as server:
            recorded = run(server.url, folder)
    replay = {"LK_MODE": "replay", "LK_UPSTREAM": DEAD_UPSTREAM, "LK_CASSETTE": str(cassette)}
    with LocalaikProcess(replay) as server:
        replayed = run(server.url, folder)
    yield Runs(cassette, recorded, replayed)


def test_replay_gives_the_recorded_results(runs: Runs) -> None:
    assert runs.replayed == runs.recorded


def test_the_results_file_downloads_with_each_line_answered(runs: Runs) -> None:
    recorded = runs.recorded
    assert recorded["done"]["state"] == "JOB_STATE_SUCCEEDED"
    assert recorded["results"]["source"] == "GENERATED"
    texts = [
        (line["key"], line["response"]["candidates"][0]["content"]["parts"][0]["text"])
        for line in recorded["lines"]
    ]
    assert texts == [("j1", "Echo: JS file batch one"), ("j2", "Echo: JS file batch two")]
    operations = sorted(r.operation for r in all_recordings(runs.cassette))
    assert operations == ["generateContent"] * 2
