"""Gemini cached content and batch mode (inline requests) through the official google-genai SDK
against `localaik serve`: recorded against the fake llama-server, then replayed with no upstream.

The same scenario runs in `record` mode and in `replay` mode with a dead upstream, and every
result must be the same, names, times and states included. A cached content is expanded into
the request that names it before the key is made, so the same content under another name (or
sent inline) hits the same recording; a batch is recorded as its member requests only, so a
batch with one member changed misses that member alone, with the miss's explanation in its
response.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types

from localaik.server.verify import verify
from tests.fakes.fake_llama import FakeLlama
from tests.support import LocalaikProcess, all_recordings

MODEL = "gemini-2.5-flash"
DEAD_UPSTREAM = "http://127.0.0.1:9/v1"
DOCUMENT = "A long document about the cats of Oslo."
HEADERS = {"x-goog-api-key": "test"}


def inline(text: str) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


BATCH = [inline("Batch one"), inline("Batch two"), inline("Batch three")]


def dump(value: Any) -> Any:
    if isinstance(value, list):
        return [dump(item) for item in value]
    if isinstance(value, types._common.BaseModel):
        return value.model_dump(mode="json", exclude={"sdk_http_response"}, exclude_none=True)
    return value


def refused(call: Any) -> dict[str, Any]:
    try:
        call()
    except errors.APIError as exc:
        return {"status": exc.code, "message": exc.message}
    return {"status": None}


def raw(url: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    response = httpx.request(method, url + path, json=body, headers=HEADERS, timeout=30)
    return {"status": response.status_code, "body": response.json()}


def cache_steps(client: genai.Client, url: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    caches = client.caches
    config = types.CreateCachedContentConfig(
        contents=[DOCUMENT], system_instruction="Be brief.", ttl="300s", display_name="doc"
    )
    cache = caches.create(model=MODEL, config=config)
    out["created"] = dump(cache)
    using = types.GenerateContentConfig(cached_content=cache.name)
    out["generated"] = client.models.generate_content(
        model=MODEL, contents="What is it about?", config=using
    ).text
    stream = client.models.generate_content_stream(
        model=MODEL, contents="Stream about it", config=using
    )
    out["streamed"] = "".join(chunk.text or "" for chunk in stream)
    out["counted"] = raw(
        url,
        "POST",
        f"/v1beta/models/{MODEL}:countTokens",
        {
            "generateContentRequest": {
                "model": f"models/{MODEL}",
                "contents": [{"role": "user", "parts": [{"text": "count me"}]}],
                "cachedContent": cache.name,
            }
        },
    )
    out["got"] = dump(caches.get(name=cache.name))
    update = types.UpdateCachedContentConfig(ttl="600s")
    out["updated"] = dump(caches.update(name=cache.name, config=update))
    out["refused_update"] = raw(
        url, "PATCH", f"/v1beta/{cache.name}", {"contents": [{"parts": [{"text": "x"}]}]}
    )
    again = caches.create(model=MODEL, config=config)
    out["again_name"] = again.name
    out["generated_again"] = client.models.generate_content(
        model=MODEL,
        contents="What is it about?",
        config=types.GenerateContentConfig(cached_content=again.name),
    ).text
    out["listed"] = dump(list(caches.list()))
    caches.delete(name=again.name)
    out["deleted_get"] = refused(lambda: caches.get(name=again.name))
    out["unknown"] = refused(
        lambda: client.models.generate_content(
            model=MODEL,
            contents="x",
            config=types.GenerateContentConfig(cached_content="cachedContents/nope"),
        )
    )
    out["other_model"] = refused(
        lambda: client.models.generate_content(model="gemini-other", contents="x", config=using)
    )
    out["clash"] = refused(
        lambda: client.models.generate_content(
            model=MODEL,
            contents="x",
            config=types.GenerateContentConfig(cached_content=cache.name, system_instruction="no"),
        )
    )
    out["empty_cache"] = raw(url, "POST", "/v1beta/cachedContents", {"model": MODEL})
    return out


def batch_steps(client: genai.Client, url: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    batches = client.batches
    job = batches.create(model=MODEL, src=BATCH, config={"display_name": "nightly"})  # type: ignore
    out["created"] = dump(job)
    assert job.name is not None
    out["got"] = dump(batches.get(name=job.name))
    other = batches.create(model=MODEL, src=BATCH[:1])  # type: ignore[arg-type]
    assert other.name is not None
    batches.cancel(name=other.name)
    out["canceled"] = dump(batches.get(name=other.name))
    out["listed"] = [batch.name for batch in batches.list()]
    batches.delete(name=other.name)
    out["unknown"] = refused(lambda: batches.get(name="batches/nope"))
    path = f"/v1beta/models/{MODEL}:batchGenerateContent"
    empty = {"batch": {"inputConfig": {"requests": {"requests": []}}}}
    out["empty"] = raw(url, "POST", path, empty)
    bad = {"requests": [{"request": {"contents": "not a list"}}]}
    out["malformed"] = raw(url, "POST", path, {"batch": {"inputConfig": {"requests": bad}}})
    return out


def scenario(url: str) -> dict[str, Any]:
    client = genai.Client(
        api_key="test", http_options=types.HttpOptions(base_url=url, api_version="v1beta")
    )
    try:
        out = {"caches": cache_steps(client, url), "batches": batch_steps(client, url)}
        out["async"] = asyncio.run(async_steps(client))
        return out
    finally:
        client.close()


async def async_steps(client: genai.Client) -> dict[str, Any]:
    aio = client.aio
    try:
        config = types.CreateCachedContentConfig(
            contents=[DOCUMENT], system_instruction="Be brief."
        )
        cache = await aio.caches.create(model=MODEL, config=config)
        answer = await aio.models.generate_content(
            model=MODEL,
            contents="What is it about?",
            config=types.GenerateContentConfig(cached_content=cache.name),
        )
        job = await aio.batches.create(model=MODEL, src=BATCH[:2])  # type: ignore[arg-type]
        assert job.name is not None
        done = await aio.batches.get(name=job.name)
    finally:
        await aio.aclose()
    return {"cache": dump(cache), "text": answer.text, "job": dump(job), "done": dump(done)}


@dataclass
class Runs:
    cassette: Path
    recorded: dict[str, Any]
    replayed: dict[str, Any]
    inline_text: str | None
    changed: list[Any]
    before_delete: str | None
    after_delete: dict[str, Any]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("GOOGLE_", "GEMINI_")):
                patch.delenv(name)
        cassette = tmp_path_factory.mktemp("gemini-batches") / "c.db"
        with FakeLlama.start() as fake:
            upstream = f"{fake.url}/v1"
            env = {"LK_MODE": "record", "LK_UPSTREAM": upstream, "LK_CASSETTE": str(cassette)}
            with LocalaikProcess(env) as server:
                recorded = scenario(server.url)
        replay = {"LK_MODE": "replay", "LK_CASSETTE": str(cassette), "LK_UPSTREAM": DEAD_UPSTREAM}
        with LocalaikProcess(replay) as server:
            replayed = scenario(server.url)
            client = genai.Client(
                api_key="test",
                http_options=types.HttpOptions(base_url=server.url, api_version="v1beta"),
            )
            # The cached request sent with its content inline: the same key.
            contents = [
                types.Content(role="user", parts=[types.Part(text=text)])
                for text in (DOCUMENT, "What is it about?")
            ]
            plain = types.GenerateContentConfig(system_instruction="Be brief.")
            inline_text = client.models.generate_content(
                model=MODEL, contents=contents, config=plain
            ).text
            # A request naming a cache is never answered from the replay memo: once the cache
            # is deleted, the very same request is a 404.
            cache = client.caches.create(
                model=MODEL,
                config=types.CreateCachedContentConfig(
                    contents=[DOCUMENT], system_instruction="Be brief."
                ),
            )
            assert cache.name is not None
            using = types.GenerateContentConfig(cached_content=cache.name)
            before_delete = client.models.generate_content(
                model=MODEL, contents="What is it about?", config=using
            ).text
            client.caches.delete(name=cache.name)
            after_delete = refused(
                lambda: client.models.generate_content(
                    model=MODEL, contents="What is it about?", config=using
                )
            )
            changed_src = [BATCH[0], inline("Batch two, changed"), BATCH[2]]
            job = client.batches.create(model=MODEL, src=changed_src)  # type: ignore[arg-type]
            assert job.name is not None
            finished = client.batches.get(name=job.name)
            assert finished.dest is not None and finished.dest.inlined_responses is not None
            changed = dump(finished.dest.inlined_responses)
            client.close()
        yield Runs(cassette, recorded, replayed, inline_text, changed, before_delete, after_delete)


def test_replay_gives_the_recorded_results(runs: Runs) -> None:
    assert runs.replayed == runs.recorded


def test_a_cached_content_is_expanded_into_the_request(runs: Runs) -> None:
    caches = runs.recorded["caches"]
    created = caches["created"]
    assert created["name"].startswith("cachedContents/")
    assert created["display_name"] == "doc" and created["model"] == f"models/{MODEL}"
    # The fake echoes the system instruction and the last user turn: the cache's instruction
    # and contents reached the upstream, before the request's own.
    assert caches["generated"] == f"[sys] Echo: {DOCUMENT}\nWhat is it about?"
    assert caches["streamed"] == f"[sys] Echo: {DOCUMENT}\nStream about it"
    assert caches["counted"]["status"] == 200
    assert caches["counted"]["body"]["totalTokens"] > 2
    recorded = [r for r in all_recordings(runs.cassette) if r.operation == "generateContent"]
    for recording in recorded:
        assert "cachedContent" not in recording.request


def test_the_same_content_under_another_name_hits(runs: Runs) -> None:
    caches = runs.recorded["caches"]
    assert caches["again_name"] != caches["created"]["name"]
    assert caches["generated_again"] == caches["generated"]
    assert runs.inline_text == caches["generated"]
    generate = [r for r in all_recordings(runs.cassette) if r.operation == "generateContent"]
    # one plain answer, one stream, and the three batch members
    assert len(generate) == 5


def test_a_deleted_cache_is_not_served_from_memory(runs: Runs) -> None:
    assert runs.before_delete == runs.recorded["caches"]["generated"]
    assert runs.after_delete["status"] == 404
    assert "not found" in runs.after_delete["message"]


def test_the_cassette_verifies(runs: Runs) -> None:
    """Batch members and expanded cached requests are ordinary recordings: verify rebuilds and
    replays each."""
    report = verify(runs.cassette)
    assert report.recordings > 0 and report.problems == []


def test_the_async_client_gets_the_same_answers(runs: Runs) -> None:
    done = runs.recorded["async"]
    assert done["text"] == runs.recorded["caches"]["generated"]
    assert done["done"]["state"] == "JOB_STATE_SUCCEEDED"
    responses = runs.recorded["batches"]["got"]["dest"]["inlined_responses"]
    assert done["done"]["dest"]["inlined_responses"] == responses[:2]


def test_update_changes_only_the_expiry(runs: Runs) -> None:
    caches = runs.recorded["caches"]
    created, updated = caches["created"], caches["updated"]
    assert caches["got"] == created
    assert updated["expire_time"] > created["expire_time"]
    assert {k: v for k, v in updated.items() if k not in ("expire_time", "update_time")} == {
        k: v for k, v in created.items() if k not in ("expire_time", "update_time")
    }
    assert caches["refused_update"]["status"] == 400
    assert "only ttl or expireTime" in caches["refused_update"]["body"]["error"]["message"]
    assert [c["name"] for c in caches["listed"]] == [created["name"], caches["again_name"]]


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("deleted_get", 404, "not found"),
        ("unknown", 404, "cachedContents/nope"),
        ("other_model", 400, "was made for models/gemini-2.5-flash"),
        ("clash", 400, "systemInstruction"),
    ],
)
def test_bad_cache_use_is_a_clear_error(runs: Runs, case: str, status: int, words: str) -> None:
    got = runs.recorded["caches"][case]
    assert got["status"] == status
    assert words in got["message"]


def test_an_empty_cache_is_refused(runs: Runs) -> None:
    got = runs.recorded["caches"]["empty_cache"]
    assert got["status"] == 400 and got["body"]["error"]["status"] == "INVALID_ARGUMENT"


def test_a_batch_runs_its_inline_requests(runs: Runs) -> None:
    batches = runs.recorded["batches"]
    created, got = batches["created"], batches["got"]
    assert created["name"].startswith("batches/")
    assert created["state"] == "JOB_STATE_PENDING" and created["display_name"] == "nightly"
    assert got["state"] == "JOB_STATE_SUCCEEDED"
    texts = [
        line["response"]["candidates"][0]["content"]["parts"][0]["text"]
        for line in got["dest"]["inlined_responses"]
    ]
    assert texts == ["Echo: Batch one", "Echo: Batch two", "Echo: Batch three"]
    assert batches["canceled"]["state"] == "JOB_STATE_CANCELLED"
    assert batches["listed"] == [batches["canceled"]["name"], created["name"]]


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("unknown", 404, "batches/nope"),
        ("empty", 400, "non-empty list"),
        ("malformed", 400, "requests[0]"),
    ],
)
def test_bad_batches_are_clear_errors(runs: Runs, case: str, status: int, words: str) -> None:
    got = runs.recorded["batches"][case]
    assert got["status"] == status
    message = got["message"] if "message" in got else got["body"]["error"]["message"]
    assert words in message


def test_a_changed_member_misses_alone(runs: Runs) -> None:
    recorded = runs.recorded["batches"]["got"]["dest"]["inlined_responses"]
    first, second, third = runs.changed
    assert first == recorded[0] and third == recorded[2]
    assert "response" not in second
    assert second["error"]["code"] == 404
    assert second["error"]["message"].startswith("localaik replay miss: no recording matches")
