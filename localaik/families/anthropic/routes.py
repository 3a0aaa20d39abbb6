"""Anthropic routes: Messages (stream and not), count_tokens, and models for Anthropic clients.

`GET /v1/models` is shared with OpenAI and Gemini v1 clients; the OpenAI route hands requests
that carry `anthropic-version` to `models_list` and `model_get` here.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from litestar import Request, Response, post
from litestar.response import Stream

from localaik.cassette.key import ClientRequest
from localaik.errors import BadRequest, Error, NotFound, UpstreamBadResponse, error_body
from localaik.families import Family
from localaik.families.anthropic import request as request_translate
from localaik.families.anthropic import response as response_translate
from localaik.families.openai import chat as openai_translate
from localaik.server.common import (
    Services,
    exchange,
    fixed,
    json_response,
    read_json,
    services,
    upstream_chunks,
)
from localaik.upstream.exchange import Exchange, UpstreamCall
from localaik.wire import sse


@post("/v1/messages", status_code=200)
async def messages(request: Request[Any, Any, Any]) -> Response[Any]:
    body = await read_json(request)
    checked = request_translate.check_request(body)
    svc = services(request)

    async def translate() -> UpstreamCall:
        return UpstreamCall("chat", await _translate(body, svc), stream=checked.stream)

    async def validate() -> None:
        request_translate.messages_request_to_openai(
            body, upstream_model=svc.settings.upstream_model, media=svc.checking_media)

    answer = await exchange(request, ClientRequest("anthropic", "messages", checked.model,
                                                   checked.stream, body), translate, validate)
    ctx = response_translate.context_for(body)
    if not checked.stream:
        return json_response(response_translate.openai_response_to_anthropic(answer.json(),
                                                                             ctx))
    await answer.require_stream()
    return Stream(_sse_body(answer, ctx), media_type="text/event-stream",
                  headers={"Cache-Control": "no-cache"})


async def _translate(body: Any, svc: Services) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        return request_translate.messages_request_to_openai(
            body, upstream_model=svc.settings.upstream_model, media=svc.media)

    # PDF rendering blocks: keep it off the event loop.
    if "application/pdf" in json.dumps(body):
        return await anyio.to_thread.run_sync(run)
    return run()


async def _sse_body(upstream_stream: Exchange,
                    ctx: response_translate.AnthropicContext) -> AsyncIterator[bytes]:
    """The Messages event stream of one upstream stream; a failure ends it with an error
    event (the SDK raises it), and an upstream stream cut before `[DONE]` is a failure."""
    translator = response_translate.AnthropicStream(ctx)
    try:
        async with contextlib.aclosing(upstream_chunks(upstream_stream)) as chunks:
            async for upstream in chunks:
                for name, data in translator.feed(upstream):
                    yield sse.anthropic_frame(name, data)
        for name, data in translator.finish_events():
            yield sse.anthropic_frame(name, data)
    except Error as exc:
        yield sse.anthropic_frame("error", error_body(Family.ANTHROPIC, exc.status, exc.message))
    finally:
        await upstream_stream.aclose()


@post("/v1/messages/count_tokens", status_code=200)
async def count_tokens(request: Request[Any, Any, Any]) -> Response[Any]:
    body = await read_json(request)
    checked = request_translate.check_request(body, count_tokens=True)
    svc = services(request)
    # The whole request is checked as for messages (count_tokens takes no max_tokens).
    request_translate.messages_request_to_openai(
        {**body, "max_tokens": 1, "stream": False},
        upstream_model=svc.settings.upstream_model, media=svc.checking_media)
    call = UpstreamCall("tokenize", {"content": request_translate.count_tokens_text(body),
                                     "add_special": False})
    answer = (await exchange(request, ClientRequest("anthropic", "messages.count_tokens",
                                                    checked.model, False, body),
                             fixed(call))).json()
    tokens = answer.get("tokens") if isinstance(answer, dict) else None
    if not isinstance(tokens, list):
        raise UpstreamBadResponse("upstream /tokenize answer has no tokens list")
    return json_response({"input_tokens": len(tokens)})


# ---------------------------------------------------------------------------------------------
# Models


async def _upstream_models(request: Request[Any, Any, Any], operation: str,
                           model: str | None) -> list[dict[str, Any]]:
    answer = await exchange(request, ClientRequest("anthropic", operation, model, False, None),
                            fixed(UpstreamCall("models")))
    return openai_translate.upstream_models(answer.json())


async def models_list(request: Request[Any, Any, Any]) -> Response[Any]:
    """Anthropic models.list, paged with limit / after_id / before_id like the real API."""
    entries = await _upstream_models(request, "models.list", None)
    models = [response_translate.model_info(m["id"], m) for m in entries]
    params = request.query_params
    limit = _limit(params.get("limit"))
    ids = [m["id"] for m in models]
    start, end = 0, len(models)
    after, before = params.get("after_id"), params.get("before_id")
    if after:
        start = _position(ids, after, "after_id") + 1
    if before:
        end = _position(ids, before, "before_id")
    if before and not after:
        first = max(start, end - limit)
        page, has_more = models[first:end], first > start
    else:
        page, has_more = models[start:min(end, start + limit)], start + limit < end
    return json_response({"data": page, "has_more": has_more,
                          "first_id": page[0]["id"] if page else None,
                          "last_id": page[-1]["id"] if page else None})


def _limit(text: str | None) -> int:
    if text is None:
        return 20
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise BadRequest(f"limit: must be a whole number from 1 to 1000 (got {text!r})",
                         param="limit")
    return int(text)


def _position(ids: list[str], model_id: str, name: str) -> int:
    if model_id not in ids:
        raise BadRequest(f"{name}: no model with id {model_id!r} in the list", param=name)
    return ids.index(model_id)


async def model_get(request: Request[Any, Any, Any], model: str) -> Response[Any]:
    """Any model id is served by the upstream's model, so any id answers."""
    entries = await _upstream_models(request, "models.get", model)
    if not entries:
        raise NotFound("the upstream serves no model")
    entry = next((m for m in entries if m["id"] == model), entries[0])
    return json_response(response_translate.model_info(model, entry))
