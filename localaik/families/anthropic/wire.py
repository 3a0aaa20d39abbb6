"""The Anthropic Messages API wire format: its types, named as the SDKs name them, and its facts.

Request types (`…Param`) spell out the fields localaik reads (the rest has no effect); a body
is `JSONValue` narrowed by its checks (the 400s) until a check builds one of them. Answer types
(`Message`, its stream events, `ModelInfo`) are exact. `Any` is for JSON Schemas and tool inputs.
The SDK's stream accumulator (`messages.stream()`) needs this event order, and only this:

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

from typing import Any, Literal, NotRequired, Required, TypedDict

from localaik.families.anthropic.usage import MessageDeltaUsage, Usage
from localaik.wire.types import JSONObject

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

STOP_REASONS: dict[str, StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def stop_reason(finish_reason: str | None, *, tool_use: bool) -> StopReason:
    """OpenAI `finish_reason` -> Anthropic `stop_reason`. A message that holds a tool_use block
    stopped for tool use unless it ran out of tokens (the upstream may say "stop" after a call);
    one without a tool_use block never says tool_use, since the SDK's tool runners would then
    look for a call that is not there. An upstream that never said why it stopped ended its turn.
    """
    reason = STOP_REASONS.get((finish_reason or "").lower(), "end_turn")
    if tool_use and reason in ("end_turn", "tool_use"):
        return "tool_use"
    if not tool_use and reason == "tool_use":
        return "end_turn"
    return reason


# ---------------------------------------------------------------------------------------------
# The request: `POST /v1/messages` (`MessageCreateParams`), `/v1/messages/count_tokens`

Role = Literal["user", "assistant"]


class TextBlockParam(TypedDict):
    type: Literal["text"]
    text: str


class Base64ImageSourceParam(TypedDict):
    type: Literal["base64"]
    media_type: str  # image/jpeg, image/png, image/gif, image/webp
    data: str


class URLImageSourceParam(TypedDict):
    type: Literal["url"]
    url: str  # passed on, never fetched; a data: URL is decoded


class ImageBlockParam(TypedDict):
    type: Literal["image"]
    source: Base64ImageSourceParam | URLImageSourceParam


class Base64PDFSourceParam(TypedDict):
    type: Literal["base64"]
    media_type: str  # application/pdf (localaik reads any type it can render)
    data: str


class PlainTextSourceParam(TypedDict):
    type: Literal["text"]
    data: str


class ContentBlockSourceParam(TypedDict):
    type: Literal["content"]
    content: str | list[TextBlockParam | ImageBlockParam]


class URLPDFSourceParam(TypedDict):
    type: Literal["url"]  # refused: localaik never fetches
    url: str


DocumentSource = (
    Base64PDFSourceParam | PlainTextSourceParam | ContentBlockSourceParam | URLPDFSourceParam
)


class DocumentBlockParam(TypedDict):
    type: Literal["document"]
    source: DocumentSource
    title: NotRequired[str | None]
    context: NotRequired[str | None]


class SearchResultBlockParam(TypedDict):
    type: Literal["search_result"]
    source: str
    title: str
    content: list[TextBlockParam]


class ToolUseBlockParam(TypedDict):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]  # the tool's arguments: open by design


ToolResultContent = TextBlockParam | ImageBlockParam | DocumentBlockParam | SearchResultBlockParam


class ToolResultBlockParam(TypedDict):
    type: Literal["tool_result"]
    tool_use_id: str
    content: NotRequired[str | list[ToolResultContent]]
    is_error: NotRequired[bool]


class ThinkingBlockParam(TypedDict):
    type: Literal["thinking"]
    thinking: str
    signature: str


class RedactedThinkingBlockParam(TypedDict):
    type: Literal["redacted_thinking"]
    data: str


ContentBlockParam = (
    ToolResultContent  # text, image, document, search_result
    | ToolUseBlockParam
    | ToolResultBlockParam
    | ThinkingBlockParam
    | RedactedThinkingBlockParam
)


class MessageParam(TypedDict):
    role: Role
    content: str | list[ContentBlockParam]


class ToolParam(TypedDict):  # custom; Anthropic-defined tools (`bash_20250124`, …) are refused
    type: NotRequired[Literal["custom"] | None]
    name: str
    description: NotRequired[str]
    input_schema: dict[str, Any]  # a JSON Schema: open by design
    strict: NotRequired[bool]


class ToolChoiceAutoParam(TypedDict):
    type: Literal["auto"]
    disable_parallel_tool_use: NotRequired[bool]


class ToolChoiceAnyParam(TypedDict):
    type: Literal["any"]
    disable_parallel_tool_use: NotRequired[bool]


class ToolChoiceToolParam(TypedDict):
    type: Literal["tool"]
    name: str
    disable_parallel_tool_use: NotRequired[bool]


class ToolChoiceNoneParam(TypedDict):
    type: Literal["none"]


ToolChoice = ToolChoiceAutoParam | ToolChoiceAnyParam | ToolChoiceToolParam | ToolChoiceNoneParam


class JSONOutputFormatParam(TypedDict):
    type: Literal["json_schema"]
    schema: dict[str, Any]  # a JSON Schema: open by design


class OutputConfigParam(TypedDict, total=False):
    format: JSONOutputFormatParam | None


class ThinkingConfigParam(TypedDict):
    type: Literal["enabled", "disabled", "adaptive"]  # not disabled: reasoning is thinking


class MessageCountTokensParams(TypedDict, total=False):
    model: Required[str]
    messages: Required[list[MessageParam]]
    system: str | list[TextBlockParam]
    tools: list[ToolParam]
    tool_choice: ToolChoice
    thinking: ThinkingConfigParam
    output_config: OutputConfigParam


class MessageCreateParams(MessageCountTokensParams, total=False):
    max_tokens: Required[int]
    stream: bool
    temperature: float
    top_p: float
    top_k: int
    stop_sequences: list[str]
    output_format: JSONOutputFormatParam  # the structured-outputs beta's spelling


# ---------------------------------------------------------------------------------------------
# The answer: a `Message`, or its stream of events

StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"]


class TextBlock(TypedDict):
    type: Literal["text"]
    text: str


class ThinkingBlock(TypedDict):
    type: Literal["thinking"]
    thinking: str
    signature: str  # the SDK requires one; a local model signs nothing: ""


class ToolUseBlock(TypedDict):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]  # the tool's arguments: open by design


ContentBlock = TextBlock | ThinkingBlock | ToolUseBlock


class Message(TypedDict):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[ContentBlock]
    stop_reason: StopReason | None  # None only in `message_start`
    stop_sequence: str | None
    usage: Usage


class MessageStartEvent(TypedDict):
    type: Literal["message_start"]
    message: Message


class ContentBlockStartEvent(TypedDict):
    type: Literal["content_block_start"]
    index: int
    content_block: ContentBlock


class TextDelta(TypedDict):
    type: Literal["text_delta"]
    text: str


class ThinkingDelta(TypedDict):
    type: Literal["thinking_delta"]
    thinking: str


class InputJSONDelta(TypedDict):
    type: Literal["input_json_delta"]
    partial_json: str


ContentBlockDelta = TextDelta | ThinkingDelta | InputJSONDelta


class ContentBlockDeltaEvent(TypedDict):
    type: Literal["content_block_delta"]
    index: int
    delta: ContentBlockDelta


class ContentBlockStopEvent(TypedDict):
    type: Literal["content_block_stop"]
    index: int


class MessageDelta(TypedDict):
    stop_reason: StopReason | None
    stop_sequence: str | None


class MessageDeltaEvent(TypedDict):
    type: Literal["message_delta"]
    delta: MessageDelta
    usage: MessageDeltaUsage


class MessageStopEvent(TypedDict):
    type: Literal["message_stop"]


MessageStreamEvent = (
    MessageStartEvent
    | ContentBlockStartEvent
    | ContentBlockDeltaEvent
    | ContentBlockStopEvent
    | MessageDeltaEvent
    | MessageStopEvent
)


class ErrorObject(TypedDict):
    type: str  # invalid_request_error, not_found_error, api_error, …
    message: str
    details: NotRequired[JSONObject]  # the error's own (`error_code`, …)


class ErrorResponse(TypedDict):  # an error answer's body, or a stream's `error` event's data
    type: Literal["error"]
    error: ErrorObject


# ---------------------------------------------------------------------------------------------
# count_tokens and models


class MessageTokensCount(TypedDict):
    input_tokens: int


class ModelInfo(TypedDict):
    type: Literal["model"]
    id: str
    display_name: str
    created_at: str  # RFC 3339, "Z"
    lifecycle: Literal["active", "deprecated", "retired"]
    max_input_tokens: NotRequired[int]
    max_tokens: NotRequired[int]


class ModelListResponse(TypedDict):  # a page of `GET /v1/models` (`SyncPage[ModelInfo]`)
    data: list[ModelInfo]
    has_more: bool
    first_id: str | None
    last_id: str | None
