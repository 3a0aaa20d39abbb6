"""The cassettes the inspector shows, and their recordings, read through the store interface.

Every read opens the cassette read-only (`store_for(..., readonly=True)`), reads, and closes it,
in the calling thread (the pages call these functions off the event loop): the inspector never
writes a cassette, and a cassette written meanwhile by the server is read as it is now. A
cassette is named by its path below the inspected folder, and only a name in the listing is
ever opened: a page's query string cannot reach another file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localaik.cassette.locate import below
from localaik.cassette.miss import Difference
from localaik.cassette.recording import Recording, Summary
from localaik.cassette.store import CassetteStore, store_for
from localaik.cassette.usage import last_used
from localaik.errors import CassetteError
from localaik.inspector.timeline import frame_text

Served = Callable[[Path], set[tuple[str, int]]]


@dataclass(frozen=True)
class Row:
    """One recording as the cassettes page lists it."""

    cassette: str
    key: str
    ordinal: int
    family: str
    operation: str
    model: str | None
    stream: bool
    status: int
    size: int  # bytes of the answer (body or frames)
    recorded_at: str
    this_run: bool  # served or recorded by this run
    last_used: str | None  # when a run last served it (the usage journal)
    prompt: str  # the canonical request's text
    answer: str  # the answer's text


@dataclass(frozen=True)
class Filters:
    """What the cassettes page is narrowed to (empty: everything)."""

    family: str = ""
    model: str = ""
    text: str = ""

    def keeps(self, row: Row) -> bool:
        if self.family and row.family != self.family:
            return False
        if self.model and self.model.lower() not in (row.model or "").lower():
            return False
        needle = self.text.lower()
        return not needle or needle in row.prompt.lower() or needle in row.answer.lower()


class Catalog:
    """The cassettes of one folder (or a list of files) and what they hold."""

    def __init__(
        self,
        root: Path,
        listed: list[Path] | Callable[[], list[Path]] | None = None,
        served: Served | None = None,
    ) -> None:
        self.root = root
        # The cassettes: given, or looked up at each call by a function; None: every cassette
        # below `root` (`locate.below`), looked up at each call.
        self._listed = listed
        self._served = served  # this run's (key, ordinal)s of a cassette (`localaik serve`)

    @property
    def live(self) -> bool:
        """Whether a run is served beside the inspector."""
        return self._served is not None

    def cassettes(self) -> list[Path]:
        if callable(self._listed):
            return self._listed()
        if self._listed is not None:
            return list(self._listed)
        return below(self.root) if self.root.is_dir() else []

    def name(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def find(self, name: str) -> Path | None:
        """The listed cassette called `name`, or None: nothing else is ever opened."""
        return next((path for path in self.cassettes() if self.name(path) == name), None)

    def rows(self, path: Path) -> list[Row]:
        """Every recording of the cassette at `path`, in id order."""
        served = self._served(path) if self._served is not None else set()
        used = last_used(path)
        name = self.name(path)
        with _opened(path) as store:
            if store is None:
                return []
            return [
                Row(
                    name,
                    rec.key,
                    rec.ordinal,
                    rec.family,
                    rec.operation,
                    rec.model,
                    rec.stream,
                    rec.status,
                    len(rec.body or b"") + sum(len(frame.data) for frame in rec.frames),
                    rec.recorded_at,
                    (rec.key, rec.ordinal) in served,
                    used.get((rec.key, rec.ordinal)),
                    rec.request,
                    answer_text(rec),
                )
                for rec in store.recordings(on_damaged=lambda damage: None)
            ]

    def recording(self, path: Path, key: str, ordinal: int) -> Recording | None:
        with _opened(path) as store:
            return None if store is None else store.get(key, ordinal)

    def nearest(
        self, path: Path, canon: dict[str, Any], limit: int = 3
    ) -> list[tuple[Summary, list[Difference]]]:
        with _opened(path) as store:
            return [] if store is None else store.nearest(canon, limit)


class _opened:
    """A cassette opened read-only for one read (None when it does not exist or cannot be
    read), closed after it."""

    def __init__(self, path: Path) -> None:
        self.store: CassetteStore = store_for(path, readonly=True)

    def __enter__(self) -> CassetteStore | None:
        try:
            return self.store if self.store.open() else None
        except CassetteError:
            return None

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def answer_text(recording: Recording) -> str:
    """The text the model answered (a chat completion's message or its stream's deltas); the
    body itself for anything else."""
    if recording.frames:
        return "".join(frame_text(frame.data) for frame in recording.frames)
    body = (recording.body or b"").decode("utf-8", "replace")
    try:
        value = json.loads(body)
        return "".join(_message_texts(value)) or body
    except ValueError:
        return body


def _message_texts(value: Any) -> Iterator[str]:
    for choice in value.get("choices") or [] if isinstance(value, dict) else []:
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict):
            for field in ("reasoning_content", "content"):
                if isinstance(message.get(field), str):
                    yield message[field]
