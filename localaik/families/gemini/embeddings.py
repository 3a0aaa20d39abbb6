"""Gemini `embedContent` and `batchEmbedContents` <-> the upstream's `/embeddings`.

One upstream call per request, its texts in order. `taskType` is checked and kept in the key
but does not change the vector (a local model has no task modes); `title` is embedded with the
text, and only with `RETRIEVAL_DOCUMENT`, the one task type the API takes it for.
`outputDimensionality` keeps the first N values as they are (Google documents that only the
full-size vector is normalised). Only text is embedded: other parts are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from localaik.errors import BadRequest, Unsupported
from localaik.families.gemini import wire as gemini
from localaik.upstream.embeddings import positive_int, shorten, upstream_vectors
from localaik.upstream.wire import EmbeddingsRequest

MAX_GEMINI_REQUESTS = 100  # Gemini: "at most 100 requests can be in one batch"
TASK_TYPES = (
    "TASK_TYPE_UNSPECIFIED",
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
)
GEMINI_ITEM_FIELDS = frozenset({"content", "taskType", "title", "outputDimensionality", "model"})


@dataclass(frozen=True)
class EmbedItem:
    """One Gemini embedding request, checked: the text to embed and how to shape its answer."""

    text: str
    task_type: str | None
    dimensions: int | None


def gemini_items(body: object, action: str, path_model: str) -> list[EmbedItem]:
    """The checked items of an `embedContent` (one) or `batchEmbedContents` request (camelCase
    keys, as `casing.camelize_request` gives them)."""
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    if action == "embedContent":
        return [_gemini_item(body, "", path_model)]
    unknown = sorted(set(body) - {"requests"})
    if unknown:
        raise BadRequest(
            f'Invalid JSON payload received. Unknown name "{unknown[0]}": '
            "batchEmbedContents takes only requests"
        )
    requests = cast(gemini.BatchEmbedContentsRequest, body).get("requests")
    if not isinstance(requests, list) or not requests:
        raise BadRequest("requests: a non-empty list of embedding requests is required")
    if len(requests) > MAX_GEMINI_REQUESTS:
        raise BadRequest(
            f"requests: at most {MAX_GEMINI_REQUESTS} requests can be in one batch "
            f"(got {len(requests)})"
        )
    return [_gemini_item(item, f"requests[{i}].", path_model) for i, item in enumerate(requests)]


def _gemini_item(value: object, at: str, path_model: str) -> EmbedItem:
    if not isinstance(value, dict):
        raise BadRequest(f"{at or 'request'}: each embedding request must be an object")
    item = cast(gemini.EmbedContentRequest, value)
    unknown = sorted(set(item) - GEMINI_ITEM_FIELDS)
    if unknown:
        raise BadRequest(
            f'Invalid JSON payload received. Unknown name "{at}{unknown[0]}": '
            "an embedding request takes content, taskType, title, "
            "outputDimensionality and model"
        )
    model = item.get("model")
    if model is not None and (
        not isinstance(model, str) or model.removeprefix("models/") != path_model
    ):
        raise BadRequest(
            f"{at}model: {model!r} is not the model of the request path (models/{path_model})"
        )
    task_type = item.get("taskType")
    if task_type is not None and task_type not in TASK_TYPES:
        raise BadRequest(
            f"{at}taskType: {task_type!r} is not a task type (one of {', '.join(TASK_TYPES[1:])})"
        )
    dimensions = item.get("outputDimensionality")
    if dimensions is not None and not positive_int(dimensions):
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


def _gemini_text(content: object, at: str) -> str:
    """The text of a Content: its text parts joined by a newline."""
    if not isinstance(content, dict):
        raise BadRequest(f"{at} is required: a Content with text parts")
    parts = cast(gemini.Content, content).get("parts")
    if not isinstance(parts, list) or not parts:
        raise BadRequest(f"{at}.parts: a non-empty list of parts is required")
    texts: list[str] = []
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


def gemini_upstream_body(items: list[EmbedItem], upstream_model: str) -> EmbeddingsRequest:
    return {
        "model": upstream_model,
        "input": [item.text for item in items],
        "encoding_format": "float",
    }


def gemini_response(
    answer: object, items: list[EmbedItem], action: str
) -> gemini.EmbedContentResponse | gemini.BatchEmbedContentsResponse:
    """`{"embedding": {...}}` for embedContent, `{"embeddings": [...]}` for the batch."""
    vectors, _ = upstream_vectors(answer, len(items))
    embeddings: list[gemini.ContentEmbedding] = []
    for i, (item, vector) in enumerate(zip(items, vectors, strict=True)):
        if item.dimensions is not None:
            at = (
                "outputDimensionality"
                if action == "embedContent"
                else f"requests[{i}].outputDimensionality"
            )
            vector = shorten(vector, item.dimensions, at)
        embeddings.append({"values": vector})
    if action == "embedContent":
        return {"embedding": embeddings[0]}
    return {"embeddings": embeddings}
