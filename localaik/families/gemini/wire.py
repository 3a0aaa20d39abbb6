"""Facts of the Gemini (Generative Language) API wire format: how an OpenAI `finish_reason`
becomes a `finishReason`."""

from __future__ import annotations

FINISH_REASONS = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "content_filter": "SAFETY",
    "tool_calls": "STOP",
    "function_call": "STOP",
}


def finish_reason(openai_reason: str | None) -> str | None:
    """OpenAI `finish_reason` -> Gemini `finishReason` (None stays None)."""
    if not openai_reason:
        return None
    return FINISH_REASONS.get(openai_reason.lower(), "OTHER")
