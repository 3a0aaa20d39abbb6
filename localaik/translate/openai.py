"""OpenAI chat/completions answers from an OpenAI-compatible upstream, for OpenAI clients.

The request goes upstream as the client wrote it (validated, never rewritten). The answer is
passed on with two fixes: `model` says the model the client asked for (llama-server reports its
own alias), and stream chunks always carry the `object` field the SDK's stream helper filters on.
"""

from __future__ import annotations

from typing import Any

from localaik.errors import UpstreamBadResponse
from localaik.translate import openai_validation


def validate_chat_request(body: Any) -> dict[str, Any]:
    return openai_validation.check_chat_request(body)


def validate_completion_request(body: Any) -> dict[str, Any]:
    return openai_validation.check_completion_request(body)


def requested_model(body: dict[str, Any]) -> str | None:
    model = body.get("model")
    return model if isinstance(model, str) and model else None


def response_for_client(response: Any, model: str | None, kind: str) -> dict[str, Any]:
    """A non-stream chat.completion or text_completion, with the client's model name."""
    if not isinstance(response, dict) or not isinstance(response.get("choices"), list):
        raise UpstreamBadResponse("upstream answer has no choices")
    response.setdefault("object", kind)
    if model:
        response["model"] = model
    return response


def chunk_for_client(chunk: Any, model: str | None, kind: str) -> dict[str, Any]:
    if not isinstance(chunk, dict):
        raise UpstreamBadResponse("upstream stream chunk is not a JSON object")
    chunk.setdefault("object", kind)
    if model:
        chunk["model"] = model
    return chunk


def model_object(model_id: str, upstream: dict[str, Any] | None = None) -> dict[str, Any]:
    created = upstream.get("created") if upstream else None
    return {"id": model_id, "object": "model",
            "created": created if isinstance(created, int) else 0,
            "owned_by": (upstream or {}).get("owned_by") or "localaik"}


def upstream_models(listing: Any) -> list[dict[str, Any]]:
    """The model entries of an upstream `/v1/models` answer."""
    if not isinstance(listing, dict) or not isinstance(listing.get("data"), list):
        raise UpstreamBadResponse("upstream /models answer has no data list")
    return [m for m in listing["data"] if isinstance(m, dict) and isinstance(m.get("id"), str)]
