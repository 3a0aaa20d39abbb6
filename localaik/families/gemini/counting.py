"""Gemini countTokens: the text whose tokens are counted (llama-server's `/tokenize` counts
them)."""

from __future__ import annotations

from typing import cast

from localaik.errors import BadRequest
from localaik.families.gemini import wire as gemini


def count_tokens_text(body: object) -> str:
    """The text whose tokens countTokens counts: system instruction and every text part of the
    GenerateContentRequest the body holds, or of the body itself (a CountTokensRequest's
    `contents`)."""
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    inner = cast(gemini.CountTokensRequest, body).get("generateContentRequest")
    source = cast(gemini.GenerateContentRequest, inner if isinstance(inner, dict) else body)
    contents = source.get("contents")
    if contents is None:
        contents = []
    if not isinstance(contents, list):
        raise BadRequest("contents must be a list of Content objects", param="contents")
    texts: list[str] = []
    system = source.get("systemInstruction")
    for content in ([system] if isinstance(system, dict) else []) + contents:
        if not isinstance(content, dict) or not isinstance(content.get("parts", []), list):
            raise BadRequest("contents must be a list of Content objects", param="contents")
        for part in content.get("parts", []):
            if not isinstance(part, dict):
                raise BadRequest("contents[].parts[] must be Part objects", param="contents")
            if "text" in part and not isinstance(part["text"], str):
                raise BadRequest(
                    f"a text part must hold a string (got {part['text']!r:.40})", param="contents"
                )
            text = part.get("text")
            if text:
                texts.append(text)
    return "\n".join(texts)
