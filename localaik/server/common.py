"""What every route needs: the services, JSON in, JSON out."""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response

from localaik.cassette.key import ClientRequest
from localaik.config import Settings
from localaik.errors import BadRequest, UpstreamBadResponse, UpstreamStatus
from localaik.media.local import LocalMedia
from localaik.server import memo
from localaik.server.replay import Replayer
from localaik.upstream.client import Upstream
from localaik.upstream.exchange import Exchange, UpstreamCall
from localaik.wire import sse

_REFUSED_TYPES = ("multipart/", "application/octet-stream", "image/", "audio/", "video/")


@dataclass
class Services:
    """The collaborators handlers use, built once per app."""

    settings: Settings
    upstream: Upstream
    media: LocalMedia
    checking_media: LocalMedia
    replayer: Replayer


def services(request: Request[Any, Any, Any]) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def no_check() -> None:
    """The validation of a request that needs no more than its route already did."""
    return None


async def exchange(request: Request[Any, Any, Any], client_request: ClientRequest,
                   call: Callable[[], Awaitable[UpstreamCall]],
                   validate: Callable[[], Awaitable[None]] = no_check) -> Exchange:
    """The upstream answer for a client request: from the cassette or live, by mode."""
    answer = await services(request).replayer.exchange(
        client_request, call, validate=validate,
        cassette=request.headers.get("x-localaik-cassette"))
    made = request.scope.get(memo.EXCHANGES)  # type: ignore[call-overload]
    if made is not None:
        made.append(answer.hit)
    return answer


def fixed(call: UpstreamCall) -> Callable[[], Awaitable[UpstreamCall]]:
    """An upstream call that needs no translation work."""

    async def make() -> UpstreamCall:
        return call

    return make


async def read_json(request: Request[Any, Any, Any]) -> Any:
    """The request body as JSON; 400 for anything that is not a JSON document."""
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(_REFUSED_TYPES):
        raise BadRequest(f"Content-Type {content_type.split(';')[0]} is not accepted: send the "
                         "request as application/json")
    return parse_json(await request.body())


# Deeper documents are refused: the real APIs refuse them too (protobuf's JSON parser stops at
# 100 levels), and localaik's own recursive walks (normalising, miss diagnosis) stay far from
# Python's recursion limit.
MAX_DEPTH = 100
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_json(raw: bytes) -> Any:
    """A request body as strict JSON (RFC 8259): UTF-8, no NaN or Infinity, no unpaired
    surrogates, at most MAX_DEPTH levels deep. Anything else is a BadRequest naming why."""
    if not raw.strip():
        raise BadRequest("the request body is empty: a JSON object is required")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the request body is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise BadRequest(f"the request body is nested too deeply (more than {MAX_DEPTH} "
                         "levels)") from None
    except ValueError as exc:
        raise BadRequest(f"invalid JSON in the request body: {exc}") from None
    # Nesting needs an opening bracket per level: most bodies cannot be deep, and skip the walk.
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _depth_over(value, MAX_DEPTH):
        raise BadRequest(f"the request body is nested too deeply (more than {MAX_DEPTH} levels)")
    if _SURROGATE_ESCAPE.search(raw):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadRequest("invalid JSON in the request body: a string holds an unpaired "
                             f"UTF-16 surrogate ({exc.object[exc.start]!r}), which is not "
                             "Unicode text") from None
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _depth_over(value: Any, limit: int) -> bool:
    """Whether `value` nests objects and arrays more than `limit` deep (iteratively)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node \
            if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return False


def json_response(value: Any, status: int = 200) -> Response[bytes]:
    return Response(content=sse.dumps(value).encode(), status_code=status,
                    media_type="application/json")


async def upstream_chunks(upstream_stream: Exchange) -> AsyncIterator[Any]:
    """The JSON chunks of an upstream chat stream, up to its `[DONE]`. A stream that ends
    before it raises UpstreamBadResponse; an error object in it raises its error. Iterate it
    inside `contextlib.aclosing`."""
    async with contextlib.aclosing(upstream_stream.events()) as events:
        async for event in events:
            if event.data.strip() == "[DONE]":
                return
            yield upstream_chunk(event.data)
    raise UpstreamBadResponse("upstream stream ended before it was complete")


def upstream_chunk(data: str) -> Any:
    """One upstream stream event's JSON; an error object in the stream raises its error."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise UpstreamBadResponse("upstream sent a stream event that is not JSON") from None
    if isinstance(chunk, dict) and isinstance(chunk.get("error"), dict):
        error = chunk["error"]
        status = error.get("code") if isinstance(error.get("code"), int) else 500
        raise UpstreamStatus(status, str(error.get("message") or "upstream error"))
    return chunk
