"""Claims: which process records an answer into a cassette, when several share it.

Within one server, single flight is the policy's `Flight`: identical misses wait for the one
request that records. Across processes (pytest-xdist workers, two servers on one cassette)
that request first takes the *claim* of its (cassette, key, ordinal): a POSIX byte-range lock
(`fcntl.lockf`) of one byte of the cassette's claims file, `.localaik/<cassette name>.claims`,
at an offset drawn from the key and ordinal. A process that finds it held waits until it is
let go, then looks in the cassette again: the holder stored the answer (a hit), or failed and
this process records.

POSIX record locks shape the code:

- A lock belongs to the process, so the same process taking it again would succeed without a
  word: this module keeps the claims its process holds and refuses a second one itself (two
  servers in one process, as in a test session, exclude each other too).
- Closing *any* descriptor of a file drops all the process's locks on it: each claims file is
  opened once per process and never opened twice. One the process holds no claim on stays
  open among the `IDLE_FILES` most recently used (a recording server takes a claim for every
  miss: opening the file each time cost more than the lock), and is checked to still be the
  file at its path before it is used again (a folder deleted and made anew is a new file,
  whose locks other processes see). A session with one cassette per test keeps at most
  `IDLE_FILES` open.
- The kernel drops the locks of a process that dies: a crashed recorder blocks nobody.
- A child of `fork` holds none of its parent's locks: the record of what is held is per pid.

A claims file that cannot be opened or locked (a read-only folder, a filesystem without
locks) costs one warning, and the claim is granted without a lock: the store's unique key then
settles a race (the policy answers the loser with its own answer, `CassetteConflict`).
Only record and refresh take claims; replay writes nothing, not even this file.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import functools
import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from localaik.cassette.state import make_state_folder, state_folder

log = logging.getLogger("localaik.claims")

SUFFIX = ".claims"
_BUSY = (errno.EACCES, errno.EAGAIN)
POLL_FIRST = 0.005  # seconds between looks at a held claim, doubling up to POLL_MAX
POLL_MAX = 0.05
IDLE_FILES = 4  # claims files kept open while no claim is held on them


@functools.lru_cache(maxsize=256)  # asked for every recorded miss; pathlib's joins cost
def claims_path(cassette: Path) -> Path:
    return state_folder(cassette) / (cassette.name + SUFFIX)


def offset_of(key: str, ordinal: int) -> int:
    """The byte that stands for (key, ordinal): 56 bits of a hash, so two answers share a
    byte (and wait for each other needlessly) about never."""
    digest = hashlib.sha256(f"{key}\0{ordinal}".encode()).digest()
    return int.from_bytes(digest[:7], "big")


class Claim:
    """A claim this process holds (`held`), or one granted without a lock. `release` is
    idempotent."""

    def __init__(self, owner: Claims | None, path: Path, offset: int) -> None:
        self._owner = owner
        self.path = path
        self.offset = offset

    @property
    def held(self) -> bool:
        return self._owner is not None

    def release(self) -> None:
        owner, self._owner = self._owner, None
        if owner is not None:
            owner.release(self.path, self.offset)


@dataclass
class _File:
    """One claims file, open while this process holds a claim on it (or recently did)."""

    fd: int
    inode: tuple[int, int]  # (device, inode) when opened: is the path still this file?
    held: set[int] = field(default_factory=set)

    @classmethod
    def open(cls, path: Path) -> _File:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        info = os.fstat(fd)
        return cls(fd, (info.st_dev, info.st_ino))

    def current(self, path: Path) -> bool:
        """Whether `path` still names this file."""
        try:
            info = os.stat(path)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == self.inode


class Claims:
    """The claims this process takes on the cassettes it records into (one per process:
    `CLAIMS`; thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[Path, _File] = {}
        self._pid = os.getpid()
        self._failed: set[Path] = set()

    def take(self, cassette: Path, key: str, ordinal: int) -> Claim | None:
        """The claim of (key, ordinal) in `cassette`, or None while another process (or
        another server of this one) holds it. Never blocks."""
        path, offset = claims_path(cassette), offset_of(key, ordinal)
        with self._lock:
            self._forget_parent()
            file = self._files.pop(path, None)
            if file is not None and not file.held and not file.current(path):
                os.close(file.fd)  # idle, and its path names another file now (or none)
                file = None
            if file is None:
                try:
                    make_state_folder(cassette)
                    file = _File.open(path)
                except OSError as exc:
                    return self._unlocked(path, offset, exc)
            self._files[path] = file  # the most recently used last
            if offset in file.held:
                return None
            try:
                fcntl.lockf(file.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset, os.SEEK_SET)
            except OSError as exc:
                self._close_idle()
                if exc.errno in _BUSY:
                    return None
                return self._unlocked(path, offset, exc)
            file.held.add(offset)
            return Claim(self, path, offset)

    async def free(self, cassette: Path, key: str, ordinal: int, timeout: float) -> bool:
        """Wait until nobody holds the claim of (key, ordinal); False after `timeout` seconds.

        It looks now and then (every 5 ms, backing off to 50 ms) without blocking the event
        loop; a lock wait in a thread could not be given up at the timeout."""
        deadline = time.monotonic() + timeout
        pause = POLL_FIRST
        while True:
            claim = self.take(cassette, key, ordinal)
            if claim is not None:
                claim.release()
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(pause)
            pause = min(pause * 2, POLL_MAX)

    def release(self, path: Path, offset: int) -> None:
        with self._lock:
            file = self._files.get(path)
            if file is None or offset not in file.held or os.getpid() != self._pid:
                return
            file.held.discard(offset)
            try:
                fcntl.lockf(file.fd, fcntl.LOCK_UN, 1, offset, os.SEEK_SET)
            except OSError:
                pass  # closing the file below lets go of it all the same
            self._close_idle()

    def held(self) -> int:
        """How many claims this process holds (for tests and health)."""
        with self._lock:
            return sum(len(file.held) for file in self._files.values())

    def _close_idle(self) -> None:
        """Close the idle files beyond the `IDLE_FILES` most recently used."""
        idle = [name for name, open_file in self._files.items() if not open_file.held]
        for name in idle[: max(0, len(idle) - IDLE_FILES)]:
            os.close(self._files.pop(name).fd)

    def _unlocked(self, path: Path, offset: int, exc: OSError) -> Claim:
        if path not in self._failed:
            self._failed.add(path)
            log.warning(
                "cannot take claims in %s (processes sharing this cassette may each record "
                "an answer; the first one stored is kept): %s",
                path,
                exc,
            )
        return Claim(None, path, offset)

    def _forget_parent(self) -> None:
        """In a child of `fork`: the parent's locks are not ours, its descriptors are closed."""
        if os.getpid() == self._pid:
            return
        for file in self._files.values():
            try:
                os.close(file.fd)
            except OSError:
                pass
        self._files.clear()
        self._pid = os.getpid()


CLAIMS = Claims()
