"""A recording stored by another writer while this server forwarded the same request.

A writer that takes no claims (an older localaik sharing the cassette, or one whose claim wait
timed out) can store an answer between this server's miss and its save. The store keeps the
first recording (its unique key); the client is answered with this server's own answer, never
with the conflict. The other writer is simulated at the upstream boundary: while the fake
llama-server answers, a second store saves the competing recording into the cassette file.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from localaik.cassette.recording import Recording
from localaik.cassette.sqlite import SQLiteStore
from tests.app.conftest import FakeTransport
from tests.fakes.fake_llama import FakeLlamaApp
from tests.support import all_recordings

CHAT = "/v1/chat/completions"
GENERATE = "/v1beta/models/gemini-2.0-flash:generateContent"


class CompetingWriter(FakeTransport):
    """The fake upstream; before it answers, another store saves `pending` into `cassette`."""

    def __init__(self, app: FakeLlamaApp, cassette: Path, pending: list[Recording]) -> None:
        super().__init__(app)
        self.cassette = cassette
        self.pending = pending

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.pending:
            other = SQLiteStore(self.cassette)
            other.open(create=True)
            try:
                other.save(self.pending.pop(0))
            finally:
                other.close()
        return await super().handle_async_request(request)


def chat(text: str, *, stream: bool) -> dict[str, Any]:
    return {"model": "m", "stream": stream, "messages": [{"role": "user", "content": text}]}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param(CHAT, chat("race", stream=False), id="body"),
        pytest.param(CHAT, chat("race", stream=True), id="stream"),
        pytest.param(GENERATE, {"contents": [{"parts": [{"text": "race"}]}]}, id="gemini"),
    ],
)
async def test_a_recording_stored_first_by_another_writer_is_no_error(
    make_localaik: Any,
    fake: FakeLlamaApp,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    path: str,
    body: dict[str, Any],
) -> None:
    # What the other writer stores: the same request, recorded elsewhere first.
    elsewhere = tmp_path / "elsewhere.db"
    async with make_localaik(mode="record", cassette=elsewhere) as client:
        assert (await client.post(path, json=body)).status_code == 200
    (theirs,) = all_recordings(elsewhere)

    cassette = tmp_path / "shared.db"
    caplog.set_level(logging.DEBUG, logger="localaik.replay")
    transport = CompetingWriter(fake, cassette, [theirs])
    async with make_localaik(mode="record", cassette=cassette, transport=transport) as client:
        answer = await client.post(path, json=body)
        assert answer.status_code == 200, answer.text
        if body.get("stream"):
            assert answer.content.endswith(b"data: [DONE]\n\n")
        else:
            json.loads(answer.content)
        assert transport.pending == []  # the other writer did store first
        again = await client.post(path, json=body)
        assert again.status_code == 200, again.text
    (kept,) = all_recordings(cassette)  # the first one stored, nothing doubled
    assert (kept.body, kept.frames) == (theirs.body, theirs.frames)
    assert len(fake.requests) == 2  # one upstream call each; the repeat replayed
    assert any(
        "kept it, answered with this request's own answer" in r.message for r in caplog.records
    )
