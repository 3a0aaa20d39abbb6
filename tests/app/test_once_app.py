"""Mode `once` through the app: a cassette that did not exist when the server first used it is
recorded into (and stays so), one that existed is replayed, with a miss that says why `once`
did not record; decided per cassette, including those named by `X-Localaik-Cassette`. VCR's
names give the same modes, and `/health` shows both names."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from localaik.cassette.store import store_for
from localaik.config import Settings
from localaik.runtime.bundled import bundled_runtimes
from localaik.runtime.cache import InstallError
from tests.support import all_recordings, assert_error

GENERATE = "/v1beta/models/gemini-2.0-flash:generateContent"
CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"


def chat_body(text: str) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}


def gemini_body(text: str) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


def anthropic_body(text: str) -> dict[str, Any]:
    return {"model": "claude-x", "max_tokens": 16, "messages": [{"role": "user", "content": text}]}


def prompts(path: Path) -> list[str]:
    return [r.request for r in all_recordings(path)]


async def record(make_localaik: Any, cassette: Path, *texts: str) -> None:
    async with make_localaik(mode="record", cassette=cassette) as client:
        for text in texts:
            assert (await client.post(CHAT, json=chat_body(text))).status_code == 200


async def test_once_records_a_cassette_that_did_not_exist_and_keeps_recording_it(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "new.db"
    async with make_localaik(mode="once", cassette=cassette) as client:
        first = await client.post(CHAT, json=chat_body("one"))
        # The cassette exists now, but this process created it: still recordable.
        second = await client.post(GENERATE, json=gemini_body("two"))
        again = await client.post(CHAT, json=chat_body("one"))

    assert first.status_code == second.status_code == again.status_code == 200
    assert again.json()["choices"] == first.json()["choices"]
    assert len(fake.requests) == 2  # the repeated request was replayed
    assert len(all_recordings(cassette)) == 2


@pytest.mark.parametrize(
    ("path", "body", "family"),
    [
        (CHAT, chat_body("never recorded"), "openai"),
        (GENERATE, gemini_body("never recorded"), "gemini"),
        (MESSAGES, anthropic_body("never recorded"), "anthropic"),
    ],
)
async def test_once_replays_a_cassette_that_existed_and_a_new_request_is_a_miss(
    make_localaik: Any, fake: Any, tmp_path: Path, path: str, body: Any, family: str
) -> None:
    cassette = tmp_path / "old.db"
    await record(make_localaik, cassette, "one")
    recorded = len(fake.requests)
    before = cassette.read_bytes()

    async with make_localaik(mode="once", cassette=cassette) as client:
        hit = await client.post(CHAT, json=chat_body("one"))
        missed = await client.post(path, json=body)

    assert hit.status_code == 200
    error = assert_error(missed, 404, family)
    message = error["message"]
    assert str(cassette) in message
    assert "mode: once (the cassette existed when localaik first used it, so `once`" in message
    # the recording is an OpenAI chat: the nearest of this operation, or of the others
    assert "Nearest recordings" in message or "the nearest of other operations" in message
    assert "delete the cassette and run again in mode once" in message
    assert "(VCR's new_episodes)" in message
    assert len(fake.requests) == recorded  # nothing went upstream
    assert len(all_recordings(cassette)) == 1
    assert cassette.read_bytes() == before  # read-only: a committed cassette stays as it is


async def test_once_decides_per_cassette_named_by_the_header(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    default = tmp_path / "default.db"
    old = tmp_path / "old.db"
    await record(make_localaik, old, "kept")
    recorded = len(fake.requests)

    async with make_localaik(mode="once", cassette=default) as client:
        fresh = await client.post(
            CHAT, json=chat_body("into new"), headers={"x-localaik-cassette": "new"}
        )
        hit = await client.post(
            CHAT, json=chat_body("kept"), headers={"x-localaik-cassette": "old"}
        )
        missed = await client.post(
            CHAT, json=chat_body("not kept"), headers={"x-localaik-cassette": "old"}
        )
        default_fresh = await client.post(CHAT, json=chat_body("into default"))

    assert fresh.status_code == hit.status_code == default_fresh.status_code == 200
    assert_error(missed, 404, "openai")
    assert len(fake.requests) == recorded + 2
    assert len(all_recordings(tmp_path / "new.db")) == 1
    assert len(all_recordings(default)) == 1
    assert len(all_recordings(old)) == 1


async def test_an_empty_cassette_file_existed_so_once_does_not_record_it(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    """VCR's rule is about the file: a cassette that exists, even empty, is not recorded."""
    cassette = tmp_path / "empty.db"
    empty = store_for(cassette)
    empty.open(create=True)
    empty.close()
    async with make_localaik(mode="once", cassette=cassette) as client:
        missed = await client.post(CHAT, json=chat_body("one"))
    assert "holds no recordings" in assert_error(missed, 404, "openai")["message"]
    assert fake.requests == []


@pytest.mark.parametrize(
    ("given", "mode", "vcr"),
    [
        ("new_episodes", "record", "new_episodes"),
        ("none", "replay", "none"),
        ("all", "refresh", "all"),
        ("once", "once", "once"),
        ("passthrough", "passthrough", None),
    ],
)
async def test_health_shows_the_mode_and_its_vcr_name(
    make_localaik: Any, tmp_path: Path, given: str, mode: str, vcr: str | None
) -> None:
    async with make_localaik(mode=given, cassette=tmp_path / "c.db") as client:
        body = (await client.get("/health")).json()
    assert body["mode"] == mode
    assert body.get("record_mode") == vcr


async def test_vcr_names_behave_as_their_modes(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    async with make_localaik(mode="new_episodes", cassette=cassette) as client:
        assert (await client.post(CHAT, json=chat_body("one"))).status_code == 200
    async with make_localaik(mode="all", cassette=cassette) as client:
        assert (await client.post(CHAT, json=chat_body("one"))).status_code == 200
    assert len(fake.requests) == 2  # `all` asked again and overwrote
    async with make_localaik(mode="none", cassette=cassette) as client:
        assert (await client.post(CHAT, json=chat_body("one"))).status_code == 200
        assert_error(await client.post(CHAT, json=chat_body("two")), 404, "openai")
    assert len(fake.requests) == 2
    assert len(all_recordings(cassette)) == 1


async def test_once_without_a_model_replays_and_refuses_to_record_saying_why(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    """`once` in CI with no model: the cassettes that exist replay; a request that would record
    gets a 503 that says why, and the default upstream URL is never asked."""
    old = tmp_path / "old.db"
    await record(make_localaik, old, "kept")
    recorded = len(fake.requests)
    async with make_localaik(mode="once", upstream=None, cassette=old) as client:
        health = await client.get("/health")
        hit = await client.post(CHAT, json=chat_body("kept"))
        refused = await client.post(
            CHAT, json=chat_body("new"), headers={"x-localaik-cassette": "new"}
        )
    # Healthy: it serves what it can (a Docker HEALTHCHECK passes), and names no upstream.
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and "upstream" not in health.json()
    assert hit.status_code == 200
    error = assert_error(refused, 503, "openai")
    assert "mode once with no model" in error["message"]
    assert "localaik runtime install" in error["message"]
    assert len(fake.requests) == recorded
    assert not (tmp_path / "new.db").exists()


def test_once_starts_without_a_llama_server(tmp_path: Path, monkeypatch: Any) -> None:
    """Without a llama-server, `once` serves (replaying what exists); `record` cannot start."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("LK_LLAMA_SERVER", raising=False)
    log = logging.getLogger("test")
    once = Settings(mode="once", cache_dir=tmp_path / "cache")
    assert bundled_runtimes(once, log) == (None, None)
    with pytest.raises(InstallError, match="no llama-server found"):
        bundled_runtimes(Settings(mode="record", cache_dir=tmp_path / "cache"), log)
