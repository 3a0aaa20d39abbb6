"""A recorded client request as a conversation: who said what, in each family's own shape.

The canonical request (`cassette/key.py`) keeps the client's body in its family's spelling, so
each family is read here by its own rules: Gemini's `systemInstruction` and `contents[].parts`,
OpenAI's `messages` (and a Responses request's `instructions` and `input`), Anthropic's `system`
and `messages[].content` blocks. Each turn becomes parts: text, an image (shown as a thumbnail
from its own bytes), a PDF (its first pages rendered as thumbnails, poppler permitting), a tool
call or a tool result (as JSON). What no rule knows is shown as JSON, never dropped.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

from localaik.errors import Error
from localaik.inspector.markup import Html, join, pretty, tag
from localaik.media import pdf

THUMB_PAGES = 3
PDF_PAGES = 20  # a longer PDF is named, not rendered
_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)(?:;[^,]*)?;base64,(.*)$", re.DOTALL)


def conversation(canon: Any) -> Html:
    """The request's turns; the whole body as JSON when it has none."""
    body = canon.get("body") if isinstance(canon, dict) else None
    family = canon.get("family") if isinstance(canon, dict) else None
    reader = {"gemini": _gemini, "openai": _openai, "anthropic": _anthropic}.get(str(family))
    turns = list(reader(body)) if reader is not None and isinstance(body, dict) else []
    if not turns:
        return tag("pre", pretty(body), class_="json")
    return tag(
        "ol",
        join(
            tag("li", tag("span", role, class_="role"), join(parts), class_=f"turn {role}")
            for role, parts in turns
        ),
        class_="conversation",
    )


Turn = tuple[str, list[Html]]


def _gemini(body: dict[str, Any]) -> Iterator[Turn]:
    system = body.get("systemInstruction")
    if isinstance(system, dict):
        yield "system", [_gemini_part(part) for part in system.get("parts") or []]
    for content in body.get("contents") or []:
        if isinstance(content, dict):
            role = str(content.get("role") or "user")
            yield role, [_gemini_part(part) for part in content.get("parts") or []]


def _gemini_part(part: Any) -> Html:
    if not isinstance(part, dict):
        return _json(part)
    if isinstance(part.get("text"), str):
        return _text(part["text"])
    inline = part.get("inlineData")
    if isinstance(inline, dict):
        return _media(str(inline.get("mimeType")), str(inline.get("data")))
    if isinstance(part.get("functionCall"), dict):
        return _tool("tool call", part["functionCall"])
    if isinstance(part.get("functionResponse"), dict):
        return _tool("tool result", part["functionResponse"])
    return _json(part)


def _openai(body: dict[str, Any]) -> Iterator[Turn]:
    if isinstance(body.get("instructions"), str):
        yield "system", [_text(body["instructions"])]
    given = body.get("messages")
    if given is None:
        given = body.get("input")
        if isinstance(given, str):
            given = [{"role": "user", "content": given}]
    for message in given if isinstance(given, list) else []:
        if not isinstance(message, dict):
            continue
        parts = _openai_content(message.get("content"))
        for call in message.get("tool_calls") or []:
            parts.append(_tool("tool call", call.get("function", call)))
        if message.get("type") in ("function_call", "function_call_output"):
            parts.append(_tool(str(message["type"]).replace("_", " "), message))
        yield str(message.get("role") or message.get("type") or "user"), parts


def _openai_content(content: Any) -> list[Html]:
    if content is None:
        return []
    if isinstance(content, str):
        return [_text(content)]
    parts: list[Html] = []
    for part in content if isinstance(content, list) else [content]:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("text", "input_text", "output_text"):
            parts.append(_text(part.get("text")))
        elif kind in ("image_url", "input_image"):
            url = part.get("image_url")
            parts.append(_url(url.get("url") if isinstance(url, dict) else url))
        elif kind in ("file", "input_file"):
            file = part.get("file", part)
            parts.append(_url(file.get("file_data") if isinstance(file, dict) else None))
        else:
            parts.append(_json(part))
    return parts


def _anthropic(body: dict[str, Any]) -> Iterator[Turn]:
    system = body.get("system")
    if system:
        yield "system", _anthropic_content(system)
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            yield str(message.get("role") or "user"), _anthropic_content(message.get("content"))


def _anthropic_content(content: Any) -> list[Html]:
    if isinstance(content, str):
        return [_text(content)]
    parts: list[Html] = []
    for block in content if isinstance(content, list) else [content]:
        kind = block.get("type") if isinstance(block, dict) else None
        source = block.get("source") if isinstance(block, dict) else None
        if kind == "text":
            parts.append(_text(block.get("text")))
        elif kind in ("image", "document") and isinstance(source, dict):
            if source.get("type") == "base64":
                parts.append(_media(str(source.get("media_type")), str(source.get("data"))))
            else:
                parts.append(_json(source))
        elif kind == "tool_use":
            parts.append(_tool("tool call", {"name": block.get("name"), **block}))
        elif kind == "tool_result":
            parts.append(_tool("tool result", block))
        else:
            parts.append(_json(block))
    return parts


def _text(value: Any) -> Html:
    return tag("div", "" if value is None else str(value), class_="text")


def _json(value: Any) -> Html:
    return tag("pre", pretty(value), class_="json")


def _tool(label: str, value: Any) -> Html:
    name = value.get("name") if isinstance(value, dict) else None
    return tag(
        "div", tag("span", f"{label}: {name or ''}", class_="label"), _json(value), class_="tool"
    )


def _url(url: Any) -> Html:
    match = _DATA_URL.match(url) if isinstance(url, str) else None
    if match is None:
        return tag("div", tag("span", "file", class_="label"), str(url), class_="media")
    return _media(match.group(1), match.group(2))


def _media(mime: str, data: str) -> Html:
    """An image or a PDF's pages as thumbnails, from the request's own bytes."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return tag("div", f"{mime}: not base64", class_="media")
    label = tag("span", f"{mime}, {len(raw):,} bytes", class_="label")
    if mime.startswith("image/"):
        return tag("figure", _thumb(mime, raw), label, class_="media")
    if mime == "application/pdf":
        try:
            pages = pdf.render(raw, max_pages=PDF_PAGES, dpi=24, where="the inspector")
        except Error as exc:
            return tag("figure", label, tag("span", exc.message), class_="media")
        thumbs = [_thumb("image/png", page) for page in pages[:THUMB_PAGES]]
        return tag("figure", join(thumbs), label, class_="media pdf")
    return tag("figure", label, class_="media")


def _thumb(mime: str, raw: bytes) -> Html:
    source = f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"
    return tag("img", src=source, alt=mime, class_="thumb")
