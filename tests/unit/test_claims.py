"""Claims across processes: POSIX byte-range locks in the cassette's `.localaik/` folder.

The other process is a real one (multiprocessing, spawn): locks are per process, so a thread
could not stand for another writer.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
from pathlib import Path

import pytest

from localaik.cassette.claims import IDLE_FILES, Claims, claims_path

KEY = "a" * 64


def _try(cassette: str, key: str, ordinal: int) -> bool:
    """In a fresh process: could it take the claim?"""
    claim = Claims().take(Path(cassette), key, ordinal)
    return claim is not None and claim.held


def _take_and_die(cassette: str, key: str) -> None:
    claim = Claims().take(Path(cassette), key, 0)
    assert claim is not None and claim.held
    os._exit(0)  # no release: the kernel lets go of a dead process's locks


def elsewhere(cassette: Path, key: str = KEY, ordinal: int = 0) -> bool:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return bool(pool.apply(_try, (str(cassette), key, ordinal)))


def test_a_claim_excludes_other_processes_until_released(tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    claims = Claims()
    claim = claims.take(cassette, KEY, 0)
    assert claim is not None and claim.held
    assert claims_path(cassette) == tmp_path / ".localaik" / "c.db.claims"
    assert not elsewhere(cassette)
    assert elsewhere(cassette, KEY, 1)  # another ordinal is another claim
    claim.release()
    claim.release()  # idempotent
    assert elsewhere(cassette)
    assert claims.held() == 0


def test_this_process_cannot_take_a_claim_it_holds(tmp_path: Path) -> None:
    """POSIX would grant it silently (locks are per process); two servers of one process
    must exclude each other too."""
    cassette = tmp_path / "c.db"
    first, second = Claims(), Claims()
    held = first.take(cassette, KEY, 0)
    assert held is not None
    assert first.take(cassette, KEY, 0) is None
    held.release()
    again = first.take(cassette, KEY, 0)
    assert again is not None and again.held
    again.release()
    assert second.take(cassette, KEY, 0) is not None


def test_letting_one_claim_go_keeps_the_others_of_the_file(tmp_path: Path) -> None:
    """Closing a descriptor would drop every lock of the process on the file: the file stays
    open while any claim on it is held."""
    cassette = tmp_path / "c.db"
    claims = Claims()
    one, two = claims.take(cassette, KEY, 0), claims.take(cassette, KEY, 1)
    assert one is not None and two is not None
    one.release()
    assert elsewhere(cassette, KEY, 0)
    assert not elsewhere(cassette, KEY, 1)
    two.release()
    assert elsewhere(cassette, KEY, 1)


def open_claims_files() -> int:
    """How many claims files this process has open."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").endswith(".claims")
        except OSError:  # the descriptor listdir itself used, closed by now
            continue
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to count files")
def test_idle_claims_files_stay_open_up_to_a_bound(tmp_path: Path) -> None:
    """A recording server claims every miss: the file is kept open between claims, but a
    session of one cassette per test keeps only the most recent few open."""
    claims = Claims()
    before = open_claims_files()
    for index in range(IDLE_FILES + 3):
        claim = claims.take(tmp_path / f"c{index}.db", KEY, 0)
        assert claim is not None and claim.held
        claim.release()
    assert open_claims_files() - before == IDLE_FILES
    again = claims.take(tmp_path / f"c{IDLE_FILES + 2}.db", KEY, 0)  # reused, still a lock
    assert again is not None and again.held
    assert not elsewhere(tmp_path / f"c{IDLE_FILES + 2}.db")
    again.release()


def test_a_claims_folder_made_anew_is_locked_anew(tmp_path: Path) -> None:
    """An idle file kept open whose folder was deleted (a test's cleanup) is not used again:
    a lock on the deleted file would exclude nobody."""
    cassette = tmp_path / "c.db"
    claims = Claims()
    first = claims.take(cassette, KEY, 0)
    assert first is not None
    first.release()
    shutil.rmtree(tmp_path / ".localaik")
    second = claims.take(cassette, KEY, 0)
    assert second is not None and second.held
    assert claims_path(cassette).exists()
    assert not elsewhere(cassette)
    second.release()
    assert elsewhere(cassette)


def test_a_crashed_holder_blocks_nobody(tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    child = multiprocessing.get_context("spawn").Process(
        target=_take_and_die, args=(str(cassette), KEY)
    )
    child.start()
    child.join(30)
    assert child.exitcode == 0
    claim = Claims().take(cassette, KEY, 0)
    assert claim is not None and claim.held


async def test_free_waits_for_the_holder_and_gives_up_at_the_timeout(tmp_path: Path) -> None:
    cassette = tmp_path / "c.db"
    claims = Claims()
    held = claims.take(cassette, KEY, 0)
    assert held is not None
    assert not await claims.free(cassette, KEY, 0, timeout=0.05)
    asyncio.get_running_loop().call_later(0.05, held.release)
    assert await claims.free(cassette, KEY, 0, timeout=5)
    assert claims.held() == 0


def test_an_unusable_claims_file_grants_the_claim_unlocked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cassette = tmp_path / "c.db"
    claims_path(cassette).mkdir(parents=True)  # not a file: cannot be opened for writing
    claims = Claims()
    for _ in range(2):
        claim = claims.take(cassette, KEY, 0)
        assert claim is not None and not claim.held
        claim.release()
    assert sum("cannot take claims" in r.message for r in caplog.records) == 1
