"""`localaik cassette diff` on recordings made through the app: what the clients see decides.

Every family is recorded (plain and streamed, with tool calls); a second cassette holds the same
answers as a second fresh recording from llama-server would: a new `id` and `created` on every
answer and chunk, other `timings`, other random tool call ids, another pace. `diff` must call
them the same answers, name those fields apart, and exit 0; a changed answer is still one.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from localaik.cassette.recording import Frame, Recording
from localaik.cassette.store import store_for
from localaik.cli import cli
from localaik.wire import sse
from tests.app.test_memo import serving
from tests.support import all_recordings

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}
ANTHROPIC = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
GEMINI = "/v1beta/models/gemini-2.0-flash"
REQUESTS: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    (f"{GEMINI}:generateContent", {"contents": [{"parts": [{"text": "one"}]}]}, {}),
    (f"{GEMINI}:streamGenerateContent?alt=sse", {"contents": [{"parts": [{"text": "two"}]}]}, {}),
    (
        "/v1/chat/completions",
        {"model": "m", "messages": [{"role": "user", "content": "three"}]},
        {},
    ),
    (
        "/v1/chat/completions",
        {
            "model": "m",
            "stream": True,
            "messages": [{"role": "user", "content": "four"}],
            "tools": [
                {"type": "function", "function": {"name": "w", "parameters": WEATHER_SCHEMA}}
            ],
        },
        {},
    ),
    (
        "/v1/messages",
        {
            "model": "claude-haiku-4-5",
            "max_tokens": 16,
            "stream": True,
            "messages": [{"role": "user", "content": "five"}],
            "tools": [{"name": "w", "input_schema": WEATHER_SCHEMA}],
        },
        ANTHROPIC,
    ),
    (
        "/v1/responses",
        {"model": "m", "input": "six"},
        {},
    ),
]


async def record(fake: Any, cassette: Path) -> None:
    async with serving(fake, mode="record", cassette=cassette) as (client, _):
        for path, body, headers in REQUESTS:
            response = await client.post(path, json=body, headers=headers)
            assert response.status_code == 200, response.text


def fresh(value: Any) -> Any:
    """An upstream answer or chunk as another run of the same model stamps it."""
    if isinstance(value, dict):
        changed = {k: fresh(v) for k, v in value.items()}
        for name, new in (("id", "-again"), ("system_fingerprint", "-b2")):
            if isinstance(changed.get(name), str):
                changed[name] += new
        if isinstance(changed.get("created"), int):
            changed["created"] += 7
        if isinstance(changed.get("timings"), dict):
            changed["timings"] = {k: v * 1.5 for k, v in changed["timings"].items()}
        return changed
    if isinstance(value, list):
        return [fresh(item) for item in value]
    return value


def rerecorded(recording: Recording) -> Recording:
    def frame(f: Frame) -> Frame:
        event = sse.parse_frame(f.data)
        if event is None or event.data.strip() == "[DONE]":
            return Frame(f.offset_ms * 1.3, f.data)
        data = json.dumps(fresh(json.loads(event.data)), separators=(",", ":"))
        return Frame(f.offset_ms * 1.3, b"data: " + data.encode() + b"\n\n")

    body = recording.body
    if body:
        body = json.dumps(fresh(json.loads(body)), separators=(",", ":")).encode()
    return dataclasses.replace(
        recording,
        id=None,
        body=body,
        frames=[frame(f) for f in recording.frames],
        duration_ms=recording.duration_ms * 1.3 + 5,
        recorded_at="2031-01-01T00:00:00.000Z",
    )


def write(path: Path, recordings: list[Recording]) -> Path:
    store = store_for(path)
    store.open(create=True)
    for recording in recordings:
        store.save(recording)
    store.close()
    return path


def diff(*args: str) -> Result:
    return CliRunner().invoke(cli, ["cassette", "diff", *args])


async def test_two_fresh_recordings_of_the_same_answers_are_the_same(
    fake: Any, tmp_path: Path
) -> None:
    first = tmp_path / "first.db"
    await record(fake, first)
    recordings = all_recordings(first)
    assert len(recordings) == len(REQUESTS)
    second = write(tmp_path / "second.db", [rerecorded(r) for r in recordings])

    result = diff(str(first), str(second))

    assert result.exit_code == 0, result.output
    assert "with different answers" in result.stderr
    summary = result.stderr.strip().splitlines()[-1]
    assert summary == (
        "6 and 6 recordings: 0 only in the first, 0 only in the second, 0 with different "
        "answers, 6 differing only in volatile upstream fields (created, id, "
        "system_fingerprint, timings, tool_calls[].id)"
    )
    assert "changed:" not in result.stdout
    timed = diff(str(first), str(second), "--timing")
    assert timed.exit_code == 0, timed.output
    assert timed.stderr.strip().endswith(", 6 with different timing")
    assert timed.stdout.count("timing differs:") == 6


async def test_a_changed_answer_is_still_a_difference(fake: Any, tmp_path: Path) -> None:
    first = tmp_path / "first.db"
    await record(fake, first)
    recordings = [rerecorded(r) for r in all_recordings(first)]
    chat = next(r for r in recordings if not r.stream and r.operation == "chat.completions")
    assert chat.body is not None
    changed = dataclasses.replace(chat, body=chat.body.replace(b"Echo: three", b"Echo: THREE"))
    second = write(tmp_path / "second.db", [changed if r is chat else r for r in recordings])

    result = diff(str(first), str(second))

    assert result.exit_code == 1
    assert "1 with different answers, 5 differing only in volatile" in result.stderr
    assert f"changed: {chat.key[:12]}" in result.stdout
    assert "+  answer: Echo: THREE" in result.stdout
    # The diff shows the change, not the stamps every answer gets.
    assert '"created"' not in "".join(
        line for line in result.stdout.splitlines() if line.startswith(("+", "-"))
    )
    one = diff(f"{first}:{chat.key[:12]}", f"{second}:{chat.key[:12]}")
    assert one.exit_code == 1 and "+  answer: Echo: THREE" in one.stdout
    same = [r for r in recordings if r is not chat][0]
    alike = diff(f"{first}:{same.key[:12]}", f"{tmp_path / 'second.db'}:{same.key[:12]}")
    assert alike.exit_code == 0, alike.output
    assert "the same answer; volatile fields differ: created, id" in alike.stdout
