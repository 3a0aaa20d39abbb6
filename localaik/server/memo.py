"""Identical replayed requests answered from memory, before the framework sees them.

A replay hit is deterministic: the same request bytes, to the same route, replayed from an
unchanged cassette under the same settings, get the same response bytes. So after a request was
answered from a recording with a complete, non-streamed 200, this ASGI layer keeps what was sent
(status, headers, body) under the request's exact bytes, and answers the next identical request
with it, without routing, parsing, normalising, looking up or translating again. A replayed hit
that took ~80 µs of Python in the app takes a few here.

What makes an entry unsafe is never served:

- only POSTs with a `Content-Length` up to `MAX_REQUEST` bytes are looked at (others pass
  through untouched, the body cap stays the app's);
- only answers the app built from exactly one exchange, a cassette hit, are kept: not live
  answers, misses, errors or streams;
- never when a fault may apply (an `X-Localaik-Fault` header, faults in the rules): a fault is
  decided per attempt;
- only while replaying is pure: modes `record`, `replay` and `once`, `LK_REPEATS=first` (a sequence
  moves on per request) and `LK_REPLAY_SPEED=0` (pacing takes time by design); `LK_MEMO=off`
  turns it off;
- an entry names its cassette file and the store's stamp at the lookup: any change to the
  cassette (a new recording, another process) drops it (another process's from the next turn
  of the event loop: the requests of one turn share one read of the stamp, `threaded.py`);
  the cassette a request resolves to (its header, the server's default, which the pytest
  plugin switches per test) is part of the key, and so are the replayer's rules (mode and
  ignored paths, which the plugin switches too);
- the run's usage record is kept as for any hit.

Bounded: `ENTRIES` entries and `BYTES` bytes of answers, least recently used out first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from localaik.config import Mode, Repeats, Settings
from localaik.errors import BadRequest
from localaik.server.events import Outcome
from localaik.upstream.exchange import Hit

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FAULT = b"x-localaik-fault"
EXCHANGES = "localaik.exchanges"  # scope key: one `Hit` (or None, live) per exchange made
MAX_REQUEST = 256 * 1024
MAX_ANSWER = 1024 * 1024
ENTRIES = 1024
BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class _Entry:
    hit: Hit
    start: Message
    body: bytes


class HitMemo:
    """The ASGI layer in front of the app; `services()` gives the app's services once started."""

    def __init__(self, app: Any, services: Callable[[], Any]) -> None:
        self.app = app
        self.services = services
        self.entries: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self.size = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = (
            _content_length(scope)
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        svc = self.services() if length is not None and length <= MAX_REQUEST else None
        if (
            svc is None
            or length is None
            or not _pure(svc.settings, svc.replayer.rules.mode)
            or svc.replayer.rules.faults
            or _header(scope, FAULT) is not None
        ):
            await self.app(scope, receive, send)
            return
        body, more = await _read(receive, length)
        if more is None:  # the client went away while sending
            return
        replayer = svc.replayer
        try:
            cassette = replayer.cassettes.path_for(_header(scope, b"x-localaik-cassette"))
        except BadRequest:  # an invalid name: the app answers it in the caller's shape
            cassette = None
        key = (scope["path"], scope.get("query_string", b""), cassette, replayer.rules, body)
        entry = self.entries.get(key) if cassette is not None else None
        if entry is not None and entry.hit.fresh():
            self.entries.move_to_end(key)
            replayer.usage.used(entry.hit.cassette, entry.hit.key, entry.hit.ordinal)
            svc.pipeline.events.publish(
                "POST",
                scope["path"],
                Outcome.HIT,
                200,
                cassette=entry.hit.cassette,
                recording=f"{entry.hit.key}/{entry.hit.ordinal}",
            )
            await send(entry.start)
            await send({"type": "http.response.body", "body": entry.body})
            return
        if entry is not None:
            self._drop(key)

        sent: list[Message] = []

        async def capture(message: Message) -> None:
            if len(sent) < 3:
                sent.append(message)
            await send(message)

        scope[EXCHANGES] = []
        await self.app(scope, _replaying(body, more, receive), capture)
        hits = scope.pop(EXCHANGES, [])
        if (
            cassette is not None
            and len(hits) == 1
            and hits[0] is not None
            and hits[0].cassette == cassette
            and _complete_200(sent)
        ):
            self._keep(key, _Entry(hits[0], sent[0], sent[1].get("body", b"")))

    def _keep(self, key: tuple[Any, ...], entry: _Entry) -> None:
        if len(entry.body) > MAX_ANSWER:
            return
        self.entries[key] = entry
        self.size += len(entry.body) + len(key[-1])
        while len(self.entries) > ENTRIES or self.size > BYTES:
            self._drop(next(iter(self.entries)))

    def _drop(self, key: tuple[Any, ...]) -> None:
        entry = self.entries.pop(key)
        self.size -= len(entry.body) + len(key[-1])


def _pure(settings: Settings, mode: Mode) -> bool:
    return (
        settings.memo
        and mode in (Mode.RECORD, Mode.REPLAY, Mode.ONCE)
        and settings.repeats is Repeats.FIRST
        and settings.replay_speed == 0
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else None


async def _read(receive: Receive, length: int) -> tuple[bytes, bool | None]:
    """The request body (up to `length` bytes), and whether more is said to follow."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False
        if size > length:  # more than it announced: let the app judge the rest
            return b"".join(chunks), True


def _replaying(body: bytes, more: bool, receive: Receive) -> Receive:
    """A `receive` that gives the body read so far once, then the client's own messages (so
    the app still hears a disconnect)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replayed


def _complete_200(sent: list[Message]) -> bool:
    return (
        len(sent) == 2
        and sent[0]["type"] == "http.response.start"
        and sent[0]["status"] == 200
        and sent[1]["type"] == "http.response.body"
        and not sent[1].get("more_body", False)
    )
