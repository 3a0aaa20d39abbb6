"""OpenAI routes: chat completions, legacy completions, models (shared with Gemini v1 and
Anthropic clients)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Stream

from localaik.cassette.key import ClientRequest
from localaik.errors import Error, NotFound, UpstreamBadResponse, error_body
from localaik.families import Family, family_of
from localaik.families.anthropic import routes as anthropic_routes
from localaik.families.gemini import routes as gemini_routes
from localaik.families.openai import chat as openai
from localaik.server.common import (
    exchange,
    fixed,
    json_response,
    no_check,
    read_json,
    services,
)
from localaik.upstream.exchange import Exchange, UpstreamCall
from localaik.wire import sse


@post("/v1/chat/completions", status_code=200)
async def chat_completions(request: Request[Any, Any, Any]) -> Response[Any]:
    body = openai.validate_chat_request(await read_json(request))
    svc = services(request)
    stream = body.get("stream") is True

    async def translate() -> UpstreamCall:
        def run() -> dict[str, Any]:
            return openai.chat_request_to_upstream(body, svc.media)

        # A PDF renders in poppler: keep it off the event loop.
        sent = await anyio.to_thread.run_sync(run) if openai.has_files(body) else run()
        return UpstreamCall("chat", sent, stream=stream)

    async def validate() -> None:
        openai.chat_request_to_upstream(body, svc.checking_media)

    return await _forward(request, "chat", body, "chat.completion", "chat.completion.chunk",
                          translate, validate)


@post("/v1/completions", status_code=200)
async def completions(request: Request[Any, Any, Any]) -> Response[Any]:
    body = openai.validate_completion_request(await read_json(request))
    call = UpstreamCall("completions", body, stream=body.get("stream") is True)
    return await _forward(request, "completions", body, "text_completion", "text_completion",
                          fixed(call))


async def _forward(request: Request[Any, Any, Any], endpoint: str, body: dict[str, Any],
                   kind: str, chunk_kind: str, translate: Callable[[], Awaitable[UpstreamCall]],
                   validate: Callable[[], Awaitable[None]] = no_check) -> Response[Any]:
    model = openai.requested_model(body)
    stream = body.get("stream") is True
    operation = "chat.completions" if endpoint == "chat" else "completions"
    client_request = ClientRequest("openai", operation, model, stream, body)
    answer = await exchange(request, client_request, translate, validate)
    if not stream:
        return json_response(openai.response_for_client(answer.json(), model, kind))
    await answer.require_stream()
    return Stream(_sse_body(answer, model, chunk_kind), media_type="text/event-stream",
                  headers={"Cache-Control": "no-cache"})


async def _sse_body(upstream_stream: Exchange, model: str | None,
                    kind: str) -> AsyncIterator[bytes]:
    """Upstream chunks with the client's model name, `[DONE]` last; errors as an error event."""
    try:
        async with contextlib.aclosing(upstream_stream.events()) as events:
            async for event in events:
                if event.data.strip() == "[DONE]":
                    yield sse.OPENAI_DONE
                    return
                try:
                    chunk = json.loads(event.data)
                except ValueError:
                    raise UpstreamBadResponse("upstream sent a stream event that is not JSON") \
                        from None
                if isinstance(chunk, dict) and "error" in chunk:
                    yield sse.openai_frame(chunk)
                    return
                yield sse.openai_frame(openai.chunk_for_client(chunk, model, kind))
        raise UpstreamBadResponse("upstream stream ended before it was complete")
    except Error as exc:
        yield sse.openai_frame(error_body(Family.OPENAI, exc.status, exc.message, code=exc.code))
    finally:
        await upstream_stream.aclose()


async def _models(request: Request[Any, Any, Any], operation: str,
                  model: str | None) -> list[dict[str, Any]]:
    answer = await exchange(request, ClientRequest("openai", operation, model, False, None),
                            fixed(UpstreamCall("models")))
    return openai.upstream_models(answer.json())


@get("/v1/models")
async def list_models(request: Request[Any, Any, Any]) -> Response[Any]:
    family = family_of(request.url.path, dict(request.headers))
    if family is Family.GEMINI:
        return await gemini_routes.models_list(request)
    if family is Family.ANTHROPIC:
        return await anthropic_routes.models_list(request)
    entries = await _models(request, "models.list", None)
    return json_response({"object": "list",
                          "data": [openai.model_object(m["id"], m) for m in entries]})


@get("/v1/models/{model:str}")
async def get_model(model: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
    family = family_of(request.url.path, dict(request.headers))
    if family is Family.GEMINI:
        return await gemini_routes.model_get(request, model)
    if family is Family.ANTHROPIC:
        return await anthropic_routes.model_get(request, model)
    entries = await _models(request, "models.get", model)
    if not entries:
        raise NotFound("the upstream serves no model")
    entry = next((m for m in entries if m["id"] == model), entries[0])
    return json_response(openai.model_object(model, entry))
