"""The content of a Responses API message -> chat-completions content parts.

A message's content is a string or a list of parts: `input_text`, and `output_text` or
`refusal` in an assistant's earlier turns, become text; `input_image` (a data: URL, or an
http(s) URL passed on as one) and `input_file` (`file_data`, a PDF or text file) become what
they hold, as Gemini's inline data does. Parts that need OpenAI's servers (`file_id`,
`file_url`) or a modality a local model lacks (`input_audio`) are refused with a 400 that names
the part.
"""

from __future__ import annotations

from localaik.errors import BadRequest, Unsupported
from localaik.families.openai import responses_wire as responses
from localaik.media import parts as media_parts
from localaik.media.parts import Media, Part
from localaik.upstream import wire as upstream
from localaik.wire.types import JSONObject, JSONValue

TEXT_PARTS = ("input_text", "output_text")


def item_type(item: JSONObject, where: str) -> str | None:
    """An item's or part's `type`: a string, or absent."""
    kind = item.get("type")
    if kind is not None and not isinstance(kind, str):
        raise BadRequest(f"{where}.type must be a string", param=f"{where}.type")
    return kind


def content_parts(
    content: JSONValue, media: Media, where: str, role: responses.InputRole
) -> list[Part]:
    """The chat content parts of one message's `content` (no empty text part)."""
    if isinstance(content, str):
        return [media_parts.text_part(content)] if content else []
    if not isinstance(content, list):
        raise BadRequest(
            f"{where}.content must be a string or a list of content parts",
            param=f"{where}.content",
        )
    parts: list[Part] = []
    for j, value in enumerate(content):
        at = f"{where}.content[{j}]"
        part = value if isinstance(value, dict) else {}  # no type: refused as unknown below
        kind = item_type(part, at)
        if kind in TEXT_PARTS or kind == "refusal":
            key = "refusal" if kind == "refusal" else "text"
            text = part.get(key)
            if not isinstance(text, str):
                raise BadRequest(f"{at}.{key} must be a string", param=f"{at}.{key}")
            if text:
                parts.append(media_parts.text_part(text))
        elif role == "assistant" and kind in ("input_image", "input_file"):
            raise BadRequest(f"{at}: an assistant message holds text only (output_text)", param=at)
        elif kind == "input_image":
            parts.extend(_image(part, media, at))
        elif kind == "input_file":
            parts.extend(_file(part, media, at))
        elif kind == "input_audio":
            raise Unsupported(f"{at}: localaik does not take audio input", param=at)
        else:
            raise BadRequest(
                f"{at}.type: unknown content part type {kind!r} (input_text, "
                "input_image and input_file are accepted)",
                param=f"{at}.type",
            )
    return parts


def _image(part: JSONObject, media: Media, where: str) -> list[Part]:
    """An `input_image` part (ResponseInputImage)."""
    if part.get("file_id"):
        raw = _stored(part, media, where)
        return media_parts.blob_to_parts(
            media_parts.image_mime(raw, f"{where}.file_id"), raw, media, where
        )
    url = part.get("image_url")
    if not isinstance(url, str) or not url:
        raise BadRequest(
            f"{where}.image_url: required string (a data: URL or an https URL)",
            param=f"{where}.image_url",
        )
    if url.startswith("data:"):
        mime, data = media_parts.decode_data_uri(url, f"{where}.image_url")
        if not mime.startswith("image/"):
            raise BadRequest(
                f"{where}.image_url: the data: URL holds {mime or 'no type'}, not "
                "an image (send documents as input_file)",
                param=f"{where}.image_url",
            )
        return media_parts.blob_to_parts(mime, data, media, where)
    if url.lower().startswith(("https://", "http://")):
        # Passed on as a URL: localaik itself never fetches anything for a client.
        return [media_parts.image_part(url)]
    raise BadRequest(
        f"{where}.image_url must be a data: URL or an http(s) URL", param=f"{where}.image_url"
    )


def _file(part: JSONObject, media: Media, where: str) -> list[Part]:
    """An `input_file` part (ResponseInputFile)."""
    named = part.get("filename")
    filename = named if isinstance(named, str) else ""
    if part.get("file_id"):
        raw = _stored(part, media, where)
        mime = media_parts.stored_parts(str(part["file_id"]))[1]
        return media_parts.blob_to_parts(mime, raw, media, where)
    if part.get("file_url"):
        raise Unsupported(
            f"{where}.file_url: localaik does not fetch remote files; send the bytes in file_data",
            param=f"{where}.file_url",
        )
    data = part.get("file_data")
    if not isinstance(data, str) or not data:
        raise BadRequest(
            f"{where}.file_data: required string (a data: URL or base64)",
            param=f"{where}.file_data",
        )
    if data.startswith("data:"):
        mime, raw = media_parts.decode_data_uri(data, f"{where}.file_data")
    else:
        mime, raw = "", media_parts.decode_base64(data, f"{where}.file_data")
    return media_parts.blob_to_parts(media_parts.guess_mime(filename, raw, mime), raw, media, where)


def _stored(part: JSONObject, media: Media, where: str) -> bytes:
    """The bytes of an uploaded file's `file_id`, resolved to its content when parsed."""
    file_id = part.get("file_id")
    if not isinstance(file_id, str) or not file_id.startswith(media_parts.STORED):
        raise BadRequest(f"{where}.file_id: not a file of this server", param=f"{where}.file_id")
    return media.read_stored(file_id, f"{where}.file_id")


def collapse(parts: list[Part]) -> upstream.Content:
    """A single text part becomes a plain string; anything else stays a list of parts."""
    first = parts[0] if len(parts) == 1 else None
    if first is not None and first["type"] == "text":
        return first["text"]
    return parts


def as_parts(content: upstream.Content) -> list[Part]:
    """Chat content as a list of parts (an empty string is none)."""
    if isinstance(content, str):
        return [media_parts.text_part(content)] if content else []
    return list(content)
