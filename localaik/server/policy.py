"""The replay policy: which answer a request gets, by mode (D3), repeats (D6) and cassette (D8).

    mode         hit                          miss
    record       replay the recording         forward, store, answer
    replay       replay the recording         404 miss that explains itself (D5)
    refresh      forward, overwrite, answer   forward, store, answer
    passthrough  forward, store nothing       forward, store nothing

The pipeline (`pipeline.py`) asks in steps: `locate` a request (its key, cassette, ordinal),
`replayed` for a hit, `miss` for the error of a replay miss, `lead` to become the one request
that records an answer (single flight: concurrent identical misses make one upstream call) or
`follow` the one that does, then `record`. A replayed answer is an `Exchange` like a live one,
so the answer translation cannot tell them apart. A stream is stored when its `[DONE]` arrives,
and never when it breaks before.

What is stored: answers with a status below 500. Upstream 4xx answers are deterministic for
the request (a schema llama.cpp rejects, a context that is too long) and a test may expect
them; 5xx answers, timeouts and cut streams are passing faults (a model still loading answers
503) and replaying them would fail a CI run forever, so they are answered and not recorded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localaik.cassette.draft import draft_of, finish
from localaik.cassette.key import (
    ClientRequest,
    canonical,
    canonical_json,
    parse_ignore,
    request_key,
)
from localaik.cassette.miss import miss_message
from localaik.cassette.recording import Frame, Recording
from localaik.cassette.secrets import find_secret
from localaik.cassette.usage import UsageLog
from localaik.config import Mode, Repeats, Settings
from localaik.errors import Internal, ReplayMiss, SecretRefused
from localaik.server.cassettes import Cassettes, Opened
from localaik.upstream.chunks import is_done, stream_usage
from localaik.upstream.client import Upstream
from localaik.upstream.exchange import Exchange, Hit, UpstreamCall
from localaik.wire import sse
from localaik.wire.jsontext import is_json

log = logging.getLogger("localaik.replay")


@dataclass(frozen=True)
class Lookup:
    """One request's place in the cassettes: its canonical form, key, file and ordinal."""

    request: ClientRequest
    canon: dict[str, Any]
    text: str
    key: str
    path: Path
    ordinal: int


class Flight:
    """The one request recording an answer; the others that miss the same key wait for it."""

    def __init__(
        self,
        flights: dict[tuple[Path, str, int], asyncio.Future[None]],
        slot: tuple[Path, str, int],
    ) -> None:
        self.flights = flights
        self.slot = slot
        flights[slot] = asyncio.get_running_loop().create_future()

    def land(self) -> None:
        """The answer is stored (or will never be): release the followers. Idempotent."""
        done = self.flights.pop(self.slot, None)
        if done is not None and not done.done():
            done.set_result(None)


class Replayer:
    """Answers `ClientRequest`s from the cassette, the upstream, or both, by mode."""

    def __init__(self, settings: Settings, upstream: Upstream | None, cassettes: Cassettes) -> None:
        self.settings = settings
        self.upstream = upstream
        self.cassettes = cassettes
        self.ignore = parse_ignore(settings.ignore)
        self._flights: dict[tuple[Path, str, int], asyncio.Future[None]] = {}
        self._served: dict[tuple[Path, str], int] = {}
        self.usage = UsageLog()
        # Every miss message of this session, in order, for the pytest plugin to fail the test
        # that caused it even when the code under test swallowed the SDK's error.
        self.misses: list[str] = []

    def locate(self, request: ClientRequest, cassette: str | None) -> Lookup:
        """The key of a parsed request (its body in the family's one spelling) and where its
        recording is, or would be."""
        canon = canonical(request, self.ignore, cased=True)
        text = canonical_json(canon)
        key = request_key(text)
        path = self.cassettes.path_for(cassette)
        return Lookup(request, canon, text, key, path, self._ordinal(path, key))

    def _ordinal(self, path: Path, key: str) -> int:
        if self.settings.repeats is not Repeats.SEQUENCE:
            return 0
        served = self._served.get((path, key), 0)
        self._served[(path, key)] = served + 1
        return served

    # -- replay -----------------------------------------------------------------------------

    async def replayed(self, lookup: Lookup) -> Exchange | None:
        """The recorded answer, if the cassette holds one."""
        entry = await self.cassettes.get(lookup.path, create=False)
        if not entry.exists:
            return None
        stamp = entry.cassette.stamp()  # before the lookup: a change during it shows
        recording = await entry.cassette.get(lookup.key, lookup.ordinal, stamp=stamp)
        if recording is None and lookup.ordinal > 0 and self.settings.mode is Mode.REPLAY:
            # LK_REPEATS=sequence past the last recording: the last one repeats (in replay).
            count = await entry.cassette.ordinals(lookup.key)
            if count:
                recording = await entry.cassette.get(lookup.key, count - 1)
        if recording is None:
            return None
        self.usage.used(lookup.path, recording.key, recording.ordinal)
        answer = await self._replay(recording)
        answer.hit = Hit(lookup.path, recording.key, recording.ordinal, stamp, entry.cassette.stamp)
        answer.recording = f"{recording.key}/{recording.ordinal}"
        return answer

    async def _replay(self, recording: Recording) -> Exchange:
        speed = self.settings.replay_speed
        answer = replayed_exchange(recording, speed)
        if answer.frames is None and speed > 0 and recording.duration_ms:
            await asyncio.sleep(recording.duration_ms / 1000 / speed)
        return answer

    async def miss(self, lookup: Lookup) -> ReplayMiss:
        """The error of a request with no recording, naming the nearest recordings."""
        entry = await self.cassettes.get(lookup.path, create=False)
        nearest: list[Any] = []
        if entry.exists:
            nearest = await entry.cassette.nearest(lookup.canon)
        where = str(lookup.path) if entry.exists else f"{lookup.path} (does not exist)"
        message = miss_message(
            cassette=where,
            key=lookup.key,
            mode=self.settings.mode,
            canon=lookup.canon,
            nearest=nearest,
        )
        log.warning("%s", message)
        self.misses.append(message)
        return ReplayMiss(message)

    # -- single flight ----------------------------------------------------------------------

    def lead(self, lookup: Lookup) -> Flight | None:
        """A flight when this request records the answer; None when another one already is."""
        slot = (lookup.path, lookup.key, lookup.ordinal)
        if slot in self._flights:
            return None
        return Flight(self._flights, slot)

    async def follow(self, lookup: Lookup) -> None:
        """Wait for the request recording this very answer (at most the upstream timeout)."""
        leader = self._flights.get((lookup.path, lookup.key, lookup.ordinal))
        if leader is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(leader), self.settings.upstream_timeout)
        except TimeoutError:
            pass

    # -- record -----------------------------------------------------------------------------

    async def record(self, lookup: Lookup, call: UpstreamCall, *, replace: bool) -> Exchange:
        """Forward `call` and store its answer under the lookup's key: a body before it is
        returned, a stream when its `[DONE]` passes through."""
        upstream_text = call.describe()
        for text in (lookup.text, upstream_text):
            kind = find_secret(text)
            if kind:
                log.warning(
                    "refused to record a request holding a %s (key %s)", kind, lookup.key[:12]
                )
                raise SecretRefused(
                    f"the request holds something shaped like a {kind}; "
                    "localaik never stores secrets, so it was not recorded or "
                    "forwarded. Remove it from the request (or use "
                    "LK_MODE=passthrough)"
                )
        upstream = needed(self.upstream)
        started = time.perf_counter()
        live = await upstream.send(call)
        draft = draft_of(
            lookup.key,
            lookup.ordinal,
            lookup.request,
            lookup.text,
            upstream_text,
            live,
            upstream.for_call(call).shown,
        )
        if live.status >= 500:
            return live
        live.recording = f"{lookup.key}/{lookup.ordinal}"
        if live.frames is None:
            if not live.ok or is_json(live.body):
                draft.body = live.body
                await self._save(lookup.path, draft, started, replace)
            return live
        live.frames = self._tee(live.frames, lookup.path, draft, started, replace)
        return live

    async def _tee(
        self,
        frames: AsyncIterator[bytes],
        path: Path,
        draft: Recording,
        started: float,
        replace: bool,
    ) -> AsyncIterator[bytes]:
        """Pass frames on as they arrive; store them all when `[DONE]` shows the stream whole."""
        try:
            async for raw in frames:
                draft.frames.append(Frame(_ms_since(started), raw))
                event = sse.parse_frame(raw)
                if event is not None and is_done(event.data):
                    await self._save(path, draft, started, replace)
                yield raw
        finally:
            await frames.aclose()  # type: ignore[attr-defined]

    async def _save(self, path: Path, draft: Recording, started: float, replace: bool) -> None:
        finish(draft, _ms_since(started))
        entry: Opened = await self.cassettes.get(path, create=True)
        try:
            draft.id = await entry.cassette.save(draft, replace=replace)
        except SecretRefused as exc:
            log.warning("%s", exc.message)
            raise
        self.usage.used(path, draft.key, draft.ordinal)


def replayed_exchange(recording: Recording, speed: float = 0) -> Exchange:
    """The exchange a recording replays: its body, or its frames paced at `speed` (0: at once)."""
    source = f"cassette recording {recording.key[:12]}"
    if not recording.stream or not recording.frames or recording.status >= 400:
        return Exchange(
            recording.status, recording.content_type, recording.body or b"", source=source
        )
    return Exchange(
        recording.status,
        recording.content_type,
        frames=_paced(recording.frames, speed, time.perf_counter()),
        source=source,
        usage_ahead=stream_usage([frame.data for frame in recording.frames]),
    )


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


def needed(upstream: Upstream | None) -> Upstream:
    """The upstream, in a server that has one (`cassette verify` replays without)."""
    if upstream is None:
        raise Internal("this localaik replays only: it has no upstream to forward to")
    return upstream


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
