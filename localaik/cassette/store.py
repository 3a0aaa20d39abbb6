"""The cassette store interface (DESIGN D8, D15): what localaik asks of wherever recordings live.

A cassette maps a normalised client request (its key) and an ordinal (the n-th answer for that
key under LK_REPEATS=sequence) to a `Recording` of the upstream exchange. The server, the CLI,
verify, the pytest plugin and the benchmarks use a cassette only through `CassetteStore`, as
httpx's client uses a `BaseTransport` and vcrpy a persister: SQLite (`SQLiteStore`) is the
implementation, and another store (a remote one shared by a CI fleet) plugs in behind the same
methods and `store_for`, the one place that picks the store for a cassette.

The interface is synchronous, and its calls are made one at a time, though not always from the
thread that opened the store (`SQLiteStore` opens its connection for any). Two may come from any
thread during other calls (not during `open` or `close`): `stamp()`, cheap, which the view and
the replay memo ask on the event loop whether what they hold is still fresh, and `flush()`, so
that a save never waits on a flush's disk sync. The server's async view, `Cassette` in
`localaik.cassette.threaded`, runs the calls on one worker thread per store, quick ones (a
lookup, a small save) on the event loop's thread while that worker is idle, and keeps recent
hits in memory.

What every store promises: a save is atomic (the whole recording and its frames, or nothing);
a recording holding something shaped like a key is refused before anything is written
(`SecretRefused`, DESIGN D7); `save` without `replace` refuses an existing (key, ordinal)
(`CassetteConflict`); a recording read back is checked column by column, and one that cannot
be replayed (a tampered row) is a `CassetteError` naming it, never a crash later; a file the
store will not use (another tool's, a newer schema) is left byte for byte; a read-only store
writes nothing, and one of an older schema is served upgraded, so committed cassettes never
break; a store that cannot be used raises `CassetteError` naming its `location`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeAlias, runtime_checkable

from localaik.cassette.files import StoredFile
from localaik.cassette.miss import Difference
from localaik.cassette.recording import Recording, Summary
from localaik.cassette.rows import Damage
from localaik.cassette.sqlite import SQLiteStore

Stamp: TypeAlias = Hashable
"""A store's freshness: equal between two calls exactly when nothing can have changed."""


@runtime_checkable
class CassetteStore(Protocol):
    """One cassette: look up, save, iterate, nearest, freshness."""

    @property
    def location(self) -> str:
        """Where the cassette is, as messages show it (for SQLite, the file's path)."""
        ...

    def open(self, *, create: bool = False) -> bool:
        """Make the cassette usable; False when it does not exist and `create` is False."""
        ...

    def get(self, key: str, ordinal: int = 0) -> Recording | None: ...

    def ordinals(self, key: str) -> int:
        """How many ordinals exist for `key`, which is also the next free ordinal."""
        ...

    def save(self, recording: Recording, *, replace: bool = False, wait: bool = True) -> int:
        """Store `recording` atomically; its id. `replace` overwrites the same (key, ordinal).
        `wait=False`: raise `CassetteBusy` at once, writing nothing, rather than wait for another
        writer (the event loop's quick saves must not block)."""
        ...

    def save_all(
        self, recordings: Sequence[Recording], *, replace: bool = False, wait: bool = True
    ) -> list[int]:
        """Save several recordings at once: all of them, or none (`wait` as for `save`)."""
        ...

    def flush(self) -> None:
        """Make what was saved part of the cassette's own file now (SQLite: copy the write-ahead
        log into the .db), for whoever copies or commits the file while it is open. A save is
        atomic and visible to every reader without it; `close` does it too."""
        ...

    def summaries(self) -> list[Summary]: ...

    def recordings(
        self, *, on_damaged: Callable[[Damage], None] | None = None
    ) -> Iterator[Recording]:
        """Every recording with its frames, in id order, read a batch at a time. A recording
        that cannot be replayed (`rows.Damage`) raises CassetteError, or, with `on_damaged`,
        is handed to it and skipped (`cassette verify` reports each one)."""
        ...

    def delete(self, ids: Iterable[int]) -> int:
        """Delete the recordings with these ids at once; how many were."""
        ...

    def nearest(
        self, canon: dict[str, Any], limit: int = 3
    ) -> list[tuple[Summary, list[Difference]]]:
        """The recordings closest to the canonical request `canon`, with what differs."""
        ...

    def save_file(self, file: StoredFile) -> bool:
        """Keep an uploaded file under its hash (once: whether it was new); SecretRefused,
        writing nothing, when it holds something shaped like a key (`cassette/files.py`)."""
        ...

    def file(self, sha256: str) -> StoredFile | None:
        """The uploaded file whose bytes hash to `sha256`, or None."""
        ...

    def files(self) -> Iterator[StoredFile]:
        """Every uploaded file the cassette keeps."""
        ...

    def stamp(self) -> Stamp:
        """Freshness; cheap, callable from any thread, whether the store is open or not."""
        ...

    def close(self) -> None:
        """Release the cassette; safe to call twice, and it can be opened again."""
        ...


def store_for(path: Path | str, *, readonly: bool = False) -> SQLiteStore:
    """The store for the cassette at `path`: every caller makes its store here, so another
    kind plugs in at this one point. It is a SQLite file today, and typed as one because the
    file tools use SQLite's own checks (`check`, `sizes`); code that needs only the interface
    takes a `CassetteStore`."""
    return SQLiteStore(path, readonly=readonly)
