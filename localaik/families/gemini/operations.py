"""The Gemini operations that translate: generateContent (and its stream), countTokens,
embedContent and batchEmbedContents, under both `/v1beta/` and `/v1/` (Python google-genai
defaults to v1, JS to v1beta).

Bodies are camel-cased once, when parsed (`casing.camelize_request`): the key and the
translation both read that one spelling. The stream comes as SSE with `?alt=sse` (what the
SDKs ask for), else as one JSON array whose elements are sent as they come.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from localaik.errors import BadRequest
from localaik.families.gemini import embeddings, response
from localaik.families.gemini import wire as gemini
from localaik.families.gemini.caches import expand
from localaik.families.gemini.casing import camelize_request
from localaik.families.gemini.counting import count_tokens_text
from localaik.families.gemini.files import resolve_files
from localaik.families.gemini.models import HEADERS, VERSIONS
from localaik.families.gemini.request import gemini_request_to_openai
from localaik.families.operation import (
    JSON_TYPE,
    Answer,
    Canonical,
    ClientRequest,
    Operation,
    Parsed,
    Rebuilt,
    Request,
    Route,
    json_answer,
    json_bytes,
    path_segment,
    stream_answer,
)
from localaik.families.streaming import Frames, UsageFirst, client_stream
from localaik.media.parts import Media
from localaik.upstream.answers import token_count, tokenize
from localaik.upstream.embeddings import vectors_of
from localaik.upstream.exchange import Exchange, UpstreamCall
from localaik.wire import jsontext, sse

FAMILY = "gemini"
STREAM = "streamGenerateContent"


def _routes(action: str) -> tuple[Route, ...]:
    return tuple(Route("POST", f"{version}/models/{{model}}:{action}") for version in VERSIONS)


def _rebuilt(model: str | None, action: str, body: object) -> Rebuilt:
    return Rebuilt(
        "POST", f"/v1beta/models/{path_segment(model)}:{action}", json_bytes(body), dict(HEADERS)
    )


@dataclass(frozen=True)
class Generation:
    body: gemini.GenerateContentRequest
    answer: response.GeminiContext
    sse: bool


class GenerateContent(Operation[Generation]):
    family = FAMILY
    name = "generateContent"
    routes = _routes("generateContent") + _routes(STREAM)
    reads_kept = True  # a `cachedContent` it names is expanded into it (`caches.py`)

    def parse(self, request: Request) -> Parsed[Generation]:
        body = resolve_files(camelize_request(request.body), request.files)
        if not isinstance(body, dict):
            raise BadRequest("request body must be a JSON object")
        path_model = request.params["model"]
        body = expand(body, request.kept, response.model_name(path_model))
        generate = cast(gemini.GenerateContentRequest, body)
        stream = request.route.path.endswith(STREAM)
        sse_framing = request.query.get("alt", "").lower() == "sse"
        context = Generation(generate, response.context_for(generate, path_model), sse_framing)
        return Parsed(
            ClientRequest(FAMILY, self.name, response.model_name(path_model), stream, body), context
        )

    def upstream_call(
        self, parsed: Parsed[Generation], media: Media, *, upstream_model: str
    ) -> UpstreamCall:
        stream = parsed.client.stream
        chat = gemini_request_to_openai(
            parsed.context.body, upstream_model=upstream_model, stream=stream, media=media
        )
        return UpstreamCall("chat", chat, stream=stream)

    async def respond(self, parsed: Parsed[Generation], exchange: Exchange) -> Answer:
        context = parsed.context.answer
        if not parsed.client.stream:
            return json_answer(response.openai_response_to_gemini(exchange.json(), context))
        await exchange.require_stream()
        events = UsageFirst(
            response.GeminiStream(context), exchange.usage_ahead, hold=exchange.being_recorded
        )
        if parsed.context.sse:
            return stream_answer(client_stream(exchange, events, Frames(sse.gemini_frame)))
        return stream_answer(client_stream(exchange, events, JsonArray()), JSON_TYPE)

    def rebuild(self, canonical: Canonical) -> Rebuilt | None:
        action = f"{STREAM}?alt=sse" if canonical["stream"] else self.name
        return _rebuilt(canonical["model"], action, canonical["body"])


class JsonArray:
    """The stream without `alt=sse`: one JSON array, its elements sent as they come."""

    def __init__(self) -> None:
        self.separator = b"["

    def frame(self, chunk: response.StreamEvent) -> bytes:
        framed = self.separator + jsontext.dumps(chunk).encode()
        self.separator = b",\r\n"
        return framed

    def close(self) -> bytes:
        return b"[]" if self.separator == b"[" else b"]"


@dataclass(frozen=True)
class Counting:
    text: str


class CountTokens(Operation[Counting]):
    family = FAMILY
    name = "countTokens"
    routes = _routes("countTokens")
    reads_kept = True

    def parse(self, request: Request) -> Parsed[Counting]:
        body: Any = resolve_files(camelize_request(request.body), request.files)
        model = response.model_name(request.params["model"])
        inner = body.get("generateContentRequest") if isinstance(body, dict) else None
        if isinstance(inner, dict):
            body = {**body, "generateContentRequest": expand(inner, request.kept, model)}
        counting = Counting(count_tokens_text(body))
        return Parsed(ClientRequest(FAMILY, self.name, model, False, body), counting)

    def upstream_call(
        self, parsed: Parsed[Counting], media: Media, *, upstream_model: str
    ) -> UpstreamCall:
        return tokenize(parsed.context.text)

    async def respond(self, parsed: Parsed[Counting], exchange: Exchange) -> Answer:
        counted: gemini.CountTokensResponse = {"totalTokens": token_count(exchange.json())}
        return json_answer(counted)

    def rebuild(self, canonical: Canonical) -> Rebuilt | None:
        return _rebuilt(canonical["model"], self.name, canonical["body"])


class EmbedContent(Operation[list[embeddings.EmbedItem]]):
    """embedContent (one text) and, as a subclass, batchEmbedContents (up to 100)."""

    family = FAMILY
    name = "embedContent"
    routes = _routes("embedContent")
    # The model inside the body must repeat the path's, which the key holds already.
    volatile = ("model",)

    def parse(self, request: Request) -> Parsed[list[embeddings.EmbedItem]]:
        body = camelize_request(request.body)
        model = response.model_name(request.params["model"])
        items = embeddings.gemini_items(body, self.name, model)
        return Parsed(ClientRequest(FAMILY, self.name, model, False, body), items)

    def upstream_call(
        self, parsed: Parsed[list[embeddings.EmbedItem]], media: Media, *, upstream_model: str
    ) -> UpstreamCall:
        return UpstreamCall(
            "embeddings", embeddings.gemini_upstream_body(parsed.context, upstream_model)
        )

    async def respond(
        self, parsed: Parsed[list[embeddings.EmbedItem]], exchange: Exchange
    ) -> Answer:
        return json_answer(
            embeddings.gemini_response(vectors_of(exchange), parsed.context, self.name)
        )

    def rebuild(self, canonical: Canonical) -> Rebuilt | None:
        return _rebuilt(canonical["model"], self.name, canonical["body"])


class BatchEmbedContents(EmbedContent):
    name = "batchEmbedContents"
    routes = _routes("batchEmbedContents")
    volatile = ("requests[*].model",)
