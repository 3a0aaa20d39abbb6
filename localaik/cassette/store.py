"""The cassette: one SQLite file of recorded upstream exchanges (DESIGN D2, D8).

A recording is the upstream exchange for one normalised client request (its key) and an
ordinal (the n-th answer for that key under LK_REPEATS=sequence): status, body or stream
frames with their time offsets, the canonical client request (for miss diagnostics and review)
and provenance. Frames live in their own table, keyed by (recording_id, seq), so a long stream
is many small rows rather than one opaque blob, and `sqlite3 cassette.db` stays readable.

Durability: WAL mode, and every save is one `BEGIN IMMEDIATE` transaction holding the
recording and all its frames, so a crash (even SIGKILL) leaves either the whole recording or
none of it. `synchronous=NORMAL` is enough under WAL: a power cut may lose the last commits,
never consistency. Closing the last connection folds the WAL back into the main file, so a
cleanly closed cassette is one self-contained file, ready to commit.

Hits: a replayed recording is kept in memory (`_HitCache`, bounded), so serving it again costs
no SQL and no trip to the worker thread. An entry is good while the cassette file and its
WAL file keep their size and modification time, and this object's own saves drop them all, so
a recording changed by another process is read anew.

Threads: an sqlite3 connection belongs to the thread that opened it, and SQLite calls block.
So each Cassette owns one worker thread; every query runs there, the async methods await it
through `loop.run_in_executor` (the event loop never blocks on disk), and the `*_sync` twins
(CLI, tests) wait for the same thread. A cancelled `save` still finishes in the worker; it
is atomic either way.

The SQLite boundary: sqlite3 errors are converted into `localaik.errors` here, naming the
cassette. The schema is versioned through sqlite-utils `Migrations` (set "localaik"); the
version is also written to `PRAGMA user_version` so any SQLite tool can see it.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from localaik.cassette.recording import Frame, Recording, Summary
from localaik.cassette.secrets import locate_secret
from localaik.errors import Error, Internal, SecretRefused

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5000

MIGRATIONS = Migrations("localaik")

T = TypeVar("T")


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


_COLUMNS = ("key", "ordinal", "family", "operation", "model", "stream", "request",
            "upstream_request", "status", "content_type", "body", "duration_ms", "recorded_at",
            "localaik_version", "upstream", "upstream_model", "upstream_build")
_INSERT = (f"INSERT INTO recordings ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(_COLUMNS))})")
_SELECT = f"SELECT id, {', '.join(_COLUMNS)} FROM recordings WHERE key = ? AND ordinal = ?"
_SUMMARIES = ("SELECT id, key, ordinal, family, operation, model, stream, recorded_at, request "
              "FROM recordings ORDER BY id")


@contextmanager
def _write(db: Database) -> Iterator[None]:
    """One write transaction that takes the write lock up front (waiting up to the busy
    timeout), so two processes sharing a cassette queue instead of failing mid-transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise


@contextmanager
def _read(db: Database) -> Iterator[None]:
    """One read transaction: a recording and its frames come from the same snapshot, even
    while another process replaces it."""
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.rollback()


def _migrate(db: Database, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise Error(f"cassette {path} has schema version {version}, newer than this "
                    f"localaik understands ({SCHEMA_VERSION}); upgrade localaik to use it")
    if not MIGRATIONS.pending(db):
        return
    with _write(db):
        MIGRATIONS.apply(db)  # checks again under the write lock: another process may have won


def _check_readable(db: Database, path: Path) -> None:
    """A file opened read-only must be a localaik cassette this version can read."""
    tables = set(db.table_names())  # raises "file is not a database" for other files
    if "recordings" not in tables:
        raise Error(f"{path} is not a localaik cassette (no recordings table)")
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise Error(f"cassette {path} has schema version {version}, newer than this "
                    f"localaik understands ({SCHEMA_VERSION}); upgrade localaik to use it")


def file_stamp(path: Path) -> tuple[int, ...]:
    """What changes when a cassette changes: the modification time and size of the file and of
    its write-ahead log (-1 for a file that is not there)."""
    found: list[int] = []
    for file in (path, path.with_name(path.name + "-wal")):
        try:
            info = os.stat(file)
        except OSError:
            found += [-1, -1]
        else:
            found += [info.st_mtime_ns, info.st_size]
    return tuple(found)


class _HitCache:
    """Recordings already read, by (key, ordinal), for as long as the files are unchanged."""

    ENTRIES = 1024
    BYTES = 64 * 1024 * 1024

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: OrderedDict[tuple[str, int], tuple[Recording, int]] = OrderedDict()
        self.size = 0
        self.stamp: tuple[int, ...] | None = None

    def _stamp(self) -> tuple[int, ...]:
        return file_stamp(self.path)

    def get(self, key: str, ordinal: int) -> Recording | None:
        if not self.entries:
            return None
        if self._stamp() != self.stamp:
            self.clear()
            return None
        found = self.entries.get((key, ordinal))
        if found is None:
            return None
        self.entries.move_to_end((key, ordinal))
        return found[0]

    def put(self, recording: Recording, stamp: tuple[int, ...]) -> None:
        if stamp != self.stamp:
            self.clear()
            self.stamp = stamp
        size = len(recording.body or b"") + sum(len(f.data) for f in recording.frames) \
            + len(recording.request) + len(recording.upstream_request)
        if size > self.BYTES // 8:
            return
        old = self.entries.pop((recording.key, recording.ordinal), None)
        self.size += size - (old[1] if old else 0)
        self.entries[(recording.key, recording.ordinal)] = (recording, size)
        while len(self.entries) > self.ENTRIES or self.size > self.BYTES:
            _, (_, dropped) = self.entries.popitem(last=False)
            self.size -= dropped

    def clear(self) -> None:
        self.entries.clear()
        self.size = 0
        self.stamp = None


class Cassette:
    """One cassette file. All SQLite work runs in this object's single worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: Database | None = None
        self._readonly = False
        self._executor: ThreadPoolExecutor | None = None
        self._hits = _HitCache(self.path)

    def __repr__(self) -> str:
        return f"Cassette({str(self.path)!r})"

    # -- the async API (the server) -------------------------------------------------------

    async def open(self, *, create: bool, readonly: bool = False) -> bool:
        """Open (and migrate) the file. False when it does not exist and `create` is False.
        `readonly` as for `open_sync`."""
        return await self._run(self._open, create and not readonly, readonly)

    async def get(self, key: str, ordinal: int = 0) -> Recording | None:
        found = self._hits.get(key, ordinal)
        if found is not None:
            return found
        # The files' stamp from before the read: a change during it makes the entry stale.
        stamp = self._hits._stamp()
        found = await self._run(self._get, key, ordinal)
        if found is not None:
            self._hits.put(found, stamp)
        return found

    async def ordinals(self, key: str) -> int:
        """How many ordinals exist for `key`, which is also the next free ordinal."""
        return await self._run(self._ordinals, key)

    async def save(self, recording: Recording, *, replace: bool = False) -> int:
        """Store `recording` and its frames in one transaction; returns its id.

        `replace=True` overwrites the recording at the same (key, ordinal). Raises
        SecretRefused, writing nothing, when the recording holds something shaped like a key.
        """
        self._refuse_secrets(recording)
        self._hits.clear()
        try:
            return await self._run(self._save, recording, replace)
        finally:
            self._hits.clear()

    async def summaries(self) -> list[Summary]:
        return await self._run(self._summaries)

    async def close(self) -> None:
        """Close the connection (in its thread) and stop the worker. Safe to call twice."""
        self._hits.clear()
        if self._executor is None:
            return
        try:
            await self._run(self._close)
        finally:
            self._shutdown()

    # -- the sync twins (CLI, tests): the same work, waited for on the same thread --------

    def open_sync(self, *, create: bool = False, readonly: bool = False) -> bool:
        """As `open`; `readonly` opens an existing cassette without writing anything to it
        (no migration: a cassette of an older schema is read as it is)."""
        return self._run_sync(self._open, create and not readonly, readonly)

    def get_sync(self, key: str, ordinal: int = 0) -> Recording | None:
        return self._run_sync(self._get, key, ordinal)

    def ordinals_sync(self, key: str) -> int:
        return self._run_sync(self._ordinals, key)

    def save_sync(self, recording: Recording, *, replace: bool = False) -> int:
        self._refuse_secrets(recording)
        self._hits.clear()
        return self._run_sync(self._save, recording, replace)

    def save_all_sync(self, recordings: list[Recording], *, replace: bool = False) -> list[int]:
        """Save several recordings in one transaction: all of them, or none."""
        for recording in recordings:
            self._refuse_secrets(recording)
        self._hits.clear()
        return self._run_sync(self._save_all, recordings, replace)

    def summaries_sync(self) -> list[Summary]:
        return self._run_sync(self._summaries)

    def sizes_sync(self) -> dict[int, int]:
        """Bytes of answer (body and frames) per recording id."""
        return self._run_sync(self._sizes)

    def recordings_sync(self) -> Iterator[Recording]:
        """Every recording with its frames, in id order, read a batch at a time."""
        ids = self._run_sync(self._ids)
        for start in range(0, len(ids), 200):
            yield from self._run_sync(self._get_ids, ids[start:start + 200])

    def delete_sync(self, ids: list[int]) -> int:
        """Delete the recordings with these ids (and their frames) in one transaction."""
        self._hits.clear()
        return self._run_sync(self._delete, ids)

    def check_sync(self) -> list[str]:
        """SQLite's own checks (integrity, foreign keys) and the schema's: problems found."""
        return self._run_sync(self._check)

    def schema_version_sync(self) -> int:
        return self._run_sync(self._schema_version)

    def close_sync(self) -> None:
        if self._executor is None:
            return
        try:
            self._run_sync(self._close)
        finally:
            self._shutdown()

    # -- plumbing -------------------------------------------------------------------------

    def _worker(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=f"cassette-{self.path.name}")
        return self._executor

    def _shutdown(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)  # the close job was the last; nothing is left

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._worker(), fn, *args)

    def _run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        return self._worker().submit(fn, *args).result()

    def _refuse_secrets(self, recording: Recording) -> None:
        found = locate_secret(recording)
        if found is not None:
            kind, where = found
            article = "an" if kind[0] in "AEIOU" else "a"
            raise SecretRefused(
                f"not recording into cassette {self.path}: the {where} field holds something "
                f"shaped like {article} {kind}. Cassettes are meant to be committed, so "
                f"localaik never stores keys or tokens; take it out of the request and retry.")

    def _connection(self) -> Database:
        if self._db is None:
            raise Internal(f"cassette {self.path} is not open")
        return self._db

    @contextmanager
    def _sqlite_errors(self, doing: str) -> Iterator[None]:
        """The SQLite error boundary: sqlite3 errors become localaik errors naming the file."""
        try:
            yield
        except sqlite3.IntegrityError as exc:
            raise Internal(f"cannot {doing} in cassette {self.path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise Error(f"cannot {doing} in cassette {self.path}: {exc}") from exc

    # -- the work, always on the worker thread --------------------------------------------

    def _open(self, create: bool, readonly: bool) -> bool:
        if self._db is not None:
            return True
        if not create and not self.path.exists():
            return False
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # mode=rw: a cassette that vanished since the check above is not created after all.
        mode = "ro" if readonly else "rwc" if create else "rw"
        uri = f"{self.path.resolve().as_uri()}?mode={mode}"
        try:
            conn = sqlite3.connect(uri, uri=True)
        except sqlite3.OperationalError as exc:
            if not create and not self.path.exists():
                return False
            raise Error(f"cannot open cassette {self.path}: {exc}") from exc
        try:
            with self._sqlite_errors("open the schema"):
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA foreign_keys = ON")
                db = Database(conn, execute_plugins=False)
                if readonly:
                    _check_readable(db, self.path)
                else:
                    db.enable_wal()
                    conn.execute("PRAGMA synchronous = NORMAL")
                    _migrate(db, self.path)
        except BaseException:
            conn.close()
            raise
        self._db = db
        self._readonly = readonly
        return True

    def _get(self, key: str, ordinal: int) -> Recording | None:
        db = self._connection()
        with self._sqlite_errors("read a recording"), _read(db):
            row = db.execute(_SELECT, (key, ordinal)).fetchone()
            if row is None:
                return None
            frames = [Frame(offset_ms, data) for offset_ms, data in db.execute(
                "SELECT offset_ms, data FROM frames WHERE recording_id = ? ORDER BY seq",
                (row[0],))]
        values = dict(zip(_COLUMNS, row[1:], strict=True))
        values["stream"] = bool(values["stream"])
        return Recording(**values, frames=frames, id=row[0])

    def _ordinals(self, key: str) -> int:
        db = self._connection()
        with self._sqlite_errors("count recordings"):
            (count,) = db.execute(
                "SELECT coalesce(max(ordinal) + 1, 0) FROM recordings WHERE key = ?",
                (key,)).fetchone()
        return int(count)

    def _save(self, recording: Recording, replace: bool) -> int:
        return self._save_all([recording], replace)[0]

    def _save_all(self, recordings: list[Recording], replace: bool) -> list[int]:
        db = self._connection()
        ids = []
        with self._sqlite_errors("save a recording"):
            with _write(db):
                for recording in recordings:
                    ids.append(self._insert(db, recording, replace))
            # Copy the write into the .db file now, so a cassette committed while the server
            # still runs holds every recording (WAL would otherwise keep them beside it).
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return ids

    def _insert(self, db: Database, recording: Recording, replace: bool) -> int:
        values = [getattr(recording, column) for column in _COLUMNS]
        values[_COLUMNS.index("stream")] = int(recording.stream)
        try:
            if replace:
                db.execute("DELETE FROM recordings WHERE key = ? AND ordinal = ?",
                           (recording.key, recording.ordinal))  # its frames cascade
            recording_id = db.execute(_INSERT, values).lastrowid
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" not in str(exc):
                raise
            raise Internal(
                f"cassette {self.path} already holds a recording for key {recording.key} "
                f"ordinal {recording.ordinal}; save with replace=True to overwrite it"
            ) from exc
        assert recording_id is not None
        db.conn.executemany(
            "INSERT INTO frames (recording_id, seq, offset_ms, data) VALUES (?, ?, ?, ?)",
            [(recording_id, seq, frame.offset_ms, bytes(frame.data))
             for seq, frame in enumerate(recording.frames)])
        return recording_id

    def _sizes(self) -> dict[int, int]:
        db = self._connection()
        with self._sqlite_errors("measure recordings"):
            rows = db.execute(
                "SELECT r.id, coalesce(length(r.body), 0) + coalesce("
                "(SELECT sum(length(f.data)) FROM frames f WHERE f.recording_id = r.id), 0) "
                "FROM recordings r").fetchall()
        return {recording_id: int(size) for recording_id, size in rows}

    def _summaries(self) -> list[Summary]:
        db = self._connection()
        with self._sqlite_errors("list recordings"):
            rows = db.execute(_SUMMARIES).fetchall()
        return [Summary(id, key, ordinal, family, operation, model, bool(stream), recorded_at,
                        request)
                for id, key, ordinal, family, operation, model, stream, recorded_at, request
                in rows]

    def _ids(self) -> list[int]:
        db = self._connection()
        with self._sqlite_errors("list recordings"):
            return [row[0] for row in db.execute("SELECT id FROM recordings ORDER BY id")]

    def _get_ids(self, ids: list[int]) -> list[Recording]:
        db = self._connection()
        marks = ", ".join("?" * len(ids))
        with self._sqlite_errors("read recordings"), _read(db):
            rows = db.execute(f"SELECT id, {', '.join(_COLUMNS)} FROM recordings "
                              f"WHERE id IN ({marks}) ORDER BY id", ids).fetchall()
            frames: dict[int, list[Frame]] = {}
            for recording_id, offset_ms, data in db.execute(
                    "SELECT recording_id, offset_ms, data FROM frames "
                    f"WHERE recording_id IN ({marks}) ORDER BY recording_id, seq", ids):
                frames.setdefault(recording_id, []).append(Frame(offset_ms, data))
        found = []
        for row in rows:
            values = dict(zip(_COLUMNS, row[1:], strict=True))
            values["stream"] = bool(values["stream"])
            found.append(Recording(**values, frames=frames.get(row[0], []), id=row[0]))
        return found

    def _delete(self, ids: list[int]) -> int:
        db = self._connection()
        deleted = 0
        with self._sqlite_errors("delete recordings"):
            with _write(db):
                for start in range(0, len(ids), 500):
                    part = ids[start:start + 500]
                    deleted += db.execute(
                        f"DELETE FROM recordings WHERE id IN ({', '.join('?' * len(part))})",
                        part).rowcount
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return deleted

    def _check(self) -> list[str]:
        db = self._connection()
        problems: list[str] = []
        with self._sqlite_errors("check the file"):
            for (row,) in db.execute("PRAGMA integrity_check"):
                if row != "ok":
                    problems.append(f"SQLite integrity: {row}")
            for table, rowid, parent, _ in db.execute("PRAGMA foreign_key_check"):
                problems.append(f"SQLite foreign keys: {table} row {rowid} points to a "
                                f"missing {parent} row")
            version = self._schema_version()
            if version != SCHEMA_VERSION:
                problems.append(f"schema version {version}, expected {SCHEMA_VERSION} "
                                "(open it with `localaik serve` in record mode to migrate)")
            for table in ("recordings", "frames"):
                if table not in db.table_names():
                    problems.append(f"the {table} table is missing")
        return problems

    def _schema_version(self) -> int:
        return int(self._connection().execute("PRAGMA user_version").fetchone()[0])

    def _close(self) -> None:
        db, self._db = self._db, None
        if db is None:
            return
        if not self._readonly:
            # Leave the file in rollback-journal mode: a committed cassette is then read (by
            # `cassette ls`, git's diff driver, a read-only checkout) without SQLite creating
            # -wal and -shm files beside it. Only the last connection can switch; while
            # another process still has the file open this fails, and that one switches later.
            try:
                db.execute("PRAGMA journal_mode = DELETE")
            except sqlite3.Error:
                pass
        db.close()
