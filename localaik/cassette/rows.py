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

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from localaik.cassette.recording import Frame, Recording, Summary
from localaik.errors import Internal

# The recordings columns after `id`, in the order they are written and read.
COLUMNS = tuple(
    "key ordinal family operation model stream request upstream_request status content_type "
    "body duration_ms recorded_at localaik_version upstream upstream_model upstream_build".split()
)
# Bytes of answer (body and frames) per recording id.
SIZES = (
    "SELECT r.id, coalesce(length(r.body), 0) + coalesce("
    "(SELECT sum(length(f.data)) FROM frames f WHERE f.recording_id = r.id), 0) "
    "FROM recordings r"
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


_INF = float("inf")
_TEXT = "text"
_OPTIONAL_TEXT = "text or NULL"

# What each column must hold for replay to use it, as a problem says it.
EXPECTED = {
    "key": _TEXT,
    "ordinal": "a count from 0",
    "family": _TEXT,
    "operation": _TEXT,
    "model": _OPTIONAL_TEXT,
    "stream": "0 or 1",
    "request": _TEXT,
    "upstream_request": _TEXT,
    "status": "an HTTP status",
    "content_type": _TEXT,
    "body": "bytes (a BLOB) or NULL",
    "duration_ms": "a duration in milliseconds",
    "recorded_at": _TEXT,
    "localaik_version": _TEXT,
    "upstream": _TEXT,
    "upstream_model": _OPTIONAL_TEXT,
    "upstream_build": _OPTIONAL_TEXT,
}
assert tuple(EXPECTED) == COLUMNS


def _time(value: Any) -> bool:
    """Milliseconds since the request started: a finite number, not negative. (A REAL column
    answers a float for any number stored in it; NaN fails the comparison.)"""
    return type(value) is float and 0.0 <= value < _INF


def _sound(name: str, value: Any) -> bool:
    expected = EXPECTED[name]
    if expected == _TEXT:
        return type(value) is str
    if expected == _OPTIONAL_TEXT:
        return value is None or type(value) is str
    if name == "ordinal":
        return type(value) is int and value >= 0
    if name == "stream":
        return type(value) is int and value in (0, 1)
    if name == "status":
        return type(value) is int and 100 <= value <= 599
    if name == "body":
        return value is None or type(value) is bytes
    return _time(value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_SUMMARY = ("key", "ordinal", "family", "operation", "model", "stream", "recorded_at", "request")


def summary_row(row: Sequence[Any]) -> Summary | None:
    """The summary of an `(id, key, ordinal, family, operation, model, stream, recorded_at,
    request)` row, or None for a damaged one (`cassette verify` names it; a listing or a miss
    diagnosis leaves it out rather than fail)."""
    recording_id, *values = row
    if not all(_sound(name, value) for name, value in zip(_SUMMARY, values, strict=True)):
        return None
    key, ordinal, family, operation, model, stream, recorded_at, request = values
    return Summary(
        recording_id, key, ordinal, family, operation, model, bool(stream), recorded_at, request
    )


def recording_of(row: Sequence[Any], frames: Sequence[Sequence[Any]]) -> Recording | Damage:
    """The recording of a `SELECT` row and its frames' (offset_ms, data) rows, or its damage.

    Every read of a recording passes here (a replay hit that is not in memory yet), so the
    sound case is one expression; only a damaged row is looked at column by column."""
    (
        recording_id, key, ordinal, family, operation, model, stream, request, upstream_request,
        status, content_type, body, duration_ms, recorded_at, localaik_version, upstream,
        upstream_model, upstream_build,
    ) = row  # fmt: skip
    text = str
    if (
        type(key) is text
        and type(ordinal) is int
        and ordinal >= 0
        and type(family) is text
        and type(operation) is text
        and (model is None or type(model) is text)
        and (stream == 0 or stream == 1)
        and type(stream) is int
        and type(request) is text
        and type(upstream_request) is text
        and type(status) is int
        and 100 <= status <= 599
        and type(content_type) is text
        and (body is None or type(body) is bytes)
        and _time(duration_ms)
        and type(recorded_at) is text
        and type(localaik_version) is text
        and type(upstream) is text
        and (upstream_model is None or type(upstream_model) is text)
        and (upstream_build is None or type(upstream_build) is text)
        and all(
            type(data) is bytes and type(offset) is float and 0.0 <= offset < _INF
            for offset, data in frames
        )
    ):
        return Recording(
            key, ordinal, family, operation, model, bool(stream), request, upstream_request,
            status, content_type, body, [Frame(offset, data) for offset, data in frames],
            duration_ms, recorded_at, localaik_version, upstream, upstream_model, upstream_build,
            recording_id,
        )  # fmt: skip
    return _damage(row, frames)


def _damage(row: Sequence[Any], frames: Sequence[Sequence[Any]]) -> Damage:
    """What is wrong with a row `recording_of` refused: the first column or frame at fault."""
    values = dict(zip(COLUMNS, row[1:], strict=True))
    key, ordinal = values["key"], values["ordinal"]
    if not isinstance(key, str):
        key = f"row {row[0]}"
    if type(ordinal) is not int:
        ordinal = 0
    for name, value in values.items():
        if not _sound(name, value):
            return Damage(key, ordinal, f"{name} {_shown(value)} is not {EXPECTED[name]}")
    for seq, (offset_ms, data) in enumerate(frames):
        if type(data) is not bytes:
            return Damage(key, ordinal, f"frame {seq}: data {_shown(data)} is not bytes (a BLOB)")
        if not _time(offset_ms):
            return Damage(key, ordinal, f"frame {seq}: offset_ms {_shown(offset_ms)} is not a time")
    raise Internal(f"recording {key} was taken for damaged, and is not")


def row_of(recording: Recording) -> list[Any]:
    """The column values `INSERT` takes for a recording."""
    values = [getattr(recording, column) for column in COLUMNS]
    values[COLUMNS.index("stream")] = int(recording.stream)
    return values


def summary_of(recording: Recording, recording_id: int) -> Summary:
    names = [field.name for field in fields(Summary) if field.name != "id"]
    return Summary(id=recording_id, **{name: getattr(recording, name) for name in names})
