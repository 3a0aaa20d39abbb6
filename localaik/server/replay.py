"""The replay policy: which answer a request gets, by mode (D3), repeats (D6) and cassette (D8).

    mode         hit                          miss
    record       replay the recording         forward, store, answer
    replay       replay the recording         404 miss that explains itself (D5)
    refresh      forward, overwrite, answer   forward, store, answer
    passthrough  forward, store nothing       forward, store nothing

A replayed answer is an `Exchange` like a live one, so the routes' response path cannot tell
them apart. Concurrent identical misses share one upstream call (single flight); a stream is
stored when its `[DONE]` arrives, and never when it breaks before.

What is stored: answers with a status below 500. Upstream 4xx answers are deterministic for
the request (a schema llama.cpp rejects, a context that is too long) and a test may expect
them; 5xx answers, timeouts and cut streams are passing faults (a model still loading answers
503) and replaying them would fail a CI run forever, so they are answered and not recorded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localaik import __version__
from localaik.cassette.key import (
    ClientRequest,
    canonical,
    canonical_json,
    parse_ignore,
    request_key,
)
from localaik.cassette.miss import NearestIndex, miss_message
from localaik.cassette.secrets import find_secret
from localaik.cassette.store import Cassette, Frame, Recording, Summary, file_stamp
from localaik.cassette.usage import UsageLog
from localaik.config import Settings
from localaik.errors import BadRequest, ReplayMiss, SecretRefused
from localaik.server.memo import Hit
from localaik.upstream.client import Upstream
from localaik.upstream.exchange import Exchange, UpstreamCall
from localaik.wire import sse

log = logging.getLogger("localaik.replay")

CASSETTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

Translate = Callable[[], Awaitable[UpstreamCall]]
Validate = Callable[[], Awaitable[None]]


@dataclass
class _Open:
    """An opened cassette and, once a miss needed it, its nearest-match index."""

    cassette: Cassette
    exists: bool
    index: NearestIndex | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Cassettes:
    """The cassette files this server uses: the default one and those named by header."""

    def __init__(self, default: Path, *, readonly: bool = False) -> None:
        self.default = default
        # Replay only reads: opening read-only leaves a committed cassette byte for byte as
        # checked out (a read-write open bumps SQLite's change counter in the header).
        self.readonly = readonly
        self._open: dict[Path, _Open] = {}

    def path_for(self, name: str | None) -> Path:
        """The file for an `X-Localaik-Cassette` name (validated: no paths, no escapes)."""
        if not name:
            return self.default
        if not CASSETTE_NAME.match(name) or ".." in name:
            raise BadRequest(f"X-Localaik-Cassette: {name[:80]!r} is not a valid cassette name "
                             "(letters, digits, '.', '_', '-'; no paths)")
        if "." not in name:
            name += ".db"
        return self.default.parent / name

    async def get(self, path: Path, *, create: bool) -> _Open:
        entry = self._open.get(path)
        if entry is None:
            entry = self._open.setdefault(path, _Open(Cassette(path), exists=False))
        if not entry.exists:
            async with entry.lock:
                if not entry.exists:
                    entry.exists = await entry.cassette.open(create=create,
                                                             readonly=self.readonly)
        return entry

    async def release(self, path: Path) -> None:
        """Close one cassette until its next use (the pytest plugin's per-test cassettes:
        each open cassette holds a thread and a connection)."""
        entry = self._open.pop(path, None)
        if entry is not None:
            await entry.cassette.close()

    async def close(self) -> None:
        for entry in self._open.values():
            await entry.cassette.close()
        self._open.clear()


class Replayer:
    """Answers `ClientRequest`s from the cassette, the upstream, or both, by mode."""

    def __init__(self, settings: Settings, upstream: Upstream, cassettes: Cassettes) -> None:
        self.settings = settings
        self.upstream = upstream
        self.cassettes = cassettes
        self.ignore = parse_ignore(settings.ignore)
        self._inflight: dict[tuple[Path, str, int], asyncio.Future[None]] = {}
        self._served: dict[tuple[Path, str], int] = {}
        self.usage = UsageLog()
        # Every miss message of this session, in order, for the pytest plugin to fail the test
        # that caused it even when the code under test swallowed the SDK's error.
        self.misses: list[str] = []

    async def exchange(self, request: ClientRequest, translate: Translate, *,
                       validate: Validate, cassette: str | None = None) -> Exchange:
        mode: str = self.settings.mode
        if mode == "passthrough":
            return await self.upstream.send(await translate())
        canon = canonical(request, self.ignore)
        canon_text = canonical_json(canon)
        key = request_key(canon_text)
        path = self.cassettes.path_for(cassette)
        ordinal = self._ordinal(path, key)
        while True:
            entry = await self.cassettes.get(path, create=False)
            if mode != "refresh" and entry.exists:
                stamp = file_stamp(path)  # before the lookup: a change during it shows
                recording = await self._lookup(entry.cassette, key, ordinal)
                if recording is not None:
                    self.usage.used(path, recording.key, recording.ordinal)
                    answer = await self._replay(recording)
                    answer.hit = Hit(path, recording.key, recording.ordinal, stamp)
                    return answer
            if mode == "replay":
                await validate()
                raise await self._miss(entry, path, key, canon)
            flight = (path, key, ordinal)
            leader = self._inflight.get(flight)
            if leader is None:
                break
            # Another request is recording this very answer: wait for it, then replay it.
            try:
                await asyncio.wait_for(asyncio.shield(leader), self.settings.upstream_timeout)
            except TimeoutError:
                pass
            if mode == "refresh":
                mode = "record"
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[flight] = done
        try:
            exchange = await self._record(path, request, key, ordinal, canon_text, translate,
                                          replace=mode == "refresh")
        except BaseException:
            self._land(flight)
            raise
        if exchange.frames is None:
            self._land(flight)
        else:
            exchange.on_close.append(lambda: self._land(flight))
        return exchange

    def _ordinal(self, path: Path, key: str) -> int:
        if self.settings.repeats != "sequence":
            return 0
        served = self._served.get((path, key), 0)
        self._served[(path, key)] = served + 1
        return served

    async def _lookup(self, cassette: Cassette, key: str, ordinal: int) -> Recording | None:
        recording = await cassette.get(key, ordinal)
        if recording is None and ordinal > 0:
            # LK_REPEATS=sequence past the last recording: the last one repeats (in replay).
            count = await cassette.ordinals(key)
            if count and self.settings.mode == "replay":
                recording = await cassette.get(key, count - 1)
        return recording

    def _land(self, flight: tuple[Path, str, int]) -> None:
        done = self._inflight.pop(flight, None)
        if done is not None and not done.done():
            done.set_result(None)

    # -- replay -----------------------------------------------------------------------------

    async def _replay(self, recording: Recording) -> Exchange:
        speed = self.settings.replay_speed
        source = f"cassette recording {recording.key[:12]}"
        if not recording.stream or not recording.frames or recording.status >= 400:
            if speed > 0 and recording.duration_ms:
                await asyncio.sleep(recording.duration_ms / 1000 / speed)
            return Exchange(recording.status, recording.content_type, recording.body or b"",
                            source=source)
        return Exchange(recording.status, recording.content_type,
                        frames=_paced(recording.frames, speed, time.perf_counter()),
                        source=source)

    async def _miss(self, entry: _Open, path: Path, key: str,
                    canon: dict[str, Any]) -> ReplayMiss:
        nearest: list[Any] = []
        if entry.exists:
            if entry.index is None:
                summaries = await entry.cassette.summaries()
                # 0.3 s for 10,000 recordings: built off the event loop, once per cassette.
                entry.index = await asyncio.to_thread(NearestIndex, summaries)
            nearest = entry.index.nearest(canon)
        message = miss_message(cassette=str(path) if entry.exists else f"{path} (does not exist)",
                               key=key, mode=self.settings.mode, canon=canon, nearest=nearest)
        log.warning("%s", message)
        self.misses.append(message)
        return ReplayMiss(message)

    # -- record -----------------------------------------------------------------------------

    async def _record(self, path: Path, request: ClientRequest, key: str, ordinal: int,
                      canon_text: str, translate: Translate, *, replace: bool) -> Exchange:
        call = await translate()
        upstream_text = call.describe()
        for text in (canon_text, upstream_text):
            kind = find_secret(text)
            if kind:
                log.warning("refused to record a request holding a %s (key %s)", kind, key[:12])
                raise SecretRefused(f"the request holds something shaped like a {kind}; localaik "
                                    "never stores secrets, so it was not recorded or forwarded. "
                                    "Remove it from the request (or use LK_MODE=passthrough)")
        started = time.perf_counter()
        live = await self.upstream.send(call)
        draft = Recording(
            key=key, ordinal=ordinal, family=request.family, operation=request.operation,
            model=request.model, stream=request.stream, request=canon_text,
            upstream_request=upstream_text, status=live.status,
            content_type=live.content_type, body=None, frames=[], duration_ms=0.0,
            recorded_at="", localaik_version=__version__,
            upstream=self.upstream.for_call(call).shown,
            upstream_model=None, upstream_build=None)
        if live.status >= 500:
            return live
        if live.frames is None:
            if live.ok and not _is_json(live.body):
                return live
            draft.body = live.body
            await self._save(path, draft, started, replace)
            return live
        live.frames = self._tee(live.frames, path, draft, started, replace)
        return live

    async def _tee(self, frames: AsyncIterator[bytes], path: Path, draft: Recording,
                   started: float, replace: bool) -> AsyncIterator[bytes]:
        """Pass frames on as they arrive; store them all when `[DONE]` shows the stream whole."""
        try:
            async for raw in frames:
                draft.frames.append(Frame(_ms_since(started), raw))
                event = sse.parse_frame(raw)
                if event is not None and event.data.strip() == "[DONE]":
                    await self._save(path, draft, started, replace)
                yield raw
        finally:
            await frames.aclose()  # type: ignore[attr-defined]

    async def _save(self, path: Path, draft: Recording, started: float, replace: bool) -> None:
        draft.duration_ms = _ms_since(started)
        draft.recorded_at = datetime.now(UTC).isoformat(timespec="milliseconds") \
            .replace("+00:00", "Z")
        draft.upstream_model, draft.upstream_build = _provenance(draft)
        entry = await self.cassettes.get(path, create=True)
        try:
            draft.id = await entry.cassette.save(draft, replace=replace)
        except SecretRefused as exc:
            log.warning("%s", exc.message)
            raise
        self.usage.used(path, draft.key, draft.ordinal)
        if entry.index is not None:
            entry.index.add(Summary(
                id=draft.id, key=draft.key, ordinal=draft.ordinal, family=draft.family,
                operation=draft.operation, model=draft.model, stream=draft.stream,
                recorded_at=draft.recorded_at, request=draft.request))


async def _paced(frames: list[Frame], speed: float, start: float) -> AsyncIterator[bytes]:
    """Recorded frames, at once (speed 0) or at their recorded offsets divided by speed.

    Offsets count from `start`, the moment the request was looked up, as they counted from the
    moment the recorded request was sent upstream.
    """
    for frame in frames:
        if speed > 0:
            wait = start + frame.offset_ms / 1000 / speed - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
        yield frame.data


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _provenance(recording: Recording) -> tuple[str | None, str | None]:
    """The model id and llama.cpp build the upstream reported in its answer."""
    candidates: list[bytes] = [recording.body] if recording.body else []
    candidates += [f.data for f in recording.frames[:3]]
    for raw in candidates:
        text = raw
        if recording.frames:
            event = sse.parse_frame(raw)
            text = event.data.encode() if event else b""
        try:
            data = json.loads(text)
        except ValueError:
            continue
        if isinstance(data, dict) and ("model" in data or "system_fingerprint" in data):
            model = data.get("model")
            build = data.get("system_fingerprint")
            return (model if isinstance(model, str) else None,
                    build if isinstance(build, str) else None)
    return None, None
