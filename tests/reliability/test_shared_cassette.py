"""Two real `localaik serve` processes recording into one cassette (pytest-xdist workers, or
two servers): identical misses spread over both, all at once.

Single flight holds across the processes as it does within one: one upstream call, every
client answered with the same bytes, no error (the loser of the race used to answer 500
"already holds a recording"). The upstream is the fake llama-server in its own process; its
request log counts the calls. Streams are slowed by the fake (`[[slow:MS]]`) so the race is
wide open; plain answers are as fast as the fake gives them. LOCALAIK_TEST_SHARED_PROCESSES
and LOCALAIK_TEST_SHARED_CLIENTS change the run (2 processes, 16 clients).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from localaik.cassette.usage import read_runs
from tests.fakes.fake_llama import FakeLlama
from tests.reliability.families import CHAT, GEMINI
from tests.support import LocalaikProcess, all_recordings

PROCESSES = int(os.environ.get("LOCALAIK_TEST_SHARED_PROCESSES", "2"))
CLIENTS = int(os.environ.get("LOCALAIK_TEST_SHARED_CLIENTS", "16"))


def chat(text: str, *, stream: bool) -> dict[str, Any]:
    return {
        "model": "gpt-4o-mini",
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
    }


async def at_once(requests: list[tuple[str, dict[str, Any]]]) -> list[httpx.Response]:
    """POST each (url, body), all released together once every one is ready to send."""
    async with httpx.AsyncClient(timeout=60) as http:
        start = asyncio.Event()

        async def one(url: str, body: dict[str, Any]) -> httpx.Response:
            await start.wait()
            response = await http.post(url, json=body)
            await response.aread()
            return response

        tasks = [asyncio.create_task(one(url, body)) for url, body in requests]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*tasks)


async def ask_all(urls: list[str], path: str, body: dict[str, Any]) -> list[httpx.Response]:
    """`CLIENTS` identical requests at once, spread over the servers in turn."""
    return await at_once([(urls[i % len(urls)] + path, body) for i in range(CLIENTS)])


@pytest.fixture()
def upstream(fake_llama_process: FakeLlama) -> FakeLlama:
    fake_llama_process.reset()
    return fake_llama_process


def servers(
    upstream: FakeLlama, cassette: Path, mode: str, count: int = PROCESSES
) -> list[LocalaikProcess]:
    env = {
        "LK_MODE": mode,
        "LK_UPSTREAM": upstream.url + "/v1",
        "LK_CASSETTE": str(cassette),
        "LK_LOG": "off",
    }
    return [LocalaikProcess(env) for _ in range(count)]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param(CHAT, chat("shared [[slow:40]]", stream=True), id="slow-stream"),
        pytest.param(CHAT, chat("shared fast", stream=False), id="fast-chat"),
        pytest.param(
            GEMINI, {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}, id="fast-gemini"
        ),
    ],
)
def test_two_processes_one_cassette_one_upstream_call(
    tmp_path: Path, upstream: FakeLlama, path: str, body: dict[str, Any]
) -> None:
    cassette = tmp_path / "shared.db"
    running = servers(upstream, cassette, "record")
    try:
        answers = asyncio.run(ask_all([s.url for s in running], path, body))
    finally:
        for server in running:
            server.stop()
    errors = [(a.status_code, a.text[:300]) for a in answers if a.status_code != 200]
    calls = len(upstream.requests())
    print(f"\n{len(running)} processes x {CLIENTS} requests: {len(errors)} errors, {calls} calls")
    assert errors == [], "\n".join(s.log()[-3000:] for s in running)
    assert calls == 1
    assert len({a.content for a in answers}) == 1
    assert len(all_recordings(cassette)) == 1


def test_two_processes_refreshing_one_key_both_overwrite_without_error(
    tmp_path: Path, upstream: FakeLlama
) -> None:
    cassette = tmp_path / "shared.db"
    body = chat("refreshed [[slow:20]]", stream=True)
    running = servers(upstream, cassette, "refresh")
    try:
        first = asyncio.run(ask_all([s.url for s in running], CHAT, body))
        second = asyncio.run(ask_all([s.url for s in running], CHAT, body))
    finally:
        for server in running:
            server.stop()
    answers = first + second
    assert [(a.status_code, a.text[:300]) for a in answers if a.status_code != 200] == []
    assert all(a.content.endswith(b"data: [DONE]\n\n") for a in answers)
    (recording,) = all_recordings(cassette)  # overwritten, never doubled
    assert b"".join(f.data for f in recording.frames) in {a.content for a in second}


MANY = int(os.environ.get("LOCALAIK_TEST_SHARED_MANY", "4"))  # processes
PROMPTS = int(os.environ.get("LOCALAIK_TEST_SHARED_PROMPTS", "25"))


async def ask_every_prompt(urls: list[str]) -> list[httpx.Response]:
    """Every prompt asked by every server at once: PROMPTS distinct requests, each len(urls)
    times, all in flight together."""
    return await at_once(
        [
            (url + CHAT, chat(f"prompt {prompt}", stream=False))
            for url in urls
            for prompt in range(PROMPTS)
        ]
    )


def test_many_processes_record_then_replay_one_cassette_nothing_lost(
    tmp_path: Path, upstream: FakeLlama
) -> None:
    """N processes x M requests into one cassette, recorded then replayed: no error, one
    upstream call per distinct request, and every process's usage notes read back."""
    cassette = tmp_path / "shared.db"
    rounds: list[list[httpx.Response]] = []
    for mode in ("record", "replay"):
        running = servers(upstream, cassette, mode, MANY)
        try:
            rounds.append(asyncio.run(ask_every_prompt([s.url for s in running])))
        finally:
            for server in running:
                server.stop()
    answers = rounds[0] + rounds[1]
    errors = [(a.status_code, a.text[:300]) for a in answers if a.status_code != 200]
    calls = len(upstream.requests())
    notes = sum(len(run.used) for run in read_runs(cassette))
    print(
        f"\n{MANY} processes x {PROMPTS * MANY} requests, recorded then replayed: "
        f"{len(errors)} errors, {calls} upstream calls for {PROMPTS} prompts, "
        f"{notes} of {2 * MANY * PROMPTS} usage notes read back"
    )
    assert errors == []
    assert calls == PROMPTS
    assert len(all_recordings(cassette)) == PROMPTS
    # Each request's answer is the same in every process and in both rounds.
    by_prompt = [
        {
            a.content
            for a in answers
            if json.loads(a.request.content)["messages"][0]["content"] == f"prompt {p}"
        }
        for p in range(PROMPTS)
    ]
    assert all(len(contents) == 1 for contents in by_prompt)
    # Every process noted every recording it served, once per run: none lost.
    assert notes == 2 * MANY * PROMPTS
