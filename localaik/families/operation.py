"""What one API operation is: the seam between an API family and the request pipeline.

An operation (Gemini `generateContent`, OpenAI `chat.completions`, Anthropic `messages`, …)
is a small object that knows its family's wire format and nothing about HTTP servers, the
cassette or the upstream's transport. The pipeline (`server/pipeline.py`) calls it in order:

    parse(request)                  the client's request -> `Parsed` (its `ClientRequest`, the
                                    key's input, and a context for the answer); cheap field
                                    checks, 4xx on bad input
    upstream_call(parsed, media, …) the request translated for the OpenAI-compatible upstream
                                    (pure: every check of the whole request, 4xx on bad input;
                                    I/O only through `media`)
    respond(parsed, exchange)       the upstream's answer (live or recorded) in the caller's
                                    shape: a JSON body or a stream of framed events
    rebuild(canonical)              the HTTP request a client sends for a recorded canonical
                                    request (`localaik cassette verify` replays it)

Routes are data (`Route`): the server builds its router from every registered operation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypedDict, TypeVar
from urllib.parse import quote

from localaik.families.kept import Kept
from localaik.families.uploads import FileSession
from localaik.media.parts import Media
from localaik.upstream.exchange import Exchange, UpstreamCall
from localaik.wire import jsontext
from localaik.wire.types import JSONValue

C = TypeVar("C")

JSON_TYPE = "application/json"
EVENT_STREAM = "text/event-stream"


@dataclass(frozen=True)
class ClientRequest:
    """What a client asked, as the key sees it. Headers and query strings have no field here."""

    family: str  # "gemini" | "openai" | "anthropic"
    operation: str  # "generateContent", "countTokens", "chat.completions", "models.list", …
    model: str | None  # Gemini: the path's model without "models/"; OpenAI, Anthropic: body
    stream: bool  # Gemini: streamGenerateContent; OpenAI, Anthropic: body["stream"]
    body: Any  # the parsed JSON body as received (None for GET)


class Canonical(TypedDict):
    """A client request in the key's canonical form (`cassette/key.py`), as recordings hold it."""

    family: str
    operation: str
    model: str | None
    stream: bool
    body: JSONValue


@dataclass(frozen=True)
class Route:
    """A method and a path template: `{name}` matches one path segment without `/` or `:`
    (Google's REST paths put the method after a `:`, `models/{model}:generateContent`)."""

    method: str
    path: str


@dataclass(frozen=True)
class Request:
    """A client's HTTP request as an operation reads it: no framework types."""

    method: str
    path: str
    route: Route  # the route it matched
    params: Mapping[str, str]  # what the route's `{name}` segments matched
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: Any = None  # the JSON body (None for requests without one)
    files: FileSession | None = None  # the cassette's uploads, which a request may refer to
    # The objects its cassette keeps (batches, cached contents): the server's, for an operation
    # that reads them (`Local`, a Gemini request naming a cached content).
    kept: Kept | None = None


@dataclass(frozen=True)
class Parsed(Generic[C]):
    """A parsed request: the key's input and what the answer translation needs."""

    client: ClientRequest
    context: C


@dataclass
class Answer:
    """What the pipeline sends back: a whole body, or frames sent as they come."""

    status: int
    media_type: str
    body: bytes = b""
    frames: AsyncIterator[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def json_answer(value: Any, status: int = 200) -> Answer:
    return Answer(status, JSON_TYPE, jsontext.dumps(value).encode())


def stream_answer(frames: AsyncIterator[bytes], media_type: str = EVENT_STREAM) -> Answer:
    headers = {"Cache-Control": "no-cache"} if media_type == EVENT_STREAM else {}
    return Answer(200, media_type, frames=frames, headers=headers)


@dataclass(frozen=True)
class Rebuilt:
    """The HTTP request a client sends for a canonical request (`cassette verify`)."""

    method: str
    path: str  # with its query string
    body: bytes | None
    headers: dict[str, str]


class Operation(ABC, Generic[C]):
    """One operation of one API family. Subclasses set the class attributes."""

    family: str  # the family's name in the key ("gemini")
    name: str  # the operation's name in the key
    routes: tuple[Route, ...]
    takes_body: bool = True  # the request carries a JSON body
    volatile: tuple[str, ...] = ()  # body paths of this operation left out of the key
    # Whether the upstream needs what `media` renders (PDF pages, local files): an operation
    # that only checks them (counting tokens) never has them rendered.
    renders_media: bool = True
    # Whether its parse reads the cassette's kept objects (`Request.kept`): batches, cached
    # contents. Only these requests are given them.
    reads_kept: bool = False

    @abstractmethod
    def parse(self, request: Request) -> Parsed[C]:
        """The request's key input and context; BadRequest (or another 4xx) when it is bad."""

    @abstractmethod
    def upstream_call(
        self, parsed: Parsed[C], media: Media, *, upstream_model: str
    ) -> UpstreamCall:
        """The upstream call that answers it: every check of the request, no I/O but media's."""

    @abstractmethod
    async def respond(self, parsed: Parsed[C], exchange: Exchange) -> Answer:
        """The upstream's answer in the caller's shape."""

    def rebuild(self, canonical: Canonical) -> Rebuilt | None:
        """The request a client sends for `canonical` (None: this operation cannot say)."""
        return None


class SelfAnswered(Operation[C]):
    """An operation localaik answers itself, by its `serve`: never keyed, stored or forwarded.
    Two kinds, by what they are answered from: `Local` (the cassette's kept objects: batches,
    cached contents) and `files.FileOperation` (its uploads, read from the raw body)."""

    def upstream_call(
        self, parsed: Parsed[C], media: Media, *, upstream_model: str
    ) -> UpstreamCall:
        raise AssertionError(f"{self.name} is answered by localaik, never upstream")

    async def respond(self, parsed: Parsed[C], exchange: Exchange) -> Answer:
        raise AssertionError(f"{self.name} is answered by localaik, never from an exchange")


class Local(SelfAnswered[C]):
    """An operation localaik answers itself from what its cassette keeps (`kept.Kept`): a
    batch's create, get, list, cancel, results; a cached content's. A batch's members are
    keyed, stored and forwarded, each as a request of its own operation."""

    reads_kept = True

    @abstractmethod
    async def serve(self, parsed: Parsed[C], kept: Kept) -> Answer:
        """The answer, from and to `kept`."""


def path_segment(text: str | None) -> str:
    """A model name as one URL path segment (`/` and `?` escaped, `:` kept)."""
    return quote(text or "", safe=":@!$&'()*+,;=-._~")


def json_bytes(value: Any) -> bytes:
    """A JSON request body as a client sends it; ASCII escapes keep lone surrogates as sent."""
    return jsontext.dumps_ascii(value).encode("ascii")


def rebuilt_post(path: str, canonical: Canonical, headers: Mapping[str, str]) -> Rebuilt | None:
    """A POST whose body carries `model` and `stream`, which the key holds in fields of their
    own (OpenAI, Anthropic)."""
    body = canonical["body"]
    if not isinstance(body, dict):
        return None
    sent = dict(body)
    if canonical["model"] is not None:
        sent["model"] = canonical["model"]
    if canonical["stream"]:
        sent["stream"] = True
    return Rebuilt("POST", path, json_bytes(sent), dict(headers))
