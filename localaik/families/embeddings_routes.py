"""Embeddings routes: OpenAI `POST /v1/embeddings`; Gemini `embedContent` and
`batchEmbedContents` (reached through the Gemini model-action route, both API versions).

Both go to the upstream's `/embeddings` (with the bundled runtime: its embeddings llama-server).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from localaik.cassette.key import ClientRequest
from localaik.errors import UpstreamStatus
from localaik.families import embeddings
from localaik.server.common import exchange, fixed, json_response, read_json, services
from localaik.upstream.exchange import Exchange, UpstreamCall

GEMINI_ACTIONS = ("embedContent", "batchEmbedContents")


@post("/v1/embeddings", status_code=200)
async def openai_embeddings(request: Request[Any, Any, Any]) -> Response[Any]:
    body = embeddings.validate_openai_request(await read_json(request))
    model = body.get("model") or None
    call = UpstreamCall("embeddings", embeddings.openai_upstream_body(body))
    answer = await exchange(request, ClientRequest("openai", "embeddings", model, False, body),
                            fixed(call))
    return json_response(embeddings.openai_response(_answer(answer), body, model))


async def gemini_embed(request: Request[Any, Any, Any], action: str, model: str,
                       body: Any) -> Response[Any]:
    """`embedContent` or `batchEmbedContents` for `model` (the path's, without `models/`);
    `body` is already in camelCase."""
    items = embeddings.gemini_items(body, action, model)
    call = UpstreamCall("embeddings", embeddings.gemini_upstream_body(
        items, services(request).settings.upstream_model))
    answer = await exchange(request, ClientRequest("gemini", action, model, False, body),
                            fixed(call))
    return json_response(embeddings.gemini_response(_answer(answer), items, action))


def _answer(answer: Exchange) -> Any:
    try:
        return answer.json()
    except UpstreamStatus as exc:
        raise embeddings.too_large(exc) or exc from None
