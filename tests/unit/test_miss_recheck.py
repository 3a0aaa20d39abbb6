"""A request that missed looks in the cassette again after taking its claim (`policy.py`): it
may skip that read only when nothing wrote the cassette since it looked, and another process's
save must count even when it lands in the same turn of the event loop as the first look (the
cassette's stamp is otherwise shared by a turn's requests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from localaik.cassette.store import store_for
from localaik.cassette.threaded import Cassette
from localaik.config.choices import Mode
from localaik.config.settings import Settings
from localaik.families.operation import ClientRequest
from localaik.server.cassettes import Cassettes
from localaik.server.policy import Lookup, Replayer
from tests.unit.test_store import make_recording


def lookup_of(policy: Replayer, text: str) -> Lookup:
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    return policy.locate(ClientRequest("openai", "chat.completions", "m", False, body), None)


async def test_another_process_s_save_in_the_same_turn_is_seen_by_the_recheck(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.db"
    policy = Replayer(Settings(mode=Mode.RECORD, cassette=path, log=False), None, Cassettes(path))
    lookup = lookup_of(policy, "hello")
    await policy.cassettes.get(path, create=True)  # the file exists, empty
    other = Cassette(path)  # another process: its own connection, its own stamp
    await other.open(create=False)
    assert await policy.replayed(lookup) is None
    recording = make_recording(lookup.key, frames=0, request=lookup.text)

    # Another process records the answer and lets go of its claim; nothing here has yielded
    # to the loop since the first look (a completed quick read does not).
    other.store.save(recording)
    found = await policy.replayed(lookup)

    assert found is not None and found.body == recording.body
    await other.close()
    await policy.cassettes.close()


async def test_the_recheck_reads_nothing_while_nobody_wrote(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    policy = Replayer(Settings(mode=Mode.RECORD, cassette=path, log=False), None, Cassettes(path))
    lookup = lookup_of(policy, "hello")
    entry = await policy.cassettes.get(path, create=True)
    await entry.cassette.save(make_recording("b" * 32))  # a cassette in use, not a new file
    assert await policy.replayed(lookup) is None
    reads = 0
    get = entry.cassette.store.get

    def counted(key: str, ordinal: int = 0) -> object:
        nonlocal reads
        reads += 1
        return get(key, ordinal)

    entry.cassette.store.get = counted  # type: ignore[method-assign,assignment]

    assert await policy.replayed(lookup) is None
    assert reads == 0
    await policy.cassettes.close()


def test_stamping_a_cassette_leaves_sqlite_s_locks_on_its_shared_memory(tmp_path: Path) -> None:
    """Closing any descriptor of a file drops every POSIX lock the process holds on it, so a
    stamp that opened and closed the `-shm` file let another process take it for unused and
    truncate it under this one's map (SIGBUS in the live-path benchmark). SQLite holds a shared
    lock on the "dead man switch" byte while it uses the shared memory: another process must
    still be refused an exclusive lock there after a stamp."""
    path = tmp_path / "c.db"
    store = store_for(path)
    store.open(create=True)
    store.save(make_recording("a" * 32))
    assert store.get("a" * 32) is not None  # the shared memory is in use
    probe = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR)\n"
        "try:\n"
        "    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 128, os.SEEK_SET)\n"
        "except OSError:\n"
        "    print('refused')\n"
        "else:\n"
        "    print('taken')\n"
    )

    def other_process_can_take_it() -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, f"{path}-shm"], capture_output=True, text=True
        )
        return done.stdout.strip()

    assert other_process_can_take_it() == "refused"
    for _ in range(3):
        store.stamp()
    assert other_process_can_take_it() == "refused"
    store.close()
