"""localaik.cassette.sqlite and .threaded: the SQLite cassette store and its async view, on real
files."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlite_utils import Database

from localaik.cassette.recording import Frame, Recording, Summary
from localaik.cassette.schema import MIGRATIONS, SCHEMA_VERSION
from localaik.cassette.sqlite import SQLiteStore
from localaik.cassette.threaded import Cassette
from localaik.errors import CassetteConflict, Error, Internal

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("store_crash_child.py")


def make_recording(
    key: str = "a" * 32, ordinal: int = 0, *, frames: int = 3, **changes: object
) -> Recording:
    recording = Recording(
        key=key,
        ordinal=ordinal,
        family="openai",
        operation="chat.completions",
        model="gemma-3-4b",
        stream=frames > 0,
        request=json.dumps({"family": "openai", "body": {"n": ordinal}}),
        upstream_request=json.dumps({"method": "POST", "endpoint": "/v1/chat/completions"}),
        status=200,
        content_type="text/event-stream" if frames else "application/json",
        body=None if frames else b'{"choices": []}',
        frames=[
            Frame(offset_ms=seq * 12.25 + 0.125, data=b'data: {"seq": %d}\n\n' % seq)
            for seq in range(frames)
        ],
        duration_ms=frames * 12.25 + 3.5,
        recorded_at="2026-11-25T14:03:07.123Z",
        localaik_version="0.1.0",
        upstream="http://127.0.0.1:8080/v1",
        upstream_model="gemma-3-4b-it-q4",
        upstream_build="b4567-1a2b3c4d",
    )
    return dataclasses.replace(recording, **changes)  # type: ignore[arg-type]


def raw(path: Path) -> closing[sqlite3.Connection]:
    """A plain sqlite3 connection, as any other SQLite tool would open the cassette."""
    return closing(sqlite3.connect(path))


def bulk_fill(path: Path, count: int, *, frames: int = 3) -> list[str]:
    """A cassette of `count` recordings written in one bulk transaction (fast); their keys."""
    cassette = SQLiteStore(path)
    cassette.open(create=True)
    cassette.close()
    keys = [f"{index:032x}" for index in range(count)]
    template = make_recording(frames=frames)
    with raw(path) as conn, conn:
        for index, key in enumerate(keys):
            row_id = conn.execute(
                "INSERT INTO recordings (key, ordinal, family, operation, model, stream, request,"
                " upstream_request, status, content_type, body, duration_ms, recorded_at,"
                " localaik_version, upstream, upstream_model, upstream_build)"
                " VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    template.family,
                    template.operation,
                    template.model,
                    int(template.stream),
                    json.dumps({"body": {"n": index}}),
                    template.upstream_request,
                    template.status,
                    template.content_type,
                    template.body,
                    template.duration_ms,
                    template.recorded_at,
                    template.localaik_version,
                    template.upstream,
                    template.upstream_model,
                    template.upstream_build,
                ),
            ).lastrowid
            conn.executemany(
                "INSERT INTO frames (recording_id, seq, offset_ms, data) VALUES (?, ?, ?, ?)",
                [
                    (row_id, seq, frame.offset_ms, frame.data)
                    for seq, frame in enumerate(template.frames)
                ],
            )
    return keys


@pytest.fixture()
def path(tmp_path: Path) -> Path:
    return tmp_path / "cassettes" / "localaik.db"


@pytest.fixture()
async def cassette(path: Path) -> AsyncIterator[Cassette]:
    cassette = Cassette(path)
    assert await cassette.open(create=True)
    yield cassette
    await cassette.close()


# -- round trips ----------------------------------------------------------------------------


async def test_stream_round_trip_is_byte_identical(cassette: Cassette) -> None:
    frames = [
        Frame(0.0, b'data: {"a": 1}\n\n'),
        Frame(17.123456789, 'data: {"t": "héllo ✓"}\r\n\r\n'.encode()),
        Frame(1234.5, bytes(range(256)) + b"\n\n"),  # not UTF-8 at all: kept as is
        Frame(1500.25, b"data: [DONE]\n\n"),
    ]
    recording = make_recording(frames=0, stream=True, body=None)
    recording.frames = frames
    recording_id = await cassette.save(recording)
    got = await cassette.get(recording.key)
    assert got == dataclasses.replace(recording, id=recording_id)
    assert got is not None
    assert [frame.data for frame in got.frames] == [frame.data for frame in frames]
    assert [frame.offset_ms for frame in got.frames] == [frame.offset_ms for frame in frames]
    assert all(type(frame.data) is bytes for frame in got.frames)


async def test_body_round_trip_is_byte_identical(cassette: Cassette) -> None:
    body = b'{"x": "\\u00e9\xc3\xa9"}\x00\xff'
    recording = make_recording(
        frames=0, body=body, model=None, upstream_model=None, upstream_build=None, status=500
    )
    recording_id = await cassette.save(recording)
    got = await cassette.get(recording.key)
    assert got == dataclasses.replace(recording, id=recording_id)
    assert got is not None and got.body == body and got.stream is False and got.frames == []


async def test_get_of_an_unknown_key_is_none(cassette: Cassette) -> None:
    assert await cassette.get("0" * 32) is None
    await cassette.save(make_recording())
    assert await cassette.get("a" * 32, 1) is None


async def test_ordinals(cassette: Cassette) -> None:
    key = "b" * 32
    assert await cassette.ordinals(key) == 0
    for ordinal in range(3):
        await cassette.save(make_recording(key, ordinal, frames=ordinal + 1))
    await cassette.save(make_recording("c" * 32))
    assert await cassette.ordinals(key) == 3
    for ordinal in range(3):
        got = await cassette.get(key, ordinal)
        assert got is not None and got.ordinal == ordinal and len(got.frames) == ordinal + 1


async def test_replace_overwrites_and_leaves_no_orphan_frames(
    cassette: Cassette, path: Path
) -> None:
    await cassette.save(make_recording(frames=50))
    await cassette.save(make_recording("c" * 32, frames=4))
    new = make_recording(frames=2, status=201)
    new_id = await cassette.save(new, replace=True)
    assert await cassette.get(new.key) == dataclasses.replace(new, id=new_id)
    with raw(path) as conn:
        assert conn.execute("SELECT count(*) FROM recordings").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM frames").fetchone() == (6,)
        assert conn.execute(
            "SELECT count(*) FROM frames WHERE recording_id NOT IN (SELECT id FROM recordings)"
        ).fetchone() == (0,)


async def test_replace_of_nothing_just_saves(cassette: Cassette) -> None:
    recording_id = await cassette.save(make_recording(), replace=True)
    assert await cassette.get("a" * 32) == dataclasses.replace(make_recording(), id=recording_id)


async def test_saving_an_existing_key_and_ordinal_without_replace_is_refused(
    cassette: Cassette,
) -> None:
    first_id = await cassette.save(make_recording(frames=5))
    with pytest.raises(CassetteConflict, match="already holds a recording .* replace=True"):
        await cassette.save(make_recording(frames=1))
    got = await cassette.get("a" * 32)
    assert got == dataclasses.replace(make_recording(frames=5), id=first_id)


async def test_summaries(cassette: Cassette) -> None:
    assert await cassette.summaries() == []
    first = make_recording("d" * 32)
    second = make_recording(
        "e" * 32, 0, frames=0, family="gemini", operation="generateContent", model=None
    )
    first_id, second_id = await cassette.save(first), await cassette.save(second)
    assert await cassette.summaries() == [
        Summary(
            first_id,
            first.key,
            0,
            "openai",
            "chat.completions",
            "gemma-3-4b",
            True,
            first.recorded_at,
            first.request,
        ),
        Summary(
            second_id,
            second.key,
            0,
            "gemini",
            "generateContent",
            None,
            False,
            second.recorded_at,
            second.request,
        ),
    ]


# -- opening --------------------------------------------------------------------------------


async def test_missing_cassette_without_create_is_false_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "missing.db"
    cassette = Cassette(path)
    assert await cassette.open(create=False) is False
    await cassette.close()
    assert not path.parent.exists()
    assert list(tmp_path.iterdir()) == []


async def test_create_makes_the_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c.db"
    cassette = Cassette(path)
    assert await cassette.open(create=True) is True
    await cassette.close()
    assert path.is_file()
    assert await Cassette(path).open(create=False) is True


def test_constructing_touches_nothing(tmp_path: Path) -> None:
    Cassette(tmp_path / "x" / "y.db")
    assert list(tmp_path.iterdir()) == []


def test_schema_version_is_recorded_and_migrations_apply_once(path: Path) -> None:
    for _ in range(3):
        cassette = SQLiteStore(path)
        assert cassette.open(create=True)
        cassette.close()
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        applied = conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = 'localaik'"
        ).fetchall()
        assert applied == [("m001_recordings_and_frames",), ("m002_files",)]
        assert len(applied) == SCHEMA_VERSION
    with Database(path) as db:
        assert MIGRATIONS.pending(db) == []


def test_schema_is_readable_by_plain_sqlite(path: Path) -> None:
    cassette = SQLiteStore(path)
    cassette.open(create=True)
    cassette.save(make_recording())
    cassette.close()
    with Database(path) as db:
        assert set(db.table_names()) >= {"recordings", "frames", "_sqlite_migrations"}
        assert db["recordings"].columns_dict["body"] is bytes
        assert db["frames"].pks == ["recording_id", "seq"]
        (foreign_key,) = db["frames"].foreign_keys
        assert (foreign_key.other_table, foreign_key.other_column) == ("recordings", "id")
        indexes = {tuple(index.columns): index.unique for index in db["recordings"].indexes}
        assert indexes[("key", "ordinal")] == 1 and indexes[("family", "operation")] == 0
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'frames'").fetchone()[0]
        assert "ON DELETE CASCADE" in sql
        assert list(db.query("SELECT stream FROM recordings")) == [{"stream": 1}]


def test_a_newer_schema_is_refused(path: Path) -> None:
    SQLiteStore(path).open(create=True)
    with raw(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(Error, match="newer than this localaik"):
        SQLiteStore(path).open(create=False)


def test_a_file_that_is_not_sqlite_is_a_clear_error(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database, just some text " * 200)
    with pytest.raises(Error, match=f"cassette {path}.*not a database"):
        SQLiteStore(path).open(create=False)


def test_use_before_open_is_an_error(path: Path) -> None:
    cassette = SQLiteStore(path)
    with pytest.raises(Internal, match="not open"):
        cassette.get("a" * 32)
    cassette.close()


def test_wal_mode_and_a_single_file_after_close(path: Path) -> None:
    cassette = SQLiteStore(path)
    cassette.open(create=True)
    cassette.save(make_recording())
    with raw(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    cassette.close()
    assert not path.with_name(path.name + "-wal").exists()
    with raw(path) as conn:
        assert conn.execute("SELECT count(*) FROM recordings").fetchone() == (1,)


def test_two_cassettes_on_one_file_see_each_other(path: Path) -> None:
    writer, reader = SQLiteStore(path), SQLiteStore(path)
    writer.open(create=True)
    reader.open(create=False)
    assert reader.get("a" * 32) is None
    recording_id = writer.save(make_recording())
    assert reader.get("a" * 32) == dataclasses.replace(make_recording(), id=recording_id)
    writer.close()
    reader.close()


async def test_close_twice_and_reopen(path: Path) -> None:
    cassette = Cassette(path)
    await cassette.open(create=True)
    await cassette.save(make_recording())
    await cassette.close()
    await cassette.close()
    assert await cassette.open(create=False)
    assert await cassette.ordinals("a" * 32) == 1
    await cassette.close()


# -- concurrency, bulk, integrity -----------------------------------------------------------


async def test_concurrent_saves_from_many_tasks(cassette: Cassette, path: Path) -> None:
    recordings = [make_recording(f"{index:032x}", frames=index % 7) for index in range(64)]
    ids = await asyncio.gather(*(cassette.save(recording) for recording in recordings))
    assert len(set(ids)) == 64
    assert len(await cassette.summaries()) == 64
    gotten = await asyncio.gather(*(cassette.get(recording.key) for recording in recordings))
    assert gotten == [
        dataclasses.replace(recording, id=recording_id)
        for recording, recording_id in zip(recordings, ids, strict=True)
    ]
    with raw(path) as conn:
        assert conn.execute("SELECT count(*) FROM recordings").fetchone() == (64,)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


async def test_the_event_loop_stays_free_while_sqlite_works(cassette: Cassette) -> None:
    """Saves run in the worker thread: a ticker on the loop keeps ticking meanwhile."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.gather(
        *(cassette.save(make_recording(f"{index:032x}", frames=2000)) for index in range(5))
    )
    task.cancel()
    assert ticks > 5


def test_a_big_bulk_filled_cassette(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    keys = bulk_fill(path, 3000)
    cassette = SQLiteStore(path)
    cassette.open(create=False)
    got = cassette.get(keys[1234])
    assert got is not None and got.request == json.dumps({"body": {"n": 1234}})
    assert len(got.frames) == 3
    assert [summary.key for summary in cassette.summaries()] == keys
    cassette.close()
    with raw(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def check_whole(conn: sqlite3.Connection, seed: int) -> int:
    """Assert the cassette is sound and every recording has all its frames; the count."""
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",), f"seed {seed}"
    rows = conn.execute(
        "SELECT r.key, r.body, count(f.seq), coalesce(max(f.seq), -1) FROM recordings r "
        "LEFT JOIN frames f ON f.recording_id = r.id GROUP BY r.id"
    ).fetchall()
    for key, body, frames, last_seq in rows:
        intended = json.loads(body)["frames"]
        assert (frames, last_seq) == (intended, intended - 1), f"torn {key}, seed {seed}"
    return len(rows)


def test_sigkill_mid_save_leaves_no_partial_recording(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start, rounds, saved = time.monotonic(), 0, 0
    while rounds < 3 or (rounds < 8 and time.monotonic() - start < 2.5):  # ≤ ~4 s in all
        child = subprocess.Popen(
            [sys.executable, str(CHILD), str(path), str(rounds)],
            stdout=subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == b"ready\n"
            time.sleep(rng.uniform(0.02, 0.35))
        finally:
            child.kill()  # SIGKILL: no cleanup, no rollback by the child
            child.wait()
        rounds += 1
        with raw(path) as conn:
            saved = check_whole(conn, seed)
    assert saved > 0, "the child never committed anything: the test proved nothing"
    cassette = SQLiteStore(path)
    assert cassette.open(create=False)
    for summary in cassette.summaries():
        recording = cassette.get(summary.key)
        assert recording is not None and recording.body is not None
        assert len(recording.frames) == json.loads(recording.body)["frames"]
        assert [json.loads(frame.data[6:])["seq"] for frame in recording.frames] == list(
            range(len(recording.frames))
        )
    cassette.close()
