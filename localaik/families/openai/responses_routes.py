"""The OpenAI Responses API: `POST /v1/responses`, answered through chat completions.

The key is the client's Responses request (family `openai`, operation `responses`); the
recording is the upstream chat exchange, translated again on every replay like Gemini's.
Stored responses do not exist here: every other `/v1/responses/...` call is refused with a 400
that says so.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from litestar import Request, Response, post, route
from litestar.response import Stream

from localaik.cassette.key import ClientRequest
from localaik.errors import Error, Unsupported
from localaik.families.openai import responses_request as responses
from localaik.families.openai.responses_output import ResponsesStream, chat_response_to_responses
from localaik.server.common import (
    Services,
    exchange,
    json_response,
    read_json,
    services,
    upstream_chunks,
)
from localaik.upstream.exchange import Exchange, UpstreamCall
from localaik.wire import sse


@post("/v1/responses", status_code=200)
async def create_response(request: Request[Any, Any, Any]) -> Response[Any]:
    body = responses.validate_request(await read_json(request))
    svc = services(request)
    stream = body.get("stream") is True

    async def translate() -> UpstreamCall:
        return UpstreamCall("chat", await _translate(body, svc, stream=stream), stream=stream)

    async def validate() -> None:
        responses.responses_request_to_chat(body, upstream_model=svc.settings.upstream_model,
                                            stream=stream, media=svc.checking_media)

    answer = await exchange(request, ClientRequest("openai", "responses",
                                                   responses.requested_model(body), stream,
                                                   body), translate, validate)
    ctx = responses.context_for(body)
    if not stream:
        return json_response(chat_response_to_responses(answer.json(), ctx))
    await answer.require_stream()
    return Stream(_events(answer, ctx), media_type="text/event-stream",
                  headers={"Cache-Control": "no-cache"})


@route("/v1/responses/{rest:path}", http_method=["GET", "POST", "DELETE"])
async def stored_response(request: Request[Any, Any, Any]) -> Response[Any]:
    raise Unsupported(f"{request.method} {request.url.path}: localaik does not store responses, "
                      "so it cannot retrieve, delete, cancel, compact or count them; send the "
                      "whole conversation to POST /v1/responses instead")


async def _translate(body: dict[str, Any], svc: Services, *, stream: bool) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        return responses.responses_request_to_chat(body, upstream_model=svc.settings.upstream_model,
                                                   stream=stream, media=svc.media)

    # PDF rendering blocks: keep it off the event loop.
    if '"input_file"' in json.dumps(body):
        return await anyio.to_thread.run_sync(run)
    return run()


async def _events(upstream_stream: Exchange, ctx: responses.ResponsesContext) \
        -> AsyncIterator[bytes]:
    """The Responses events of one upstream stream; a failure ends it with `error` and
    `response.failed` events."""
    translator = ResponsesStream(ctx)
    try:
        async with contextlib.aclosing(upstream_chunks(upstream_stream)) as chunks:
            async for upstream in chunks:
                for out in translator.feed(upstream):
                    yield sse.responses_frame(out)
        for out in translator.finish():
            yield sse.responses_frame(out)
    except Error as exc:
        for out in translator.fail(exc):
            yield sse.responses_frame(out)
    finally:
        await upstream_stream.aclose()
