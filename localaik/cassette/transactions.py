"""SQLite transactions as a cassette store uses them, and the stamp that tells a file changed.

`write` takes the write lock first (`BEGIN IMMEDIATE`), so two processes sharing a cassette
queue for it rather than fail mid-transaction; waiting is bounded by `BUSY_TIMEOUT_MS`, or
refused at once (`wait=False`: the event loop's quick saves must never sit in SQLite's busy
handler). `read` gives one snapshot, so a recording and its frames agree even mid-replace.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from localaik.errors import CassetteBusy

BUSY_TIMEOUT_MS = 5000


def file_stamp(path: Path | str) -> tuple[int, ...]:
    """What changes when a cassette changes: the modification time and size of the file and of
    its write-ahead log (-1 for a file that is not there).

    After a checkpoint SQLite writes the log again from its start, at the size it had, so a
    commit then changes only the log's time: on a kernel whose file clock is coarser than two
    commits (before Linux 6.13, a few milliseconds) one may not show. Never open the `-shm`
    file here to read the WAL index's commit counter: closing any descriptor of a file drops
    every POSIX lock the process holds on it, SQLite's included, and another connection then
    truncates the shared memory under this process's map (SIGBUS, measured)."""
    found: list[int] = []
    for file in (path, f"{path}-wal"):  # asked on every replayed request: no Path work
        try:
            info = os.stat(file)
        except OSError:
            found += [-1, -1]
        else:
            found += [info.st_mtime_ns, info.st_size]
    return tuple(found)


@contextmanager
def write(db: Database, wait: bool = True) -> Iterator[None]:
    """A write transaction holding the write lock from the start (waiting up to the busy
    timeout, or not at all): two processes sharing a cassette queue, not fail mid-transaction."""
    try:
        if not wait:
            db.execute("PRAGMA busy_timeout = 0")
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if wait or exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
            raise
        raise CassetteBusy("another writer holds the cassette") from None
    finally:
        if not wait:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise


@contextmanager
def read(db: Database) -> Iterator[None]:
    """A read transaction: a recording and its frames from one snapshot, even mid-replace."""
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.rollback()


def switch_to_wal(db: Database) -> None:
    """Switch the file to WAL (nothing to do if it is), waiting up to the busy timeout while
    another connection holds a lock: SQLite refuses the switch at once, without its busy
    handler, while another process opening the same new cassette reads it."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            db.enable_wal()
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
