"""Facts of the OpenAI Responses API (`POST /v1/responses`): which request fields localaik
honours, accepts or refuses, and the wire shapes of what it answers (reference/wire.md §4.6).

The shapes are what the `openai` SDK parses (`openai.types.responses`): the full `Response`
object of sample `o_resp_plain`, and the stream event sequence that `responses.stream()`
checks (`response.created` first, an item's `output_item.added` before its content events, the
same item ids in `response.completed`).
"""

from __future__ import annotations

from typing import Any

# Request fields translated into the chat-completions request.
TRANSLATED = frozenset({"model", "input", "instructions", "tools", "tool_choice",
                        "parallel_tool_calls", "text", "max_output_tokens", "temperature",
                        "top_p", "stream"})

# Request fields accepted without effect on the answer: bookkeeping (`store`, `metadata`, …)
# and settings a local model has no use for. `text.verbosity`, `reasoning` and `truncation`
# are echoed in the answer as the real API does.
ACCEPTED = frozenset({"store", "metadata", "user", "safety_identifier", "prompt_cache_key",
                      "prompt_cache_retention", "prompt_cache_options", "service_tier",
                      "truncation", "reasoning", "include", "stream_options", "max_tool_calls",
                      "verbosity", "background", "top_logprobs"})

# Fields refused whenever they are set (null is accepted): localaik keeps no server-side state.
STATEFUL = {
    "previous_response_id": "localaik does not store responses, so it cannot continue one: "
                            "send the whole conversation in `input` (the earlier output items "
                            "included) instead of previous_response_id",
    "conversation": "localaik keeps no conversations: send the whole conversation in `input`",
    "prompt": "localaik has no stored prompt templates: send the text in `instructions` and "
              "`input`",
}

# `include` values that ask for something localaik cannot produce.
REFUSED_INCLUDES = {"message.output_text.logprobs": "top_logprobs / output logprobs"}

# Input item types that need state or hosted tools (`input[].type`).
STATEFUL_ITEMS = frozenset({"item_reference", "compaction", "compaction_trigger"})

STATUS_COMPLETED = "completed"
STATUS_INCOMPLETE = "incomplete"

# Chat-completions finish_reason -> (response status, incomplete_details.reason).
FINISH = {
    "length": (STATUS_INCOMPLETE, "max_output_tokens"),
    "content_filter": (STATUS_INCOMPLETE, "content_filter"),
}


def output_text(text: str) -> dict[str, Any]:
    """An `output_text` content part."""
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id: str, status: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": item_id, "type": "message", "status": status, "role": "assistant",
            "content": content}


def function_call_item(item_id: str, call_id: str, name: str, arguments: str,
                       status: str) -> dict[str, Any]:
    return {"id": item_id, "type": "function_call", "status": status, "arguments": arguments,
            "call_id": call_id, "name": name}


def usage(upstream: Any) -> dict[str, Any] | None:
    """Chat-completions usage -> Responses usage (None when the upstream gave none)."""
    if not isinstance(upstream, dict):
        return None
    prompt = int(upstream.get("prompt_tokens") or 0)
    completion = int(upstream.get("completion_tokens") or 0)
    details = upstream.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return {"input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": int(cached or 0)},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": int(upstream.get("total_tokens") or prompt + completion)}
