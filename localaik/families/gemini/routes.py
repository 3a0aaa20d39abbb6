"""Gemini routes, under both `/v1beta/` and `/v1/` (Python google-genai 3.x defaults to v1)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Stream

from localaik.cassette.key import ClientRequest
from localaik.errors import (
    BadRequest,
    Error,
    MethodNotAllowed,
    NotFound,
    UpstreamBadResponse,
    error_body,
)
from localaik.families import Family
from localaik.families import embeddings_routes as embeddings
from localaik.families.gemini import translate as gemini
from localaik.families.gemini import wire as protocol
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

GENERATION_ACTIONS = ("generateContent", "streamGenerateContent")
POST_ACTIONS = (*GENERATION_ACTIONS, "countTokens", *embeddings.GEMINI_ACTIONS)


@post(["/v1beta/models/{model_action:str}", "/v1/models/{model_action:str}"], status_code=200)
async def model_action(model_action: FromPath[str],
                       request: Request[Any, Any, Any]) -> Response[Any]:
    path_model, action = protocol.split_model_action(model_action)
    if not path_model or action not in POST_ACTIONS:
        raise NotFound(f"unknown Gemini method {action or model_action!r}: localaik serves "
                       f"{', '.join(POST_ACTIONS)}")
    body = protocol.camelize_request(await read_json(request))
    model = gemini.model_name(path_model)
    if action == "countTokens":
        return await _count_tokens(request, model, body)
    if action in embeddings.GEMINI_ACTIONS:
        return await embeddings.gemini_embed(request, action, model, body)
    svc = services(request)
    stream = action == "streamGenerateContent"

    async def translate() -> UpstreamCall:
        return UpstreamCall("chat", await _translate(body, svc, stream=stream), stream=stream)

    async def validate() -> None:
        gemini.gemini_request_to_openai(body, upstream_model=svc.settings.upstream_model,
                                        stream=stream, media=svc.checking_media)

    answer = await exchange(request, ClientRequest("gemini", "generateContent", model, stream,
                                                   body), translate, validate)
    ctx = gemini.context_for(body, path_model)
    if not stream:
        return json_response(gemini.openai_response_to_gemini(answer.json(), ctx))
    await answer.require_stream()
    if request.query_params.get("alt", "").lower() == "sse":
        return Stream(_sse_body(answer, ctx), media_type="text/event-stream",
                      headers={"Cache-Control": "no-cache"})
    return Stream(_array_body(answer, ctx), media_type="application/json")


async def _translate(body: Any, svc: Services, *, stream: bool) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        return gemini.gemini_request_to_openai(body, upstream_model=svc.settings.upstream_model,
                                               stream=stream, media=svc.media)

    # PDF rendering and file reads block: keep them off the event loop.
    if _has_media(body):
        return await anyio.to_thread.run_sync(run)
    return run()


def _has_media(body: Any) -> bool:
    text = json.dumps(body) if isinstance(body, dict) else ""
    return "application/pdf" in text or '"fileData"' in text


async def _count_tokens(request: Request[Any, Any, Any], model: str, body: Any) -> Response[Any]:
    text = gemini.count_tokens_text(body)
    call = UpstreamCall("tokenize", {"content": text, "add_special": False})
    answer = (await exchange(request, ClientRequest("gemini", "countTokens", model, False, body),
                             fixed(call))).json()
    tokens = answer.get("tokens") if isinstance(answer, dict) else None
    if not isinstance(tokens, list):
        raise UpstreamBadResponse("upstream /tokenize answer has no tokens list")
    return json_response({"totalTokens": len(tokens)})


async def gemini_chunks(upstream_stream: Exchange,
                        ctx: gemini.GeminiContext) -> AsyncIterator[dict[str, Any]]:
    """Translated chunks of one upstream stream; a failure ends it with an error object."""
    translator = gemini.GeminiStream(ctx)
    try:
        async with contextlib.aclosing(upstream_chunks(upstream_stream)) as chunks:
            async for upstream in chunks:
                for chunk in translator.feed(upstream):
                    yield chunk
        for chunk in translator.finish():
            yield chunk
    except Error as exc:
        yield error_body(Family.GEMINI, exc.status, exc.message)
    finally:
        await upstream_stream.aclose()


async def _sse_body(upstream_stream: Exchange,
                    ctx: gemini.GeminiContext) -> AsyncIterator[bytes]:
    async for chunk in gemini_chunks(upstream_stream, ctx):
        yield sse.gemini_frame(chunk)


async def _array_body(upstream_stream: Exchange,
                      ctx: gemini.GeminiContext) -> AsyncIterator[bytes]:
    """The stream without `alt=sse`: one JSON array, its elements sent as they come."""
    separator = b"["
    async for chunk in gemini_chunks(upstream_stream, ctx):
        yield separator + sse.dumps(chunk).encode()
        separator = b",\r\n"
    yield b"[]" if separator == b"[" else b"]"


@get("/v1beta/models")
async def list_models(request: Request[Any, Any, Any]) -> Response[Any]:
    return await models_list(request)


@get("/v1beta/models/{model:str}")
async def get_model(model: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
    return await model_get(request, model)


async def _upstream_models(request: Request[Any, Any, Any], family: str, operation: str,
                           model: str | None) -> list[dict[str, Any]]:
    answer = await exchange(request, ClientRequest(family, operation, model, False, None),
                            fixed(UpstreamCall("models")))
    return openai_translate.upstream_models(answer.json())


async def models_list(request: Request[Any, Any, Any]) -> Response[Any]:
    """Gemini models.list, paged with pageSize/pageToken like the real API."""
    size = _page_size(request.query_params.get("pageSize"))
    token = request.query_params.get("pageToken")
    _page_token(token, None)  # a malformed token is refused before the upstream is asked
    entries = await _upstream_models(request, "gemini", "models.list", None)
    models = [gemini.gemini_model(m["id"], m) for m in entries]
    start = _page_token(token, len(models))
    page: dict[str, Any] = {"models": models[start:start + size]}
    if start + size < len(models):
        page["nextPageToken"] = str(start + size)
    return json_response(page)


def _page_size(text: str | None) -> int:
    if text is None:
        return 50
    if not (text.isascii() and text.isdigit()):
        raise BadRequest(f"pageSize must be a whole number (got {text!r})")
    return max(1, min(int(text), 1000))


def _page_token(text: str | None, total: int | None) -> int:
    if not text:
        return 0
    if not (text.isascii() and text.isdigit()) or (total is not None and int(text) > total):
        raise BadRequest("pageToken is not one this server gave out")
    return int(text)


async def model_get(request: Request[Any, Any, Any], model: str) -> Response[Any]:
    """Any model name is served by the upstream's model, so any name answers."""
    name = gemini.model_name(model)
    _, action = protocol.split_model_action(name)
    if action in POST_ACTIONS:
        raise MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}: "
                               f"{action} takes POST", allow="POST")
    if not name or "/" in name or ":" in name:
        raise NotFound(f"model {model!r} is not a valid model name")
    entries = await _upstream_models(request, "gemini", "models.get", name)
    if not entries:
        raise NotFound("the upstream serves no model")
    entry = next((m for m in entries if m["id"] == name), entries[0])
    return json_response(gemini.gemini_model(name, entry))
