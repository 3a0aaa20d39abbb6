"""Request ids on every answer of the families whose SDKs read one (`families/request_ids.py`).

A recorded answer's id derives from its recording: the same when it is recorded, replayed,
and answered again from the replay memo; another recording has another. Answers that no
recording gave (passthrough, errors localaik makes) get a fresh one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.app.test_memo import serving

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
GENERATE = "/v1beta/models/gemini-2.0-flash:generateContent"
ANTHROPIC = {"x-api-key": "k", "anthropic-version": "2023-06-01"}


def chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


def message(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-haiku-4-5",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


REQUESTS = [
    ("x-request-id", CHAT, chat("one"), {}),
    ("x-request-id", CHAT, chat("two"), {}),
    ("x-request-id", CHAT, chat("one", stream=True), {}),
    ("request-id", MESSAGES, message("one"), ANTHROPIC),
    ("request-id", MESSAGES, message("one", stream=True), ANTHROPIC),
    ("x-request-id", CHAT, chat("bad [[error:400]]"), {}),  # a recorded upstream 400
]


async def ids(client: Any) -> list[str]:
    found = []
    for header, path, body, headers in REQUESTS:
        response = await client.post(path, json=body, headers=headers)
        found.append(response.headers[header])
    return found


async def test_a_recording_gives_its_answer_the_same_id_every_time(
    fake: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "ids.db"
    async with serving(fake, mode="record", cassette=cassette) as (client, _):
        recorded = await ids(client)
    async with serving(fake, mode="replay", cassette=cassette) as (client, memo):
        replayed = await ids(client)
        again = await ids(client)  # the plain answers now from the replay memo
        assert memo.entries
    async with serving(fake, mode="replay", cassette=cassette, memo=False) as (client, _):
        elsewhere = await ids(client)

    assert recorded == replayed == again == elsewhere
    assert len(set(recorded)) == len(recorded)


async def test_answers_no_recording_gave_get_a_fresh_id(fake: Any, tmp_path: Path) -> None:
    async with serving(fake, mode="passthrough") as (client, _):
        live = [(await client.post(CHAT, json=chat("one"))).headers["x-request-id"] for _ in "ab"]
    async with serving(fake, mode="replay", cassette=tmp_path / "none.db") as (client, _):
        misses = [
            (await client.post(MESSAGES, json=message("one"), headers=ANTHROPIC)).headers[
                "request-id"
            ]
            for _ in "ab"
        ]
        invalid = await client.post(CHAT, json={"model": "m", "messages": []})

    assert live[0] != live[1] and misses[0] != misses[1]
    assert invalid.status_code == 400 and invalid.headers["x-request-id"].startswith("req_")


async def test_gemini_answers_carry_no_request_id_header(fake: Any) -> None:
    async with serving(fake, mode="passthrough") as (client, _):
        response = await client.post(
            GENERATE, json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
        )
    assert response.status_code == 200
    assert "x-request-id" not in response.headers and "request-id" not in response.headers
