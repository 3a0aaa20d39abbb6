"""Which names a cassette file may have: none that SQLite or localaik already use.

SQLite keeps files beside a database, named after it: `main.db-wal` (the write-ahead log),
`main.db-shm` (its index), `main.db-journal` (the rollback journal) and `main.db-mjXXXXXXXX`
(a super-journal). A cassette given such a name is not a cassette of its own: SQLite takes the
file over as `main.db`'s, so recordings saved "into" it are lost with the next checkpoint and
a `-journal` can leave `main.db` unreadable. localaik keeps its own state beside a cassette in
the `.localaik` folder (usage notes, ignored by git): a cassette in it is never committed, and
one named after it takes the folder's place.

Every way of naming a cassette asks here: the `X-Localaik-Cassette` header
(`server/cassettes.py`), the pytest plugin's markers (`testing/names.py`), and every open of a
SQLite store (`cassette/sqlite.py`), which covers `LK_CASSETTE`, `--cassette` and the CLI.
The rule is case-blind: on macOS and Windows `main.db-WAL` is the same file as `main.db-wal`.
"""

from __future__ import annotations

import re
from pathlib import Path

from localaik.cassette.state import FOLDER

# A name a client gives (a header, a marker's folder): no paths, no escapes, no dot files.
SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

# The files SQLite keeps beside a database (removed along with it, never copied alone).
SIDE_FILES = ("-wal", "-shm", "-journal")
_SQLITE_OWN = re.compile(r"^(?P<main>.*)(?P<suffix>-wal|-shm|-journal|-mj[0-9a-f]{8})$", re.I)
_WHAT = {"-wal": "write-ahead log", "-shm": "WAL index", "-journal": "rollback journal"}


def sqlite_own(name: str) -> str | None:
    """Why a file name belongs to SQLite (the side file of another database), or None."""
    found = _SQLITE_OWN.match(name)
    if found is None:
        return None
    suffix = found["suffix"].lower()
    what = _WHAT.get(suffix, "super-journal")
    return (
        f"SQLite keeps the {what} of {found['main']!r} under that name, and would take the "
        f"file over as that database's (a name ending in -wal, -shm, -journal or -mjNNNNNNNN "
        "is SQLite's)"
    )


def refusal(path: Path) -> str | None:
    """Why `path` cannot be a cassette (a message naming it), or None when it can."""
    reason = sqlite_own(path.name)
    if reason is None and FOLDER.lower() in (path.name.lower(), path.parent.name.lower()):
        reason = (
            f"{FOLDER} is localaik's own folder beside the cassettes (usage notes, ignored by "
            "git): a cassette cannot be named after it or kept in it"
        )
    return None if reason is None else f"{str(path)!r} cannot be a cassette: {reason}"
