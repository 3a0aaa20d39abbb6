"""Token counts in the Anthropic shape: the API's `Usage` types, and the upstream's counts as
them.

A Message's `usage` has every count the SDK's `Usage` model names as numbers, so that user code
adding them up never meets a None: prompt tokens the upstream read from its cache
(`prompt_tokens_details.cached_tokens`, llama-server's reused KV cache) are cache reads, which
the API leaves out of `input_tokens` (as llama-server's own Anthropic endpoint counts them);
nothing is ever written to a cache the API would bill, and every answer is of the standard
tier. A stream's `message_delta` restates the counts, cumulative.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from localaik.wire.types import JSONValue


class Usage(TypedDict):
    input_tokens: int  # not counting cache reads, as the API counts
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    output_tokens: int
    service_tier: Literal["standard", "priority", "batch"]


class MessageDeltaUsage(TypedDict):
    input_tokens: NotRequired[int]
    cache_creation_input_tokens: NotRequired[int]
    cache_read_input_tokens: NotRequired[int]
    output_tokens: int  # cumulative, as every count here


NO_USAGE: Usage = {
    "input_tokens": 0,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
    "output_tokens": 0,
    "service_tier": "standard",
}


def anthropic_usage(usage: JSONValue) -> Usage | None:
    """The upstream's `usage` (prompt and completion tokens) as a Message's."""
    if not isinstance(usage, dict):
        return None
    prompt = _tokens(usage.get("prompt_tokens"))
    details = usage.get("prompt_tokens_details")
    cached = min(_tokens(details.get("cached_tokens")), prompt) if isinstance(details, dict) else 0
    return {
        "input_tokens": prompt - cached,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": _tokens(usage.get("completion_tokens")),
        "service_tier": "standard",
    }


def delta_usage(usage: Usage | None) -> MessageDeltaUsage:
    """What a stream's `message_delta` says of the counts (0 output tokens when unknown)."""
    if usage is None:
        return {"output_tokens": 0}
    return {
        "input_tokens": usage["input_tokens"],
        "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
        "cache_read_input_tokens": usage["cache_read_input_tokens"],
        "output_tokens": usage["output_tokens"],
    }


def _tokens(value: JSONValue) -> int:
    """A token count: a number (or its text); none, or one of another type, is 0."""
    return int(value) if isinstance(value, int | float | str) and value else 0
