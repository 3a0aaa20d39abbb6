"""The JavaScript SDK @google/genai (npm), unmodified: a Gemini batch from an uploaded JSONL file
and its results file downloaded (tests/js/gemini_batch_file.mjs), recorded against the fake
llama-server and replayed with no upstream: every result the same, names and states included.
Without the SDK installed these tests fail (`npm ci --prefix tests/js`), they are never skipped.
"""

from __future__ import annotations

import pytest

from tests.sdk.js_replayed import Runs, recorded_then_replayed
from tests.support import all_recordings


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    folder = tmp_path_factory.mktemp("js-gemini-batch-file")
    download = {"DOWNLOAD_PATH": str(folder / "results.jsonl")}
    return recorded_then_replayed(folder, "gemini_batch_file.mjs", download)


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
