"""The text `/v1/messages/count_tokens` counts, of a request `messages_request_to_openai` has
checked: system, text, tool inputs and results, text documents, and the tool definitions."""

from __future__ import annotations

from localaik.families.anthropic import content as block_parts
from localaik.families.anthropic.turns import turns
from localaik.wire.types import JSONObject, JSONValue


def count_tokens_text(request: JSONObject) -> str:
    """The text count_tokens counts: system, text, tool inputs and results, text documents, and
    the tool definitions; each piece on its own line. Images and PDF pages are not counted."""
    texts: list[str] = []
    system = request.get("system")
    if isinstance(system, str):
        texts.append(system)
    elif isinstance(system, list):
        texts.extend(
            t for b in system if isinstance(b, dict) and isinstance(t := b.get("text"), str)
        )
    for turn in turns(request.get("messages")):
        for block, _ in turn.blocks:
            texts.extend(_block_texts(block))
    for tool in _items(request.get("tools")):
        if isinstance(tool, dict):
            texts.extend(t for k in ("name", "description") if isinstance(t := tool.get(k), str))
            if isinstance(schema := tool.get("input_schema"), dict):
                texts.append(block_parts.compact(schema))
    return "\n".join(t for t in texts if t)


def _block_texts(block: JSONValue) -> list[str]:
    if not isinstance(block, dict):
        return []
    kind = block.get("type")
    if kind == "text" and isinstance(text := block.get("text"), str):
        return [text]
    if kind == "tool_use":
        return [str(block.get("name", "")), block_parts.compact(block.get("input", {}))]
    if kind in ("tool_result", "search_result"):
        content = block.get("content")
        if isinstance(content, str):
            return [content]
        return [t for item in _items(content) for t in _block_texts(item)]
    if kind == "document":
        source = block.get("source")
        if not isinstance(source, dict):
            return []
        if source.get("type") == "text" and isinstance(data := source.get("data"), str):
            return [data]
        if source.get("type") == "content":
            content = source.get("content")
            if isinstance(content, str):
                return [content]
            return [t for item in _items(content) for t in _block_texts(item)]
    return []


def _items(value: JSONValue) -> list[JSONValue]:
    """A list the translation has checked (`None` when absent, read as empty)."""
    return value if isinstance(value, list) else []
