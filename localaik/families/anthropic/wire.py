"""Facts of the Anthropic Messages API wire format.

What a `POST /v1/messages` body may hold, which of its content blocks and tools a local model
can serve, and how an OpenAI `finish_reason` becomes a `stop_reason`. The SDK's stream
accumulator (`messages.stream()`) needs this event order, and only this:

    message_start                        the message with empty content and the input tokens
    content_block_start  (index n)       one block at a time: text, thinking or tool_use
    content_block_delta  (index n) ...   text_delta, thinking_delta, input_json_delta
    content_block_stop   (index n)
    ...                                  the next block, index n + 1
    message_delta                        stop_reason, stop_sequence, usage (cumulative)
    message_stop

A failure after the answer has started is an `event: error` whose data is the error envelope.
"""

from __future__ import annotations

# The roles of `messages[]`; the system prompt is the top-level `system`.
ROLES = ("user", "assistant")

# Content blocks a local model cannot see or make: they belong to Anthropic-run server tools
# (web search, code execution, MCP connectors) or to the Files and container APIs.
SERVER_BLOCKS = frozenset(
    {
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
        "mcp_tool_use",
        "mcp_tool_result",
        "container_upload",
    }
)
# The model's own reasoning from an earlier turn: never fed back to the model.
THINKING_BLOCKS = frozenset({"thinking", "redacted_thinking"})

# Tools with a `type` other than these are Anthropic-defined (bash, text editor, computer use,
# web search, code execution, …): they have no input_schema a local model could follow.
CUSTOM_TOOL_TYPES = (None, "custom")

# Top-level request fields localaik refuses: each would need Anthropic's servers.
REFUSED_FIELDS = {
    "mcp_servers": "remote MCP servers are called by Anthropic's servers",
    "context_management": "context editing runs on Anthropic's servers",
}

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def stop_reason(finish_reason: str | None, *, tool_use: bool) -> str:
    """OpenAI `finish_reason` -> Anthropic `stop_reason`.

    A message that holds a tool_use block stopped for tool use unless it ran out of tokens (the
    upstream may say "stop" after a call); one without a tool_use block never says tool_use,
    since the SDK's tool runners would then look for a call that is not there. An upstream that
    never said why it stopped ended its turn.
    """
    reason = STOP_REASONS.get((finish_reason or "").lower(), "end_turn")
    if tool_use and reason in ("end_turn", "tool_use"):
        return "tool_use"
    if not tool_use and reason == "tool_use":
        return "end_turn"
    return reason
