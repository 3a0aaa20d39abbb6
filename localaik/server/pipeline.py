"""The one request pipeline: every API request of every family takes the same steps.

    route      the operation that serves the method and path (`routing.Router`)
    parse      the JSON body, redacted by LK_REDACT's rules (`wire/redaction.py`: the key,
               the recording and the upstream see only the placeholders), then the
               operation's parse: the key's input and the answer's context; cheap field
               checks (4xx)
    key        the canonical request and its key (`ReplayPolicy.locate`)
    policy     by mode: a hit is answered from the cassette; otherwise the request is checked
               (the operation's translation, pure: 4xx on bad input), then refused as a replay
               miss (404) or forwarded and, outside passthrough, stored (single flight, in
               the server and across the processes sharing the cassette)
    render     the operation's answer in the caller's shape; any error in the caller's family
               envelope (`families.rendering`)

A fault a test asked for (`faults.py`: the `X-Localaik-Fault` header, else the rules') is
decided once the request is parsed, and applied on the way out (D16): a delay before the
answer; a reset or an error status instead of it (nothing forwarded, stored or replayed); a
stream fault on the real frames (`families.streaming`); a cut or in-stream error on a body
answer once it is complete. A faulted answer is never stored: what is stored is the real one.

No framework types: `handle` takes a `Incoming` and gives an `Answer`, so the HTTP server
(`app.py`) and `localaik cassette verify` run the same steps. A translation runs once per
request, on the event loop; only when it found PDF pages to render or local files to read
(the checking media counted them) and the request goes upstream does it run again, off the
loop, with the rendering media.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import anyio.to_thread

from localaik.config import Mode, Settings
from localaik.errors import BadRequest, Error, ReplayMiss
from localaik.families import Family, family_of
from localaik.families.files import FileOperation, FileRequest
from localaik.families.kept import Member
from localaik.families.operation import Answer, Local, Operation, Parsed, Request, json_answer
from localaik.families.rendering import render
from localaik.media.local import LocalMedia
from localaik.server import faults
from localaik.server.batches import Shelves
from localaik.server.events import Outcome, RunEvents
from localaik.server.faults import HEADER, Attempts, Fault, chosen, parse_fault
from localaik.server.files import FileRegistry, Session
from localaik.server.policy import Replayer, needed
from localaik.server.routing import Match, Router
from localaik.upstream.client import Upstream
from localaik.upstream.exchange import Exchange, Hit, UpstreamCall
from localaik.wire.jsontext import parse_body
from localaik.wire.redaction import parse_redact

# Paths the HTTP server answers itself, outside every family.
SERVED = {"/health": ("GET",), "/_localaik/session": ("GET", "POST")}

_REFUSED_TYPES = ("multipart/", "application/octet-stream", "image/", "audio/", "video/")


class ClientLeft(Exception):
    """The client went away while its answer was awaited from the upstream (`Incoming.live`)."""


T = TypeVar("T")
Held = Callable[[str], bytes | None]  # an uploaded file's bytes by its stored uri


class Watch(Protocol):
    """A wait, unless the client leaves first (then `ClientLeft`): `Incoming.live`."""

    def __call__(self, wait: Awaitable[T], /) -> Awaitable[T]: ...


async def _as_is(wait: Awaitable[T]) -> T:
    return await wait


@dataclass
class Incoming:
    """A client's request as the pipeline reads it; `read_body` is called only when the
    operation takes a body (a wrong method or path is answered without reading it). `live`
    wraps each wait for the upstream's answer (and a fault's delay): the HTTP server's cancels
    it, raising `ClientLeft`, when the client disconnects (a replayed answer is not waited
    for)."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    read_body: Callable[[], Awaitable[bytes]]
    hits: list[Hit | None] = field(default_factory=list)  # one per exchange made
    live: Watch = _as_is


class Pipeline:
    """Routes, parses, keys, replays or forwards, and renders every API request."""

    def __init__(
        self,
        settings: Settings,
        upstream: Upstream | None,
        replayer: Replayer,
        router: Router | None = None,
    ) -> None:
        self.settings = settings
        self.upstream = upstream
        self.replayer = replayer
        self.router = router or Router(Family, SERVED)
        self.media = LocalMedia(settings)
        self.redaction = parse_redact(settings.redact)
        self.attempts = Attempts()  # of each request under each fault, this server run
        self.events = RunEvents()  # this run's requests, for the inspector's "This run"
        self.files = FileRegistry(replayer.cassettes)  # uploads, per cassette (`files.py`)
        # Batches and cached contents, per cassette (`batches.py`), their members run here.
        self.shelves = Shelves(self.run_member, self.check_member, settings.batch_polls)

    async def handle(self, incoming: Incoming, given: Exchange | None = None) -> Answer:
        """The answer to one request: the operation's, or an error in the caller's shape; with
        the request id its family's SDKs read. The upstream's answer is the replay policy's,
        or `given` (`cassette diff` shows a recording as its client sees it that way)."""
        family = None
        exchange = None
        parsed: Parsed[Any] | None = None
        fault: Fault | None = None
        error: Error | None = None
        try:
            match = self.router.resolve(incoming.method, incoming.path, incoming.headers)
            family = match.family
            cassette = incoming.headers.get("x-localaik-cassette")
            files = self.session(cassette)
            if isinstance(match.operation, FileOperation):
                answer = await self._serve(match, incoming, files)
                outcome = Outcome.LOCAL if answer.status < 400 else Outcome.ERROR
                self.events.publish(
                    incoming.method, incoming.path, outcome, answer.status, family=family.tag
                )
                return identified(answer, family, None)
            header = incoming.headers.get(HEADER)
            asked = parse_fault(header) if header is not None else None
            body = await self._body(incoming) if match.operation.takes_body else None
            if body is not None and self.redaction:
                body = self.redaction.apply(_cased(family, body))
            operation = match.operation
            kept = (
                self.shelves.of(self.replayer.cassettes.path_for(cassette), cassette)
                if operation.reads_kept
                else None
            )
            looks = kept.looks if kept is not None else 0
            request = Request(
                incoming.method,
                incoming.path,
                match.route,
                match.params,
                incoming.query,
                incoming.headers,
                body,
                files,
                kept,
            )
            parsed = operation.parse(request)
            fault = self._fault(asked, parsed)
            if fault is not None:
                await faults.before(fault, family, incoming.live)
            if kept is not None and kept.looks != looks:
                # Answered from kept objects too, which change: never memoised (`memo.py`).
                incoming.hits.append(None)
            if isinstance(operation, Local):
                assert kept is not None
                answer = await operation.serve(parsed, kept)
            else:
                exchange = (
                    given
                    if given is not None
                    else await self.exchange(operation, parsed, cassette, incoming.live, files)
                )
                incoming.hits.append(exchange.hit)
                answer = await self.respond(operation, parsed, exchange)
            if fault is not None:
                await faults.after(fault, family, answer)
        except Error as exc:
            family = family or family_of(incoming.path, incoming.headers)
            answer = error_answer(exc, family)
            error = exc
        if given is None:
            cassette = incoming.headers.get("x-localaik-cassette")
            self.events.told(
                incoming.method,
                incoming.path,
                answer.status,
                lambda: self.replayer.cassettes.path_for(cassette),
                parsed=parsed,
                fault=fault is not None,
                exchange=exchange,
                miss=error if isinstance(error, ReplayMiss) else None,
                failed=error is not None,
                ignore=self.replayer.rules.ignore,
            )
        return identified(answer, family, exchange.recording if exchange else None)

    def session(self, cassette: str | None) -> Session:
        """The uploads of the request's cassette, kept in it when this request would record."""
        cassettes = self.replayer.cassettes
        path = cassettes.path_for(cassette)
        mode = cassettes.mode_for(self.replayer.rules.mode, path)
        return self.files.session(path, storing=mode in (Mode.RECORD, Mode.REFRESH))

    async def _serve(self, match: Match, incoming: Incoming, files: Session) -> Answer:
        """A file operation's answer; an error with the headers the operation's errors carry."""
        operation = match.operation
        assert isinstance(operation, FileOperation)
        try:
            request = FileRequest(
                incoming.method,
                incoming.path,
                match.params,
                incoming.query,
                incoming.headers,
                await incoming.read_body(),
                self.settings.max_body_size,
            )
            return await operation.serve(request, files)
        except Error as exc:
            answer = error_answer(exc, match.family)
            answer.headers.update(operation.error_headers)
            return answer

    async def run_member(self, member: Member, cassette: str | None) -> tuple[int, bytes]:
        """A batch member's answer (status, body), as if its client had sent it alone on
        `cassette`: replayed or recorded by the policy, any error in its family's envelope."""
        operation: Operation[Any] = member.operation
        family = Family.named(operation.family) or Family.PLAIN
        try:
            parsed = operation.parse(member.request)
            exchange = await self.exchange(operation, parsed, cassette, files=member.request.files)
            answer = await self.respond(operation, parsed, exchange)
        except Error as exc:
            answer = error_answer(exc, family)
        return answer.status, answer.body

    def check_member(self, member: Member) -> None:
        """Every check of a batch member's request (its translation, pure), so that a bad one
        is refused when its batch is made; BadRequest (or another 4xx) when it is bad."""
        operation: Operation[Any] = member.operation
        files = member.request.files
        held = files.data if files is not None else None
        self._checked_call(operation, operation.parse(member.request), held)

    def _fault(self, asked: Fault | None, parsed: Parsed[Any]) -> Fault | None:
        """The fault this attempt of the request gets: its header's, else the rules' first
        for it, when its schedule strikes now (the attempt is counted)."""
        rules = self.replayer.rules.faults
        if asked is None and not rules:
            return None
        key = self.replayer.key(parsed.client)
        fault = chosen(asked, rules, parsed.client, key)
        if fault is None or not fault.strikes(self.attempts.next(fault, key), key):
            return None
        return fault

    async def respond(
        self, operation: Operation[Any], parsed: Parsed[Any], exchange: Exchange
    ) -> Answer:
        """The operation's answer; a body answer completes the exchange (a live one is stored
        now) and closes it, a stream does both when the client's stream ends
        (`families.streaming`). An answer the operation refused is closed, not completed."""
        try:
            answer = await operation.respond(parsed, exchange)
            if answer.frames is None:
                await exchange.complete()
        except BaseException:
            await exchange.aclose()
            raise
        if answer.frames is None:
            await exchange.aclose()
        return answer

    async def _body(self, incoming: Incoming) -> Any:
        content_type = incoming.headers.get("content-type", "").lower()
        if content_type.startswith(_REFUSED_TYPES):
            raise BadRequest(
                f"Content-Type {content_type.split(';')[0]} is not accepted: send "
                "the request as application/json"
            )
        return parse_body(await incoming.read_body())

    async def exchange(
        self,
        operation: Operation[Any],
        parsed: Parsed[Any],
        cassette: str | None,
        live: Watch = _as_is,
        files: Session | None = None,
    ) -> Exchange:
        """The upstream's answer to a parsed request, from the cassette or live (each upstream
        wait wrapped in `live`), by the replayer's mode (`once` resolved per cassette)."""
        policy = self.replayer
        if policy.rules.mode is Mode.PASSTHROUGH:
            call = await self.translate(operation, parsed, render=True, files=files)
            return await live(needed(self.upstream).send(call))
        lookup = policy.locate(parsed.client, cassette)
        mode = lookup.mode
        replay_hits = mode is not Mode.REFRESH
        while True:
            if replay_hits:
                hit = await policy.replayed(lookup)
                if hit is not None:
                    return hit
            if mode is Mode.REPLAY:
                # A request that is not valid is a 400, not a miss: check it first.
                await self.translate(operation, parsed, render=False, files=files)
                raise await policy.miss(lookup)
            flight = policy.lead(lookup)
            if flight is None:
                # Another request is recording this very answer: wait for it, then replay it.
                await policy.follow(lookup)
                replay_hits = True
                continue
            try:
                claimed = await policy.claim(flight, lookup)
                # Claimed: another process may have stored the answer since we looked.
                hit = await policy.replayed(lookup) if claimed and replay_hits else None
            except BaseException:
                flight.land()
                raise
            if claimed and hit is None:
                break
            flight.land()
            if hit is not None:
                return hit
            # Another process was recording it and is done: look again (so do our followers).
            replay_hits = True
        try:
            call = await self.translate(operation, parsed, render=True, files=files)
            answer = await live(policy.record(lookup, call, replace=mode is Mode.REFRESH))
        except BaseException:
            flight.land()
            raise
        # The followers replay the recording once it is stored (or go upstream themselves when
        # it was not): the answer is stored, if at all, before it is closed (`respond`).
        answer.on_close.append(flight.land)
        return answer

    async def translate(
        self,
        operation: Operation[Any],
        parsed: Parsed[Any],
        *,
        render: bool,
        files: Session | None = None,
    ) -> UpstreamCall:
        """The upstream call for a request: every check of it, and with `render` the media
        the upstream needs (uploaded files' bytes from `files`), rendered off the event loop."""
        held = files.data if files is not None else None
        call, checking = self._checked_call(operation, parsed, held)
        if not (render and checking.pending and operation.renders_media):
            return call
        media = self.media if held is None else LocalMedia(self.settings, files=held)
        rendering = functools.partial(
            operation.upstream_call, parsed, media, upstream_model=self.settings.upstream_model
        )
        return await anyio.to_thread.run_sync(rendering)

    def _checked_call(
        self, operation: Operation[Any], parsed: Parsed[Any], held: Held | None = None
    ) -> tuple[UpstreamCall, LocalMedia]:
        """The upstream call, with media only checked (and counted: `pending`); `held`: the
        bytes of the uploaded files it may name."""
        checking = LocalMedia(self.settings, render=False, files=held)
        upstream_model = self.settings.upstream_model
        return operation.upstream_call(parsed, checking, upstream_model=upstream_model), checking


def _cased(family: Family, body: Any) -> Any:
    """The body in its family's one key spelling, which LK_REDACT's paths are written in (as
    LK_IGNORE's): the operation's parse would give it that spelling next anyway."""
    casing = family.key_rules.casing
    return body if casing is None else casing(body)


def identified(answer: Answer, family: Family, recording: str | None) -> Answer:
    """`answer` with the request id its family's SDKs read (`families.request_ids`): derived
    from the recording that answered, or a random one."""
    ids = family.descriptor.request_id
    if ids is not None:
        answer.headers[ids.header] = ids.make(recording)
    return answer


def error_answer(error: Error, family: Family) -> Answer:
    """An error in the caller's family envelope, with its headers (`Allow`, `Retry-After`)."""
    status, body = render(error, family)
    answer = json_answer(body, status)
    answer.headers.update(error.headers)
    return answer
