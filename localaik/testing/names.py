"""The cassette file of a test: `<dir>/<marker's name>.db` (`marker.py`), else
`<dir>/<module path>/<Class.>test[-params].db`, every part a safe file name."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from localaik.cassette.names import SEGMENT, sqlite_own

LONGEST_NAME = 100
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class MarkerError(Exception):
    """A `localaik` marker with an argument that cannot work (`marker.py`)."""


def cassette_for(item: pytest.Item, name: str | None, directory: Path, rootpath: Path) -> Path:
    """`<dir>/<name>` (a marker's, `cassette_name`), else
    `<dir>/<module path>/<Class.>test[-params].db`."""
    if name is not None:
        return directory / name
    module = item.path
    try:
        relative = module.relative_to(rootpath)
    except ValueError:
        relative = Path(module.name)
    classes = [node.name for node in item.listchain() if isinstance(node, pytest.Class)]
    test = ".".join([*classes, safe_name(item.name)])
    return directory / relative.with_suffix("") / f"{test}.db"


def cassette_name(text: str) -> str:
    """A marker's cassette name as a path below the cassette folder, ending in `.db`;
    `MarkerError` when it cannot be one."""
    segments = text.replace("\\", "/").split("/")
    if not all(SEGMENT.match(part) for part in segments):  # no "..", no absolute
        raise MarkerError(
            f"@pytest.mark.localaik(cassette={text!r}): a cassette name is "
            "letters, digits, '.', '_' and '-', with '/' between folders"
        )
    # The file always ends in `.db`; a folder named like a SQLite side file would stand where
    # SQLite keeps the journal of the cassette beside it (`a.db-wal/b` blocks `a.db`'s log).
    for part in segments:
        reason = sqlite_own(part)
        if reason is not None:
            raise MarkerError(f"@pytest.mark.localaik(cassette={text!r}): {part!r}: {reason}")
    return "/".join(segments) + ("" if text.endswith(".db") else ".db")


def safe_name(name: str) -> str:
    """A test name as a file name: `test_x[gemini-v1]` -> `test_x-gemini-v1`.

    Characters outside [A-Za-z0-9._-] become `_`; when that (or shortening) could make two
    ids collide, a hash of the original id is added.
    """
    base, bracket, params = name.partition("[")
    params = params[:-1] if bracket and params.endswith("]") else params
    plain = UNSAFE.sub("_", base).strip("._-") or "test"
    if not bracket:
        return plain
    safe = UNSAFE.sub("_", params).strip("._-")
    text = f"{plain}-{safe}" if safe else plain
    if safe != params or len(text) > LONGEST_NAME:
        digest = hashlib.sha256(params.encode()).hexdigest()[:8]
        text = f"{text[:LONGEST_NAME]}-{digest}"
    return text
