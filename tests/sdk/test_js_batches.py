"""The JavaScript SDKs @google/genai and @anthropic-ai/sdk (npm), unmodified: Gemini cached
content and inline batches, and an Anthropic message batch (tests/js/batches.mjs), recorded
against the fake llama-server and replayed with no upstream. Every result must be the same,
names, ids, times and states included. Without the SDKs installed these tests fail (`npm ci
--prefix tests/js`), they are never skipped.
"""

from __future__ import annotations

import pytest

from tests.sdk.js_replayed import Runs, recorded_then_replayed
from tests.support import all_recordings


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return recorded_then_replayed(tmp_path_factory.mktemp("js-batches"), "batches.mjs")


def test_replay_gives_the_recorded_results(runs: Runs) -> None:
    assert runs.replayed == runs.recorded


def test_gemini_cache_is_expanded_and_hits_under_another_name(runs: Runs) -> None:
    gemini = runs.recorded["gemini"]
    expected = "[sys] Echo: A long JS document about owls.\nWhat is it about, JS?"
    assert gemini["generated"] == expected
    assert gemini["againName"] != gemini["cache"]["name"]
    assert gemini["generatedAgain"] == gemini["generated"]
    assert gemini["updated"]["expireTime"] > gemini["got"]["expireTime"]
    assert [c["name"] for c in gemini["listed"]] == [gemini["cache"]["name"], gemini["againName"]]


def test_gemini_batch_runs_and_cancels(runs: Runs) -> None:
    gemini = runs.recorded["gemini"]
    assert gemini["job"]["state"] == "JOB_STATE_PENDING"
    assert gemini["ended"]["state"] == "JOB_STATE_SUCCEEDED"
    texts = [
        line["response"]["candidates"][0]["content"]["parts"][0]["text"]
        for line in gemini["ended"]["dest"]["inlinedResponses"]
    ]
    assert texts == ["Echo: JS batch one", "Echo: JS batch two"]
    assert gemini["cancelled"]["state"] == "JOB_STATE_CANCELLED"
    assert gemini["jobs"] == [gemini["cancelled"]["name"], gemini["job"]["name"]]
    assert gemini["unknown"]["status"] == 404


def test_anthropic_batch_results(runs: Runs) -> None:
    anthropic = runs.recorded["anthropic"]
    assert anthropic["created"]["processing_status"] == "in_progress"
    assert anthropic["retrieved"]["processing_status"] == "ended"
    assert [(line["custom_id"], line["result"]["type"]) for line in anthropic["results"]] == [
        ("js-0", "succeeded"),
        ("js-1", "succeeded"),
    ]
    text = anthropic["results"][1]["result"]["message"]["content"][0]["text"]
    assert text == "Echo: JS claude two"
    assert [batch["id"] for batch in anthropic["listed"]] == [anthropic["created"]["id"]]
    assert anthropic["empty"]["status"] == 400


def test_members_are_recorded_as_ordinary_requests(runs: Runs) -> None:
    operations = sorted(r.operation for r in all_recordings(runs.cassette))
    # two cached generateContent answers share one recording; two Gemini and two Anthropic
    # batch members
    assert operations == ["generateContent"] * 3 + ["messages"] * 2
