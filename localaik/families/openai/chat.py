"""OpenAI chat/completions answers from an OpenAI-compatible upstream, for OpenAI clients.

The request goes upstream as the client wrote it (validated), with one rewrite: `file` content
parts (a PDF or a text file as `file_data`), which llama-server does not read, become what the
file holds, as Gemini's inline data does (PDF pages as images, text as text). The answer is
passed on with two fixes: `model` says the model the client asked for (llama-server reports its
own alias), and stream chunks always carry the `object` field the SDK's stream helper filters on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

from localaik.errors import BadRequest, Error, UpstreamBadResponse, UpstreamStatus
from localaik.families.openai import checks as openai_validation
from localaik.families.openai import wire
from localaik.families.openai.errors import error_body
from localaik.families.rendering import body_of
from localaik.media import parts as media_parts
from localaik.media.parts import Media, Part
from localaik.upstream.chunks import in_stream_error
from localaik.wire import sse
from localaik.wire.types import JSONObject, JSONValue


def validate_chat_request(body: JSONValue) -> wire.ChatCompletionCreateParams:
    return openai_validation.check_chat_request(body)


def chat_request_to_upstream(
    body: wire.ChatCompletionCreateParams, media: Media
) -> wire.ChatCompletionCreateParams:
    """The body to send upstream: `body` itself, or a copy with its file parts expanded. It
    stays the client's (its roles, its extra fields): the upstream takes OpenAI's own body.

    Image parts go up as sent (`openai_validation` checked them).
    """
    messages = body["messages"]
    expanded: list[wire.ChatCompletionMessageParam] = []
    changed = False
    for i, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            expanded.append(message)
            continue
        parts: list[wire.ChatCompletionContentPart] = []
        for j, part in enumerate(content):
            where = f"messages[{i}].content[{j}]"
            if part["type"] == "file":
                parts.extend(_file_parts(part.get("file"), media, f"{where}.file"))
                changed = True
            else:
                parts.append(part)
        expanded.append({**message, "content": parts} if changed else message)
    return {**body, "messages": expanded} if changed else body


def _file_parts(file: JSONValue, media: Media, where: str) -> list[Part]:
    try:
        return _file_content(file, media, where)
    except BadRequest as exc:
        exc.param = exc.param or f"{where}.file_data"
        raise


def _file_content(file: JSONValue, media: Media, where: str) -> list[Part]:
    if not isinstance(file, dict):
        raise BadRequest(f"{where}: expected an object with file_data", param=where)
    file_id, filename = file.get("file_id"), file.get("filename")
    if file_id is not None and file.get("file_data") is None:
        # An uploaded file's id, resolved to its content when parsed (`openai/files.py`).
        if not isinstance(file_id, str) or not file_id.startswith(media_parts.STORED):
            raise BadRequest(f"{where}.file_id: not a file of this server", param=where)
        raw = media.read_stored(file_id, f"{where}.file_id")
        mime = media_parts.stored_parts(file_id)[1]
        return media_parts.blob_to_parts(mime, raw, media, f"{where}.file_id")
    data = file.get("file_data")
    if not isinstance(data, str) or not data:
        raise BadRequest(f"{where}.file_data: required string", param=f"{where}.file_data")
    if filename is not None and not isinstance(filename, str):
        raise BadRequest(f"{where}.filename: expected a string", param=f"{where}.filename")
    if data.startswith("data:"):
        mime, raw = media_parts.decode_data_uri(data, f"{where}.file_data")
    else:
        raw = media_parts.decode_base64(data, f"{where}.file_data")
        mime = ""
    if not mime or mime == "application/octet-stream":
        mime = media_parts.guess_mime(filename or "", raw, mime)
    return media_parts.blob_to_parts(mime, raw, media, f"{where}.file_data")


def validate_completion_request(body: JSONValue) -> wire.CompletionCreateParams:
    return openai_validation.check_completion_request(body)


def requested_model(body: Mapping[str, object]) -> str | None:
    model = body.get("model")
    return model if isinstance(model, str) and model else None


def response_for_client(response: JSONValue, model: str | None, kind: str) -> JSONObject:
    """A non-stream chat.completion or text_completion, with the client's model name (the rest
    is the upstream's, passed on unread)."""
    if not isinstance(response, dict) or not isinstance(response.get("choices"), list):
        raise UpstreamBadResponse("upstream answer has no choices")
    response.setdefault("object", kind)
    if model:
        response["model"] = model
    return response


def chunk_for_client(chunk: JSONValue, model: str | None, kind: str) -> JSONObject:
    if not isinstance(chunk, dict):
        raise UpstreamBadResponse("upstream stream chunk is not a JSON object")
    chunk.setdefault("object", kind)
    if model:
        chunk["model"] = model
    return chunk


DONE = None
"""The event that ends an OpenAI stream (`data: [DONE]`)."""

ChatEvent: TypeAlias = "Mapping[str, object] | None"


class ChatStream:
    """Upstream chunks passed on to OpenAI clients with the client's model name; `[DONE]` last.
    An error object in the stream is passed on as the upstream sent it, and ends it."""

    def __init__(self, model: str | None, kind: str) -> None:
        self.model = model
        self.kind = kind

    def feed(self, chunk: JSONValue) -> list[ChatEvent]:
        if isinstance(chunk, dict) and "error" in chunk:
            raise in_stream_error(chunk)
        return [chunk_for_client(chunk, self.model, self.kind)]

    def finish(self) -> list[ChatEvent]:
        return [DONE]

    def fail(self, error: Error) -> list[ChatEvent]:
        if isinstance(error, UpstreamStatus) and error.raw is not None:
            return [error.raw]
        return [body_of(error, error_body)]


def chat_frame(event: ChatEvent) -> bytes:
    return sse.OPENAI_DONE if event is DONE else sse.openai_frame(event)
