"""Embeddings: OpenAI `/v1/embeddings` and Gemini `embedContent` / `batchEmbedContents`, to and
from an OpenAI-compatible upstream's `/embeddings` (llama-server's), which answers floats.

    OpenAI request  -> validate_openai_request -> openai_upstream_body -> upstream
    Gemini request  -> gemini_items             -> gemini_upstream_body -> upstream
    upstream answer -> upstream_vectors -> openai_response / gemini_response

One upstream call per client request, its inputs in order. The upstream is always asked for
floats: the client's `encoding_format` only decides how localaik writes the same numbers back
(a JSON list, or base64 of little-endian float32 as OpenAI sends it), so it is not part of the
request key and one recording answers both.

Shortening follows each API: OpenAI `dimensions` keeps the first N values and scales them back
to unit length (OpenAI's shortened embeddings are normalised); Gemini `outputDimensionality`
keeps the first N values as they are (Google documents that only the full-size vector is
normalised and that callers normalise shortened ones). Asking for more values than the model
gives is a 400.

Gemini `taskType` is checked and kept in the key but does not change the vector (a local model
has no task modes); `title` is embedded with the text, and only with `RETRIEVAL_DOCUMENT`, the
one task type the API takes it for. Only text is embedded: other parts are refused.
"""

from __future__ import annotations

import base64
import math
import re
import struct
from dataclasses import dataclass
from typing import Any

from localaik.errors import BadRequest, Unsupported, UpstreamBadResponse, UpstreamStatus

MAX_OPENAI_INPUTS = 2048    # OpenAI: "any array must be 2048 dimensions or less"
MAX_GEMINI_REQUESTS = 100   # Gemini: "at most 100 requests can be in one batch"
ENCODING_FORMATS = ("float", "base64")
OPENAI_FIELDS = frozenset({"input", "model", "encoding_format", "dimensions", "user"})

TASK_TYPES = ("TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT",
              "SEMANTIC_SIMILARITY", "CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING",
              "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY")
GEMINI_ITEM_FIELDS = frozenset({"content", "taskType", "title", "outputDimensionality", "model"})

# llama-server's answer when one input does not fit its batch: a fact about the input.
_TOO_LARGE = re.compile(r"input \((\d+) tokens\) is too large to process.*?batch size: (\d+)",
                        re.DOTALL)


# -- OpenAI -------------------------------------------------------------------------------------


def validate_openai_request(body: Any) -> dict[str, Any]:
    """The request as sent, or a 400 naming the field (as the real API does)."""
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    unknown = sorted(set(body) - OPENAI_FIELDS)
    if unknown:
        raise BadRequest(f"Unrecognized request argument supplied: {', '.join(unknown)}",
                         param=unknown[0])
    if "input" not in body:
        raise BadRequest("input is required", param="input")
    openai_inputs(body["input"])
    if "model" in body and not isinstance(body["model"], str):
        raise BadRequest("model must be a string", param="model")
    if "encoding_format" in body and body["encoding_format"] not in ENCODING_FORMATS:
        raise BadRequest(f"encoding_format must be 'float' or 'base64' (got "
                         f"{body['encoding_format']!r})", param="encoding_format")
    if "dimensions" in body and not _positive_int(body["dimensions"]):
        raise BadRequest("dimensions must be a whole number of at least 1", param="dimensions")
    if "user" in body and not isinstance(body["user"], str):
        raise BadRequest("user must be a string", param="user")
    return body


def openai_inputs(value: Any) -> int:
    """How many embeddings `input` asks for: a string, a list of strings, a token array (a
    list of token ids) or a list of token arrays."""
    if isinstance(value, str):
        _text(value, "input")
        return 1
    if not isinstance(value, list) or not value:
        raise BadRequest("input must be a non-empty string, list of strings, or token array",
                         param="input")
    if all(isinstance(item, str) for item in value):
        kind = "strings"
    elif all(_token(item) for item in value):
        return 1
    elif all(isinstance(item, list) for item in value):
        kind = "token arrays"
    else:
        raise BadRequest("input must be a string, a list of strings, a list of token ids, or "
                         "a list of token-id lists (not a mix)", param="input")
    if len(value) > MAX_OPENAI_INPUTS:
        raise BadRequest(f"input holds {len(value)} {kind}; at most {MAX_OPENAI_INPUTS} are "
                         "accepted in one request", param="input")
    for i, item in enumerate(value):
        if isinstance(item, str):
            _text(item, f"input[{i}]")
        elif not item or not all(_token(token) for token in item):
            raise BadRequest(f"input[{i}] must be a non-empty list of token ids",
                             param="input")
    return len(value)


def openai_upstream_body(body: dict[str, Any]) -> dict[str, Any]:
    """What goes upstream: the inputs, always as floats (`dimensions` is applied here)."""
    upstream: dict[str, Any] = {"input": body["input"], "encoding_format": "float"}
    if isinstance(body.get("model"), str) and body["model"]:
        upstream["model"] = body["model"]
    return upstream


def openai_response(answer: Any, body: dict[str, Any], model: str | None) -> dict[str, Any]:
    """OpenAI's `list` of `embedding` objects, in the encoding the client asked for."""
    vectors, usage = upstream_vectors(answer, openai_inputs(body["input"]))
    dimensions = body.get("dimensions")
    encoding = body.get("encoding_format", "float")
    data = []
    for index, vector in enumerate(vectors):
        if dimensions is not None:
            vector = _unit(_shorten(vector, dimensions, "dimensions"))
        data.append({"object": "embedding", "index": index,
                     "embedding": float32_base64(vector) if encoding == "base64" else vector})
    upstream_model = answer.get("model") if isinstance(answer.get("model"), str) else None
    return {"object": "list", "data": data, "model": model or upstream_model or "localaik",
            "usage": usage}


def float32_base64(vector: list[float]) -> str:
    """What OpenAI sends for `encoding_format: base64`: the values as little-endian float32."""
    try:
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
    except (OverflowError, struct.error):
        raise UpstreamBadResponse("an upstream embedding value does not fit a float32") \
            from None


# -- Gemini -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmbedItem:
    """One Gemini embedding request, checked: the text to embed and how to shape its answer."""

    text: str
    task_type: str | None
    dimensions: int | None


def gemini_items(body: Any, action: str, path_model: str) -> list[EmbedItem]:
    """The checked items of an `embedContent` (one) or `batchEmbedContents` request (camelCase
    keys, as `protocol.gemini.camelize_request` gives them)."""
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    if action == "embedContent":
        return [_gemini_item(body, "", path_model)]
    unknown = sorted(set(body) - {"requests"})
    if unknown:
        raise BadRequest(f"Invalid JSON payload received. Unknown name \"{unknown[0]}\": "
                         "batchEmbedContents takes only requests")
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise BadRequest("requests: a non-empty list of embedding requests is required")
    if len(requests) > MAX_GEMINI_REQUESTS:
        raise BadRequest(f"requests: at most {MAX_GEMINI_REQUESTS} requests can be in one batch "
                         f"(got {len(requests)})")
    return [_gemini_item(item, f"requests[{i}].", path_model) for i, item in enumerate(requests)]


def _gemini_item(item: Any, at: str, path_model: str) -> EmbedItem:
    if not isinstance(item, dict):
        raise BadRequest(f"{at or 'request'}: each embedding request must be an object")
    unknown = sorted(set(item) - GEMINI_ITEM_FIELDS)
    if unknown:
        raise BadRequest(f"Invalid JSON payload received. Unknown name \"{at}{unknown[0]}\": "
                         "an embedding request takes content, taskType, title, "
                         "outputDimensionality and model")
    model = item.get("model")
    if model is not None and (not isinstance(model, str)
                              or model.removeprefix("models/") != path_model):
        raise BadRequest(f"{at}model: {model!r} is not the model of the request path "
                         f"(models/{path_model})")
    task_type = item.get("taskType")
    if task_type is not None and task_type not in TASK_TYPES:
        raise BadRequest(f"{at}taskType: {task_type!r} is not a task type (one of "
                         f"{', '.join(TASK_TYPES[1:])})")
    dimensions = item.get("outputDimensionality")
    if dimensions is not None and not _positive_int(dimensions):
        raise BadRequest(f"{at}outputDimensionality must be a whole number of at least 1")
    text = _gemini_text(item.get("content"), f"{at}content")
    title = item.get("title")
    if title is not None:
        if not isinstance(title, str):
            raise BadRequest(f"{at}title must be a string")
        if task_type != "RETRIEVAL_DOCUMENT":
            raise BadRequest(f"{at}title is only used with taskType RETRIEVAL_DOCUMENT")
        if title:
            text = f"{title}\n\n{text}"
    return EmbedItem(text, task_type, int(dimensions) if dimensions is not None else None)


def _gemini_text(content: Any, at: str) -> str:
    """The text of a Content: its text parts joined by a newline."""
    if not isinstance(content, dict):
        raise BadRequest(f"{at} is required: a Content with text parts")
    parts = content.get("parts")
    if not isinstance(parts, list) or not parts:
        raise BadRequest(f"{at}.parts: a non-empty list of parts is required")
    texts = []
    for i, part in enumerate(parts):
        if not isinstance(part, dict):
            raise BadRequest(f"{at}.parts[{i}] must be an object")
        if set(part) != {"text"}:
            other = next((name for name in part if name != "text"), "text")
            raise Unsupported(f"{at}.parts[{i}]: localaik embeds text only, not {other}")
        if not isinstance(part["text"], str):
            raise BadRequest(f"{at}.parts[{i}].text must be a string")
        texts.append(part["text"])
    text = "\n".join(texts)
    if not text.strip():
        raise BadRequest(f"{at}: the text to embed is empty")
    return text


def gemini_upstream_body(items: list[EmbedItem], upstream_model: str) -> dict[str, Any]:
    return {"model": upstream_model, "input": [item.text for item in items],
            "encoding_format": "float"}


def gemini_response(answer: Any, items: list[EmbedItem], action: str) -> dict[str, Any]:
    """`{"embedding": {...}}` for embedContent, `{"embeddings": [...]}` for the batch."""
    vectors, _ = upstream_vectors(answer, len(items))
    embeddings = []
    for i, (item, vector) in enumerate(zip(items, vectors, strict=True)):
        if item.dimensions is not None:
            at = "outputDimensionality" if action == "embedContent" \
                else f"requests[{i}].outputDimensionality"
            vector = _shorten(vector, item.dimensions, at)
        embeddings.append({"values": vector})
    if action == "embedContent":
        return {"embedding": embeddings[0]}
    return {"embeddings": embeddings}


# -- the upstream answer ------------------------------------------------------------------------


def upstream_vectors(answer: Any, count: int) -> tuple[list[list[float]], dict[str, int]]:
    """The `count` vectors of an upstream `/embeddings` answer, in input order, and its usage."""
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
        raise UpstreamBadResponse("upstream /embeddings answer has no data list")
    items = answer["data"]
    if len(items) != count:
        raise UpstreamBadResponse(f"upstream /embeddings answered {len(items)} embeddings for "
                                  f"{count} inputs")
    slots: list[list[float] | None] = [None] * count
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise UpstreamBadResponse("upstream /embeddings data item is not an object")
        index = item.get("index", position)
        if not isinstance(index, int) or not 0 <= index < count or slots[index] is not None:
            raise UpstreamBadResponse("upstream /embeddings data items have bad indexes")
        slots[index] = _vector(item.get("embedding"))
    vectors = [vector for vector in slots if vector is not None]
    usage: dict[str, Any] = answer["usage"] if isinstance(answer.get("usage"), dict) else {}
    prompt = usage.get("prompt_tokens")
    prompt = prompt if isinstance(prompt, int) and not isinstance(prompt, bool) else 0
    total = usage.get("total_tokens")
    total = total if isinstance(total, int) and not isinstance(total, bool) else prompt
    return vectors, {"prompt_tokens": prompt, "total_tokens": total}


def _vector(value: Any) -> list[float]:
    if isinstance(value, str):   # an upstream that answered base64 although floats were asked
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            raise UpstreamBadResponse("upstream embedding is not valid base64") from None
        if not raw or len(raw) % 4:
            raise UpstreamBadResponse("upstream base64 embedding is not float32 values")
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    if (not isinstance(value, list) or not value
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)):
        raise UpstreamBadResponse("upstream embedding is not a list of numbers (is the upstream "
                                  "pooling its embeddings?)")
    return [float(x) if isinstance(x, int) else x for x in value]


def too_large(error: UpstreamStatus) -> BadRequest | None:
    """llama-server's 500 for an input longer than it can embed at once, as the 400 it is."""
    match = _TOO_LARGE.search(error.message)
    if not match:
        return None
    return BadRequest(f"an input is {match.group(1)} tokens, more than the embedding model takes "
                      f"at once ({match.group(2)}): shorten it (the bundled runtime takes up to "
                      "LK_CTX_SIZE tokens)", param="input")


# -- helpers ------------------------------------------------------------------------------------


def _text(value: str, at: str) -> None:
    if not value:
        raise BadRequest(f"{at} must not be an empty string", param="input")


def _token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positive_int(value: Any) -> bool:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _shorten(vector: list[float], size: int, at: str) -> list[float]:
    size = int(size)
    if size > len(vector):
        raise BadRequest(f"{at} is {size}, but the embedding model gives {len(vector)} values",
                         param=at if at == "dimensions" else None)
    return vector[:size]


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(math.fsum(x * x for x in vector))
    return [x / norm for x in vector] if norm > 0 else vector
