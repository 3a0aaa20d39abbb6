"""The replay policy: which answer a request gets, by mode (D3), repeats (D6) and cassette (D8).

    mode         hit                          miss
    record       replay the recording         forward, store, answer
    replay       replay the recording         404 miss that explains itself (D5)
    refresh      forward, overwrite, answer   forward, store, answer
    once         as record for a cassette that did not exist when this process first used
                 it, as replay for one that did (`Cassettes.fresh`)
    passthrough  forward, store nothing       forward, store nothing

The mode and the ignored paths are the replayer's `rules` (`rules.py`), which the pytest plugin
switches per test; `locate` resolves `once` for the request's cassette (`Lookup.mode`).

The pipeline (`pipeline.py`) asks in steps: `locate` a request (its key, cassette, ordinal),
`replayed` for a hit, `miss` for the error of a replay miss, `lead` to become the one request
that records an answer (single flight: concurrent identical misses make one upstream call) or
`follow` the one that does, `claim` it across processes sharing the cassette (`claims.py`: the
others wait, then replay it), then `record`. A replayed answer is an `Exchange` like a live one,
so the answer translation cannot tell them apart. When another writer stored the same answer
first (one that took no claim, or after a claim timed out), the store's unique key keeps the
first one and this request is answered with its own answer: a race is never an error for the
client.

What is stored: only answers that replay to what the client got, and only those a rerun should
get again.

    2xx           stored once the operation translated it whole into the client's shape
                  (`Exchange.complete`): a body after `respond`, a stream when the client's
                  stream ended after the upstream's `[DONE]`. A 200 the translation refuses
                  (not a chat completion, not JSON) is the client's 502, and is not stored.
    4xx           stored at once: deterministic for the request (a schema llama.cpp rejects, a
                  context that is too long), a test may expect it, and its translation is the
                  error itself, the same live and replayed.
    408, 429      not stored: passing (a rate limit); answered with the upstream's
                  `Retry-After`, so the SDKs that retry wait as the upstream asked.
    3xx           not stored: a redirect is never followed; the client gets a 502 naming it.
    5xx           not stored: passing faults (a model still loading answers 503); replaying
                  them would fail a CI run forever.

Timeouts, unreachable upstreams, cut streams and answers over LK_UPSTREAM_MAX_BYTES are not
stored either: they are errors before any answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localaik.cassette.claims import CLAIMS, Claim, Claims
from localaik.cassette.draft import draft_of, finish
from localaik.cassette.key import (
    ClientRequest,
    canonical,
    canonical_json,
    request_key,
)
from localaik.cassette.miss_text import SERVE, Reporting, gist, miss_message
from localaik.cassette.recording import Frame, Recording
from localaik.cassette.rows import Damage
from localaik.cassette.secrets import find_secret, shaped_like
from localaik.cassette.store import Stamp
from localaik.cassette.usage import UsageLog
from localaik.config import Mode, Repeats, Settings
from localaik.errors import CassetteConflict, CassetteError, Internal, ReplayMiss, SecretRefused
from localaik.server.cassettes import Cassettes, Opened
from localaik.server.rules import Rules
from localaik.upstream.chunks import is_done, stream_usage
from localaik.upstream.client import Upstream
from localaik.upstream.exchange import Exchange, Hit, UpstreamCall
from localaik.wire import sse

log = logging.getLogger("localaik.replay")


@dataclass(frozen=True)
class Lookup:
    """One request's place in the cassettes: its canonical form, key, file and ordinal; the
    mode it is answered in (`once` resolved to record or replay for its cassette) and the one
    asked for."""

    request: ClientRequest
    canon: dict[str, Any]
    text: str
    key: str
    path: Path
    ordinal: int
    mode: Mode
    asked: Mode
    # The cassette's stamps when this request looked in it and found nothing: looking again
    # (after its claim) reads nothing while the stamp is the same.
    missed: list[Stamp] = field(default_factory=list, compare=False, repr=False)


class Flight:
    """The one request recording an answer; the others that miss the same key wait for it.
    `claim`: this answer's claim across processes, once taken (let go when the flight lands)."""

    def __init__(
        self,
        flights: dict[tuple[Path, str, int], asyncio.Future[None]],
        slot: tuple[Path, str, int],
    ) -> None:
        self.flights = flights
        self.slot = slot
        self.claim: Claim | None = None
        flights[slot] = asyncio.get_running_loop().create_future()

    def land(self) -> None:
        """The answer is stored (or will never be): release the followers, and the claim.
        Idempotent."""
        if self.claim is not None:
            self.claim.release()
        done = self.flights.pop(self.slot, None)
        if done is not None and not done.done():
            done.set_result(None)


class Replayer:
    """Answers `ClientRequest`s from the cassette, the upstream, or both, by mode."""

    def __init__(
        self,
        settings: Settings,
        upstream: Upstream | None,
        cassettes: Cassettes,
        claims: Claims = CLAIMS,
        reporting: Reporting = SERVE,
    ) -> None:
        self.settings = settings
        self.reporting = reporting  # how a miss reaches the developer (`miss_text.py`)
        self.claims = claims
        self.upstream = upstream
        self.cassettes = cassettes
        self.rules = Rules.of(settings)  # the pytest plugin switches them per test
        self._flights: dict[tuple[Path, str, int], asyncio.Future[None]] = {}
        # Per cassette, each key's count (no tuple holding a Path: see `UsageLog._seen`).
        self._served: dict[Path, dict[str, int]] = {}
        self.usage = UsageLog()
        # Every miss message of this session, in order, for the pytest plugin to fail the test
        # that caused it even when the code under test swallowed the SDK's error.
        self.misses: list[str] = []

    def locate(self, request: ClientRequest, cassette: str | None) -> Lookup:
        """The key of a parsed request (its body in the family's one spelling) and where its
        recording is, or would be."""
        rules = self.rules
        canon, text, key = _keyed(request, rules)
        path = self.cassettes.path_for(cassette)
        mode = self.cassettes.mode_for(rules.mode, path)
        return Lookup(request, canon, text, key, path, self._ordinal(path, key), mode, rules.mode)

    def key(self, request: ClientRequest) -> str:
        """The key `locate` finds a parsed request by, under the rules now."""
        return _keyed(request, self.rules)[2]

    def _ordinal(self, path: Path, key: str) -> int:
        if self.settings.repeats is not Repeats.SEQUENCE:
            return 0
        counts = self._served.setdefault(path, {})
        served = counts.get(key, 0)
        counts[key] = served + 1
        return served

    # -- replay -----------------------------------------------------------------------------

    async def replayed(self, lookup: Lookup) -> Exchange | None:
        """The recorded answer, if the cassette holds one."""
        replaying = lookup.mode is Mode.REPLAY
        entry = await self.cassettes.get(lookup.path, create=False, readonly=replaying)
        if not entry.exists:
            return None
        stamp = entry.cassette.stamp()  # before the lookup: a change during it shows
        if lookup.missed and lookup.missed[-1] == entry.cassette.stamp(now=True):
            # Nothing was written since this request looked. Read now, not this turn's: another
            # process may have stored the answer and let go of its claim since the turn began.
            return None
        recording = await entry.cassette.get(lookup.key, lookup.ordinal, stamp=stamp)
        if recording is None and lookup.ordinal > 0 and replaying:
            # LK_REPEATS=sequence past the last recording: the last one repeats (in replay).
            count = await entry.cassette.ordinals(lookup.key)
            if count:
                recording = await entry.cassette.get(lookup.key, count - 1)
        if recording is None:
            lookup.missed.append(stamp)
            return None
        if recording.request != lookup.text:
            # The key is the hash of the request: another request text means either was edited
            # since recording, and this answer may be another request's.
            damage = Damage(recording.key, recording.ordinal, "its key does not match its request")
            raise CassetteError(damage.message(str(lookup.path)))
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
        entry = await self.cassettes.get(lookup.path, create=False, readonly=True)
        nearest: list[Any] = []
        if entry.exists:
            nearest = await entry.cassette.nearest(lookup.canon)
        where = str(lookup.path) if entry.exists else f"{lookup.path} (does not exist)"
        message = miss_message(
            cassette=where,
            key=lookup.key,
            mode=lookup.asked,
            canon=lookup.canon,
            nearest=nearest,
            reporting=self.reporting,
        )
        if self.reporting.shown_by is None:
            log.warning("%s", message)
        else:  # the host shows the whole text once: the log says only what happened
            log.info("%s", gist(message))
        self.misses.append(message)
        return ReplayMiss(self.reporting.answer(message))

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

    async def claim(self, flight: Flight, lookup: Lookup) -> bool:
        """Claim the flight's answer across processes: True when this process records it;
        False when another one held the claim and let go of it (look in the cassette again).

        A claim still held after the upstream timeout is passed by: this request records too,
        and the store keeps whichever answer is stored first."""
        flight.claim = self.claims.take(lookup.path, lookup.key, lookup.ordinal)
        if flight.claim is not None:
            return True
        if await self.claims.free(
            lookup.path, lookup.key, lookup.ordinal, self.settings.upstream_timeout
        ):
            return False
        log.debug("claim of key %s still held after the upstream timeout", lookup.key[:12])
        return True

    # -- record -----------------------------------------------------------------------------

    async def record(self, lookup: Lookup, call: UpstreamCall, *, replace: bool) -> Exchange:
        """Forward `call`; an answer to store (the module docstring) is stored under the
        lookup's key: an error status at once, a 2xx when the client got it (`on_complete`)."""
        upstream_text = call.describe()
        for text in (lookup.text, upstream_text):
            kind = find_secret(text)
            if kind:
                log.warning(
                    "refused to record a request holding %s (key %s)",
                    shaped_like(kind),
                    lookup.key[:12],
                )
                raise SecretRefused(
                    f"the request holds {shaped_like(kind)}; localaik never stores "
                    "secrets, so it was not recorded or forwarded. Remove it from the request, "
                    "or replace it with a placeholder by naming it in LK_REDACT (a test "
                    "fixture shaped like a key), or use LK_MODE=passthrough"
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
        if not storable(live.status):
            return live
        live.recording = f"{lookup.key}/{lookup.ordinal}"
        if live.frames is None:
            draft.body = live.body
            finish(draft, _ms_since(started))
            if live.ok:  # stored once the client got it translated
                live.on_complete.append(lambda: self._save(lookup.path, draft, replace))
            else:
                await self._save(lookup.path, draft, replace)
            return live
        done = asyncio.Event()
        live.frames = self._tee(live.frames, draft, started, done)

        async def store_whole() -> None:
            if done.is_set():
                await self._save(lookup.path, draft, replace)

        live.on_complete.append(store_whole)
        return live

    async def _tee(
        self, frames: AsyncIterator[bytes], draft: Recording, started: float, done: asyncio.Event
    ) -> AsyncIterator[bytes]:
        """Pass frames on as they arrive, kept in the draft with their offsets; `done` is set
        when `[DONE]` shows the stream whole."""
        try:
            async for raw in frames:
                draft.frames.append(Frame(_ms_since(started), raw))
                event = sse.parse_frame(raw)
                if event is not None and is_done(event.data):
                    finish(draft, _ms_since(started))
                    done.set()
                yield raw
        finally:
            await frames.aclose()  # type: ignore[attr-defined]

    async def _save(self, path: Path, draft: Recording, replace: bool) -> None:
        entry: Opened = await self.cassettes.get(path, create=True)
        try:
            draft.id = await entry.cassette.save(draft, replace=replace)
        except SecretRefused as exc:
            log.warning("%s", exc.message)
            raise
        except CassetteConflict as exc:
            # Another writer stored this answer first: it stays, and this request gets its
            # own answer (the same question, asked of the same upstream).
            log.debug("%s: kept it, answered with this request's own answer", exc.message)
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


def storable(status: int) -> bool:
    """Whether an upstream answer of this status may be recorded (the module docstring)."""
    return 200 <= status < 300 or (400 <= status < 500 and status not in PASSING)


# 4xx statuses that say "not now" rather than "not this request".
PASSING = (408, 429)


def needed(upstream: Upstream | None) -> Upstream:
    """The upstream, in a server that has one (`cassette verify` replays without)."""
    if upstream is None:
        raise Internal("this localaik replays only: it has no upstream to forward to")
    return upstream


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _keyed(request: ClientRequest, rules: Rules) -> tuple[Any, str, str]:
    """A parsed request's canonical form, its JSON text, and its key."""
    text = canonical_json(canon := canonical(request, rules.ignore, cased=True))
    return canon, text, request_key(text)
