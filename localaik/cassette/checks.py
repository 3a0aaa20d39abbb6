"""The checks of `localaik cassette verify` that need no replay: each recording on its own.

Its key is the hash of its request, the request is canonical JSON agreeing with the columns,
the upstream request is JSON, a stream holds SSE frames ending in `[DONE]`, a body is JSON, and
nothing in it is shaped like a secret (the scan that refuses to record them: a row written by
another tool, or by an older localaik, could hold one). And the client request that would ask
for it, rebuilt by its family's operation, for the replay pass (`server/verify.py`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from localaik.cassette.key import canonical_json, request_key
from localaik.cassette.recording import Recording
from localaik.cassette.secrets import locate_secret, shaped_like
from localaik.families import Family
from localaik.families.operation import Rebuilt
from localaik.upstream.chunks import is_done
from localaik.wire import sse
from localaik.wire.jsontext import is_json


@dataclass(frozen=True)
class Problem:
    """One thing wrong: with the whole file (`key` None) or with one recording."""

    cassette: Path
    message: str
    key: str | None = None
    ordinal: int = 0

    def line(self) -> str:
        if self.key is None:
            return f"{self.cassette}: {self.message}"
        ordinal = f" ordinal {self.ordinal}" if self.ordinal else ""
        return f"{self.cassette}: {self.key[:12]}{ordinal}: {self.message}"


@dataclass
class Report:
    cassette: Path
    recordings: int = 0
    problems: list[Problem] = field(default_factory=list)


# -- one recording ------------------------------------------------------------------------------


def recording_problems(recording: Recording) -> list[str]:
    """What is wrong with one recording on its own (no replay)."""
    problems = _request_problems(recording)
    try:
        json.loads(recording.upstream_request)
    except ValueError:
        problems.append("its upstream request is not JSON")
    if recording.stream and recording.status < 400:
        problems += _frame_problems(recording)
    elif recording.status < 500 and not is_json(recording.body):
        problems.append(f"its body (HTTP {recording.status}) is not JSON")
    found = locate_secret(recording)
    if found is not None:
        kind, where = found
        problems.append(
            f"its {where} holds {shaped_like(kind)}: cassettes are "
            "committed, take it out (re-record without it, or prune it)"
        )
    return problems


_KEY_PROBLEMS = ("its key", "its request")


def unkeyed(problems: list[str]) -> bool:
    """A recording whose request or key is broken cannot be found by any request: replaying
    it would only repeat the problem already reported."""
    return any(text.startswith(_KEY_PROBLEMS) for text in problems)


def _request_problems(recording: Recording) -> list[str]:
    try:
        canon = json.loads(recording.request)
    except ValueError:
        return ["its request is not JSON"]
    if not isinstance(canon, dict) or set(canon) != {
        "family",
        "operation",
        "model",
        "stream",
        "body",
    }:
        return ["its request is not a canonical request (family, operation, model, stream, body)"]
    problems = []
    if canonical_json(canon) != recording.request:
        problems.append("its request is not in canonical form (sorted keys, compact)")
    if request_key(recording.request) != recording.key:
        problems.append(
            f"its key does not match its request (the request hashes to "
            f"{request_key(recording.request)[:12]})"
        )
    columns = {
        "family": recording.family,
        "operation": recording.operation,
        "model": recording.model,
        "stream": recording.stream,
    }
    for name, value in columns.items():
        if canon[name] != value:
            problems.append(f"its request says {name} {canon[name]!r}, the {name} column {value!r}")
    return problems


def _frame_problems(recording: Recording) -> list[str]:
    if not recording.frames:
        return ["it is a stream with no frames"]
    last: sse.Event | None = None
    for seq, frame in enumerate(recording.frames):
        try:
            text = bytes(frame.data).decode("utf-8")
        except UnicodeDecodeError:
            return [f"frame {seq} is not UTF-8"]
        event = sse.parse_frame(frame.data)
        if event is None:
            if any(line and not line.startswith(":") for line in text.splitlines()):
                return [f"frame {seq} is not a server-sent event: {text[:40]!r}"]
            continue
        if not is_done(event.data) and not is_json(event.data.encode()):
            return [f"frame {seq} carries data that is not JSON: {event.data[:40]!r}"]
        last = event
    if last is None or not is_done(last.data):
        return ["the stream does not end with a [DONE] event (it was cut short)"]
    return []


def has_error_event(recording: Recording) -> bool:
    for frame in recording.frames:
        event = sse.parse_frame(frame.data)
        if event is not None and error_of(event.data) is not None:
            return True
    return False


def error_of(data: str) -> str | None:
    """The message of an error object in a JSON text, else None."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    if isinstance(value, list) and value:
        value = value[-1]
    if isinstance(value, dict) and value.get("type") == "error" and "message" in value:
        return str(value["message"] or "error")  # a Responses API error event
    if not isinstance(value, dict) or "error" not in value:
        return None
    error = value["error"]
    message = error.get("message") if isinstance(error, dict) else error
    return str(message or "error")


# -- the client request -------------------------------------------------------------------------


def client_request(recording: Recording) -> Rebuilt | str:
    """The HTTP request a client sends for this recording's canonical request, as its family's
    operation rebuilds it; a problem (str) when no registered operation serves it."""
    canon = json.loads(recording.request)
    family_name, operation_name = canon["family"], canon["operation"]
    family = Family.named(family_name)
    operation = family.descriptor.operation(operation_name) if family is not None else None
    rebuilt = operation.rebuild(canon) if operation is not None else None
    if rebuilt is None:
        return (
            f"it cannot be replayed: this localaik serves no {family_name} {operation_name} request"
        )
    return rebuilt
