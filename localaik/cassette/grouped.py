"""Quick saves made in one turn of the event loop, stored in one transaction (group commit).

Recording at 16 connections, the upstream's answers reach the event loop together: 7 to 8
saves in one turn of the loop for plain answers, 1 to 15 for streams (bench/live_path.py's
routes). A transaction's own work (taking the write lock, the write-ahead log's pages, the
commit) was ~12 % of a recorded miss's CPU, paid once per answer. So the quick saves of one
turn (`threaded.Cassette.save`) wait for the end of it and are stored together, in order, by
`save_all`, on the event loop's thread when the worker is idle, as a single quick save was.

Each save keeps its own outcome: when the group's transaction fails (a recording holding a
key, another writer's recording at the same key), nothing of it is written and each recording
is saved alone, so only the failing one fails. A group that met another process's write lock
(`CassetteBusy`) is handed to the worker thread, which waits for the lock. A caller cancelled
meanwhile is still saved, as before: a save is atomic either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from localaik.cassette.recording import Recording
from localaik.cassette.store import CassetteStore
from localaik.cassette.worker import Worker
from localaik.errors import CassetteBusy

Outcome = int | BaseException  # a recording's id, or why it was not saved
_Save = tuple[Recording, "asyncio.Future[int]"]


class SaveGroups:
    """The groups of quick saves of one store (`save`), stored through `worker()`."""

    def __init__(self, store: CassetteStore, worker: Callable[[], Worker]) -> None:
        self.store = store
        self.worker = worker
        self._saves: list[_Save] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def save(self, recording: Recording) -> asyncio.Future[int]:
        """The recording's id once its group is stored; joins the group of this turn of the
        loop, or begins one (stored when the loop has run what was ready)."""
        loop = asyncio.get_running_loop()
        if not self._saves or self._loop is not loop:
            self._saves, self._loop = [], loop
            loop.call_soon(self._store, self._saves, False)
        future: asyncio.Future[int] = loop.create_future()
        self._saves.append((recording, future))
        return future

    def _store(self, saves: list[_Save], wait: bool) -> None:
        """Store `saves` (on the loop: in place when the worker is idle, as a quick call)."""
        if saves is self._saves:
            self._saves, self._loop = [], None
        recordings = [recording for recording, _ in saves]
        try:
            done = self.worker().run(lambda: self._outcomes(recordings, wait), quick=not wait)
        except BaseException as exc:  # the cassette was closed meanwhile: its callers hear it
            done = asyncio.get_running_loop().create_future()
            done.set_exception(exc)
        if done.done():
            self._settle(saves, wait, done)
        else:
            done.add_done_callback(lambda finished: self._settle(saves, wait, finished))

    def _outcomes(self, recordings: list[Recording], wait: bool) -> list[Outcome]:
        """On the thread storing them: all in one transaction, or, when that fails, each
        alone; CassetteBusy for all when another process holds the write lock (not `wait`)."""
        try:
            return list(self.store.save_all(recordings, wait=wait))
        except CassetteBusy as busy:
            return [busy] * len(recordings)
        except Exception as exc:
            if len(recordings) == 1:
                return [exc]
        outcomes: list[Outcome] = []
        for recording in recordings:
            try:
                outcomes.append(self.store.save(recording, wait=wait))
            except Exception as exc:  # this recording's own failure, for its caller
                outcomes.append(exc)
        return outcomes

    def _settle(self, saves: list[_Save], waited: bool, done: asyncio.Future[Any]) -> None:
        """Each caller's outcome; the saves that met another writer's lock go to the worker,
        which waits for it."""
        error = done.exception()
        outcomes: list[Outcome] = [error] * len(saves) if error is not None else done.result()
        busy: list[_Save] = []
        for save, outcome in zip(saves, outcomes, strict=True):
            future = save[1]
            if isinstance(outcome, CassetteBusy) and not waited:
                busy.append(save)  # a cancelled caller's recording is still saved
            elif future.cancelled():
                continue
            elif isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        if busy:
            self._store(busy, True)
