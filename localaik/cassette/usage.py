"""Which recordings each run served: the record `localaik cassette prune` and `ls` read.

A run is one server session (a `localaik serve`, or the pytest plugin's session: with
pytest-xdist, every worker's server joins the controller's run). The first time a run serves
(or records) a recording, one line is appended to the run's own file in the cassette's usage
journal, `.localaik/<cassette name>.used.d/` beside the cassette (`cassette/state.py`):

    {"run": "2026-11-25T10:00:00.000Z-4242-1a2b", "started": "2026-11-25T10:00:00.000Z",
     "at": "2026-11-25T10:00:01.250Z", "key": "…", "ordinal": 0}

One file per run and writer (`<run>+<writer>.jsonl`, the writer being one process's log), so:

- a note is one append of one line to a file nobody else writes: constant time at any size of
  the journal, and nothing another process does can lose it;
- old runs go whole: when a run first writes beside a cassette, the files of runs beyond the
  newest `KEEP_RUNS` are deleted (nothing is rewritten, so nothing in flight is lost);
- readers merge every file, and the older single file (`.localaik/<name>.used`, written by
  earlier versions) still counts, read only; it is deleted once `KEEP_RUNS` newer runs exist.

A usage file that cannot be written costs a warning, never a request.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from pathlib import Path

from localaik.cassette.state import make_state_folder, state_folder

log = logging.getLogger("localaik.usage")

JOURNAL = ".used.d"
LEGACY = ".used"
RUN_FILE = ".jsonl"
KEEP_RUNS = 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def usage_path(cassette: Path) -> Path:
    """The usage journal of `cassette`: a folder of one file per run and writer."""
    return state_folder(cassette) / (cassette.name + JOURNAL)


def legacy_path(cassette: Path) -> Path:
    """The single usage file of older localaik versions (read, never written)."""
    return state_folder(cassette) / (cassette.name + LEGACY)


_string = encode_basestring_ascii  # a str as JSON text, as `json.dumps` writes it


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run(started: str) -> str:
    """A run id: its start time first, so ids sort in the order runs started."""
    return f"{started}-{os.getpid()}-{secrets.token_hex(2)}"


def _run_part(run: str) -> str:
    """A run id as the first part of its files' names (no ':' or other awkward characters)."""
    return _UNSAFE.sub("", run)


@dataclass
class Run:
    """One run as read back: when it started, and the (key, ordinal)s it used, with when."""

    id: str
    started: str
    used: dict[tuple[str, int], str] = field(default_factory=dict)


class UsageLog:
    """This run's notes in the usage journals of the cassettes it serves from.

    `run` and `started` join a run begun elsewhere (the pytest plugin's controller under
    pytest-xdist); by default this log begins its own."""

    def __init__(self, run: str | None = None, started: str | None = None) -> None:
        self.started = started or now()
        self.run = run or new_run(self.started)
        self.writer = f"{os.getpid()}-{secrets.token_hex(3)}"
        # Per cassette, the recordings noted, as "<ordinal>:<key>" texts in a dict: a dict of
        # texts is one the garbage collector does not track, where a set of (key, ordinal)
        # tuples was walked whole by every full collection (~4.5 ms at 100,000 recordings,
        # about once a second while recording at 16 connections).
        self._seen: dict[Path, dict[str, None]] = {}
        self._files: dict[Path, Path] = {}  # cassette -> this writer's file in its journal
        self._failed: set[Path] = set()
        # Every line starts the same: its text made once (a note is on the request's path).
        self._head = f'{{"run":{_string(self.run)},"started":{_string(self.started)},"at":'

    def used(self, cassette: Path, key: str, ordinal: int) -> bool:
        """Note that this run served `key`/`ordinal` from `cassette`; True the first time."""
        seen = self._seen.get(cassette)
        if seen is None:
            seen = self._seen[cassette] = {}
        entry = f"{ordinal}:{key}"
        if entry in seen:
            return False
        seen[entry] = None
        line = f'{self._head}"{now()}","key":{_string(key)},"ordinal":{int(ordinal)}}}\n'
        try:
            path = self._files.get(cassette) or self._begin(cassette)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        except OSError as exc:
            if cassette not in self._failed:
                self._failed.add(cassette)
                log.warning(
                    "cannot note recording use in %s (prune and ls will not know "
                    "this run used it): %s",
                    usage_path(cassette),
                    exc,
                )
        return True

    def served(self, cassette: Path) -> set[tuple[str, int]]:
        """The (key, ordinal)s this run has served from `cassette` so far."""
        entries = (entry.partition(":") for entry in self._seen.get(cassette, {}))
        return {(key, int(ordinal)) for ordinal, _, key in entries}

    def _begin(self, cassette: Path) -> Path:
        """This writer's file beside `cassette`, once per cassette: the journal made if
        needed, the runs beyond the newest `KEEP_RUNS` deleted."""
        make_state_folder(cassette)
        journal = usage_path(cassette)
        journal.mkdir(exist_ok=True)
        forget_old_runs(cassette, keep=KEEP_RUNS, current=self.run)
        path = journal / f"{_run_part(self.run)}+{self.writer}{RUN_FILE}"
        self._files[cassette] = path
        return path


def _run_files(cassette: Path) -> dict[str, list[Path]]:
    """The journal's files by run (the first part of their names)."""
    try:
        names = os.listdir(usage_path(cassette))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    runs: dict[str, list[Path]] = {}
    for name in names:
        run, plus, _ = name.partition("+")
        if plus and name.endswith(RUN_FILE):
            runs.setdefault(run, []).append(usage_path(cassette) / name)
    return runs


def forget_old_runs(cassette: Path, keep: int = KEEP_RUNS, current: str | None = None) -> int:
    """Delete the journal files of the runs beyond the newest `keep` (counting `current`, the
    run beginning, and never deleting it), and the older single usage file once `keep` runs
    are in the journal; how many files were deleted."""
    runs = _run_files(cassette)
    if current:  # it counts, though its file may not be written yet
        runs.setdefault(_run_part(current), [])
    newest = sorted(runs)[-keep:]
    kept = set(newest) | ({_run_part(current)} if current else set())
    deleted = 0
    for run, paths in runs.items():
        if run in kept:
            continue
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                deleted += 1
    if len(newest) >= keep:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            legacy_path(cassette).unlink()
            deleted += 1
    return deleted


def _lines(cassette: Path) -> Iterator[str]:
    """Every line of the journal, then of the older single file. A file deleted while it is
    read is skipped."""
    paths = [path for run in _run_files(cassette).values() for path in run]
    for path in [*paths, legacy_path(cassette)]:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, IsADirectoryError):
            continue
        yield from text.split("\n")


def read_runs(cassette: Path) -> list[Run]:
    """The runs recorded beside `cassette`, oldest first ([] when there is no usage record).

    Lines that are not valid (a torn write, an edit) are skipped: usage is advisory.
    """
    runs: dict[str, Run] = {}
    for line in _lines(cassette):
        try:
            entry = json.loads(line)
            run, started = str(entry["run"]), str(entry["started"])
            key, ordinal, at = str(entry["key"]), int(entry["ordinal"]), str(entry["at"])
        except (ValueError, KeyError, TypeError):
            continue
        found = runs.setdefault(run, Run(run, started))
        found.started = min(found.started, started)
        if at > found.used.get((key, ordinal), ""):
            found.used[(key, ordinal)] = at
    return sorted(runs.values(), key=lambda r: (r.started, r.id))


def last_used(cassette: Path) -> dict[tuple[str, int], str]:
    """When each (key, ordinal) was last served, over every run on record."""
    latest: dict[tuple[str, int], str] = {}
    for run in read_runs(cassette):
        for slot, at in run.used.items():
            if at > latest.get(slot, ""):
                latest[slot] = at
    return latest
