"""The JavaScript SDK openai (npm), unmodified: a batch over an uploaded JSONL file
(tests/js/openai_batches.mjs), recorded against the fake llama-server and replayed with no
upstream. Every result must be the same, ids, times, statuses and the output file included.
Without the SDK installed these tests fail (`npm ci --prefix tests/js`), they are never skipped.
"""

from __future__ import annotations

import pytest

from tests.sdk.js_replayed import Runs, recorded_then_replayed
from tests.support import all_recordings


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    folder = tmp_path_factory.mktemp("js-openai-batches")
    return recorded_then_replayed(folder, "openai_batches.mjs")


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
