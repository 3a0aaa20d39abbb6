"""Which cassettes a command means: files, folders and globs, expanded the same way everywhere.

Every `localaik cassette` command that reads or upkeeps cassettes, and `localaik doctor`, take
their PATHS through `expand`, so that `cassettes/`, `'cassettes/**/*.db'` and a file name mean
the same set to all of them:

- a file is itself (whatever its name: `ls` then says when it is not a cassette);
- a folder is every cassette below it, at any depth: each `.db` file (a damaged one too, so
  that `verify` reports it rather than skipping it) and any other SQLite database (a cassette
  an `X-Localaik-Cassette: name.sqlite` header made). Dot folders (localaik's own `.localaik/`
  state, `.git`) and dot files (a merge's temporary cassette) are skipped, and so are SQLite's
  side files (`-wal`, `-shm`, `-journal`; `cassette/names.py`);
- a glob (`*`, `?`, `[…]`, `**` for any depth) is expanded here, as pytest and ruff do, so
  that a quoted pattern works in every shell and on Windows; a folder it matches counts as
  above, a file it matches as itself unless it is a side file or localaik's state.

An argument that names no cassette is an error (`NothingFound`), never an empty success: a
typo in CI must not make `verify` pass. With no argument the commands use `default_location`:
`LK_CASSETTE` when it is set, else the folder of the default cassette (`cassettes/`), which
holds what `localaik serve` and the pytest plugin write.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

from localaik.cassette.names import refusal

SUFFIX = ".db"
SQLITE_MAGIC = b"SQLite format 3\x00"
_PATTERN = frozenset("*?[")


class NothingFound(Exception):
    """An argument (a path, folder or glob) that names no cassette."""

    def __init__(self, argument: str, reason: str, message: str | None = None) -> None:
        super().__init__(message or f"{argument}: {reason}")
        self.argument = argument
        self.reason = reason


def default_location(cassette: Path, configured: bool) -> Path:
    """What a command with no PATH reads: the configured cassette (`LK_CASSETTE` set), else
    the folder of the default one, where `serve` and the pytest plugin both write."""
    return cassette if configured else cassette.parent


def is_pattern(argument: str) -> bool:
    """Whether `argument` is a glob (and not the name of a file that exists)."""
    return bool(_PATTERN.intersection(argument)) and not os.path.lexists(argument)


def expand(arguments: Sequence[str]) -> list[Path]:
    """The cassettes `arguments` name, in the order given, each once (sorted within a folder
    or glob). Raises `NothingFound` for the first argument that names none."""
    found: dict[Path, Path] = {}  # the resolved path -> the path as the user wrote it
    for argument in arguments:
        for path in _one(argument):
            found.setdefault(path.resolve(), path)
    return list(found.values())


def below(folder: Path) -> list[Path]:
    """Every cassette below `folder`, at any depth, sorted (see the module's docstring)."""
    found: list[Path] = []
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files):
            path = Path(root, name)
            if not name.startswith(".") and refusal(path) is None and _cassette_like(path):
                found.append(path)
    return found


def beside(folder: Path) -> list[Path]:
    """The cassettes directly in `folder` (not below it), sorted: those a server whose default
    cassette is in `folder` can serve by `X-Localaik-Cassette`."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [
        Path(folder, name)
        for name in names
        if not name.startswith(".")
        and refusal(Path(folder, name)) is None
        and Path(folder, name).is_file()
        and _cassette_like(Path(folder, name))
    ]


def _one(argument: str) -> list[Path]:
    path = Path(argument)
    if path.is_dir():
        found = below(path)
        if not found:
            raise NothingFound(argument, "no cassettes in this folder (nor below it)")
        return found
    if is_pattern(argument):
        found = []
        for match in sorted(glob.glob(argument, recursive=True)):
            matched = Path(match)
            if matched.is_dir():
                found += below(matched)
            elif refusal(matched) is None:
                found.append(matched)
        if not found:
            raise NothingFound(argument, "no cassette matches this pattern")
        return found
    refused = refusal(path)
    if refused is not None:  # SQLite's side file, or localaik's state: never a cassette
        raise NothingFound(argument, "not a cassette", refused)
    if not path.exists():
        raise NothingFound(argument, "no such file or folder")
    return [path]


def _cassette_like(path: Path) -> bool:
    if path.suffix == SUFFIX:
        return True
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False
