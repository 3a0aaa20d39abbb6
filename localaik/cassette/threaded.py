"""The server's async view of a cassette store: one worker thread, and recent hits in memory.

Threads: a `CassetteStore` is used by one thread at a time and its calls block. So each
`Cassette` owns one worker thread (`worker.py`); the store's calls run there, and the async
methods await it, so the event loop does not wait on the disk: opening, listing, diagnosing a
miss, large saves, flushes. Quick calls (a lookup by key, a small save: `QUICK_SAVE_*`) run
on the caller's thread when the worker is idle, as handing them over cost more than running
them; a quick save never waits for another process's write lock (`wait=False`): it is then
handed to the worker. The quick saves of one turn of the event loop are stored in one
transaction (`grouped.py`). A cancelled `save` still finishes; it is atomic either way.

Hits: a replayed recording is kept in memory (`_HitCache`, bounded), so serving it again costs
no SQL and no trip to the worker thread. An entry is good while the store's `stamp()` is
unchanged (for SQLite: the file and its WAL keep their size and modification time), and this
object's own saves drop them all, so a recording changed by another process is read anew.

Flushes: a save is atomic and seen by every reader at once, but SQLite keeps it in the
write-ahead log beside the .db until a checkpoint, which syncs the file to disk (~1 ms, twenty
times the save). So saves do not wait for it: the store is flushed `FLUSH_AFTER` after a save,
once for all the saves made meanwhile, and on close. A cassette copied or committed while the
server runs holds every recording saved more than that long before. The flush is timed by a
thread, not a task, so a cassette saved from one event loop can be closed from another (an app
served by one loop and called in-process from a second, as test clients do).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from localaik.cassette.files import StoredFile
from localaik.cassette.grouped import SaveGroups
from localaik.cassette.miss import Difference
from localaik.cassette.recording import Recording, Summary
from localaik.cassette.store import CassetteStore, Stamp, store_for
from localaik.cassette.worker import Worker
from localaik.errors import CassetteBusy

T = TypeVar("T")
log = logging.getLogger("localaik")

# Seconds from a save to the flush that makes it part of the .db file. A flush copies the pages
# of every save since the last into the file and syncs it: at 0.05 s, recording at 16
# connections spent ~0.5 ms of CPU per answer on flushes, at 0.5 s ~0.18 ms. At 0.1 s record
# mode's p99 at 16 connections stayed at 10-14 ms over a one-minute run where at 0.5 s it
# climbed to 22-26 ms (each flush writes less at once), but in one of three full test runs four
# processes sharing a cassette then recorded one answer twice (the re-check after a claim
# compares file stamps): kept at 0.5 s until that is understood (issue 16's note).
FLUSH_AFTER = 0.5
# A save this small may run on the event loop's thread (`worker.py`): each frame costs it ~9 µs
# (its row and its secret scan), so at most ~0.3 ms. Larger ones go to the worker.
QUICK_SAVE_BYTES = 64 * 1024
QUICK_SAVE_FRAMES = 32


def _quick(recording: Recording) -> bool:
    if len(recording.frames) > QUICK_SAVE_FRAMES:
        return False
    size = len(recording.request) + len(recording.upstream_request) + len(recording.body or b"")
    return size + sum(len(frame.data) for frame in recording.frames) <= QUICK_SAVE_BYTES


class _HitCache:
    """Recordings already read, by (key, ordinal), for as long as the store's stamp holds."""

    ENTRIES = 1024
    BYTES = 64 * 1024 * 1024

    def __init__(self, stamp: Callable[[], Stamp]) -> None:
        self._stamp = stamp
        self.entries: OrderedDict[tuple[str, int], tuple[Recording, int]] = OrderedDict()
        self.size = 0
        self.stamp: Stamp | None = None

    def get(self, key: str, ordinal: int, stamp: Stamp | None = None) -> Recording | None:
        if not self.entries:
            return None
        if (self._stamp() if stamp is None else stamp) != self.stamp:
            self.clear()
            return None
        found = self.entries.get((key, ordinal))
        if found is None:
            return None
        self.entries.move_to_end((key, ordinal))
        return found[0]

    def put(self, recording: Recording, stamp: Stamp) -> None:
        if stamp != self.stamp:
            self.clear()
            self.stamp = stamp
        size = (
            len(recording.body or b"")
            + sum(len(f.data) for f in recording.frames)
            + len(recording.request)
            + len(recording.upstream_request)
        )
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
    """A cassette store for async code: all its work runs in this object's worker thread.

    `Cassette(path)` (with `readonly=` for a path) makes the store through `store_for`;
    `Cassette(store)` wraps a store already made.
    """

    def __init__(self, store: CassetteStore | Path | str, *, readonly: bool = False) -> None:
        if isinstance(store, Path | str):
            store = store_for(store, readonly=readonly)
        self.store: CassetteStore = store
        self._worker: Worker | None = None
        self._hits = _HitCache(store.stamp)
        self._turn: tuple[asyncio.AbstractEventLoop, Stamp] | None = None  # `stamp()`
        self._groups = SaveGroups(store, self._worker_now)
        self._flush: threading.Timer | None = None
        self._flush_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Cassette({self.store!r})"

    @property
    def location(self) -> str:
        return self.store.location

    def stamp(self, *, now: bool = False) -> Stamp:
        """The store's freshness, asked on the calling thread (it is cheap and thread-safe).

        On an event loop it is read once a turn of the loop: the requests one turn answers
        together (16 connections: several) share the read (two `stat`s for SQLite). A change
        another process makes meanwhile shows from the next turn, as it would to a request
        that came a moment earlier; this object's own saves show at once. `now`: read the
        store's stamp itself, for a caller that must see every change made before it asks (a
        request that missed, deciding whether to look again)."""
        loop = asyncio._get_running_loop()
        if loop is None or now:
            return self.store.stamp()
        turn = self._turn
        if turn is not None and turn[0] is loop:
            return turn[1]
        stamp = self.store.stamp()
        self._turn = turn = (loop, stamp)
        loop.call_soon(self._next_turn, turn)
        return stamp

    def _next_turn(self, turn: tuple[asyncio.AbstractEventLoop, Stamp]) -> None:
        if self._turn is turn:
            self._turn = None

    async def open(self, *, create: bool) -> bool:
        """Open the store. False when it does not exist and `create` is False."""
        return await self._run(self.store.open, create=create)

    async def get(
        self, key: str, ordinal: int = 0, *, stamp: Stamp | None = None
    ) -> Recording | None:
        """The recording, from memory while the store is unchanged. `stamp`: the store's
        stamp the caller has just read (it saves reading it again)."""
        stamp = self.store.stamp() if stamp is None else stamp
        found = self._hits.get(key, ordinal, stamp)
        if found is not None:
            return found
        # The stamp from before the read: a change during it makes the entry stale.
        found = await self._run(self.store.get, key, ordinal, quick=True)
        if found is not None:
            self._hits.put(found, stamp)
        return found

    async def ordinals(self, key: str) -> int:
        """How many ordinals exist for `key`, which is also the next free ordinal."""
        return await self._run(self.store.ordinals, key, quick=True)

    async def save(self, recording: Recording, *, replace: bool = False) -> int:
        """Store `recording` and its frames in one transaction; returns its id.

        `replace=True` overwrites the recording at the same (key, ordinal). Raises
        SecretRefused, writing nothing, when the recording holds something shaped like a key.
        """
        self._hits.clear()
        self._turn = None
        try:
            if _quick(recording) and not replace:  # with the others of this turn of the loop
                return await self._groups.save(recording)
            if _quick(recording):  # a replace: in place, unless another writer holds the lock
                with contextlib.suppress(CassetteBusy):
                    save = self.store.save
                    return await self._run(save, recording, replace=replace, wait=False, quick=True)
            return await self._run(self.store.save, recording, replace=replace)
        finally:
            self._hits.clear()
            self._turn = None
            self._flush_soon()

    def _flush_soon(self) -> None:
        """Flush `FLUSH_AFTER` from now, unless a flush is already due."""
        with self._flush_lock:
            if self._flush is None and self._worker is not None:
                self._flush = threading.Timer(FLUSH_AFTER, self._flush_due)
                self._flush.daemon = True
                self._flush.start()

    def _flush_due(self) -> None:  # on the timer's thread: hand the flush to the worker
        with self._flush_lock:
            self._flush = None
            if self._worker is not None:
                self._worker.submit(self._flush_store, alongside=True)

    def _flush_store(self) -> None:  # on the worker thread
        try:
            self.store.flush()
        except Exception as exc:  # a later flush, or close, copies what this one could not
            log.debug("cassette %s: flush failed: %s", self.location, exc)

    async def save_file(self, file: StoredFile) -> bool:
        """Keep an uploaded file (once per content); SecretRefused when it holds a key."""
        try:
            return await self._run(self.store.save_file, file)
        finally:
            self._flush_soon()

    async def file(self, sha256: str) -> StoredFile | None:
        return await self._run(self.store.file, sha256)

    async def summaries(self) -> list[Summary]:
        return await self._run(self.store.summaries)

    async def nearest(
        self, canon: dict[str, Any], limit: int = 3
    ) -> list[tuple[Summary, list[Difference]]]:
        """The recordings closest to `canon` (the index is built in the worker, off the loop)."""
        return await self._run(self.store.nearest, canon, limit)

    async def close(self) -> None:
        """Close the store (in its thread) and stop the worker. Safe to call twice."""
        self._hits.clear()
        with self._flush_lock:  # close flushes; a flush already handed over runs before it
            if self._flush is not None:
                self._flush.cancel()
                self._flush = None
            worker, self._worker = self._worker, None
        if worker is None:
            return
        try:
            await worker.run(self.store.close)
        finally:
            worker.stop()  # the close was the last call; nothing is left

    def _worker_now(self) -> Worker:
        if self._worker is None:
            self._worker = Worker(f"cassette-{Path(self.location).name}")
        return self._worker

    async def _run(self, fn: Callable[..., T], *args: Any, quick: bool = False, **kwargs: Any) -> T:
        return await self._worker_now().run(lambda: fn(*args, **kwargs), quick=quick)
