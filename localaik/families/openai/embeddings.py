"""OpenAI `POST /v1/embeddings` <-> the upstream's `/embeddings`.

One upstream call per request, its inputs in order, always as floats: `encoding_format` only
decides how the same numbers are written back (a JSON list, or base64 of little-endian float32
as OpenAI sends it), so it is not part of the request key and one recording answers both.
`dimensions` keeps the first N values and scales them back to unit length (OpenAI's shortened
embeddings are normalised); asking for more values than the model gives is a 400.
"""

from __future__ import annotations

import base64
import math
import struct
from typing import cast

from localaik.errors import BadRequest, UpstreamBadResponse
from localaik.families.openai import wire
from localaik.upstream import wire as upstream
from localaik.upstream.embeddings import positive_int, shorten, upstream_vectors
from localaik.wire.types import JSONValue

MAX_OPENAI_INPUTS = 2048  # OpenAI: "any array must be 2048 dimensions or less"
ENCODING_FORMATS = ("float", "base64")
OPENAI_FIELDS = frozenset({"input", "model", "encoding_format", "dimensions", "user"})


def validate_openai_request(body: JSONValue) -> wire.EmbeddingCreateParams:
    """The request as sent, or a 400 naming the field (as the real API does)."""
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    unknown = sorted(set(body) - OPENAI_FIELDS)
    if unknown:
        raise BadRequest(
            f"Unrecognized request argument supplied: {', '.join(unknown)}", param=unknown[0]
        )
    if "input" not in body:
        raise BadRequest("input is required", param="input")
    openai_inputs(body["input"])
    if "model" in body and not isinstance(body["model"], str):
        raise BadRequest("model must be a string", param="model")
    if "encoding_format" in body and body["encoding_format"] not in ENCODING_FORMATS:
        raise BadRequest(
            f"encoding_format must be 'float' or 'base64' (got {body['encoding_format']!r})",
            param="encoding_format",
        )
    if "dimensions" in body and not positive_int(body["dimensions"]):
        raise BadRequest("dimensions must be a whole number of at least 1", param="dimensions")
    if "user" in body and not isinstance(body["user"], str):
        raise BadRequest("user must be a string", param="user")
    return cast(wire.EmbeddingCreateParams, body)  # every field, checked


def openai_inputs(value: JSONValue) -> int:
    """How many embeddings `input` asks for: a string, a list of strings, a token array (a
    list of token ids) or a list of token arrays."""
    if isinstance(value, str):
        _text(value, "input")
        return 1
    if not isinstance(value, list) or not value:
        raise BadRequest(
            "input must be a non-empty string, list of strings, or token array", param="input"
        )
    if all(isinstance(item, str) for item in value):
        kind = "strings"
    elif all(_token(item) for item in value):
        return 1
    elif all(isinstance(item, list) for item in value):
        kind = "token arrays"
    else:
        raise BadRequest(
            "input must be a string, a list of strings, a list of token ids, or "
            "a list of token-id lists (not a mix)",
            param="input",
        )
    if len(value) > MAX_OPENAI_INPUTS:
        raise BadRequest(
            f"input holds {len(value)} {kind}; at most {MAX_OPENAI_INPUTS} are "
            "accepted in one request",
            param="input",
        )
    for i, item in enumerate(value):
        if isinstance(item, str):
            _text(item, f"input[{i}]")
        elif not isinstance(item, list) or not item or not all(_token(t) for t in item):
            raise BadRequest(f"input[{i}] must be a non-empty list of token ids", param="input")
    return len(value)


def openai_upstream_body(body: wire.EmbeddingCreateParams) -> upstream.EmbeddingsRequest:
    """What goes upstream: the inputs, always as floats (`dimensions` is applied here)."""
    request: upstream.EmbeddingsRequest = {"input": body["input"], "encoding_format": "float"}
    model = body.get("model")
    if isinstance(model, str) and model:
        request["model"] = model
    return request


def openai_response(
    answer: JSONValue, body: wire.EmbeddingCreateParams, model: str | None
) -> wire.CreateEmbeddingResponse:
    """OpenAI's `list` of `embedding` objects, in the encoding the client asked for."""
    vectors, usage = upstream_vectors(answer, _count(body["input"]))
    dimensions = body.get("dimensions")
    encoding = body.get("encoding_format", "float")
    data: list[wire.Embedding] = []
    for index, vector in enumerate(vectors):
        if dimensions is not None:
            vector = _unit(shorten(vector, int(dimensions), "dimensions"))
        data.append(
            {
                "object": "embedding",
                "index": index,
                "embedding": float32_base64(vector) if encoding == "base64" else vector,
            }
        )
    named = answer.get("model") if isinstance(answer, dict) else None
    upstream_model = named if isinstance(named, str) else None
    return {
        "object": "list",
        "data": data,
        "model": model or upstream_model or "localaik",
        "usage": {"prompt_tokens": usage["prompt_tokens"], "total_tokens": usage["total_tokens"]},
    }


def float32_base64(vector: list[float]) -> str:
    """What OpenAI sends for `encoding_format: base64`: the values as little-endian float32."""
    try:
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
    except (OverflowError, struct.error):
        raise UpstreamBadResponse("an upstream embedding value does not fit a float32") from None


def _count(inputs: wire.EmbeddingInput) -> int:
    """How many embeddings a checked `input` asks for (`openai_inputs` counts the same)."""
    if isinstance(inputs, str) or all(isinstance(item, int) for item in inputs):
        return 1
    return len(inputs)


def _text(value: str, at: str) -> None:
    if not value:
        raise BadRequest(f"{at} must not be an empty string", param="input")


def _token(value: JSONValue) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(math.fsum(x * x for x in vector))
    return [x / norm for x in vector] if norm > 0 else vector
