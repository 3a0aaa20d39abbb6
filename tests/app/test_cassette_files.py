"""What serving does to the cassette files: replay never writes, every run leaves a usage note.

A committed cassette must come out of a CI run byte for byte as checked out (else `git status`
shows it changed after every test run), and a recording run must leave one self-contained file
(no -wal or -shm beside it) so what gets committed is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from localaik.cassette import usage
from localaik.cassette.schema import SCHEMA_VERSION
from tests.support import all_recordings, assert_error

GENERATE = "/v1beta/models/gemini-2.0-flash:generateContent"
CHAT = "/v1/chat/completions"


def gemini_body(text: str) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


def chat_body(text: str) -> dict[str, Any]:
    return {"model": "m", "stream": True, "messages": [{"role": "user", "content": text}]}


async def record(make_localaik: Any, cassette: Path, *texts: str) -> None:
    async with make_localaik(mode="record", cassette=cassette) as client:
        for text in texts:
            assert (await client.post(GENERATE, json=gemini_body(text))).status_code == 200
            assert (await client.post(CHAT, json=chat_body(text))).status_code == 200


async def test_recording_leaves_one_self_contained_file(make_localaik: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    await record(make_localaik, cassette, "one", "two")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".localaik", "c.db"]
    assert len(all_recordings(cassette)) == 4
    # Rollback-journal mode: readable by any SQLite without creating files beside it.
    assert cassette.read_bytes()[18:20] == b"\x01\x01"


async def test_replay_leaves_the_cassette_byte_for_byte(make_localaik: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    await record(make_localaik, cassette, "one")
    before = hashlib.sha256(cassette.read_bytes()).hexdigest()
    async with make_localaik(mode="replay", cassette=cassette) as client:
        assert (await client.post(GENERATE, json=gemini_body("one"))).status_code == 200
        assert (await client.post(CHAT, json=chat_body("one"))).status_code == 200
        assert (await client.post(CHAT, json=chat_body("missing"))).status_code == 404
    assert hashlib.sha256(cassette.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".localaik", "c.db"]


async def test_each_run_notes_what_it_served_and_recorded(
    make_localaik: Any, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.db"
    await record(make_localaik, cassette, "one", "two")
    async with make_localaik(mode="replay", cassette=cassette) as client:
        await client.post(GENERATE, json=gemini_body("two"))
        await client.post(GENERATE, json=gemini_body("two"))
    recorded, replayed = usage.read_runs(cassette)
    assert len(recorded.used) == 4
    (served,) = replayed.used
    two = [r for r in all_recordings(cassette) if r.family == "gemini" and '"two"' in r.request]
    assert served == (two[0].key, 0)


@contextlib.contextmanager
def read_only_view(folder: Path, view: Path) -> Iterator[Path]:
    """`folder` seen through a read-only bind mount at `view` (needs root and mount)."""
    view.mkdir()
    try:
        subprocess.run(["mount", "--bind", str(folder), str(view)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"no bind mount here: {exc}")
    try:
        subprocess.run(
            ["mount", "-o", "remount,ro,bind", str(view)], check=True, capture_output=True
        )
        yield view
    finally:
        subprocess.run(["umount", str(view)], check=False, capture_output=True)


async def test_replay_works_from_a_read_only_checkout(make_localaik: Any, tmp_path: Path) -> None:
    folder = tmp_path / "checkout"
    cassette = folder / "c.db"
    await record(make_localaik, cassette, "one")
    shutil.rmtree(usage.usage_path(cassette).parent)
    with read_only_view(folder, tmp_path / "view") as view:
        with pytest.raises(OSError):
            (view / "probe").write_text("x")
        async with make_localaik(mode="replay", cassette=view / "c.db") as client:
            answer = await client.post(GENERATE, json=gemini_body("one"))
            assert answer.status_code == 200, answer.text
            assert (await client.post(CHAT, json=chat_body("one"))).status_code == 200
    assert sorted(p.name for p in folder.iterdir()) == ["c.db"]


def theirs(path: Path, *statements: str) -> str:
    """A SQLite database of another tool at `path`; its sha256."""
    with contextlib.closing(sqlite3.connect(path)) as raw, raw:
        for statement in statements:
            raw.execute(statement)
    return hashlib.sha256(path.read_bytes()).hexdigest()


FOREIGN = [
    pytest.param(
        ("PRAGMA journal_mode = WAL", "CREATE TABLE recordings (what TEXT)"),
        "is not a localaik cassette (it has recordings but no localaik schema)",
        id="another-tools-recordings-table",
    ),
    pytest.param(
        ("CREATE VIEW answers AS SELECT 42",),
        "is not a localaik cassette (it has answers but no localaik schema)",
        id="a-view-only",
    ),
    pytest.param(
        ("PRAGMA application_id = 7",),
        "is not a localaik cassette (its application_id is 7, set by another tool)",
        id="an-application-id-only",
    ),
]


@pytest.mark.parametrize(("statements", "says"), FOREIGN)
async def test_record_mode_leaves_a_file_it_will_not_use_byte_for_byte(
    make_localaik: Any, fake: Any, tmp_path: Path, statements: tuple[str, ...], says: str
) -> None:
    """Refused with a 424 in the caller's shape naming the file and why; not switched to WAL,
    nothing of localaik's written into it, nothing left beside it, nothing forwarded."""
    cassette = tmp_path / "theirs.db"
    before = theirs(cassette, *statements)
    async with make_localaik(mode="record", cassette=cassette) as client:
        chat = openai.AsyncOpenAI(
            api_key="test", base_url=f"{client.base_url}/v1", http_client=client, max_retries=0
        )
        with pytest.raises(openai.APIStatusError) as refused:
            await chat.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}]
            )
        assert refused.value.status_code == 424
        assert refused.value.message.endswith(f" - {cassette} {says}; it is left as it is")
        answer = await client.post(GENERATE, json=gemini_body("hi"))
        error = assert_error(answer, 424, "gemini")
        assert error["status"] == "FAILED_PRECONDITION" and error["message"].endswith(
            says + "; it is left as it is"
        )
    assert fake.requests == []
    assert hashlib.sha256(cassette.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["theirs.db"]


async def test_a_named_cassette_of_a_newer_localaik_is_left_as_it_is(
    make_localaik: Any, fake: Any, tmp_path: Path
) -> None:
    newer = tmp_path / "newer.db"
    await record(make_localaik, newer, "one")
    shutil.rmtree(tmp_path / ".localaik")
    with contextlib.closing(sqlite3.connect(newer)) as raw, raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = hashlib.sha256(newer.read_bytes()).hexdigest()
    async with make_localaik(mode="record", cassette=tmp_path / "mine.db") as client:
        answer = await client.post(
            CHAT, json=chat_body("two"), headers={"X-Localaik-Cassette": "newer.db"}
        )
        error = assert_error(answer, 424, "openai")
        assert error["message"] == (
            f"cassette {newer} has schema version {SCHEMA_VERSION + 1}, newer than this localaik "
            f"understands ({SCHEMA_VERSION}); "
            "upgrade localaik to use it"
        )
    assert hashlib.sha256(newer.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["newer.db"]
