"""The cassettes one server uses: the default one (which the pytest plugin switches per test)
and those a request names with `X-Localaik-Cassette`, each opened once and kept open.

Mode `once` asks, per cassette, whether it existed when this server first used it (`fresh`):
a cassette that did not is recorded into for the rest of the process; one that did is only
read, like a replayed one, opened read-only so that a committed cassette stays byte for byte
as checked out.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from localaik.cassette.names import SEGMENT, sqlite_own
from localaik.cassette.secrets import find_secret, shaped_like
from localaik.cassette.store import store_for
from localaik.cassette.threaded import Cassette
from localaik.config import Mode
from localaik.errors import BadRequest

NAMED_KEPT = 256  # cassette names kept resolved; more are checked each time


@dataclass
class Opened:
    """A cassette, once opened (or known not to exist yet)."""

    cassette: Cassette
    exists: bool
    readonly: bool
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Cassettes:
    """The cassette files this server uses: the default one and those named by header."""

    def __init__(self, default: Path, *, readonly: bool = False) -> None:
        self.default = default
        # Replay only reads: opening read-only leaves a committed cassette byte for byte as
        # checked out (a read-write open bumps SQLite's change counter in the header).
        self.readonly = readonly
        self._open: dict[Path, Opened] = {}
        self._fresh: dict[Path, bool] = {}
        self._named: dict[str, Path] = {}  # names found valid, and their files (`path_for`)

    def path_for(self, name: str | None, what: str = "X-Localaik-Cassette") -> Path:
        """The file for an `X-Localaik-Cassette` name (validated: no paths, no escapes, none
        of SQLite's own files, `cassette/names.py`); `what` names where it came from."""
        if not name:
            return self.default
        known = self._named.get(name)
        if known is not None:  # a request reads it up to three times, a suite a few names
            return known
        if (kind := find_secret(name)) is not None:
            # Not quoted back: the name is about to become a file name, and a log line.
            raise BadRequest(
                f"{what}: the name holds {shaped_like(kind)}; a cassette is a "
                "file meant to be committed, so it is not named after a key"
            )
        if not SEGMENT.match(name) or ".." in name:
            raise BadRequest(
                f"{what}: {name[:80]!r} is not a valid cassette name "
                "(letters, digits, '.', '_', '-'; no paths)"
            )
        original = name
        if "." not in name:
            name += ".db"
        reason = sqlite_own(name)
        if reason is not None:
            raise BadRequest(f"{what}: {name!r} is not a valid cassette name: {reason}")
        path = self.default.parent / name
        if len(self._named) < NAMED_KEPT:
            self._named[original] = path
        return path

    def fresh(self, path: Path) -> bool:
        """Mode `once`: whether `path` did not exist when this server first asked about it.
        The answer is kept for the process: a cassette `once` started recording stays
        recordable; one that existed stays replay-only, even if deleted meanwhile."""
        fresh = self._fresh.get(path)
        if fresh is None:
            fresh = self._fresh[path] = not path.exists()
        return fresh

    def mode_for(self, mode: Mode, path: Path) -> Mode:
        """`mode` for the cassette at `path`: `once` is record for a fresh one, else replay."""
        if mode is Mode.ONCE:
            return Mode.RECORD if self.fresh(path) else Mode.REPLAY
        return mode

    async def get(self, path: Path, *, create: bool, readonly: bool = False) -> Opened:
        """The cassette at `path`, opened once (`create`: made if missing). Opened read-only
        with `readonly` (a replaying request): a request that writes opens a read-only one
        again, read-write (the pytest plugin's tests may differ in mode)."""
        readonly = self.readonly or (readonly and not create)
        entry = self._open.get(path)
        if entry is not None and entry.readonly and not readonly:
            await self.release(path)
            entry = None
        if entry is None:
            cassette = Cassette(store_for(path, readonly=readonly))
            entry = self._open.setdefault(path, Opened(cassette, False, readonly))
        if not entry.exists:
            async with entry.lock:
                if not entry.exists:
                    entry.exists = await entry.cassette.open(create=create)
        return entry

    async def select(self, path: Path) -> None:
        """Make `path` the default cassette (on the server's loop: the pytest plugin's thread
        asks for it between tests)."""
        self.default = path
        self._named.clear()  # named cassettes sit beside the default one

    async def release(self, path: Path) -> None:
        """Close one cassette until its next use (the pytest plugin's per-test cassettes:
        each open cassette holds a thread and a connection)."""
        entry = self._open.pop(path, None)
        if entry is not None:
            await entry.cassette.close()

    async def close(self) -> None:
        for entry in self._open.values():
            await entry.cassette.close()
        self._open.clear()
