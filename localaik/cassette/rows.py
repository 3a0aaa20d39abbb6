"""A recording as rows of the SQLite cassette, and back: every column checked on the way in.

A cassette is a file that people commit, merge and sometimes edit by hand, and replay trusts
what it reads: a status of `'abc'` or `999` would reach the HTTP layer (which drops the
connection), text where bytes belong would break an answer half sent. The schema's constraints
say most of what a column holds, but SQLite keeps any value in any column (a CHECK can be
switched off, `writable_schema` rewrites a table). So a row becomes a `Recording` only when
every column has the type and range a recording promises; otherwise it is a `Damage`, which
the store turns into a `CassetteError` naming the cassette, the key and what is wrong (a 424 in
the caller's shape on replay) and `cassette verify` reports as a problem.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from localaik.cassette.recording import Frame, Recording, Summary

# The recordings columns after `id`, in the order they are written and read.
COLUMNS = tuple(
    "key ordinal family operation model stream request upstream_request status content_type "
    "body duration_ms recorded_at localaik_version upstream upstream_model upstream_build".split()
)
INSERT = f"INSERT INTO recordings ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
SELECT = f"SELECT id, {', '.join(COLUMNS)} FROM recordings"


@dataclass(frozen=True)
class Damage:
    """A row that cannot be replayed: which recording, and what is wrong with it."""

    key: str  # the key column (or `row N` when the key itself is damaged)
    ordinal: int
    reason: str

    def message(self, location: str) -> str:
        ordinal = f" ordinal {self.ordinal}" if self.ordinal else ""
        return (
            f"cassette {location}: recording {self.key}{ordinal} is damaged: {self.reason}. "
            "Re-record it (LK_MODE=refresh), or delete the row; `localaik cassette verify` "
            "lists every damaged recording"
        )


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _optional_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _time(value: Any) -> bool:
    """Milliseconds since the request started: a finite number, not negative."""
    return type(value) in (int, float) and math.isfinite(value) and value >= 0


# What each column must hold for replay to use it, and how a problem reads.
_COLUMN_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "key": (_text, "text"),
    "ordinal": (_count, "a count from 0"),
    "family": (_text, "text"),
    "operation": (_text, "text"),
    "model": (_optional_text, "text or NULL"),
    "stream": (lambda value: type(value) is int and value in (0, 1), "0 or 1"),
    "request": (_text, "text"),
    "upstream_request": (_text, "text"),
    "status": (lambda value: type(value) is int and 100 <= value <= 599, "an HTTP status"),
    "content_type": (_text, "text"),
    "body": (lambda value: value is None or isinstance(value, bytes), "bytes (a BLOB) or NULL"),
    "duration_ms": (_time, "a duration in milliseconds"),
    "recorded_at": (_text, "text"),
    "localaik_version": (_text, "text"),
    "upstream": (_text, "text"),
    "upstream_model": (_optional_text, "text or NULL"),
    "upstream_build": (_optional_text, "text or NULL"),
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def recording_of(row: Sequence[Any], frames: Sequence[Sequence[Any]]) -> Recording | Damage:
    """The recording of a `SELECT` row and its frames' (offset_ms, data) rows, or its damage."""
    values = dict(zip(COLUMNS, row[1:], strict=True))
    key, ordinal = values["key"], values["ordinal"]
    if not isinstance(key, str):
        key = f"row {row[0]}"
    if type(ordinal) is not int:
        ordinal = 0
    for column, (check, expected) in _COLUMN_CHECKS.items():
        if not check(values[column]):
            return Damage(key, ordinal, f"{column} {_shown(values[column])} is not {expected}")
    for seq, (offset_ms, data) in enumerate(frames):
        if not isinstance(data, bytes):
            return Damage(key, ordinal, f"frame {seq}: data {_shown(data)} is not bytes (a BLOB)")
        if not _time(offset_ms):
            return Damage(key, ordinal, f"frame {seq}: offset_ms {_shown(offset_ms)} is not a time")
    values["stream"] = bool(values["stream"])
    return Recording(
        **values, frames=[Frame(offset_ms, data) for offset_ms, data in frames], id=row[0]
    )


def row_of(recording: Recording) -> list[Any]:
    """The column values `INSERT` takes for a recording."""
    values = [getattr(recording, column) for column in COLUMNS]
    values[COLUMNS.index("stream")] = int(recording.stream)
    return values


def summary_of(recording: Recording, recording_id: int) -> Summary:
    names = [field.name for field in fields(Summary) if field.name != "id"]
    return Summary(id=recording_id, **{name: getattr(recording, name) for name in names})
