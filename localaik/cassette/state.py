"""A cassette's local state: the `.localaik/` folder beside it, never committed.

What a machine keeps about a cassette that is no part of it lives there: which recordings each
run used (`usage.py`) and the claims of processes recording into it (`claims.py`). It is kept
out of the cassette so that replaying never writes to a committed file, and out of git by the
folder's own `.gitignore` (`*`, as `.pytest_cache` does), so `git add cassettes` commits
cassettes and nothing else.
"""

from __future__ import annotations

from pathlib import Path

FOLDER = ".localaik"
GITIGNORE = "# Created by localaik: local state, never committed.\n*\n"


def state_folder(cassette: Path) -> Path:
    """The folder of `cassette`'s local state (it may not exist yet)."""
    return cassette.parent / FOLDER


def make_state_folder(cassette: Path) -> Path:
    """The folder of `cassette`'s local state, made if needed, ignored by git from the start."""
    folder = state_folder(cassette)
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text(GITIGNORE, encoding="utf-8")
    return folder
