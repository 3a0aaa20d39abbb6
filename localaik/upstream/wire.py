"""The OpenAI-compatible upstream's wire types (llama-server's `/v1/chat/completions`), named
after OpenAI's own: what every family's translation builds and reads.

Requests are built by localaik, so their TypedDicts are exact; answers come from the upstream
and are read defensively (`total=False`, every field checked where it is used).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class TextPart(TypedDict):
    type: Literal["text"]
    text: str


class ImageURL(TypedDict):
    url: str


class ImagePart(TypedDict):
    type: Literal["image_url"]
    image_url: ImageURL


ContentPart = TextPart | ImagePart
Content = str | list[ContentPart]


class FunctionCall(TypedDict):
    name: str
    arguments: str  # JSON text


class ToolCall(TypedDict):
    id: str
    type: Literal["function"]
    function: FunctionCall


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant", "tool"]
    content: Content
    tool_calls: NotRequired[list[ToolCall]]
    tool_call_id: NotRequired[str]
    name: NotRequired[str]


class FunctionDefinition(TypedDict):
    name: str
    description: NotRequired[str]
    parameters: NotRequired[dict[str, Any]]  # a JSON Schema: open by design
    strict: NotRequired[bool]


class FunctionTool(TypedDict):
    type: Literal["function"]
    function: FunctionDefinition


class JsonSchemaFormat(TypedDict):
    name: str
    schema: dict[str, Any]  # a JSON Schema: open by design


class ResponseFormat(TypedDict):
    type: Literal["json_schema", "json_object", "text"]
    json_schema: NotRequired[JsonSchemaFormat]


class NamedToolChoice(TypedDict):
    type: Literal["function"]
    function: dict[str, str]  # {"name": ...}


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


class StreamOptions(TypedDict):
    include_usage: bool


class ChatCompletionRequest(TypedDict, total=False):
    """The body localaik sends to `/chat/completions` (`model` and `messages` always)."""

    model: str
    messages: list[ChatMessage]
    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    presence_penalty: float
    frequency_penalty: float
    seed: int
    n: int
    stop: list[str]
    logprobs: bool
    top_logprobs: int
    response_format: ResponseFormat
    tools: list[FunctionTool]
    tool_choice: ToolChoice
    parallel_tool_calls: bool
    stream: bool
    stream_options: StreamOptions


class Usage(TypedDict, total=False):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: dict[str, int]


class EmbeddingsRequest(TypedDict):
    """The body localaik sends to `/embeddings`: always floats back."""

    input: Any  # a string, strings, token ids or lists of token ids, as the client sent
    encoding_format: Literal["float"]
    model: NotRequired[str]
