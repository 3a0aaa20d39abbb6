"""The Anthropic operations: Messages (stream and not) and count_tokens (models are in
`models.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from localaik.families.anthropic import request as messages_request
from localaik.families.anthropic import response
from localaik.families.anthropic import wire as anthropic
from localaik.families.anthropic.count_tokens import count_tokens_text
from localaik.families.anthropic.models import HEADERS
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
from localaik.families.streaming import Frames, UsageFirst, client_stream
from localaik.media.parts import Media
from localaik.upstream.answers import token_count, tokenize
from localaik.upstream.exchange import Exchange, UpstreamCall
from localaik.wire import sse
from localaik.wire.types import JSONObject

FAMILY = "anthropic"


@dataclass(frozen=True)
class Messaging:
    body: JSONObject
    answer: response.AnthropicContext


def anthropic_frame(event: response.Event) -> bytes:
    return sse.anthropic_frame(*event)


class Messages(Operation[Messaging]):
    family = FAMILY
    name = "messages"
    routes = (Route("POST", "/v1/messages"),)

    def parse(self, request: Request) -> Parsed[Messaging]:
        checked = messages_request.check_request(request.body)
        body = checked.body
        return Parsed(
            ClientRequest(FAMILY, self.name, checked.model, checked.stream, body),
            Messaging(body, response.context_for(body)),
        )

    def upstream_call(
        self, parsed: Parsed[Messaging], media: Media, *, upstream_model: str
    ) -> UpstreamCall:
        chat = messages_request.messages_request_to_openai(
            parsed.context.body, upstream_model=upstream_model, media=media
        )
        return UpstreamCall("chat", chat, stream=parsed.client.stream)

    async def respond(self, parsed: Parsed[Messaging], exchange: Exchange) -> Answer:
        context = parsed.context.answer
        if not parsed.client.stream:
            return json_answer(response.openai_response_to_anthropic(exchange.json(), context))
        await exchange.require_stream()
        events = UsageFirst(
            response.AnthropicStream(context), exchange.usage_ahead, hold=exchange.being_recorded
        )
        return stream_answer(client_stream(exchange, events, Frames(anthropic_frame)))

    def rebuild(self, canonical: Canonical) -> Rebuilt | None:
        return rebuilt_post(self.routes[0].path, canonical, HEADERS)


class CountTokens(Operation[JSONObject]):
    """`/v1/messages/count_tokens`: the whole request is checked as for messages (it takes no
    max_tokens), and the upstream's tokenizer counts its text."""

    family = FAMILY
    name = "messages.count_tokens"
    routes = (Route("POST", "/v1/messages/count_tokens"),)
    renders_media = False

    def parse(self, request: Request) -> Parsed[JSONObject]:
        checked = messages_request.check_request(request.body, count_tokens=True)
        body = checked.body
        return Parsed(ClientRequest(FAMILY, self.name, checked.model, False, body), body)

    def upstream_call(
        self, parsed: Parsed[JSONObject], media: Media, *, upstream_model: str
    ) -> UpstreamCall:
        body = parsed.context
        messages_request.messages_request_to_openai(
            {**body, "max_tokens": 1, "stream": False}, upstream_model=upstream_model, media=media
        )
        return tokenize(count_tokens_text(body))

    async def respond(self, parsed: Parsed[JSONObject], exchange: Exchange) -> Answer:
        count: anthropic.MessageTokensCount = {"input_tokens": token_count(exchange.json())}
        return json_answer(count)

    def rebuild(self, canonical: Canonical) -> Rebuilt | None:
        return rebuilt_post(self.routes[0].path, canonical, HEADERS)
