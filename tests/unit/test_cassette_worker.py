"""The cassette's worker thread: calls in order, on one thread, awaited from any event loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from localaik.cassette.worker import Worker


async def test_calls_run_in_order_on_one_thread_that_is_not_the_loops() -> None:
    worker = Worker("cassette-test")
    seen: list[tuple[int, str]] = []

    def call(n: int) -> int:
        seen.append((n, threading.current_thread().name))
        return n * 2

    results = await asyncio.gather(*(worker.run(lambda n=n: call(n)) for n in range(50)))
    worker.stop()
    assert results == [n * 2 for n in range(50)]
    assert [n for n, _ in seen] == list(range(50))
    assert {name for _, name in seen} == {"cassette-test"}
    assert threading.current_thread().name != "cassette-test"


async def test_an_exception_reaches_the_caller_and_the_worker_goes_on() -> None:
    worker = Worker("w")

    def fail() -> None:
        raise ValueError("disk on fire")

    with pytest.raises(ValueError, match="disk on fire"):
        await worker.run(fail)
    assert await worker.run(lambda: "still here") == "still here"
    worker.stop()


async def test_a_cancelled_caller_leaves_its_call_to_finish() -> None:
    worker = Worker("w")
    started, finished = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        time.sleep(0.1)
        finished.set()
        return "done"

    task = asyncio.ensure_future(worker.run(slow))
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not finished.is_set()
    assert await worker.run(lambda: "next") == "next"  # ran after the cancelled call ended
    assert finished.is_set()
    worker.stop()


def test_callers_on_two_event_loops_each_get_their_own_result() -> None:
    """A test client calls the app from its portal's loop and the test's own (DESIGN: the
    cassette is used from whichever loop serves)."""
    worker = Worker("w")
    results: dict[str, object] = {}

    def on_a_loop(name: str) -> None:
        async def ask() -> object:
            return await worker.run(lambda: f"{name} answered")

        results[name] = asyncio.run(ask())

    threads = [threading.Thread(target=on_a_loop, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    worker.stop()
    assert results == {"one": "one answered", "two": "two answered"}


def test_a_closed_loop_does_not_stop_the_worker() -> None:
    worker = Worker("w")
    release = threading.Event()

    async def leave_a_call_behind() -> None:
        worker.run(lambda: release.wait(5))  # the loop closes before this one's result

    asyncio.run(leave_a_call_behind())
    release.set()

    async def ask() -> str:
        return await worker.run(lambda: "alive")

    assert asyncio.run(ask()) == "alive"
    worker.stop()


async def test_stop_lets_the_queued_calls_finish_then_refuses_more() -> None:
    worker = Worker("w")
    done: list[int] = []
    gate = threading.Event()
    worker.submit(lambda: gate.wait(5))
    for n in range(3):
        worker.submit(lambda n=n: done.append(n))
    worker.stop()
    gate.set()
    with pytest.raises(RuntimeError, match="stopped"):
        worker.run(lambda: None)
    thread = worker._thread
    assert thread is not None
    thread.join(5)
    assert not thread.is_alive()
    assert done == [0, 1, 2]


# -- quick calls: on the caller's thread while the worker is idle ---------------------------


async def test_a_quick_call_runs_in_place_when_the_worker_is_idle() -> None:
    worker = Worker("cassette-test")
    future = worker.run(lambda: threading.current_thread().name, quick=True)
    assert future.done()  # already run, before any await
    assert await future == threading.current_thread().name
    with pytest.raises(ValueError, match="bad row"):
        await worker.run(lambda: (_ for _ in ()).throw(ValueError("bad row")), quick=True)
    worker.stop()


async def test_a_quick_call_waits_its_turn_behind_a_busy_worker() -> None:
    worker = Worker("cassette-test")
    started, release = threading.Event(), threading.Event()
    running: list[str] = []
    overlaps = 0

    def slow() -> str:
        nonlocal overlaps
        running.append("slow")
        started.set()
        release.wait(5)
        overlaps += len(running) - 1
        running.remove("slow")
        return "slow"

    def quick() -> str:
        nonlocal overlaps
        overlaps += len(running)
        return threading.current_thread().name

    busy = worker.run(slow)
    assert await asyncio.to_thread(started.wait, 5)
    queued = worker.run(quick, quick=True)
    assert not queued.done()  # not run beside the slow call: queued behind it
    release.set()
    assert await busy == "slow"
    assert await queued == "cassette-test"
    assert overlaps == 0
    # Idle again: the next quick call runs in place.
    assert await worker.run(quick, quick=True) == threading.current_thread().name
    worker.stop()


async def test_a_quick_call_after_stop_is_refused() -> None:
    worker = Worker("w")
    assert await worker.run(lambda: 1) == 1
    worker.stop()
    with pytest.raises(RuntimeError, match="stopped"):
        await worker.run(lambda: 2, quick=True)


async def test_a_call_submitted_alongside_lets_quick_calls_run_meanwhile() -> None:
    # A flush syncing the file (seconds here) must not hold up a quick save.
    worker = Worker("cassette-test")
    started, release = threading.Event(), threading.Event()
    worker.submit(lambda: (started.set(), release.wait(5)), alongside=True)
    assert await asyncio.to_thread(started.wait, 5)
    quick = worker.run(lambda: threading.current_thread().name, quick=True)
    assert quick.done()  # in place, while the flush still runs
    assert await quick == threading.current_thread().name
    # Calls handed to the worker still come after it, in order.
    later = worker.run(lambda: "after")
    assert not later.done()
    release.set()
    assert await later == "after"
    worker.stop()
