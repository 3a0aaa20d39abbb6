"""OpenAI chat/completions answers from an OpenAI-compatible upstream, for OpenAI clients.

The request goes upstream as the client wrote it (validated, never rewritten). The answer is
passed on with two fixes: `model` says the model the client asked for (llama-server reports its
own alias), and stream chunks always carry the `object` field the SDK's stream helper filters on.
"""

from __future__ import annotations

from typing import Any

from localaik.errors import BadRequest, UpstreamBadResponse


def validate_chat_request(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages: a non-empty list of messages is required", param="messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadRequest(f"messages[{i}]: each message needs a string role",
                             param=f"messages[{i}].role")
    _validate_common(body)
    return body


def validate_completion_request(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    if "prompt" not in body:
        raise BadRequest("prompt is required", param="prompt")
    _validate_common(body)
    return body


def _validate_common(body: dict[str, Any]) -> None:
    if "model" in body and not isinstance(body["model"], str):
        raise BadRequest("model must be a string", param="model")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise BadRequest("stream must be a boolean", param="stream")


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
