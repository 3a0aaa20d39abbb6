"""The SQLite cassette's schema, versioned through sqlite-utils `Migrations` (DESIGN D8).

Frames live in their own table, keyed by (recording_id, seq), so a long stream is many small
rows rather than one opaque blob, and `sqlite3 cassette.db` stays readable. The migration set
is "localaik"; each migration also writes its number to `PRAGMA user_version`, so any SQLite
tool can see the version, and a cassette from a newer localaik is recognised and refused.

A change to the schema is one more migration here, and `SCHEMA_VERSION` one higher. Committed
cassettes keep working: a read-write open migrates the file, and a read-only open (replay)
migrates an in-memory copy and leaves the file alone (see `localaik.cassette.sqlite`).
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from localaik.errors import CassetteError

SCHEMA_VERSION = 2

MIGRATIONS = Migrations("localaik")


@dataclass(frozen=True)
class Schema:
    """A migration set and the `user_version` its last migration writes. A store takes one,
    so a test can stand for a later localaik by adding a migration."""

    migrations: Migrations
    version: int

    @functools.cached_property
    def names(self) -> frozenset[str]:
        """The names of its migrations (those pending on a database that has none)."""
        empty = Database(memory=True)
        try:
            return frozenset(migration.name for migration in self.migrations.pending(empty))
        finally:
            empty.close()


@MIGRATIONS()
def m001_recordings_and_frames(db: Database) -> None:
    """The first schema: recordings with their fields as columns, frames in their own table."""
    # Flush-left SQL: sqlite_master keeps it verbatim, and `.schema` shows it to people.
    db.execute("""CREATE TABLE recordings (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  ordinal INTEGER NOT NULL DEFAULT 0,
  family TEXT NOT NULL,
  operation TEXT NOT NULL,
  model TEXT,
  stream INTEGER NOT NULL CHECK (stream IN (0, 1)),
  request TEXT NOT NULL,
  upstream_request TEXT NOT NULL,
  status INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  body BLOB,
  duration_ms REAL NOT NULL,
  recorded_at TEXT NOT NULL,
  localaik_version TEXT NOT NULL,
  upstream TEXT NOT NULL,
  upstream_model TEXT,
  upstream_build TEXT
)""")
    db.execute("CREATE UNIQUE INDEX recordings_key_ordinal ON recordings (key, ordinal)")
    db.execute("CREATE INDEX recordings_family_operation ON recordings (family, operation)")
    db.execute("""CREATE TABLE frames (
  recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  offset_ms REAL NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (recording_id, seq)
)""")
    db.execute("PRAGMA user_version = 1")


@MIGRATIONS()
def m002_files(db: Database) -> None:
    """Uploaded files (Gemini and OpenAI Files), content-addressed: one row per distinct bytes,
    which the requests that refer to a file name by its hash (`cassette/files.py`)."""
    db.execute("""CREATE TABLE files (
  sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
  mime_type TEXT NOT NULL,
  display_name TEXT NOT NULL,
  size INTEGER NOT NULL,
  data BLOB NOT NULL,
  stored_at TEXT NOT NULL
)""")
    db.execute("PRAGMA user_version = 2")


SCHEMA = Schema(MIGRATIONS, SCHEMA_VERSION)


def version(db: Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def check_cassette(db: Database, path: Path, schema: Schema, *, empty_ok: bool) -> None:
    """Refuse, before anything is written, a file localaik will not use: one that holds no
    localaik schema, or a newer one than `schema`. What a refused file held stays as it was.

    A cassette is a database where the "localaik" migrations were applied. The only other file
    used is a new one, and only when `empty_ok` (to record into): 0 bytes, or a database with
    nothing in it (no table, view or trigger, and no `user_version` or `application_id` that
    another tool would have set). Anything else is someone else's: a database of another tool
    (even one with a table called "recordings") is never switched to WAL or written into.
    SQLite itself raises "file is not a database" for a file that is not SQLite at all."""
    applied = {migration.name for migration in schema.migrations.applied(db)}
    if not applied:
        held = _held(db)
        if held:
            raise CassetteError(f"{path} is not a localaik cassette ({held}); it is left as it is")
        if not empty_ok:
            raise CassetteError(f"{path} is not a localaik cassette (an empty database)")
        return
    found = version(db)
    if found > schema.version:
        raise CassetteError(
            f"cassette {path} has schema version {found}, newer than this "
            f"localaik understands ({schema.version}); upgrade localaik to use it"
        )
    unknown = sorted(applied - schema.names)
    if unknown:
        raise CassetteError(
            f"cassette {path} has migrations this localaik does not know "
            f"({', '.join(unknown)}): it is from a newer localaik; upgrade localaik to use it"
        )


def _held(db: Database) -> str:
    """What a database without localaik's schema holds ("" when nothing)."""
    names = [name for (name,) in db.execute("SELECT name FROM sqlite_master ORDER BY name")]
    if names:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        return f"it has {shown} but no localaik schema"
    for pragma in ("user_version", "application_id"):
        (value,) = db.execute(f"PRAGMA {pragma}").fetchone()
        if value:
            return f"its {pragma} is {value}, set by another tool"
    return ""


def schema_problems(db: Database, schema: Schema) -> list[str]:
    """What `verify` reports about the schema: a version or a table that is not as expected."""
    problems = []
    found = version(db)
    if found != schema.version:
        problems.append(
            f"schema version {found}, expected {schema.version} "
            "(open it with `localaik serve` in record mode to migrate)"
        )
    for table in ("recordings", "frames", "files"):
        if table not in db.table_names():
            problems.append(f"the {table} table is missing")
    return problems


def upgraded_copy(db: Database, schema: Schema) -> Database | None:
    """An in-memory copy of `db` with the pending migrations of `schema` applied, or None when
    none are pending. The file behind `db` is only read (SQLite's backup API)."""
    if version(db) >= schema.version or not schema.migrations.pending(db):
        return None
    memory = sqlite3.connect(":memory:", check_same_thread=False)  # as the file's (`sqlite.py`)
    try:
        db.conn.backup(memory)
        memory.execute("PRAGMA foreign_keys = ON")
        copy = Database(memory, execute_plugins=False)
        schema.migrations.apply(copy)
    except BaseException:
        memory.close()
        raise
    return copy
