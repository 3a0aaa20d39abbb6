"""Checking a cassette: is every recording sound, free of secrets, and does it replay?

A cassette is committed and replayed in CI by people who did not record it, so `localaik
cassette verify` answers "will this file work?" before CI does. Four kinds of check:

1. the file: SQLite's integrity and foreign keys, the schema version (`SQLiteStore.check`);
2. each recording on its own (`cassette/checks.py`): every column of its row has the type and
   range replay relies on (`cassette/rows.py`: a tampered row is reported, not replayed), its
   key is the hash of its request, the request is canonical JSON agreeing with the columns,
   the upstream request is JSON, a stream holds SSE frames ending in `[DONE]`, a body is JSON;
   each uploaded file's bytes hash to its name, and a recording that refers to one has it
   (`cassette/files.py`);
3. secrets: the same scan that refuses to record them (a row written by another tool, or by an
   older localaik, could hold one);
4. replay: the client request is rebuilt from the canonical request (its operation's
   `rebuild`) and sent through the request pipeline in replay mode, as a server would answer
   it. That is the only check that catches what the others cannot see, such as an answer the
   translation can no longer read, or a route that no longer computes that key.

The replay runs on a copy of the cassette in a temporary folder, since the pipeline notes usage
beside its cassette and verify must change nothing. It lives with the server because it runs
the server's pipeline; the checks it adds to are the cassette's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from localaik.cassette.checks import (
    Problem,
    Report,
    client_request,
    error_of,
    has_error_event,
    recording_problems,
    unkeyed,
)
from localaik.cassette.files import file_problems, referenced
from localaik.cassette.rows import Damage
from localaik.cassette.store import store_for
from localaik.config import Mode, Repeats, Settings
from localaik.errors import Error
from localaik.families.operation import Rebuilt
from localaik.server.cassettes import Cassettes
from localaik.server.pipeline import Incoming, Pipeline
from localaik.server.policy import Replayer
from localaik.wire import sse

__all__ = ["Problem", "Report", "client_request", "verify"]

Progress = Callable[[int, int], None]  # (recordings replayed so far, total)


@dataclass(frozen=True)
class _Replayable:
    """What the replay pass needs of a recording, so the recordings need not stay in memory."""

    key: str
    ordinal: int
    request: Rebuilt
    status: int
    stream: bool
    error_recorded: bool  # the recorded stream itself carries an error event


def verify(path: Path, *, progress: Progress | None = None) -> Report:
    """Every problem of the cassette at `path` (an empty list: it is sound and replays)."""
    report = Report(path)
    cassette = store_for(path, readonly=True)
    try:
        if not cassette.open():
            report.problems.append(Problem(path, "does not exist"))
            return report
        report.problems += [Problem(path, text) for text in cassette.check()]
        files = list(cassette.files())
        report.problems += [Problem(path, text) for text in file_problems(files)]
        held = {file.sha256 for file in files}
        replayable: list[_Replayable] = []

        def damaged(damage: Damage) -> None:
            report.recordings += 1
            message = f"it is damaged: {damage.reason} (replay would refuse it)"
            report.problems.append(Problem(path, message, damage.key, damage.ordinal))

        for recording in cassette.recordings(on_damaged=damaged):
            report.recordings += 1
            found = recording_problems(recording)
            found += [
                f"it refers to uploaded file {sha[:12]}, which the cassette does not hold"
                for sha in sorted(referenced(recording.request) - held)
            ]
            report.problems += [
                Problem(path, text, recording.key, recording.ordinal) for text in found
            ]
            request = None if found and unkeyed(found) else client_request(recording)
            if isinstance(request, str):
                report.problems.append(Problem(path, request, recording.key, recording.ordinal))
            elif request is not None:
                replayable.append(
                    _Replayable(
                        recording.key,
                        recording.ordinal,
                        request,
                        recording.status,
                        recording.stream,
                        has_error_event(recording),
                    )
                )
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


# -- replay -------------------------------------------------------------------------------------


def _replay_all(path: Path, items: list[_Replayable], progress: Progress | None) -> list[Problem]:
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
            return worker.submit(
                asyncio.run, _replay_copy(path, copy, by_key, len(items), progress)
            ).result()


async def _replay_copy(
    path: Path,
    copy: Path,
    by_key: dict[str, dict[int, _Replayable]],
    total: int,
    progress: Progress | None,
) -> list[Problem]:
    """Send every rebuilt request through the request pipeline in replay mode, on `copy`."""

    settings = Settings(
        mode=Mode.REPLAY, cassette=copy, log=False, repeats=Repeats.SEQUENCE, max_body_size=2**31
    )
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
                        "longer give this key)"
                    )
                elif (key, ordinal) not in replayer.usage.served(copy):
                    message = (
                        "it does not replay: its rebuilt request gets another "
                        "recording (the routes no longer give this key)"
                    )
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


async def _send(pipeline: Pipeline, request: Rebuilt) -> tuple[int, bytes]:
    """The status and every byte of the pipeline's answer to a rebuilt request."""
    parts = urlsplit(request.path)
    body = request.body or b""

    async def read_body() -> bytes:
        return body

    answer = await pipeline.handle(
        Incoming(
            request.method, parts.path, dict(parse_qsl(parts.query)), request.headers, read_body
        )
    )
    if answer.frames is None:
        return answer.status, answer.body
    return answer.status, b"".join([frame async for frame in answer.frames])


def _replay_problem(item: _Replayable, status: int, content: bytes) -> str | None:
    if status != item.status:
        detail = error_of(content.decode("utf-8", "replace")) or ""
        return f"it does not replay: answered HTTP {status} where {item.status} was recorded" + (
            f" ({detail})" if detail else ""
        )
    if item.stream and status < 400 and not item.error_recorded:
        for event in _events(content):
            message = error_of(event)
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
