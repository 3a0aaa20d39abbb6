"""The OpenAI Responses API (`POST /v1/responses`): which request fields localaik honours,
accepts or refuses, and its wire types, named as the API names them (`openai.types.responses`;
reference/wire.md §4.6). Use them through this module (`responses.Response`).

The request types follow `wire`'s rules: the shape a check passed. The items of a request
(`input`, `tools`, `tool_choice`, `text`) are checked while they are translated, one at a time,
so `ResponseCreateParams` holds them as JSON and each item's type is what its check passed.

The answer types are what the `openai` SDK parses: the full `Response` object of sample
`o_resp_plain`, and the stream event sequence that `responses.stream()` checks
(`response.created` first, an item's `output_item.added` before its content events, the same
item ids in `response.completed`).
"""

from __future__ import annotations

from typing import Final, Literal, NotRequired, Required, TypeAlias, TypedDict

from localaik.wire.types import JSONObject, JSONValue

# ---------------------------------------------------------------------------------------------
# Request fields and items: honoured, accepted, refused
# Request fields translated into the chat-completions request.
TRANSLATED = frozenset(
    {
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "text",
        "max_output_tokens",
        "temperature",
        "top_p",
        "stream",
    }
)

# Request fields accepted without effect on the answer: bookkeeping (`store`, `metadata`, …)
# and settings a local model has no use for. `text.verbosity`, `reasoning` and `truncation`
# are echoed in the answer as the real API does.
ACCEPTED = frozenset(
    {
        "store",
        "metadata",
        "user",
        "safety_identifier",
        "prompt_cache_key",
        "prompt_cache_retention",
        "prompt_cache_options",
        "service_tier",
        "truncation",
        "reasoning",
        "include",
        "stream_options",
        "max_tool_calls",
        "verbosity",
        "background",
        "top_logprobs",
    }
)

# Fields refused whenever they are set (null is accepted): localaik keeps no server-side state.
STATEFUL = {
    "previous_response_id": (
        "localaik does not store responses, so it cannot continue one: send the whole "
        "conversation in `input` (the earlier output items included) instead of "
        "previous_response_id"
    ),
    "conversation": "localaik keeps no conversations: send the whole conversation in `input`",
    "prompt": (
        "localaik has no stored prompt templates: send the text in `instructions` and `input`"
    ),
}

# `include` values that ask for something localaik cannot produce.
REFUSED_INCLUDES = {"message.output_text.logprobs": "top_logprobs / output logprobs"}

# Input item types that need state or hosted tools (`input[].type`).
STATEFUL_ITEMS = frozenset({"item_reference", "compaction", "compaction_trigger"})

STATUS_COMPLETED: Final = "completed"
STATUS_INCOMPLETE: Final = "incomplete"

Finished = Literal["completed", "incomplete"]
"""The status of a whole answer: an item's and the response's."""

# Chat-completions finish_reason -> (response status, incomplete_details.reason).
FINISH: dict[str, tuple[Finished, Literal["max_output_tokens", "content_filter"]]] = {
    "length": (STATUS_INCOMPLETE, "max_output_tokens"),
    "content_filter": (STATUS_INCOMPLETE, "content_filter"),
}


# ---------------------------------------------------------------------------------------------
# Responses API: the client's request (responses_request.py and the modules it calls)

InputRole = Literal["user", "assistant", "system", "developer"]


class ResponseCreateParams(TypedDict, total=False):
    """A `POST /v1/responses` body as `responses_request.validate_request` passed it."""

    input: Required[JSONValue]  # a string or input items, checked item by item; not null
    model: str | None
    instructions: str | None
    stream: bool | None
    parallel_tool_calls: bool | None
    temperature: float | None
    top_p: float | None
    max_output_tokens: int | None  # at least 1
    include: list[str] | None
    tools: JSONValue  # function tools: checked one by one (`FunctionTool`)
    tool_choice: JSONValue  # checked against the tools
    text: JSONValue  # {"format": …}: checked when translated
    # Accepted without effect; echoed in the answer as sent.
    reasoning: JSONValue
    service_tier: JSONValue
    truncation: JSONValue
    metadata: JSONValue
    user: JSONValue
    safety_identifier: JSONValue
    prompt_cache_key: JSONValue


class EasyInputMessage(TypedDict, total=False):
    """An `input[]` message (`type` "message", or no type and a role) whose role was checked;
    its content is checked part by part."""

    type: Literal["message"]
    role: Required[InputRole]
    content: JSONValue  # a string or input_text / output_text / input_image / input_file parts


class FunctionTool(TypedDict, total=False):
    """A function tool in the Responses API's flat form (`tools[]`), as its check passed it."""

    type: Required[Literal["function"]]
    name: Required[str]
    parameters: JSONObject | None  # a JSON Schema
    description: JSONValue  # used when a string
    strict: JSONValue  # used when a boolean


# ---------------------------------------------------------------------------------------------
# Responses API: the answer

ResponseStatus = Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]
ItemStatus = Literal["in_progress", "completed", "incomplete"]


class ResponseOutputText(TypedDict):
    type: Literal["output_text"]
    text: str
    annotations: list[JSONObject]  # always empty
    logprobs: list[JSONObject]  # always empty


class ResponseOutputMessage(TypedDict):
    id: str
    type: Literal["message"]
    status: ItemStatus
    role: Literal["assistant"]
    content: list[ResponseOutputText]


class ResponseFunctionToolCall(TypedDict):
    id: str
    type: Literal["function_call"]
    status: ItemStatus
    arguments: str  # JSON text
    call_id: str
    name: str


ResponseOutputItem: TypeAlias = ResponseOutputMessage | ResponseFunctionToolCall


class InputTokensDetails(TypedDict):
    cached_tokens: int


class OutputTokensDetails(TypedDict):
    reasoning_tokens: int


class ResponseUsage(TypedDict):
    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int


class IncompleteDetails(TypedDict):
    reason: Literal["max_output_tokens", "content_filter"]


class ResponseError(TypedDict):
    code: str
    message: str


class ResponseSettings(TypedDict):
    """The request's settings a `Response` repeats (localaik's name; the API's `Response` has
    them among its own fields). Unchecked ones are echoed as the client sent them."""

    instructions: str | None
    max_output_tokens: int | None
    parallel_tool_calls: bool
    previous_response_id: None
    reasoning: JSONValue
    service_tier: JSONValue
    store: bool
    temperature: float
    text: JSONObject  # {"format": {"type": "text"}} unless the request set it
    tool_choice: JSONValue
    tools: JSONValue
    top_p: float
    truncation: JSONValue
    user: JSONValue
    metadata: JSONValue
    safety_identifier: NotRequired[JSONValue]
    prompt_cache_key: NotRequired[JSONValue]


class Response(ResponseSettings):
    id: str
    object: Literal["response"]
    created_at: int
    status: ResponseStatus
    background: bool
    error: ResponseError | None
    incomplete_details: IncompleteDetails | None
    model: str
    output: list[ResponseOutputItem]
    usage: ResponseUsage | None


# ---------------------------------------------------------------------------------------------
# Responses API: stream events (each with its `sequence_number`, counted from 0)


class ResponseCreatedEvent(TypedDict):
    type: Literal["response.created"]
    response: Response
    sequence_number: int


class ResponseInProgressEvent(TypedDict):
    type: Literal["response.in_progress"]
    response: Response
    sequence_number: int


class ResponseCompletedEvent(TypedDict):
    type: Literal["response.completed"]
    response: Response
    sequence_number: int


class ResponseIncompleteEvent(TypedDict):
    type: Literal["response.incomplete"]
    response: Response
    sequence_number: int


class ResponseFailedEvent(TypedDict):
    type: Literal["response.failed"]
    response: Response
    sequence_number: int


class ResponseOutputItemAddedEvent(TypedDict):
    type: Literal["response.output_item.added"]
    output_index: int
    item: ResponseOutputItem
    sequence_number: int


class ResponseOutputItemDoneEvent(TypedDict):
    type: Literal["response.output_item.done"]
    output_index: int
    item: ResponseOutputItem
    sequence_number: int


class ResponseContentPartAddedEvent(TypedDict):
    type: Literal["response.content_part.added"]
    item_id: str
    output_index: int
    content_index: int
    part: ResponseOutputText
    sequence_number: int


class ResponseContentPartDoneEvent(TypedDict):
    type: Literal["response.content_part.done"]
    item_id: str
    output_index: int
    content_index: int
    part: ResponseOutputText
    sequence_number: int


class ResponseTextDeltaEvent(TypedDict):
    type: Literal["response.output_text.delta"]
    item_id: str
    output_index: int
    content_index: int
    delta: str
    logprobs: list[JSONObject]
    sequence_number: int


class ResponseTextDoneEvent(TypedDict):
    type: Literal["response.output_text.done"]
    item_id: str
    output_index: int
    content_index: int
    text: str
    logprobs: list[JSONObject]
    sequence_number: int


class ResponseFunctionCallArgumentsDeltaEvent(TypedDict):
    type: Literal["response.function_call_arguments.delta"]
    item_id: str
    output_index: int
    delta: str
    sequence_number: int


class ResponseFunctionCallArgumentsDoneEvent(TypedDict):
    type: Literal["response.function_call_arguments.done"]
    item_id: str
    output_index: int
    arguments: str
    sequence_number: int


class ResponseErrorEvent(TypedDict):
    type: Literal["error"]
    code: str
    message: str
    param: None
    sequence_number: int


ResponseStreamEvent: TypeAlias = (
    ResponseCreatedEvent
    | ResponseInProgressEvent
    | ResponseCompletedEvent
    | ResponseIncompleteEvent
    | ResponseFailedEvent
    | ResponseOutputItemAddedEvent
    | ResponseOutputItemDoneEvent
    | ResponseContentPartAddedEvent
    | ResponseContentPartDoneEvent
    | ResponseTextDeltaEvent
    | ResponseTextDoneEvent
    | ResponseFunctionCallArgumentsDeltaEvent
    | ResponseFunctionCallArgumentsDoneEvent
    | ResponseErrorEvent
)
