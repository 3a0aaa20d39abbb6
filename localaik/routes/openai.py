"""OpenAI routes: chat completions, legacy completions, models (shared with Gemini v1)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Stream

from localaik import sse
from localaik.errors import Error, NotFound, UpstreamBadResponse, error_body
from localaik.protocol import Family, family_of
from localaik.routes import gemini as gemini_routes
from localaik.routes.common import json_response, read_json, services
from localaik.translate import openai
from localaik.upstream import Stream as UpstreamStream


@post("/v1/chat/completions", status_code=200)
async def chat_completions(request: Request[Any, Any, Any]) -> Response[Any]:
    body = openai.validate_chat_request(await read_json(request))
    return await _forward(request, "chat", body, "chat.completion", "chat.completion.chunk")


@post("/v1/completions", status_code=200)
async def completions(request: Request[Any, Any, Any]) -> Response[Any]:
    body = openai.validate_completion_request(await read_json(request))
    return await _forward(request, "completions", body, "text_completion", "text_completion")


async def _forward(request: Request[Any, Any, Any], endpoint: str, body: dict[str, Any],
                   kind: str, chunk_kind: str) -> Response[Any]:
    upstream = services(request).upstream
    model = openai.requested_model(body)
    if body.get("stream") is not True:
        answer = await upstream.call(endpoint, body)
        return json_response(openai.response_for_client(answer, model, kind))
    upstream_stream = await upstream.stream(endpoint, body)
    return Stream(_sse_body(upstream_stream, model, chunk_kind), media_type="text/event-stream",
                  headers={"Cache-Control": "no-cache"})


async def _sse_body(upstream_stream: UpstreamStream, model: str | None,
                    kind: str) -> AsyncIterator[bytes]:
    """Upstream chunks with the client's model name, `[DONE]` last; errors as an error event."""
    try:
        async for event in upstream_stream.events():
            if event.data.strip() == "[DONE]":
                yield sse.OPENAI_DONE
                return
            try:
                chunk = json.loads(event.data)
            except ValueError:
                raise UpstreamBadResponse("upstream sent a stream event that is not JSON") from None
            if isinstance(chunk, dict) and "error" in chunk:
                yield sse.openai_frame(chunk)
                return
            yield sse.openai_frame(openai.chunk_for_client(chunk, model, kind))
        raise UpstreamBadResponse("upstream stream ended before it was complete")
    except Error as exc:
        yield sse.openai_frame(error_body(Family.OPENAI, exc.status, exc.message, code=exc.code))
    finally:
        await upstream_stream.aclose()


@get("/v1/models")
async def list_models(request: Request[Any, Any, Any]) -> Response[Any]:
    if family_of(request.url.path, dict(request.headers)) is Family.GEMINI:
        return await gemini_routes.models_list(request)
    entries = openai.upstream_models(await services(request).upstream.call("models"))
    return json_response({"object": "list",
                          "data": [openai.model_object(m["id"], m) for m in entries]})


@get("/v1/models/{model:str}")
async def get_model(model: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
    if family_of(request.url.path, dict(request.headers)) is Family.GEMINI:
        return await gemini_routes.model_get(request, model)
    entries = openai.upstream_models(await services(request).upstream.call("models"))
    if not entries:
        raise NotFound("the upstream serves no model")
    entry = next((m for m in entries if m["id"] == model), entries[0])
    return json_response(openai.model_object(model, entry))
