"""The OpenAI operations: chat completions, legacy completions, the Responses API and
embeddings (models are in `models.py`).

Chat and completions requests go upstream as the client wrote them (checked first, `file`
parts expanded); the answer keeps the client's model name. The Responses API is answered
through chat completions, translated both ways. Stored responses do not exist here: every
other `/v1/responses/...` call is refused with a 400 that says so.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import TypeVar

from localaik.errors import Unsupported
from localaik.families.openai import chat, embeddings, responses_request, wire
from localaik.families.openai.files import resolve_file_ids
from localaik.families.openai.responses_output import chat_response_to_responses
from localaik.families.openai.responses_stream import ResponsesStream, responses_frame
from localaik.families.operation import (
    Answer,
    Canonical,
    ClientRequest,
    Operation,
    Parsed,
    Rebuilt,
    Request,
    Route,
    json_answer,
    rebuilt_post,
    stream_answer,
)
from localaik.families.streaming import Frames, client_stream
from localaik.media.parts import Media
from localaik.upstream.embeddings import vectors_of
from localaik.upstream.exchange import Exchange, UpstreamCall
from localaik.wire.types import JSONValue

FAMILY = "openai"
HEADERS = {"authorization": "Bearer verify"}


@dataclass(frozen=True)
class Kinds:
    """The `object` of an answer and of its stream chunks."""

    answer: str
    chunk: str


P = TypeVar("P", wire.ChatCompletionCreateParams, wire.CompletionCreateParams)


class PassedOn(Operation[P]):
    """An operation whose request goes upstream as the client wrote it (checked first) and
    whose answer comes back with the client's model name: chat and legacy completions."""

    family = FAMILY
    endpoint: str
    kinds: Kinds

    @abstractmethod
    def check(self, body: JSONValue) -> P:
        """The request as its checks passed it; 400 when it is bad."""

    def parse(self, request: Request) -> Parsed[P]:
        body = self.check(resolve_file_ids(request.body, request.files))
        return Parsed(
            ClientRequest(
                FAMILY, self.name, chat.requested_model(body), body.get("stream") is True, body
            ),
            body,
        )

    async def respond(self, parsed: Parsed[P], exchange: Exchange) -> Answer:
        model = parsed.client.model
        if not parsed.client.stream:
            return json_answer(chat.response_for_client(exchange.json(), model, self.kinds.answer))
        await exchange.require_stream()
        events = chat.ChatStream(model, self.kinds.chunk)
        return stream_answer(client_stream(exchange, events, Frames(chat.chat_frame)))

    def rebuild(self, canonical: Canonical) -> Rebuilt | None:
        return rebuilt_post(self.routes[0].path, canonical, HEADERS)


class ChatCompletions(PassedOn[wire.ChatCompletionCreateParams]):
    name = "chat.completions"
    routes = (Route("POST", "/v1/chat/completions"),)
    endpoint = "chat"
    kinds = Kinds("chat.completion", "chat.completion.chunk")

    def check(self, body: JSONValue) -> wire.ChatCompletionCreateParams:
        return chat.validate_chat_request(body)

    def upstream_call(
        self, parsed: Parsed[wire.ChatCompletionCreateParams], media: Media, *, upstream_model: str
    ) -> UpstreamCall:
        return UpstreamCall(
            self.endpoint,
            chat.chat_request_to_upstream(parsed.context, media),
            stream=parsed.client.stream,
        )


class Completions(PassedOn[wire.CompletionCreateParams]):
    name = "completions"
    routes = (Route("POST", "/v1/completions"),)
    endpoint = "completions"
    kinds = Kinds("text_completion", "text_completion")

    def check(self, body: JSONValue) -> wire.CompletionCreateParams:
        return chat.validate_completion_request(body)

    def upstream_call(
        self, parsed: Parsed[wire.CompletionCreateParams], media: Media, *, upstream_model: str
    ) -> UpstreamCall:
        return UpstreamCall(self.endpoint, parsed.context, stream=parsed.client.stream)


@dataclass(frozen=True)
class Responding:
    body: JSONValue  # as the client sent it: the translation checks it again
    answer: responses_request.ResponsesContext


class Responses(Operation[Responding]):
    family = FAMILY
    name = "responses"
    routes = (Route("POST", "/v1/responses"),)

    def parse(self, request: Request) -> Parsed[Responding]:
        sent = resolve_file_ids(request.body, request.files)
        body = responses_request.validate_request(sent)
        context = Responding(sent, responses_request.context_for(body))
        return Parsed(
            ClientRequest(
                FAMILY,
                self.name,
                responses_request.requested_model(body),
                body.get("stream") is True,
                body,
            ),
            context,
        )

    def upstream_call(
        self, parsed: Parsed[Responding], media: Media, *, upstream_model: str
    ) -> UpstreamCall:
        stream = parsed.client.stream
        body = responses_request.responses_request_to_chat(
            parsed.context.body, upstream_model=upstream_model, stream=stream, media=media
        )
        return UpstreamCall("chat", body, stream=stream)

    async def respond(self, parsed: Parsed[Responding], exchange: Exchange) -> Answer:
        context = parsed.context.answer
        if not parsed.client.stream:
            return json_answer(chat_response_to_responses(exchange.json(), context))
        await exchange.require_stream()
        events = ResponsesStream(context)
        return stream_answer(client_stream(exchange, events, Frames(responses_frame)))

    def rebuild(self, canonical: Canonical) -> Rebuilt | None:
        return rebuilt_post(self.routes[0].path, canonical, HEADERS)


class StoredResponses(Operation[None]):
    """`/v1/responses/{id}` and everything under it: refused, nothing is stored here."""

    family = FAMILY
    name = "responses.stored"
    routes = tuple(Route(method, "/v1/responses/{rest...}") for method in ("GET", "POST", "DELETE"))
    takes_body = False

    def parse(self, request: Request) -> Parsed[None]:
        raise Unsupported(
            f"{request.method} {request.path}: localaik does not store "
            "responses, so it cannot retrieve, delete, cancel, compact or count "
            "them; send the whole conversation to POST /v1/responses instead"
        )

    def upstream_call(
        self, parsed: Parsed[None], media: Media, *, upstream_model: str
    ) -> UpstreamCall:
        raise NotImplementedError

    async def respond(self, parsed: Parsed[None], exchange: Exchange) -> Answer:
        raise NotImplementedError


class Embeddings(Operation[wire.EmbeddingCreateParams]):
    family = FAMILY
    name = "embeddings"
    routes = (Route("POST", "/v1/embeddings"),)
    # The same floats answer both encodings: one recording serves float and base64.
    volatile = ("encoding_format",)

    def parse(self, request: Request) -> Parsed[wire.EmbeddingCreateParams]:
        body = embeddings.validate_openai_request(request.body)
        return Parsed(
            ClientRequest(FAMILY, self.name, body.get("model") or None, False, body), body
        )

    def upstream_call(
        self, parsed: Parsed[wire.EmbeddingCreateParams], media: Media, *, upstream_model: str
    ) -> UpstreamCall:
        return UpstreamCall("embeddings", embeddings.openai_upstream_body(parsed.context))

    async def respond(
        self, parsed: Parsed[wire.EmbeddingCreateParams], exchange: Exchange
    ) -> Answer:
        return json_answer(
            embeddings.openai_response(vectors_of(exchange), parsed.context, parsed.client.model)
        )

    def rebuild(self, canonical: Canonical) -> Rebuilt | None:
        return rebuilt_post(self.routes[0].path, canonical, HEADERS)
