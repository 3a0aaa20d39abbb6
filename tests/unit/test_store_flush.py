"""When the async cassette copies its saves into the .db file: shortly after they pause (not
after each one), once for all of them, and on close, whichever event loop closes it."""

from __future__ import annotations

import asyncio
import math
import shutil
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

from localaik.cassette.sqlite import SQLiteStore
from localaik.cassette.threaded import FLUSH_AFTER, Cassette
from tests.unit.test_store import make_recording


class CountingStore(SQLiteStore):
    """The SQLite store, counting the flushes asked of it."""

    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def keys_in_db_file_alone(path: Path, copy: Path) -> list[str]:
    """The keys a copy of the .db file holds without its write-ahead log (what `git add` or
    `cp cassette.db` takes while the server runs)."""
    shutil.copyfile(path, copy)
    with closing(sqlite3.connect(copy)) as db:
        return [row[0] for row in db.execute("SELECT key FROM recordings ORDER BY id")]


async def test_saves_reach_the_db_file_shortly_after_they_pause(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "c.db")
    cassette = Cassette(store)
    await cassette.open(create=True)
    keys = [f"{n:02d}" * 16 for n in range(20)]
    started = time.monotonic()
    for key in keys:
        await cassette.save(make_recording(key))
    took = time.monotonic() - started

    deadline = time.monotonic() + 10
    while keys_in_db_file_alone(tmp_path / "c.db", tmp_path / "copy.db") != keys:
        assert time.monotonic() < deadline, "the saves never reached the .db file"
        await asyncio.sleep(FLUSH_AFTER / 5)

    # At most one flush per FLUSH_AFTER the saves took, and one after them: not one per save.
    assert 1 <= store.flushes <= 1 + math.ceil(took / FLUSH_AFTER)
    await cassette.close()


async def test_close_flushes_at_once_and_leaves_no_side_files(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "c.db")
    cassette = Cassette(store)
    await cassette.open(create=True)
    await cassette.save(make_recording("a" * 32))

    await cassette.close()

    assert store.flushes == 0, "close copies the log itself; the timed flush was cancelled"
    await asyncio.sleep(FLUSH_AFTER * 2)
    assert store.flushes == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.db"]
    assert keys_in_db_file_alone(tmp_path / "c.db", tmp_path / "copy.db") == ["a" * 32]


def test_a_cassette_saved_in_one_event_loop_closes_in_another(tmp_path: Path) -> None:
    # An app served by one loop and called in-process from a second (as test clients are):
    # the save's loop is still running, its flush still due, when the other loop closes.
    cassette = Cassette(tmp_path / "c.db")
    serving = asyncio.new_event_loop()
    thread = threading.Thread(target=serving.run_forever, daemon=True)
    thread.start()
    try:

        async def record() -> None:
            await cassette.open(create=True)
            await cassette.save(make_recording("a" * 32))

        asyncio.run_coroutine_threadsafe(record(), serving).result(timeout=10)
        asyncio.run(cassette.close())
    finally:
        serving.call_soon_threadsafe(serving.stop)
        thread.join(timeout=10)
        serving.close()

    assert keys_in_db_file_alone(tmp_path / "c.db", tmp_path / "copy.db") == ["a" * 32]
    assert not (tmp_path / "c.db-wal").exists()


def test_a_flush_may_run_on_another_thread_while_saves_go_on(tmp_path: Path) -> None:
    # The server's worker flushes while the event loop's thread saves (`store.py`).
    store = SQLiteStore(tmp_path / "c.db")
    store.open(create=True)
    keys = [f"{n:03d}".ljust(32, "f") for n in range(150)]
    errors: list[BaseException] = []
    saving = True

    def flush_meanwhile() -> None:
        while saving:
            try:
                store.flush()
            except BaseException as exc:  # collected: the test fails on it below
                errors.append(exc)
                return

    flusher = threading.Thread(target=flush_meanwhile)
    flusher.start()
    try:
        for key in keys:
            store.save(make_recording(key))
    finally:
        saving = False
        flusher.join(10)
    assert errors == []
    store.flush()
    assert keys_in_db_file_alone(tmp_path / "c.db", tmp_path / "copy.db") == keys
    store.close()
