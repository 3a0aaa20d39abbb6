"""Checking a cassette: is every recording sound, free of secrets, and does it replay?

A cassette is committed and replayed in CI by people who did not record it, so `localaik
cassette verify` answers "will this file work?" before CI does. Four kinds of check:

1. the file: SQLite's integrity and foreign keys, the schema version (`SQLiteStore.check`);
2. each recording on its own: its key is the hash of its request, the request is canonical JSON
   agreeing with the columns, the upstream request is JSON, a stream holds SSE frames ending in
   `[DONE]`, a body is JSON;
3. secrets: the same scan that refuses to record them (a row written by another tool, or by an
   older localaik, could hold one);
4. replay: the client request is rebuilt from the canonical request and sent through the real
   app in replay mode. That is the only check that catches what the others cannot see, such as
   an answer the translation can no longer read, or a route that no longer computes that key.

The replay runs on a copy of the cassette in a temporary folder: the app opens its cassette for
writing (WAL mode, migrations) and notes usage beside it, and verify must change nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from localaik.cassette.key import canonical_json, request_key
from localaik.cassette.recording import Recording
from localaik.cassette.secrets import locate_secret
from localaik.cassette.store import store_for
from localaik.errors import Error
from localaik.families import Family
from localaik.families.operation import Rebuilt
from localaik.wire import sse

Progress = Callable[[int, int], None]   # (recordings replayed so far, total)



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


@dataclass(frozen=True)
class _Replayable:
    """What the replay pass needs of a recording, so the recordings need not stay in memory."""

    key: str
    ordinal: int
    request: Rebuilt
    status: int
    stream: bool
    error_recorded: bool   # the recorded stream itself carries an error event


def verify(path: Path, *, progress: Progress | None = None) -> Report:
    """Every problem of the cassette at `path` (an empty list: it is sound and replays)."""
    report = Report(path)
    cassette = store_for(path, readonly=True)
    try:
        if not cassette.open():
            report.problems.append(Problem(path, "does not exist"))
            return report
        report.problems += [Problem(path, text) for text in cassette.check()]
        replayable: list[_Replayable] = []
        for recording in cassette.recordings():
            report.recordings += 1
            found = recording_problems(recording)
            report.problems += [Problem(path, text, recording.key, recording.ordinal)
                                for text in found]
            request = None if found and _unkeyed(found) else client_request(recording)
            if isinstance(request, str):
                report.problems.append(Problem(path, request, recording.key, recording.ordinal))
            elif request is not None:
                replayable.append(_Replayable(recording.key, recording.ordinal, request,
                                              recording.status, recording.stream,
                                              _has_error_event(recording)))
    except Error as exc:
        report.problems.append(Problem(path, exc.message))
        return report
    finally:
        cassette.close()
    try:
        report.problems += _replay_all(path, replayable, progress)
    except (Error, sqlite3.Error, OSError) as exc:
        report.problems.append(Problem(path, f"cannot replay it: {exc}"))
    return report


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
    elif recording.status < 500 and not _is_json(recording.body):
        problems.append(f"its body (HTTP {recording.status}) is not JSON")
    found = locate_secret(recording)
    if found is not None:
        kind, where = found
        problems.append(f"its {where} holds something shaped like a {kind}: cassettes are "
                        "committed, take it out (re-record without it, or prune it)")
    return problems


_KEY_PROBLEMS = ("its key", "its request")


def _unkeyed(problems: list[str]) -> bool:
    """A recording whose request or key is broken cannot be found by any request: replaying
    it would only repeat the problem already reported."""
    return any(text.startswith(_KEY_PROBLEMS) for text in problems)


def _request_problems(recording: Recording) -> list[str]:
    try:
        canon = json.loads(recording.request)
    except ValueError:
        return ["its request is not JSON"]
    if not isinstance(canon, dict) or set(canon) != {"family", "operation", "model", "stream",
                                                    "body"}:
        return ["its request is not a canonical request (family, operation, model, stream, "
                "body)"]
    problems = []
    if canonical_json(canon) != recording.request:
        problems.append("its request is not in canonical form (sorted keys, compact)")
    if request_key(recording.request) != recording.key:
        problems.append(f"its key does not match its request (the request hashes to "
                        f"{request_key(recording.request)[:12]})")
    columns = {"family": recording.family, "operation": recording.operation,
               "model": recording.model, "stream": recording.stream}
    for name, value in columns.items():
        if canon[name] != value:
            problems.append(f"its request says {name} {canon[name]!r}, the {name} column "
                            f"{value!r}")
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
        if event.data.strip() != "[DONE]" and not _is_json(event.data.encode()):
            return [f"frame {seq} carries data that is not JSON: {event.data[:40]!r}"]
        last = event
    if last is None or last.data.strip() != "[DONE]":
        return ["the stream does not end with a [DONE] event (it was cut short)"]
    return []


def _is_json(body: bytes | None) -> bool:
    if body is None:
        return False
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _has_error_event(recording: Recording) -> bool:
    for frame in recording.frames:
        event = sse.parse_frame(frame.data)
        if event is not None and _error_of(event.data) is not None:
            return True
    return False


def _error_of(data: str) -> str | None:
    """The message of an error object in a JSON text, else None."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    if isinstance(value, list) and value:
        value = value[-1]
    if isinstance(value, dict) and value.get("type") == "error" and "message" in value:
        return str(value["message"] or "error")   # a Responses API error event
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
        return (f"it cannot be replayed: this localaik serves no {family_name} "
                f"{operation_name} request")
    return rebuilt


# -- replay -------------------------------------------------------------------------------------


def _replay_all(path: Path, items: list[_Replayable],
                progress: Progress | None) -> list[Problem]:
    if not items:
        return []
    by_key: dict[str, dict[int, _Replayable]] = {}
    for item in items:
        by_key.setdefault(item.key, {})[item.ordinal] = item
    with tempfile.TemporaryDirectory(prefix="localaik-verify-") as folder, _quiet():
        copy = Path(folder) / path.name
        _copy(path, copy)
        # A loop of its own, in a thread of its own: verify may be called from async code.
        with ThreadPoolExecutor(max_workers=1) as worker:
            return worker.submit(asyncio.run, _replay_copy(path, copy, by_key, len(items),
                                                           progress)).result()


async def _replay_copy(path: Path, copy: Path, by_key: dict[str, dict[int, _Replayable]],
                       total: int, progress: Progress | None) -> list[Problem]:
    """Send every rebuilt request through the request pipeline in replay mode, on `copy`."""
    from localaik.config import Mode, Repeats, Settings
    from localaik.server.cassettes import Cassettes
    from localaik.server.pipeline import Pipeline
    from localaik.server.policy import Replayer

    settings = Settings(mode=Mode.REPLAY, cassette=copy, log=False, repeats=Repeats.SEQUENCE,
                        max_body_size=2**31)
    cassettes = Cassettes(copy, readonly=True)
    replayer = Replayer(settings, None, cassettes)
    pipeline = Pipeline(settings, None, replayer)
    problems: list[Problem] = []
    done = 0
    try:
        for key, slots in by_key.items():
            # Ordinal n answers the n-th identical request (LK_REPEATS=sequence).
            for ordinal in range(max(slots) + 1):
                item = slots.get(ordinal) or slots[max(slots)]
                misses = len(replayer.misses)
                status, content = await _send(pipeline, item.request)
                if ordinal not in slots:
                    continue
                if len(replayer.misses) > misses:
                    message: str | None = (
                        "it does not replay: its rebuilt request misses (the routes no "
                        "longer give this key)")
                elif (key, ordinal) not in replayer.usage.served(copy):
                    message = ("it does not replay: its rebuilt request gets another "
                               "recording (the routes no longer give this key)")
                else:
                    message = _replay_problem(item, status, content)
                if message:
                    problems.append(Problem(path, message, key, ordinal))
                done += 1
                if progress is not None:
                    progress(done, total)
    finally:
        await cassettes.close()
    return problems


async def _send(pipeline: Any, request: Rebuilt) -> tuple[int, bytes]:
    """The status and every byte of the pipeline's answer to a rebuilt request."""
    from localaik.server.pipeline import Incoming

    parts = urlsplit(request.path)
    body = request.body or b""

    async def read_body() -> bytes:
        return body

    answer = await pipeline.handle(Incoming(request.method, parts.path, dict(parse_qsl(
        parts.query)), request.headers, read_body))
    if answer.frames is None:
        return answer.status, answer.body
    return answer.status, b"".join([frame async for frame in answer.frames])


def _replay_problem(item: _Replayable, status: int, content: bytes) -> str | None:
    if status != item.status:
        detail = _error_of(content.decode("utf-8", "replace")) or ""
        return (f"it does not replay: answered HTTP {status} where {item.status} was recorded"
                + (f" ({detail})" if detail else ""))
    if item.stream and status < 400 and not item.error_recorded:
        for event in _events(content):
            message = _error_of(event)
            if message is not None:
                return f"it does not replay: the stream ends in an error ({message})"
    return None


def _events(content: bytes) -> Iterator[str]:
    parser = sse.EventParser()
    for event in parser.feed(content) + parser.close():
        yield event.data


def _copy(source: Path, target: Path) -> None:
    """A consistent copy (WAL included) through SQLite's backup API, reading the source only."""
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Misses are expected findings here, not warnings for the terminal: silence the app's log
    (with no handler configured, Python would print its warnings to stderr)."""
    logger = logging.getLogger("localaik")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)
