"""The memo of replayed answers (localaik/memo.py): identical requests answered from memory, and
never when that could differ from what the app would answer."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from localaik.cassette.usage import read_runs
from localaik.config import Settings
from localaik.server.app import create_app, services_of
from localaik.server.memo import HitMemo
from tests.app.conftest import FAKE_UPSTREAM, FakeTransport
from tests.support import all_recordings

GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent"
STREAM = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
CHAT = "/v1/chat/completions"


def gemini(text: str) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


def chat(text: str) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}


@contextlib.asynccontextmanager
async def serving(
    fake: Any, **settings: Any
) -> AsyncIterator[tuple[AsyncTestClient[Any], HitMemo]]:
    upstream = httpx.AsyncClient(transport=FakeTransport(fake), base_url="http://fake")
    app = create_app(
        Settings(**{"log": False, "upstream": FAKE_UPSTREAM, **settings}), client=upstream
    )
    assert isinstance(app, HitMemo)
    try:
        async with AsyncTestClient(app=app) as client:
            yield client, app
    finally:
        await upstream.aclose()


async def record(fake: Any, cassette: Path, *requests: tuple[str, Any]) -> list[bytes]:
    async with serving(fake, mode="record", cassette=cassette) as (client, _):
        answers = [await client.post(path, json=body) for path, body in requests]
    assert all(a.status_code == 200 for a in answers)
    return [a.content for a in answers]


def rewrite_answer(cassette: Path, old: bytes, new: bytes) -> None:
    """Change a recorded answer in place, same length, and put the file's stamp back: a change
    the memo cannot see, so what is then answered shows where it came from."""
    assert len(old) == len(new)
    before = os.stat(cassette)
    with contextlib.closing(sqlite3.connect(cassette)) as db, db:
        # replace() answers TEXT: cast back, a body is a BLOB (a text one is a damaged row).
        db.execute("UPDATE recordings SET body = CAST(replace(body, ?, ?) AS BLOB)", (old, new))
    assert os.stat(cassette).st_size == before.st_size
    os.utime(cassette, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.mark.parametrize(("path", "body"), [(GENERATE, gemini("hello")), (CHAT, chat("hello"))])
async def test_an_identical_hit_is_answered_from_memory(
    fake: Any, tmp_path: Path, path: str, body: Any
) -> None:
    cassette = tmp_path / "c.db"
    [recorded] = await record(fake, cassette, (path, body))
    async with serving(fake, mode="replay", cassette=cassette) as (client, memo):
        first = await client.post(path, json=body)
        assert len(memo.entries) == 1
        rewrite_answer(cassette, b"Echo: hello", b"Echo: HELLO")
        second = await client.post(path, json=body)
    assert first.content == second.content == recorded
    assert first.headers == second.headers
    async with serving(fake, mode="replay", cassette=cassette) as (client, _):
        assert b"Echo: HELLO" in (await client.post(path, json=body)).content  # a fresh app
    [run] = read_runs(cassette)[-1:]
    assert len(run.used) == 1  # the run's usage record is kept


async def test_a_changed_cassette_is_read_again(fake: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    await record(fake, cassette, (GENERATE, gemini("hello")))
    async with serving(fake, mode="record", cassette=cassette) as (client, memo):
        first = await client.post(GENERATE, json=gemini("hello"))
        # Another process rewrites the answer (the file's stamp changes).
        with contextlib.closing(sqlite3.connect(cassette)) as db, db:
            db.execute(
                "UPDATE recordings SET body = "
                "CAST(replace(body, 'Echo: hello', 'Echo: HELLO') AS BLOB)"
            )
        second = await client.post(GENERATE, json=gemini("hello"))
        # A new recording changes the file too.
        await client.post(GENERATE, json=gemini("something new"))
        third = await client.post(GENERATE, json=gemini("hello"))
    assert b"Echo: hello" in first.content
    assert b"Echo: HELLO" in second.content and third.content == second.content
    assert len(memo.entries) == 1  # "hello", read again; the live answer is not kept


async def test_the_cassette_a_request_resolves_to_is_part_of_the_key(
    fake: Any, tmp_path: Path
) -> None:
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    await record(fake, one, (GENERATE, gemini("hello")))
    await record(fake, two, (GENERATE, gemini("hello")))
    rewrite_answer(two, b"Echo: hello", b"Echo: TWO!!")
    async with serving(fake, mode="replay", cassette=one) as (client, memo):
        by_default = await client.post(GENERATE, json=gemini("hello"))
        by_header = await client.post(
            GENERATE, json=gemini("hello"), headers={"x-localaik-cassette": "two"}
        )
        services_of(memo).replayer.cassettes.default = two  # as the pytest plugin does per test
        switched = await client.post(GENERATE, json=gemini("hello"))
    assert b"Echo: hello" in by_default.content
    assert b"Echo: TWO!!" in by_header.content and switched.content == by_header.content


@pytest.mark.parametrize(
    "settings",
    [
        {"mode": "replay", "repeats": "sequence"},
        {"mode": "replay", "replay_speed": 2.0},
        {"mode": "refresh"},
        {"mode": "passthrough"},
        {"mode": "replay", "memo": False},
    ],
    ids=["sequence", "paced", "refresh", "passthrough", "off"],
)
async def test_only_pure_replay_is_memoised(
    fake: Any, tmp_path: Path, settings: dict[str, Any]
) -> None:
    cassette = tmp_path / "c.db"
    await record(fake, cassette, (GENERATE, gemini("hello")))
    async with serving(fake, cassette=cassette, **settings) as (client, memo):
        for _ in range(2):
            assert (await client.post(GENERATE, json=gemini("hello"))).status_code == 200
    assert memo.entries == {}


async def test_streams_misses_errors_and_live_answers_are_not_kept(
    fake: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    await record(fake, cassette, (STREAM, gemini("streamed")))
    async with serving(fake, mode="replay", cassette=cassette) as (client, memo):
        for _ in range(2):
            assert (await client.post(STREAM, json=gemini("streamed"))).status_code == 200
            assert (await client.post(GENERATE, json=gemini("missing"))).status_code == 404
            assert (await client.post(GENERATE, json={"contents": 5})).status_code == 400
        misses = services_of(memo).replayer.misses
    assert memo.entries == {}
    assert len(misses) == 2  # each miss is seen (the pytest plugin fails its test on it)
    async with serving(fake, mode="record", cassette=tmp_path / "live.db") as (client, memo):
        await client.post(GENERATE, json=gemini("live"))
    assert memo.entries == {}  # recorded live: kept only once it is replayed
    assert len(all_recordings(tmp_path / "live.db")) == 1


async def test_large_or_unannounced_bodies_pass_through(fake: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    big = gemini("x " * 200_000)
    await record(fake, cassette, (GENERATE, big), (GENERATE, gemini("chunked")))
    async with serving(fake, mode="replay", cassette=cassette) as (client, memo):
        assert (await client.post(GENERATE, json=big)).status_code == 200
        # Chunked, without Content-Length, straight through ASGI (the test client cannot).
        pieces = [b'{"contents": [{"role": "user", ', b'"parts": [{"text": "chunked"}]}]}']
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": pieces.pop(0), "more_body": bool(pieces)}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await memo(
            {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "POST",
                "scheme": "http",
                "path": GENERATE,
                "raw_path": GENERATE.encode(),
                "query_string": b"",
                "root_path": "",
                "headers": [(b"content-type", b"application/json")],
                "client": ("127.0.0.1", 1),
                "server": ("127.0.0.1", 80),
            },
            receive,
            send,
        )
    assert sent[0]["status"] == 200 and b"Echo: chunked" in sent[1]["body"]
    assert memo.entries == {}
