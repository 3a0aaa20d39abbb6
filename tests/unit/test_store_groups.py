"""Quick saves made in one turn of the event loop are stored in one transaction (group commit,
`cassette/grouped.py`), and each keeps its own outcome: a recording that may not be stored
fails alone, another writer's lock is waited for off the loop, a cancelled caller is saved."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import pytest

from localaik.cassette.recording import Recording
from localaik.cassette.sqlite import SQLiteStore
from localaik.cassette.threaded import Cassette
from localaik.errors import CassetteConflict, SecretRefused
from tests.secret_tokens import fakes
from tests.unit.test_store import make_recording
from tests.unit.test_store_busy import loop_ticks, write_lock_held


class CountingStore(SQLiteStore):
    """The SQLite store, noting how many recordings each of its transactions held."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.transactions: list[int] = []

    def save_all(
        self, recordings: Sequence[Recording], *, replace: bool = False, wait: bool = True
    ) -> list[int]:
        self.transactions.append(len(recordings))
        return super().save_all(recordings, replace=replace, wait=wait)


def stored(path: Path) -> list[str]:
    """The keys in the file, in the order they were stored (read as another process would)."""
    with closing(sqlite3.connect(path)) as db:
        return [row[0] for row in db.execute("SELECT key FROM recordings ORDER BY id")]


def plain(key: str, **changes: object) -> Recording:
    return make_recording(key, frames=0, **changes)


async def opened(tmp_path: Path) -> tuple[Cassette, CountingStore]:
    store = CountingStore(tmp_path / "c.db")
    cassette = Cassette(store)
    await cassette.open(create=True)
    return cassette, store


async def test_the_saves_of_one_turn_of_the_loop_go_in_one_transaction(tmp_path: Path) -> None:
    cassette, store = await opened(tmp_path)
    try:
        keys = [f"{n:032x}" for n in range(8)]
        ids = await asyncio.gather(*(cassette.save(plain(key)) for key in keys))
        assert store.transactions == [8]
        assert stored(tmp_path / "c.db") == keys  # in the order they were asked
        for key, recording_id in zip(keys, ids, strict=True):
            found = await cassette.get(key)
            assert found is not None and found.id == recording_id
    finally:
        await cassette.close()


async def test_saves_of_different_turns_are_transactions_of_their_own(tmp_path: Path) -> None:
    cassette, store = await opened(tmp_path)
    try:
        await cassette.save(plain("a" * 32))
        await cassette.save(plain("b" * 32))
        assert store.transactions == [1, 1]
        assert stored(tmp_path / "c.db") == ["a" * 32, "b" * 32]
    finally:
        await cassette.close()


async def test_a_recording_holding_a_key_fails_alone(tmp_path: Path) -> None:
    cassette, store = await opened(tmp_path)
    token = fakes()[0].token
    try:
        outcomes = await asyncio.gather(
            cassette.save(plain("a" * 32)),
            cassette.save(plain("b" * 32, body=b'{"text": "%s"}' % token.encode())),
            cassette.save(plain("c" * 32)),
            return_exceptions=True,
        )
        assert isinstance(outcomes[0], int) and isinstance(outcomes[2], int)
        assert isinstance(outcomes[1], SecretRefused)
        assert token not in str(outcomes[1])
        assert stored(tmp_path / "c.db") == ["a" * 32, "c" * 32]
        assert store.transactions[0] == 3  # tried together first, nothing of it written
    finally:
        await cassette.close()


async def test_a_recording_another_writer_stored_first_fails_alone(tmp_path: Path) -> None:
    cassette, _ = await opened(tmp_path)
    try:
        await cassette.save(plain("b" * 32))
        outcomes = await asyncio.gather(
            cassette.save(plain("a" * 32)),
            cassette.save(plain("b" * 32)),
            cassette.save(plain("c" * 32)),
            return_exceptions=True,
        )
        assert isinstance(outcomes[1], CassetteConflict)
        assert isinstance(outcomes[0], int) and isinstance(outcomes[2], int)
        assert stored(tmp_path / "c.db") == ["b" * 32, "a" * 32, "c" * 32]
    finally:
        await cassette.close()


async def test_a_group_meeting_another_writers_lock_waits_for_it_off_the_loop(
    tmp_path: Path,
) -> None:
    cassette, _ = await opened(tmp_path)
    try:
        keys = [f"{n:032x}" for n in range(3)]
        with write_lock_held(tmp_path / "c.db") as other, loop_ticks() as ticks:
            saves = asyncio.gather(*(cassette.save(plain(key)) for key in keys))
            await asyncio.sleep(0.3)
            assert not saves.done()
            assert ticks[0] >= 10  # the loop ran while the group waited for the lock
            other.execute("COMMIT")
            ids = await asyncio.wait_for(saves, 10)
        assert len(set(ids)) == 3
        assert stored(tmp_path / "c.db") == keys
    finally:
        await cassette.close()


async def test_a_caller_cancelled_while_its_group_waits_is_still_saved(tmp_path: Path) -> None:
    cassette, _ = await opened(tmp_path)
    try:
        left = asyncio.create_task(cassette.save(plain("a" * 32)))
        stays = asyncio.create_task(cassette.save(plain("b" * 32)))
        await asyncio.sleep(0)  # both joined the group
        left.cancel()
        assert isinstance(await stays, int)
        with pytest.raises(asyncio.CancelledError):
            await left
        assert stored(tmp_path / "c.db") == ["a" * 32, "b" * 32]
    finally:
        await cassette.close()
