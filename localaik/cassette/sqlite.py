"""The SQLite cassette store: one file of recorded upstream exchanges (DESIGN D2, D8).

Durability: WAL mode, and every save is one `BEGIN IMMEDIATE` transaction holding the
recording and all its frames, so a crash (even SIGKILL) leaves either the whole recording or
none of it. `synchronous=NORMAL` is enough under WAL: a power cut may lose the last commits,
never consistency. Saves reach the main file at the next `flush` (a checkpoint), and closing
the last connection switches the file back to a rollback journal, so a cleanly closed cassette
is one self-contained file, ready to commit.

Read-only (replay, the CLI's readers) writes nothing to the file, not even SQLite's change
counter. A cassette of an older schema is copied into memory (SQLite's backup API) and migrated
there, so a schema change never breaks a committed cassette and never rewrites it; the copy is
the cassette as it was when opened. A newer schema, or a file that is not a localaik cassette,
is refused with a message naming the file, and left byte for byte: read-write, nothing is
written (not even the switch to WAL) until the file is known to be a cassette or new.

Threads: SQLite calls block, so a `SQLiteStore` is used by one thread at a time (its connection
allows any): the CLI's, or the server's cassette worker and, for quick calls while that worker
is idle, the event loop's (`localaik.cassette.worker`); `stamp()` and `flush()` (which
checkpoints through a connection of its own) may come from another thread meanwhile.
The SQLite boundary: sqlite3 errors become `CassetteError`s naming the cassette, here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from localaik.cassette.files import FileRows
from localaik.cassette.miss import Difference, NearestIndex
from localaik.cassette.names import refusal
from localaik.cassette.recording import Recording, Summary
from localaik.cassette.rows import (
    INSERT,
    SELECT,
    SIZES,
    Damage,
    recording_of,
    row_of,
    summary_of,
    summary_row,
)
from localaik.cassette.schema import (
    SCHEMA,
    Schema,
    check_cassette,
    schema_problems,
    upgraded_copy,
    version,
)
from localaik.cassette.secrets import refuse_secrets
from localaik.cassette.transactions import (
    BUSY_TIMEOUT_MS,
    file_stamp,
    read,
    switch_to_wal,
    write,
)
from localaik.errors import CassetteConflict, CassetteError, Internal

BATCH = 200  # recordings read at a time by `recordings()`
AUTOCHECKPOINT_PAGES = 10_000  # SQLite's own checkpoint, past `flush`'s: a save never syncs

_SUMMARIES = (
    "SELECT id, key, ordinal, family, operation, model, stream, recorded_at, request "
    "FROM recordings ORDER BY id"
)


class SQLiteStore(FileRows):
    """One cassette file; a `CassetteStore` (files: `FileRows`). One thread at a time."""

    def __init__(
        self, path: Path | str, *, readonly: bool = False, schema: Schema = SCHEMA
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.schema = schema
        self.upgraded = False  # read-only and served from a migrated in-memory copy
        self._db: Database | None = None
        self._index: NearestIndex | None = None
        self._index_stamp: tuple[int, ...] | None = None

    def __repr__(self) -> str:
        mode = ", readonly=True" if self.readonly else ""
        return f"SQLiteStore({str(self.path)!r}{mode})"

    @property
    def location(self) -> str:
        return str(self.path)

    # -- the CassetteStore interface ------------------------------------------------------

    def open(self, *, create: bool = False) -> bool:
        """Open (and, read-write, migrate) the file. False when it does not exist and `create`
        is False; a read-only store never creates."""
        if self._db is not None:
            return True
        create = create and not self.readonly
        refused = refusal(self.path)
        if refused is not None:
            raise CassetteError(refused)
        if not create and not self.path.exists():
            return False
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # mode=rw: a cassette that vanished since the check above is not created after all.
        mode = "ro" if self.readonly else "rwc" if create else "rw"
        try:
            conn = sqlite3.connect(self._uri(mode), uri=True, check_same_thread=False)
        except sqlite3.OperationalError as exc:
            if not create and not self.path.exists():
                return False
            raise CassetteError(f"cannot open cassette {self.path}: {exc}") from exc
        try:
            with self._sqlite_errors("open the schema"):
                db = self._prepare(conn)
        except BaseException:
            conn.close()
            raise
        if db.conn is not conn:
            conn.close()  # the file was copied into memory: it is not read again
        self._db = db
        return True

    def get(self, key: str, ordinal: int = 0) -> Recording | None:
        """The recording, or None; CassetteError naming it when its row is damaged."""
        db = self._connection()
        with self._sqlite_errors("read a recording"), read(db):
            row = db.execute(f"{SELECT} WHERE key = ? AND ordinal = ?", (key, ordinal)).fetchone()
            if row is None:
                return None
            frames = db.execute(
                "SELECT offset_ms, data FROM frames WHERE recording_id = ? ORDER BY seq", (row[0],)
            ).fetchall()
        return self._sound(recording_of(row, frames))

    def ordinals(self, key: str) -> int:
        db = self._connection()
        with self._sqlite_errors("count recordings"):
            (count,) = db.execute(
                "SELECT coalesce(max(ordinal) + 1, 0) FROM recordings WHERE key = ?", (key,)
            ).fetchone()
        return int(count)

    def save(self, recording: Recording, *, replace: bool = False, wait: bool = True) -> int:
        """Store `recording` and its frames in one transaction; returns its id (`store.py`).
        Raises SecretRefused, writing nothing, when it holds something shaped like a key."""
        return self.save_all([recording], replace=replace, wait=wait)[0]

    def save_all(
        self, recordings: Sequence[Recording], *, replace: bool = False, wait: bool = True
    ) -> list[int]:
        """Save several recordings in one transaction: all of them, or none."""
        for recording in recordings:
            refuse_secrets(recording, str(self.path))
        db = self._writable()
        before = self.stamp() if self._index is not None else None
        ids = []
        with self._sqlite_errors("save a recording"):
            with write(db, wait):
                for recording in recordings:
                    ids.append(self._insert(db, recording, replace))
        if self._index is not None and before == self._index_stamp:
            for recording, recording_id in zip(recordings, ids, strict=True):
                self._index.add(summary_of(recording, recording_id))
            self._index_stamp = self.stamp()
        return ids

    def flush(self) -> None:
        """Copy the write-ahead log into the .db and sync it (`threaded.Cassette` times it),
        through a connection of its own: it may run while another thread saves (`store.py`)."""
        if self._db is None or self.readonly:
            return
        uri, timeout = self._uri("rw"), BUSY_TIMEOUT_MS / 1000
        with self._sqlite_errors("copy the write-ahead log into the cassette"):
            with closing(sqlite3.connect(uri, uri=True, timeout=timeout)) as conn:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def summaries(self) -> list[Summary]:
        """Every sound recording's summary, in id order (a damaged row is left out: `verify`
        names it)."""
        db = self._connection()
        with self._sqlite_errors("list recordings"):
            rows = db.execute(_SUMMARIES).fetchall()
        return [summary for summary in map(summary_row, rows) if summary is not None]

    def recordings(
        self, *, on_damaged: Callable[[Damage], None] | None = None
    ) -> Iterator[Recording]:
        """Every recording with its frames, in id order, read `BATCH` at a time. A damaged
        row raises CassetteError naming it, or, with `on_damaged`, is passed to it and skipped."""
        db = self._connection()
        with self._sqlite_errors("list recordings"):
            ids = [row[0] for row in db.execute("SELECT id FROM recordings ORDER BY id")]
        for start in range(0, len(ids), BATCH):
            for found in self._get_ids(ids[start : start + BATCH]):
                if isinstance(found, Damage) and on_damaged is not None:
                    on_damaged(found)
                else:
                    yield self._sound(found)

    def delete(self, ids: Iterable[int]) -> int:
        """Delete the recordings with these ids (and their frames) in one transaction."""
        db = self._writable()
        ids = list(ids)
        deleted = 0
        self._index = None
        with self._sqlite_errors("delete recordings"):
            with write(db):
                for start in range(0, len(ids), 500):
                    part = ids[start : start + 500]
                    deleted += db.execute(
                        f"DELETE FROM recordings WHERE id IN ({', '.join('?' * len(part))})", part
                    ).rowcount
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return deleted

    def nearest(
        self, canon: dict[str, Any], limit: int = 3
    ) -> list[tuple[Summary, list[Difference]]]:
        """The recordings closest to the canonical request `canon`, with what differs.

        The index is built on the first call (0.3 s for 10,000 recordings), kept up to date by
        this store's saves, and built again when the file changed otherwise."""
        stamp = self.stamp()
        if self._index is None or stamp != self._index_stamp:
            self._index = NearestIndex(self.summaries())
            self._index_stamp = stamp
        return self._index.nearest(canon, limit)

    def stamp(self) -> tuple[int, ...]:
        """The file's and its WAL's modification time and size: equal while nothing changed.
        Reads no connection, so any thread may call it, open or not."""
        return file_stamp(self.path)

    def close(self) -> None:
        """Close the connection. Safe to call twice; the store can be opened again."""
        db, self._db = self._db, None
        self._index = None
        if db is None:
            return
        # Leave the file in rollback-journal mode: a committed cassette is then read (by
        # `cassette ls`, git's diff driver, a read-only checkout) without SQLite creating -wal
        # and -shm files beside it. Only the last connection can switch; while another process
        # has the file open this fails (the checkpoint copied the log all the same).
        pragmas = ("wal_checkpoint(PASSIVE)", "journal_mode = DELETE")
        for pragma in () if self.readonly else pragmas:
            with suppress(sqlite3.Error):
                db.execute(f"PRAGMA {pragma}")
        db.close()

    # -- SQLite only ----------------------------------------------------------------------

    def sizes(self) -> dict[int, int]:
        """Bytes of answer (body and frames) per recording id."""
        db = self._connection()
        with self._sqlite_errors("measure recordings"):
            rows = db.execute(SIZES).fetchall()
        return {recording_id: int(size) for recording_id, size in rows}

    def check(self) -> list[str]:
        """SQLite's own checks (integrity, foreign keys) and the schema's: problems found."""
        db = self._connection()
        problems: list[str] = []
        with self._sqlite_errors("check the file"):
            for (row,) in db.execute("PRAGMA integrity_check"):
                if row != "ok":
                    problems.append(f"SQLite integrity: {row}")
            for table, rowid, parent, _ in db.execute("PRAGMA foreign_key_check"):
                problems.append(
                    f"SQLite foreign keys: {table} row {rowid} points to a missing {parent} row"
                )
            problems += schema_problems(db, self.schema)
        return problems

    def schema_version(self) -> int:
        """The schema version served: the file's, or that of its upgraded in-memory copy."""
        return version(self._connection())

    # -- plumbing -------------------------------------------------------------------------

    def _prepare(self, conn: sqlite3.Connection) -> Database:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        db = Database(conn, execute_plugins=False)
        # Only read until the file is known to be a cassette (or new): a file localaik will
        # not use is left byte for byte, not even switched to WAL. Read as one snapshot: another
        # process creating the same new cassette may commit its schema between two reads.
        with read(db):
            check_cassette(db, self.path, self.schema, empty_ok=not self.readonly)
        if self.readonly:
            copy = upgraded_copy(db, self.schema)
            self.upgraded = copy is not None
            return db if copy is None else copy
        if self.schema.migrations.pending(db):
            with write(db):
                # Checked again under the write lock: another process may have won.
                check_cassette(db, self.path, self.schema, empty_ok=True)
                self.schema.migrations.apply(db)
        switch_to_wal(db)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
        return db

    def _uri(self, mode: str) -> str:
        """The file as SQLite opens it: `ro`, `rw` (never created) or `rwc`."""
        return f"{self.path.resolve().as_uri()}?mode={mode}"

    def _connection(self) -> Database:
        if self._db is None:
            raise Internal(f"cassette {self.path} is not open")
        return self._db

    def _writable(self) -> Database:
        if self.readonly:
            raise Internal(f"cassette {self.path} was opened read-only: nothing is written")
        return self._connection()

    @contextmanager
    def _sqlite_errors(self, doing: str) -> Iterator[None]:
        """The SQLite error boundary: sqlite3 errors become localaik errors naming the file."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise CassetteError(f"cannot {doing} in cassette {self.path}: {exc}") from exc

    def _sound(self, found: Recording | Damage) -> Recording:
        """The recording; a damaged row is the operator's to fix, named in a CassetteError."""
        if isinstance(found, Damage):
            raise CassetteError(found.message(str(self.path)))
        return found

    def _insert(self, db: Database, recording: Recording, replace: bool) -> int:
        try:
            if replace:
                db.execute(
                    "DELETE FROM recordings WHERE key = ? AND ordinal = ?",
                    (recording.key, recording.ordinal),
                )  # its frames cascade
            recording_id = db.execute(INSERT, row_of(recording)).lastrowid
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" not in str(exc):
                raise
            raise CassetteConflict(
                f"cassette {self.path} already holds a recording for key {recording.key} "
                f"ordinal {recording.ordinal}; save with replace=True to overwrite it"
            ) from exc
        assert recording_id is not None
        db.conn.executemany(
            "INSERT INTO frames (recording_id, seq, offset_ms, data) VALUES (?, ?, ?, ?)",
            [
                (recording_id, seq, frame.offset_ms, bytes(frame.data))
                for seq, frame in enumerate(recording.frames)
            ],
        )
        return recording_id

    def _get_ids(self, ids: list[int]) -> list[Recording | Damage]:
        db = self._connection()
        marks = ", ".join("?" * len(ids))
        with self._sqlite_errors("read recordings"), read(db):
            rows = db.execute(f"{SELECT} WHERE id IN ({marks}) ORDER BY id", ids).fetchall()
            frames: dict[int, list[tuple[Any, Any]]] = {}
            for recording_id, offset_ms, data in db.execute(
                "SELECT recording_id, offset_ms, data FROM frames "
                f"WHERE recording_id IN ({marks}) ORDER BY recording_id, seq",
                ids,
            ):
                frames.setdefault(recording_id, []).append((offset_ms, data))
        return [recording_of(row, frames.get(row[0], [])) for row in rows]
