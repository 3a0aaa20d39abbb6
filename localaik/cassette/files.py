"""Uploaded files in a cassette: the `files` table's rows (schema migration m002).

A file is kept once per distinct content, under the sha256 of its bytes, with its MIME type and
the display name it was first uploaded with. Requests that refer to an uploaded file are keyed
by that hash (`media.parts.stored_uri`), never by the id the API gave it, so a test that uploads
the same bytes again (a new id) replays the same recording; `cassette verify` checks each row's
hash and that every recording's file is here.

Like a recording, a file is scanned for anything shaped like a key before it is written, and
refused whole (`SecretRefused`) when one is found: cassettes are meant to be committed.
`FileRows` is mixed into the SQLite store, so the store's module keeps to its own job.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlite_utils import Database

from localaik.cassette.tokens import find_secret, shaped_like
from localaik.errors import SecretRefused
from localaik.media.parts import STORED

_REFERENCE = re.compile(re.escape(STORED) + "([0-9a-f]{64})")


@dataclass(frozen=True)
class StoredFile:
    """One uploaded file's bytes and what the upload said of them."""

    sha256: str  # hex digest of `data`
    mime_type: str
    display_name: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @classmethod
    def of(cls, data: bytes, mime_type: str, display_name: str) -> StoredFile:
        return cls(hashlib.sha256(data).hexdigest(), mime_type, display_name, data)

    def sound(self) -> bool:
        """Whether the bytes still hash to the name they are kept under."""
        return hashlib.sha256(self.data).hexdigest() == self.sha256


def refuse_secret_file(file: StoredFile, where: str) -> None:
    """SecretRefused when the file's bytes or names hold something shaped like a key (latin-1
    keeps every ASCII token whole, whatever the file's encoding)."""
    for field, text in (
        ("content", file.data.decode("latin-1")),
        ("display name", file.display_name),
        ("MIME type", file.mime_type),
    ):
        kind = find_secret(text)
        if kind is not None:
            raise SecretRefused(
                f"not storing the uploaded file in {where}: its {field} holds "
                f"{shaped_like(kind)}. Cassettes are meant to be committed, so localaik never "
                "stores keys or tokens; upload a file without it."
            )


def referenced(request: str) -> set[str]:
    """The hashes of the uploaded files a recording's canonical request refers to."""
    return set(_REFERENCE.findall(request))


def file_problems(files: Iterable[StoredFile]) -> list[str]:
    """What `cassette verify` reports about stored files: bytes that do not hash to the name
    they are kept under, and anything shaped like a key."""
    problems = []
    for file in files:
        if not file.sound():
            problems.append(f"uploaded file {file.sha256[:12]}: its bytes do not hash to its name")
        try:
            refuse_secret_file(file, "the cassette")
        except SecretRefused as exc:
            problems.append(f"uploaded file {file.sha256[:12]}: {exc.message}")
    return problems


class _Store(Protocol):
    @property
    def path(self) -> Path: ...

    def _connection(self) -> Database: ...

    def _writable(self) -> Database: ...

    def _sqlite_errors(self, doing: str) -> AbstractContextManager[None]: ...


_COLUMNS = "sha256, mime_type, display_name, data"


class FileRows:
    """The file methods of the SQLite store (`CassetteStore.save_file`, `file`, `files`)."""

    def save_file(self: _Store, file: StoredFile) -> bool:
        """Store `file` unless its bytes are there already; whether it was new. SecretRefused,
        writing nothing, when it holds something shaped like a key."""
        refuse_secret_file(file, str(self.path))
        db = self._writable()
        stored_at = datetime.now(UTC).isoformat(timespec="seconds")
        with self._sqlite_errors("save a file"):
            db.execute("BEGIN IMMEDIATE")
            try:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO files "
                    "(sha256, mime_type, display_name, size, data, stored_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        file.sha256,
                        file.mime_type,
                        file.display_name,
                        file.size,
                        file.data,
                        stored_at,
                    ),
                )
                db.execute("COMMIT")
            except BaseException:
                db.rollback()
                raise
        return bool(cursor.rowcount)

    def file(self: _Store, sha256: str) -> StoredFile | None:
        """The file whose bytes hash to `sha256`, or None."""
        db = self._connection()
        with self._sqlite_errors("read a file"):
            row = db.execute(f"SELECT {_COLUMNS} FROM files WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else _file_of(row)

    def files(self: _Store) -> Iterator[StoredFile]:
        """Every stored file, by hash."""
        db = self._connection()
        with self._sqlite_errors("list files"):
            rows = db.execute(f"SELECT {_COLUMNS} FROM files ORDER BY sha256").fetchall()
        return iter([_file_of(row) for row in rows])


def _file_of(row: tuple[object, ...]) -> StoredFile:
    sha256, mime_type, display_name, data = row
    return StoredFile(
        str(sha256),
        str(mime_type),
        str(display_name),
        bytes(data) if isinstance(data, bytes | bytearray | memoryview) else b"",
    )
