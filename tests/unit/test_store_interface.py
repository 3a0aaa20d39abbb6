"""The cassette store interface, and the promises SQLite keeps behind it: a committed cassette
never breaks (a read-only open upgrades an older schema in memory and leaves the file as it
was), files that are not cassettes are refused untouched, nearest matches and freshness come
from the store."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import re
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from localaik.cassette.files import StoredFile
from localaik.cassette.miss import NearestIndex
from localaik.cassette.recording import Recording
from localaik.cassette.schema import (
    SCHEMA_VERSION,
    Schema,
    m001_recordings_and_frames,
    m002_files,
)
from localaik.cassette.sqlite import SQLiteStore
from localaik.cassette.store import CassetteStore, store_for
from localaik.cassette.threaded import Cassette
from localaik.errors import CassetteError, Internal, SecretRefused
from tests.unit.test_store import make_recording

PREVIOUS = Path(__file__).resolve().parents[1] / "compat" / "previous.db"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def side_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


def later_schema() -> Schema:
    """What a later localaik could ship: a column with a default and a table."""
    migrations = Migrations("localaik")
    migrations()(m001_recordings_and_frames)
    migrations()(m002_files)

    @migrations()
    def m003_notes_and_tags(db: Database) -> None:
        db.execute("ALTER TABLE recordings ADD COLUMN note TEXT NOT NULL DEFAULT 'none'")
        db.execute("CREATE TABLE tags (recording_id INTEGER NOT NULL, tag TEXT NOT NULL)")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")

    return Schema(migrations, SCHEMA_VERSION + 1)


@pytest.fixture()
def previous(tmp_path: Path) -> Path:
    """A copy of the committed compatibility cassette (schema 1, recorded by 0.1.0)."""
    path = tmp_path / "previous.db"
    shutil.copyfile(PREVIOUS, path)
    return path


# -- (a) the interface --------------------------------------------------------------------------


def test_sqlite_store_satisfies_the_interface(tmp_path: Path) -> None:
    store: CassetteStore = store_for(tmp_path / "c.db")  # and mypy checks the assignment
    assert isinstance(store, CassetteStore) and isinstance(store, SQLiteStore)
    members = {
        name
        for name, _ in inspect.getmembers(CassetteStore)
        if not name.startswith("_") and name in CassetteStore.__dict__
    }
    assert members == {
        "location", "open", "get", "ordinals", "save", "save_all", "flush", "summaries",
        "recordings", "delete", "nearest", "stamp", "close", "save_file", "file", "files",
    }  # fmt: skip
    for name in members - {"location"}:
        wanted = inspect.signature(getattr(CassetteStore, name))
        got = inspect.signature(getattr(SQLiteStore, name))
        assert list(got.parameters) == list(wanted.parameters), name
    assert store.location == str(tmp_path / "c.db")


def test_a_store_keeps_uploaded_files_by_hash_once_and_refuses_keys(tmp_path: Path) -> None:
    store = store_for(tmp_path / "c.db")
    assert store.open(create=True)
    try:
        notes = StoredFile.of(b"notes", "text/plain", "notes.txt")
        assert store.save_file(notes)
        assert not store.save_file(StoredFile.of(b"notes", "text/csv", "again.csv"))
        assert store.file(notes.sha256) == notes and notes.sound()
        assert store.file("0" * 64) is None
        planted = StoredFile.of(b"key: sk-proj-" + b"A1b2C3d4" * 6, "text/plain", "k")
        with pytest.raises(SecretRefused, match="not storing the uploaded file"):
            store.save_file(planted)
        assert list(store.files()) == [notes]
    finally:
        store.close()


def test_the_async_view_wraps_any_store(tmp_path: Path) -> None:
    store = store_for(tmp_path / "c.db", readonly=True)
    assert Cassette(store).store is store
    made = Cassette(tmp_path / "c.db", readonly=True).store
    assert isinstance(made, SQLiteStore) and made.readonly and made.path == tmp_path / "c.db"


# -- (b) a storage change never breaks committed cassettes ---------------------------------------


def test_a_read_only_open_upgrades_an_older_cassette_in_memory(previous: Path) -> None:
    before = digest(previous)
    with closing(sqlite3.connect(f"{previous.as_uri()}?mode=ro", uri=True)) as raw:
        frames = dict(
            raw.execute(
                "SELECT r.key || '/' || r.ordinal, count(f.seq) FROM recordings r "
                "LEFT JOIN frames f ON f.recording_id = r.id GROUP BY r.id"
            ).fetchall()
        )
    store = SQLiteStore(previous, readonly=True, schema=later_schema())
    assert store.open()
    try:
        assert store.upgraded and store.schema_version() == SCHEMA_VERSION + 1
        summaries = store.summaries()
        assert len(summaries) == len(frames) > 0
        for summary in summaries:
            recording = store.get(summary.key, summary.ordinal)
            assert recording is not None and recording.request == summary.request
            assert len(recording.frames) == frames[f"{summary.key}/{summary.ordinal}"]
        assert len(list(store.recordings())) == len(summaries)
        [(_, differences)] = store.nearest(json.loads(summaries[0].request), limit=1)
        assert differences == []  # an exact match
        # The upgraded view has the new schema (reached through the private connection: the
        # interface has no reason to show columns).
        view = store._connection()
        assert view["recordings"].columns_dict["note"] is str
        assert {row[0] for row in view.execute("SELECT DISTINCT note FROM recordings")} == {"none"}
        assert view["tags"].exists()
        assert store.check() == []
        with pytest.raises(Internal, match="read-only"):
            store.save(make_recording())
    finally:
        store.close()
    assert digest(previous) == before
    assert side_files(previous) == []


def test_the_current_schema_is_read_from_the_file_itself(previous: Path) -> None:
    # Schema 1 (no files table) is served upgraded, with no files; the file is left as it was.
    before = digest(previous)
    older = store_for(previous, readonly=True)
    assert older.open()
    assert older.upgraded and list(older.files()) == [] and len(older.summaries()) > 0
    older.close()
    assert digest(previous) == before
    migrating = store_for(previous)  # a read-write open migrates the file to this schema
    assert migrating.open()
    migrating.close()
    before = digest(previous)
    store = store_for(previous, readonly=True)
    assert store.open()
    assert not store.upgraded and store.schema_version() == SCHEMA_VERSION
    assert len(store.summaries()) > 0
    store.close()
    assert digest(previous) == before and side_files(previous) == []


async def test_the_server_view_replays_an_upgraded_cassette(previous: Path) -> None:
    before = digest(previous)
    cassette = Cassette(SQLiteStore(previous, readonly=True, schema=later_schema()))
    assert await cassette.open(create=False)
    [first, *_] = await cassette.summaries()
    found = await cassette.get(first.key, first.ordinal)
    assert found is not None and found.key == first.key
    assert await cassette.get(first.key, first.ordinal) is found  # the hit cache
    await cassette.close()
    assert digest(previous) == before and side_files(previous) == []


def test_a_read_write_open_migrates_the_file(previous: Path) -> None:
    store = SQLiteStore(previous, schema=later_schema())
    assert store.open() and not store.upgraded
    store.close()
    with closing(sqlite3.connect(previous)) as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION + 1,)
        assert "note" in [row[1] for row in raw.execute("PRAGMA table_info(recordings)")]


# -- (c), (d) refused, untouched ------------------------------------------------------------------


@pytest.mark.parametrize("readonly", [True, False], ids=["readonly", "readwrite"])
def test_a_newer_schema_is_refused_untouched(previous: Path, readonly: bool) -> None:
    with closing(sqlite3.connect(previous)) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = digest(previous)
    store = store_for(previous, readonly=readonly)
    with pytest.raises(CassetteError) as refused:
        store.open()
    assert refused.value.message == (
        f"cassette {previous} has schema version {SCHEMA_VERSION + 1}, newer than this localaik "
        f"understands ({SCHEMA_VERSION}); upgrade localaik to use it"
    )
    store.close()
    assert digest(previous) == before and side_files(previous) == []


def test_a_sqlite_file_that_is_not_a_cassette_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    with closing(sqlite3.connect(path)) as raw, raw:
        raw.execute("CREATE TABLE notes (text TEXT)")
        raw.execute("INSERT INTO notes VALUES ('mine')")
    before = digest(path)
    for readonly in (True, False):
        store = store_for(path, readonly=readonly)
        with pytest.raises(CassetteError, match=f"^{re.escape(str(path))} is not a localaik"):
            store.open()
        store.close()
        assert digest(path) == before and side_files(path) == []


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    path.write_bytes(b"not a database, just some text " * 200)
    for readonly in (True, False):
        store = store_for(path, readonly=readonly)
        with pytest.raises(CassetteError, match=re.escape(f"{path}: file is not a database")):
            store.open()
        store.close()
        assert path.read_bytes() == b"not a database, just some text " * 200
        assert side_files(path) == []


def foreign_database(path: Path, *statements: str) -> Path:
    with closing(sqlite3.connect(path)) as raw, raw:
        for statement in statements:
            raw.execute(statement)
    return path


# Files record mode must not use, each with what the refusal says about it.
FOREIGN = {
    "a recordings table of another tool": (
        ("CREATE TABLE recordings (id INTEGER PRIMARY KEY, what TEXT)",),
        "is not a localaik cassette (it has recordings but no localaik schema)",
    ),
    "the same in WAL mode": (
        ("PRAGMA journal_mode = WAL", "CREATE TABLE recordings (what TEXT)"),
        "is not a localaik cassette (it has recordings but no localaik schema)",
    ),
    "only a view": (
        ("CREATE VIEW answers AS SELECT 42 AS answer",),
        "is not a localaik cassette (it has answers but no localaik schema)",
    ),
    "only a user_version": (
        ("PRAGMA user_version = 7",),
        "is not a localaik cassette (its user_version is 7, set by another tool)",
    ),
    "only an application_id": (
        ("PRAGMA application_id = 1179603026",),
        "is not a localaik cassette (its application_id is 1179603026, set by another tool)",
    ),
}


@pytest.mark.parametrize("case", list(FOREIGN))
@pytest.mark.parametrize("readonly", [True, False], ids=["readonly", "readwrite"])
def test_a_database_of_another_tool_is_refused_byte_for_byte(
    tmp_path: Path, case: str, readonly: bool
) -> None:
    """Not switched to WAL, no table of localaik's written into it, nothing left beside it."""
    statements, says = FOREIGN[case]
    path = foreign_database(tmp_path / "theirs.db", *statements)
    before = digest(path)
    store = store_for(path, readonly=readonly)
    with pytest.raises(CassetteError) as refused:
        store.open(create=True)
    assert refused.value.message.startswith(f"{path} {says}")
    store.close()
    assert digest(path) == before
    if readonly and "WAL" in case:
        # A read-only connection to a WAL database needs its -shm, and cannot remove it.
        assert (path.parent / "theirs.db-wal").read_bytes() == b""
    else:
        assert side_files(path) == []


def test_a_cassette_with_migrations_this_localaik_does_not_know_is_refused(
    previous: Path,
) -> None:
    """A newer localaik's cassette is known by its migrations too, whatever its user_version."""
    store = SQLiteStore(previous, schema=later_schema())
    store.open()
    store.close()
    with closing(sqlite3.connect(previous)) as raw, raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    before = digest(previous)
    for readonly in (True, False):
        store = store_for(previous, readonly=readonly)
        with pytest.raises(CassetteError, match="m003_notes_and_tags.*from a newer localaik"):
            store.open(create=True)
        store.close()
        assert digest(previous) == before and side_files(previous) == []


def test_an_empty_database_can_become_a_cassette(tmp_path: Path) -> None:
    """Nothing in it to lose: a database created by `sqlite3 c.db VACUUM`, or left by a
    localaik stopped before its first migration."""
    path = foreign_database(tmp_path / "c.db", "VACUUM")
    assert path.stat().st_size > 0
    store = store_for(path)
    assert store.open()
    store.save(make_recording())
    store.close()
    assert side_files(path) == []
    assert store_for(path, readonly=True).open()


def test_an_empty_file_is_not_a_cassette_to_read_but_can_become_one(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    path.touch()
    with pytest.raises(CassetteError, match="not a localaik cassette"):
        store_for(path, readonly=True).open()
    assert path.read_bytes() == b""
    store = store_for(path)
    assert store.open()
    store.close()


# -- (e) nearest through the store ---------------------------------------------------------------


def canon(text: str, **more: object) -> dict[str, object]:
    body = {"messages": [{"role": "user", "content": text}], **more}
    return {
        "family": "openai",
        "operation": "chat.completions",
        "model": "gemma-3-4b",
        "stream": False,
        "body": body,
    }


def recording_for(text: str, index: int) -> Recording:
    return make_recording(f"{index:032x}", frames=0, request=json.dumps(canon(text)))


def test_nearest_is_what_the_index_gives_and_follows_saves(tmp_path: Path) -> None:
    store = store_for(tmp_path / "c.db")
    store.open(create=True)
    texts = ["hello there", "hello world", "good night", "a long story about ships"]
    store.save_all([recording_for(text, i) for i, text in enumerate(texts)])
    query = canon("hello world", temperature=0.5)

    assert store.nearest(query) == NearestIndex(store.summaries()).nearest(query)
    assert store.nearest(query, limit=1)[0][0].key == f"{1:032x}"

    saved = store.save(make_recording("f" * 32, frames=0, request=json.dumps(query)))
    [(closest, differences)] = store.nearest(query, limit=1)
    assert (closest.id, closest.key, differences) == (saved, "f" * 32, [])
    assert store.nearest(query) == NearestIndex(store.summaries()).nearest(query)

    store.delete([saved])
    assert store.nearest(query, limit=1)[0][0].key == f"{1:032x}"
    store.close()


def test_nearest_sees_what_another_writer_saved(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    reader, writer = store_for(path), store_for(path)
    reader.open(create=True)
    writer.open()
    writer.save(recording_for("hello there", 1))
    query = canon("good night")
    assert reader.nearest(query, limit=1)[0][0].key == f"{1:032x}"
    writer.save(recording_for("good night", 2))
    assert reader.nearest(query, limit=1)[0][0].key == f"{2:032x}"
    reader.close()
    writer.close()


# -- (f) freshness -------------------------------------------------------------------------------


def test_stamp_changes_after_a_save_by_another_store_on_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    watcher, writer = store_for(path), store_for(path)
    watcher.open(create=True)
    writer.open()
    stamp = watcher.stamp()
    assert watcher.stamp() == stamp  # nothing changed, nothing to read again
    writer.save(make_recording())
    assert watcher.stamp() != stamp
    stamp = watcher.stamp()
    writer.save(dataclasses.replace(make_recording(), status=201), replace=True)
    assert watcher.stamp() != stamp
    watcher.close()
    writer.close()
    assert store_for(path).stamp() == store_for(path).stamp()  # open or not, any store object
