"""Anthropic user content blocks -> OpenAI content parts: text, images (base64 or a URL, never
fetched), documents (PDF pages, text, content; a remote document is refused), search results.
Blocks of Anthropic's server tools and unknown blocks are refused, naming the block."""

from __future__ import annotations

import json
from typing import NoReturn

from localaik.errors import BadRequest, Unsupported
from localaik.families.anthropic import wire as anthropic
from localaik.families.anthropic.turns import Block, blocks, required_str
from localaik.media import parts as media_parts
from localaik.media.parts import Media, Part
from localaik.upstream import wire as upstream
from localaik.wire.types import JSONObject, JSONValue


def content_parts(block: Block, media: Media, at: str) -> list[Part]:
    """A user content block other than tool use and results -> content parts."""
    kind = block["type"]
    if kind == "text":
        return text_parts(block, at)
    if kind == "image":
        return _image(block, media, at)
    if kind == "document":
        return _document(block, media, at)
    if kind == "search_result":
        return _search_result(block, at)
    unknown(kind, at)


def text_parts(block: Block, at: str) -> list[Part]:
    text = block_text(block, at)
    return [media_parts.text_part(text)] if text else []


def block_text(block: Block, at: str) -> str:
    """The text of a text block (which may be empty)."""
    text = block.get("text")
    if not isinstance(text, str):
        raise BadRequest(f"{at}.text: Field required (a string)", param=f"{at}.text")
    return text


def _source(block: Block, at: str) -> tuple[str, JSONObject]:
    source = block.get("source")
    if not isinstance(source, dict):
        raise BadRequest(f"{at}.source: Field required (an object)", param=f"{at}.source")
    kind = source.get("type") or "base64"
    if not isinstance(kind, str):
        raise BadRequest(f"{at}.source.type: must be a string", param=f"{at}.source.type")
    if kind == "file":
        raise Unsupported(
            f"{at}.source: file sources need the Files API, which localaik does "
            "not serve; send the content as base64",
            param=f"{at}.source",
        )
    return kind, source


def _base64(source: JSONObject, at: str) -> tuple[str, bytes]:
    mime = source.get("media_type")
    if not isinstance(mime, str) or not mime:
        raise BadRequest(f"{at}.source.media_type: Field required", param=f"{at}.source.media_type")
    return mime, media_parts.decode_base64(source.get("data"), f"{at}.source.data")


def _image(block: Block, media: Media, at: str) -> list[Part]:
    kind, source = _source(block, at)
    if kind == "base64":
        mime, data = _base64(source, at)
        if not mime.lower().startswith("image/"):
            raise BadRequest(
                f"{at}.source.media_type: an image needs an image/* type (got {mime!r})",
                param=f"{at}.source.media_type",
            )
        return media_parts.blob_to_parts(mime, data, media, at)
    if kind == "url":
        url = required_str(source, "url", f"{at}.source")
        if url.startswith("data:"):
            mime, data = media_parts.decode_data_uri(url, f"{at}.source.url")
            return media_parts.blob_to_parts(mime or "image/png", data, media, at)
        if not url.lower().startswith(("http://", "https://")):
            raise BadRequest(
                f"{at}.source.url: must be an http(s) or data: URL", param=f"{at}.source.url"
            )
        # Passed on as a URL: localaik itself never fetches it.
        return [media_parts.image_part(url)]
    raise BadRequest(
        f"{at}.source.type: unknown image source type {kind!r} (base64, url)",
        param=f"{at}.source.type",
    )


def _document(block: Block, media: Media, at: str) -> list[Part]:
    kind, source = _source(block, at)
    if kind == "base64":
        mime, data = _base64(source, at)
        parts = media_parts.blob_to_parts(mime, data, media, at)
    elif kind == "text":
        text = source.get("data")
        if not isinstance(text, str):
            raise BadRequest(
                f"{at}.source.data: Field required (a string)", param=f"{at}.source.data"
            )
        parts = [media_parts.text_part(text)] if text else []
    elif kind == "content":
        parts = []
        for block_item, where in blocks(source.get("content"), f"{at}.source"):
            if block_item["type"] not in ("text", "image"):
                raise BadRequest(
                    f"{where}: a content document holds text and image blocks only", param=where
                )
            parts.extend(content_parts(block_item, media, where))
    elif kind == "url":
        raise Unsupported(
            f"{at}.source: localaik does not fetch remote documents; send the "
            "PDF as base64 (source.type base64)",
            param=f"{at}.source",
        )
    else:
        raise BadRequest(
            f"{at}.source.type: unknown document source type {kind!r} (base64, text, content, url)",
            param=f"{at}.source.type",
        )
    heading = [
        media_parts.text_part(value)
        for name in ("title", "context")
        if isinstance(value := block.get(name), str) and value
    ]
    return heading + parts


def _search_result(block: Block, at: str) -> list[Part]:
    lines = [
        value for name in ("title", "source") if isinstance(value := block.get(name), str) and value
    ]
    for item, where in blocks(block.get("content"), at):
        if item["type"] != "text":
            raise BadRequest(f"{where}: a search result holds text blocks only", param=where)
        text = block_text(item, where)
        if text:
            lines.append(text)
    return [media_parts.text_part("\n".join(lines))] if lines else []


def unknown(kind: JSONValue, at: str) -> NoReturn:
    """Refuse a block localaik cannot translate, naming it (`kind` is a checked string)."""
    if kind in anthropic.SERVER_BLOCKS:
        raise Unsupported(
            f"{at}: {kind} blocks belong to Anthropic's server tools, which localaik cannot run",
            param=at,
        )
    raise Unsupported(
        f"{at}.type: content block type {kind!r} is not supported by localaik", param=f"{at}.type"
    )


def collapse(parts: list[Part]) -> upstream.Content:
    """A single text part becomes a plain string; anything else stays a list of parts."""
    if len(parts) == 1 and (first := parts[0])["type"] == "text":
        return first["text"]
    return parts


def compact(value: JSONValue) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
