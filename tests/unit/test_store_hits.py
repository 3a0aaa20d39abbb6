"""The cassette's memory of replayed recordings: a hit read twice is read from SQLite once, and
a recording changed since (by this object or by another process) is read anew."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path

from localaik.cassette.threaded import Cassette
from tests.unit.test_store import make_recording


async def test_a_hit_is_served_from_memory_while_the_file_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    writer = Cassette(path)
    await writer.open(create=True)
    await writer.save(make_recording("a" * 32))
    reader = Cassette(path, readonly=True)
    await reader.open(create=False)
    first = await reader.get("a" * 32)

    again = await reader.get("a" * 32)

    # The very same object: a read from SQLite builds a new Recording every time.
    assert first is not None and again is first
    await reader.close()
    await writer.close()


async def test_a_recording_replaced_by_another_writer_is_read_anew(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    writer = Cassette(path)
    await writer.open(create=True)
    await writer.save(make_recording("a" * 32))
    reader = Cassette(path)
    await reader.open(create=False)
    old = await reader.get("a" * 32)
    assert old is not None and await reader.get("a" * 32) is old

    new = dataclasses.replace(
        make_recording("a" * 32), body=b'{"answer": "new"}', frames=[], stream=False
    )
    await writer.save(new, replace=True)

    assert (await reader.get("a" * 32)).body == b'{"answer": "new"}'  # type: ignore[union-attr]
    # And by anything else that writes the file (the sqlite3 shell, another localaik).
    with sqlite3.connect(path) as db:
        db.execute("UPDATE recordings SET body = ? WHERE key = ?", (b'{"answer": "x"}', "a" * 32))
    assert (await reader.get("a" * 32)).body == b'{"answer": "x"}'  # type: ignore[union-attr]
    await reader.close()
    await writer.close()


async def test_a_save_through_the_same_object_is_seen_at_once(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "c.db")
    await cassette.open(create=True)
    await cassette.save(make_recording("a" * 32))
    assert await cassette.get("a" * 32) is not None
    await cassette.save(dataclasses.replace(make_recording("a" * 32), status=404), replace=True)

    assert (await cassette.get("a" * 32)).status == 404  # type: ignore[union-attr]
    await cassette.close()


async def test_the_stamp_is_read_once_a_turn_of_the_loop(tmp_path: Path) -> None:
    """Requests answered in one turn of the event loop share one read of the file's stamp; a
    change by another process shows from the next turn, one by this object at once."""
    path = tmp_path / "c.db"
    cassette = Cassette(path)
    await cassette.open(create=True)
    await cassette.save(make_recording("a" * 32))
    await asyncio.sleep(0)
    before = cassette.stamp()
    with sqlite3.connect(path) as db:  # another writer, within this turn
        # Large enough that the file grows: the stamp's sizes change, whatever the clock's grain.
        db.execute("UPDATE recordings SET body = ? WHERE key = ?", (b"x" * 200_000, "a" * 32))
    assert cassette.stamp() == before  # the same turn: as a request a moment earlier saw it
    await asyncio.sleep(0)
    changed = cassette.stamp()
    assert changed != before  # the next turn sees the change
    assert changed == cassette.store.stamp()

    await cassette.save(make_recording("b" * 32))  # this object's own save: at once
    assert cassette.stamp() == cassette.store.stamp() != changed
    await cassette.close()


def test_off_an_event_loop_the_stamp_is_read_each_time(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    cassette = Cassette(path)
    before = cassette.stamp()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO t VALUES (?)", (b"x" * 200_000,))
    assert cassette.stamp() != before
