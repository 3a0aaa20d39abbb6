"""The OpenAI API's wire types, named as the API names them (`openai.types`): chat completions,
legacy completions, embeddings, models and the error envelope. Use them through this module
(`wire.ChatCompletionCreateParams`, `wire.Model`). The Responses API's are in `responses_wire`.

Two kinds, read differently (the Responses API's types follow the same rules):

- What a client sends (`…CreateParams`): the shape its check passed, never more. A check casts
  a body to its type once every field the type lists has been checked; a field the check lets
  be null is `| None`; a field localaik reads only when it has the right type, or passes on
  unread, is `JSONValue`. Fields no type lists pass through unread: the client's `extra_body`,
  for an upstream that understands them.
- What localaik answers (`CreateEmbeddingResponse`, `Model`, `ErrorObject`): exact. Chat and
  completion answers are the upstream's, passed on with the client's model name (`JSONObject`);
  the upstream's own types are in `localaik.upstream.wire`.
"""

from __future__ import annotations

from typing import Literal, Required, TypeAlias, TypedDict

from localaik.wire.types import JSONObject, JSONValue

Integer: TypeAlias = int | float
"""A whole number, which JSON may write as `3.0` (the checks accept both)."""


# ---------------------------------------------------------------------------------------------
# Chat completions and legacy completions: the client's requests (checks.py)

ChatRole = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ImageURL(TypedDict):
    url: str  # a data: URL (its base64 checked) or any other URL; `detail` passes unread


class ChatCompletionContentPartText(TypedDict):
    type: Literal["text"]
    text: str


class ChatCompletionContentPartImage(TypedDict):
    type: Literal["image_url"]
    image_url: ImageURL


class File(TypedDict, total=False):
    """A `file` part: expanded into what the file holds before it goes upstream (chat.py)."""

    type: Required[Literal["file"]]
    file: JSONValue  # {file_data, filename} or {file_id}: checked when expanded


class ChatCompletionContentPartInputAudio(TypedDict, total=False):
    type: Required[Literal["input_audio"]]
    input_audio: JSONValue  # passed on unread


class ChatCompletionContentPartRefusal(TypedDict, total=False):
    type: Required[Literal["refusal"]]
    refusal: JSONValue  # passed on unread


ChatCompletionContentPart: TypeAlias = (
    ChatCompletionContentPartText
    | ChatCompletionContentPartImage
    | File
    | ChatCompletionContentPartInputAudio
    | ChatCompletionContentPartRefusal
)


class ChatCompletionMessageParam(TypedDict, total=False):
    """One of `messages[]`: the API's per-role messages as one checked shape."""

    role: Required[ChatRole]
    content: str | list[ChatCompletionContentPart] | None  # null only for an assistant
    name: str | None
    tool_calls: list[JSONObject] | None  # passed on: the upstream reads them
    tool_call_id: str | None


class FunctionDefinition(TypedDict, total=False):
    name: Required[str]
    parameters: JSONObject | None  # a JSON Schema
    description: JSONValue  # passed on unread
    strict: JSONValue  # passed on unread


class ChatCompletionToolParam(TypedDict, total=False):
    type: Required[str]
    function: FunctionDefinition  # checked when `type` is "function"


class _SamplingParams(TypedDict, total=False):
    """The fields chat and legacy completions share."""

    model: str | None
    stream: bool | None
    stream_options: JSONObject | None
    temperature: float | None
    top_p: float | None
    frequency_penalty: float | None
    presence_penalty: float | None
    max_tokens: Integer | None
    n: Integer | None  # at least 1
    seed: Integer | None
    stop: str | list[str] | None
    logit_bias: JSONObject | None
    user: str | None


class ChatCompletionCreateParams(_SamplingParams, total=False):
    """A `POST /v1/chat/completions` body as `checks.check_chat_request` passed it."""

    messages: Required[list[ChatCompletionMessageParam]]  # not empty
    max_completion_tokens: Integer | None
    logprobs: bool | None
    top_logprobs: Integer | None
    tools: list[ChatCompletionToolParam] | None
    tool_choice: str | JSONObject | None
    parallel_tool_calls: bool | None
    response_format: JSONObject | None
    metadata: JSONObject | None
    store: bool | None
    modalities: list[JSONValue] | None
    reasoning_effort: str | None


class CompletionCreateParams(_SamplingParams, total=False):
    """A `POST /v1/completions` body as `checks.check_completion_request` passed it."""

    prompt: Required[str | list[JSONValue]]  # a string, strings or token ids: passed on
    suffix: str | None
    echo: bool | None
    best_of: Integer | None
    logprobs: Integer | None


class ErrorObject(TypedDict):
    """The `error` of the error envelope, what the SDKs' `APIError` reads."""

    message: str
    type: str
    param: str | None
    code: str | None


# ---------------------------------------------------------------------------------------------
# Embeddings and models

EmbeddingInput: TypeAlias = str | list[str] | list[int] | list[list[int]]


class EmbeddingCreateParams(TypedDict, total=False):
    """A `POST /v1/embeddings` body as `embeddings.validate_openai_request` passed it (no other
    field is accepted)."""

    input: Required[EmbeddingInput]  # no empty string, at most 2048 items
    model: str
    encoding_format: Literal["float", "base64"]
    dimensions: Integer  # at least 1
    user: str


class Embedding(TypedDict):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str  # floats, or base64 of little-endian float32


class EmbeddingUsage(TypedDict):
    """`CreateEmbeddingResponse.usage`."""

    prompt_tokens: int
    total_tokens: int


class CreateEmbeddingResponse(TypedDict):
    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage


class Model(TypedDict):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str
