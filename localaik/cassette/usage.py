"""Which recordings each run served: the record `localaik cassette prune` and `ls` read.

A run is one server session (a `localaik serve`, or the pytest plugin's session). The first
time a run serves (or records) a recording, one line is appended to the cassette's usage file,
`.localaik/<cassette name>.used` in the cassette's folder (`cassettes/.localaik/localaik.db.used`):

    {"run": "2026-11-25T10:00:00.000Z-4242-1a2b", "started": "2026-11-25T10:00:00.000Z",
     "at": "2026-11-25T10:00:01.250Z", "key": "…", "ordinal": 0}

It is kept out of the cassette so that replaying never writes to a committed file (a CI run
leaves the `.db` byte for byte as checked out), and out of git by the folder's own `.gitignore`
(`*`, as `.pytest_cache` does), so `git add cassettes` commits cassettes and nothing else.
Appends of one short line are atomic on POSIX, so parallel servers (pytest-xdist) can share a
file. When it grows past `COMPACT_BYTES` it is rewritten keeping the newest `KEEP_RUNS` runs.
A usage file that cannot be written costs a warning, never a request.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("localaik.usage")

FOLDER = ".localaik"
SUFFIX = ".used"
GITIGNORE = "# Created by localaik: local state, never committed.\n*\n"
COMPACT_BYTES = 4 * 1024 * 1024
KEEP_RUNS = 20


def usage_path(cassette: Path) -> Path:
    return cassette.parent / FOLDER / (cassette.name + SUFFIX)


def _cassette_of(path: Path) -> Path:
    return path.parent.parent / path.name[: -len(SUFFIX)]


def _make_folder(folder: Path) -> None:
    """The usage folder, ignored by git from the start (its `.gitignore` says `*`)."""
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text(GITIGNORE, encoding="utf-8")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Run:
    """One run as read back: when it started, and the (key, ordinal)s it used, with when."""

    id: str
    started: str
    used: dict[tuple[str, int], str] = field(default_factory=dict)


class UsageLog:
    """This run's appends to the usage files of the cassettes it serves from."""

    def __init__(self) -> None:
        self.started = now()
        self.run = f"{self.started}-{os.getpid()}-{secrets.token_hex(2)}"
        self._seen: set[tuple[Path, str, int]] = set()
        self._failed: set[Path] = set()

    def used(self, cassette: Path, key: str, ordinal: int) -> bool:
        """Note that this run served `key`/`ordinal` from `cassette`; True the first time."""
        if (cassette, key, ordinal) in self._seen:
            return False
        self._seen.add((cassette, key, ordinal))
        line = (
            json.dumps(
                {
                    "run": self.run,
                    "started": self.started,
                    "at": now(),
                    "key": key,
                    "ordinal": ordinal,
                },
                separators=(",", ":"),
            )
            + "\n"
        )
        path = usage_path(cassette)
        try:
            _make_folder(path.parent)
            if path.exists() and path.stat().st_size > COMPACT_BYTES:
                compact(path)
            with path.open("a", encoding="utf-8") as out:
                out.write(line)
        except OSError as exc:
            if path not in self._failed:
                self._failed.add(path)
                log.warning(
                    "cannot note recording use in %s (prune and ls will not know "
                    "this run used it): %s",
                    path,
                    exc,
                )
        return True

    def served(self, cassette: Path) -> set[tuple[str, int]]:
        """The (key, ordinal)s this run has served from `cassette` so far."""
        return {(key, ordinal) for path, key, ordinal in self._seen if path == cassette}


def read_runs(cassette: Path) -> list[Run]:
    """The runs recorded beside `cassette`, oldest first ([] when there is no usage file).

    Lines that are not valid (a torn write, an edit) are skipped: usage is advisory.
    """
    path = usage_path(cassette)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    runs: dict[str, Run] = {}
    for line in text.split("\n"):
        try:
            entry = json.loads(line)
            run, started = str(entry["run"]), str(entry["started"])
            key, ordinal, at = str(entry["key"]), int(entry["ordinal"]), str(entry["at"])
        except (ValueError, KeyError, TypeError):
            continue
        runs.setdefault(run, Run(run, started)).used[(key, ordinal)] = at
    return sorted(runs.values(), key=lambda r: (r.started, r.id))


def last_used(cassette: Path) -> dict[tuple[str, int], str]:
    """When each (key, ordinal) was last served, over every run on record."""
    latest: dict[tuple[str, int], str] = {}
    for run in read_runs(cassette):
        for slot, at in run.used.items():
            if at > latest.get(slot, ""):
                latest[slot] = at
    return latest


def compact(path: Path, keep: int = KEEP_RUNS) -> None:
    """Rewrite the usage file at `path` with only its newest `keep` runs (atomic replace)."""
    runs = read_runs(_cassette_of(path))[-keep:]
    lines = [
        json.dumps(
            {"run": run.id, "started": run.started, "at": at, "key": key, "ordinal": ordinal},
            separators=(",", ":"),
        )
        + "\n"
        for run in runs
        for (key, ordinal), at in sorted(run.used.items())
    ]
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    temporary.write_text("".join(lines), encoding="utf-8")
    os.replace(temporary, path)
