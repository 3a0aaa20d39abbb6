"""One thread that runs a cassette store's calls, in order, awaited from any event loop.

An sqlite3 connection belongs to the thread that opened it, so each `Cassette` runs every call
of its store on one thread of its own (`threaded.py`). `loop.run_in_executor` over a
one-thread `ThreadPoolExecutor` did that at ~40-55 µs of CPU per call (the executor's lock,
work item and semaphore, a `concurrent.futures.Future` chained to the asyncio one); a replayed
first hit makes one such call and a recorded miss two. This worker takes a call from a
`queue.SimpleQueue` (C, lock-free for one consumer) and hands the result to the caller's loop
with `call_soon_threadsafe`: ~21-24 µs (`tests/unit/test_cassette_worker.py` shows it keeps the
executor's behaviour).

- Calls run one at a time, in the order they were made, whichever loop or thread made them.
- A call whose caller was cancelled still runs to its end (a save is atomic either way); its
  result is dropped. So is the result for a loop closed meanwhile.
- `stop()` lets the calls already queued finish, then the thread ends; a call made after it
  raises `RuntimeError`, as an executor shut down does.

Quick calls (`run(fn, quick=True)`: an indexed read, a small save) run on the caller's thread
when the worker has nothing queued or running, holding the worker's turn so the two never
overlap. Under load the hand-off cost far more than such a call: the worker thread and the
event loop took turns at the GIL, and a recorded miss streamed at 16 connections cost ~2.0 ms
of CPU with every call handed over against ~1.1 ms with these run in place (485-551 against
859-877 recorded answers a second, `bench/live_path.py`'s route). The store is then used by
two threads, one at a time (`SQLiteStore` opens its connection for that).

A call submitted `alongside` (a flush, which checkpoints through a connection of its own) runs
on the thread in its order but neither holds the turn nor makes quick calls wait: a flush
syncs the file for ~10-20 ms, and quick calls held behind it were record mode's p99.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[
    Callable[[], Any], "asyncio.Future[Any] | None", "asyncio.AbstractEventLoop | None", bool
]


class Worker:
    """A thread running the calls given to it; started at the first call."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._turn = threading.Lock()  # held by whoever runs a call: the thread, or a caller
        self._pending = 0  # calls queued or running on the thread
        self._stopped = False

    def run(self, fn: Callable[[], T], *, quick: bool = False) -> asyncio.Future[T]:
        """`fn()` on the worker thread; await the future for its result (or exception).
        `quick`: on this thread, now, when the worker is idle (the module docstring)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if quick and self._turn.acquire(blocking=False):
            try:
                if self._pending == 0 and not self._stopped:
                    try:
                        future.set_result(fn())
                    except BaseException as exc:  # handed to the caller, as from the thread
                        future.set_exception(exc)
                    return future
            finally:
                self._turn.release()
        self._put((fn, future, loop, False))
        return future

    def submit(self, fn: Callable[[], object], *, alongside: bool = False) -> None:
        """`fn()` on the worker thread, from any thread, nobody waiting for it; `alongside`:
        while quick calls may run (the module docstring)."""
        self._put((fn, None, None, alongside))

    def stop(self) -> None:
        """No more calls; those queued still run, then the thread ends."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            if self._thread is not None:
                self._calls.put(None)

    def _put(self, call: _Call) -> None:
        with self._lock:
            if self._stopped:
                raise RuntimeError(f"worker {self.name} is stopped")
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()
            self._pending += not call[3]
            self._calls.put(call)

    def _loop(self) -> None:
        while (call := self._calls.get()) is not None:
            fn, future, loop, alongside = call
            with contextlib.nullcontext() if alongside else self._turn:
                try:
                    result, error = fn(), None
                except BaseException as exc:  # handed to the caller, whatever it is
                    result, error = None, exc
            with self._lock:
                self._pending -= not alongside
            if future is None or loop is None:
                continue
            try:
                loop.call_soon_threadsafe(_settle, future, result, error)
            except RuntimeError:  # the caller's loop is closed: nobody is waiting
                pass


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
