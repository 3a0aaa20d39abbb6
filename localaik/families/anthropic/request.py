"""Anthropic Messages request -> OpenAI chat-completions request.

`check_request` reads what the route needs before anything else (model, stream, max_tokens);
`messages_request_to_openai` translates the whole request (`count_tokens.py` has the text
`/v1/messages/count_tokens` counts). Errors name the field the way the Anthropic API does
(`messages.1.content.0.source.media_type: Field required`).

The request as the API defines it, and how each part reaches the upstream:

    system: str | [text blocks]           -> the first message, role system
    messages[]: user / assistant turns    -> consecutive turns of one role are one turn (as the
                                             API says); string content is one text block
      text                                -> text
      image (base64, url)                 -> image_url (a data URI, or the URL: never fetched)
      document (base64 PDF, text,         -> one image per PDF page, or text; a remote document
                content, url)                is refused (localaik never fetches)
      search_result                       -> text
      tool_use (assistant)                -> tool_calls, with the block's id
      tool_result (user)                  -> a tool message per result, before the turn's other
                                             content; its images follow in the user message
      thinking, redacted_thinking         -> dropped (the model's own, not fed back)
    tools (custom, with input_schema)     -> function tools; Anthropic-defined tools are refused
    tool_choice auto/any/tool/none        -> "auto" / "required" / the function / "none";
                                             disable_parallel_tool_use -> parallel_tool_calls
    output_config.format (json_schema)    -> response_format json_schema
    max_tokens, temperature, top_p, top_k, stop_sequences -> the OpenAI fields
    metadata, thinking, cache_control, service_tier, … -> accepted, no effect on the upstream

Tool use and results are checked as the API checks them: ids are unique, each tool_use of an
assistant turn has its tool_result in the next turn, and each tool_result answers a tool_use
of the turn before. A chat template would otherwise fail, or pair them wrongly, upstream.
"""

from __future__ import annotations

from dataclasses import dataclass

from localaik.errors import BadRequest, Unsupported
from localaik.families.anthropic import content as block_parts
from localaik.families.anthropic import wire as anthropic
from localaik.families.anthropic.tools import tool_choice, tools
from localaik.families.anthropic.turns import Block, Turn, required_str, turns
from localaik.media import parts as media_parts
from localaik.media.parts import Media, Part
from localaik.upstream import wire as upstream
from localaik.wire.types import JSONObject, JSONValue


@dataclass(frozen=True)
class Checked:
    """What the route needs to know before translating: the key's model and stream flag, and
    the body, known now to be an object (its other fields are checked as they are translated)."""

    model: str
    stream: bool
    body: JSONObject


def check_request(request: JSONValue, *, count_tokens: bool = False) -> Checked:
    """The top-level fields every request must get right, checked before anything else."""
    if not isinstance(request, dict):
        raise BadRequest("the request body must be a JSON object")
    model = request.get("model")
    if model is None:
        raise BadRequest("model: Field required", param="model")
    if not isinstance(model, str) or not model:
        raise BadRequest("model: must be a non-empty string", param="model")
    if request.get("thread") is not None:
        # The Anthropic SDK's tool runner asks for a server-held thread, and on this error
        # (its error_code) goes on without one, sending the whole conversation every turn.
        raise Unsupported(
            "thread: localaik holds no conversation between requests; send the whole conversation",
            param="thread",
            details={"error_code": "thread_unsupported_request", "unsupported": ["thread"]},
        )
    stream = request.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest(f"stream: must be a boolean (got {stream!r})", param="stream")
    if not count_tokens:
        max_tokens(request)
    return Checked(model, stream and not count_tokens, request)


def max_tokens(request: JSONObject) -> int:
    value = request.get("max_tokens")
    if value is None:
        raise BadRequest("max_tokens: Field required", param="max_tokens")
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value != int(value)
        or value < 1
    ):
        raise BadRequest(
            f"max_tokens: must be a whole number of at least 1 (got {value!r})", param="max_tokens"
        )
    return int(value)


# ---------------------------------------------------------------------------------------------
# The request


def messages_request_to_openai(
    request: JSONValue, *, upstream_model: str, media: Media
) -> upstream.ChatCompletionRequest:
    """A Messages API request -> an OpenAI chat-completions request."""
    checked = check_request(request)
    request = checked.body
    for name, why in anthropic.REFUSED_FIELDS.items():
        if request.get(name):
            raise Unsupported(f"{name}: not supported by localaik ({why})", param=name)
    messages = _system(request.get("system"), media)
    messages.extend(_messages(request.get("messages"), media))
    body: upstream.ChatCompletionRequest = {
        "model": upstream_model,
        "messages": messages,
        "max_tokens": max_tokens(request),
    }
    _sampling(request, body)
    function_tools, names = tools(request.get("tools"))
    choice, parallel = tool_choice(request.get("tool_choice"), names)
    if function_tools:
        body["tools"] = function_tools
        if choice is not None:
            body["tool_choice"] = choice
        if parallel is not None:
            body["parallel_tool_calls"] = parallel
    response_format = _response_format(request)
    if response_format is not None:
        body["response_format"] = response_format
    if checked.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _sampling(request: JSONObject, body: upstream.ChatCompletionRequest) -> None:
    """temperature, top_p, top_k and stop_sequences, checked, into `body` in that order."""
    temperature = _number(request, "temperature", 1)
    if temperature is not None:
        body["temperature"] = temperature
    top_p = _number(request, "top_p", 1)
    if top_p is not None:
        body["top_p"] = top_p
    top_k = _number(request, "top_k", None)
    if top_k is not None:
        if top_k != int(top_k):
            raise BadRequest(f"top_k: must be a whole number (got {top_k!r})", param="top_k")
        body["top_k"] = int(top_k)
    stops = request.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list):
            raise BadRequest("stop_sequences: must be a list of strings", param="stop_sequences")
        strings = [s for s in stops if isinstance(s, str)]
        if len(strings) != len(stops):
            raise BadRequest("stop_sequences: must be a list of strings", param="stop_sequences")
        if strings:
            body["stop"] = strings


def _number(request: JSONObject, name: str, high: int | None) -> int | float | None:
    """A number from 0 to `high`, as sent (a float that is whole becomes an int)."""
    value = request.get(name)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value < 0
        or (high is not None and value > high)
    ):
        bounds = f"between 0 and {high}" if high is not None else "at least 0"
        raise BadRequest(f"{name}: must be a number {bounds} (got {value!r})", param=name)
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _response_format(request: JSONObject) -> upstream.ResponseFormat | None:
    """`output_config.format` (or the beta's top-level `output_format`) -> response_format."""
    config = request.get("output_config")
    if config is not None and not isinstance(config, dict):
        raise BadRequest("output_config: must be an object", param="output_config")
    where, fmt = "output_config.format", (config or {}).get("format")
    if fmt is None and request.get("output_format") is not None:
        where, fmt = "output_format", request["output_format"]
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise BadRequest(f"{where}.type: only json_schema is supported", param=where)
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise BadRequest(f"{where}.schema: Field required (a JSON Schema object)", param=where)
    return {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}


# ---------------------------------------------------------------------------------------------
# system and messages


def _system(system: JSONValue, media: Media) -> list[upstream.ChatMessage]:
    if system is None:
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}] if system else []
    if not isinstance(system, list):
        raise BadRequest("system: must be a string or a list of text blocks", param="system")
    parts: list[Part] = []
    for i, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise BadRequest(
                f"system.{i}: only text blocks are accepted in the system prompt", param="system"
            )
        parts.extend(block_parts.text_parts(block, f"system.{i}"))
    return [{"role": "system", "content": block_parts.collapse(parts)}] if parts else []


def _messages(messages: JSONValue, media: Media) -> list[upstream.ChatMessage]:
    out: list[upstream.ChatMessage] = []
    names: dict[str, str] = {}  # tool_use id -> tool name, for the tool messages
    for turn in turns(messages):
        if turn.role == "assistant":
            out.extend(_assistant(turn, names))
        else:
            out.extend(_user(turn, names, media))
    return out


def _assistant(turn: Turn, names: dict[str, str]) -> list[upstream.ChatMessage]:
    parts: list[Part] = []
    calls: list[upstream.ToolCall] = []
    for block, at in turn.blocks:
        kind = block["type"]
        if kind == "text":
            parts.extend(block_parts.text_parts(block, at))
        elif kind == "tool_use":
            use = _tool_use(block, at)
            names[use["id"]] = use["name"]
            calls.append(
                {
                    "id": use["id"],
                    "type": "function",
                    "function": {
                        "name": use["name"],
                        "arguments": block_parts.compact(use["input"]),
                    },
                }
            )
        elif kind in anthropic.THINKING_BLOCKS:
            continue
        elif kind in ("tool_result", "image", "document", "search_result"):
            raise BadRequest(f"{at}: {kind} blocks are only accepted in user messages", param=at)
        else:
            block_parts.unknown(kind, at)
    if not parts and not calls:
        return []
    message: upstream.ChatMessage = {
        "role": "assistant",
        "content": block_parts.collapse(parts) if parts else "",
    }
    if calls:
        message["tool_calls"] = calls
    return [message]


def _tool_use(block: Block, at: str) -> anthropic.ToolUseBlockParam:
    """A tool_use block, checked (`turns` checked that its id is a unique string)."""
    name = required_str(block, "name", at)
    arguments = block.get("input", {})
    if not isinstance(arguments, dict):
        raise BadRequest(f"{at}.input: must be an object", param=f"{at}.input")
    block_id = required_str(block, "id", at)
    return {"type": "tool_use", "id": block_id, "name": name, "input": arguments}


def _user(turn: Turn, names: dict[str, str], media: Media) -> list[upstream.ChatMessage]:
    tools: list[upstream.ChatMessage] = []
    attached: list[Part] = []  # images and documents that tool results returned
    parts: list[Part] = []
    for block, at in turn.blocks:
        kind = block["type"]
        if kind == "tool_result":
            message, extra = _tool_result(block, names, media, at)
            tools.append(message)
            attached.extend(extra)
        elif kind == "tool_use":
            raise BadRequest(
                f"{at}: tool_use blocks are only accepted in assistant messages", param=at
            )
        elif kind in anthropic.THINKING_BLOCKS:
            continue
        else:
            parts.extend(block_parts.content_parts(block, media, at))
    body = attached + parts
    return tools + ([{"role": "user", "content": block_parts.collapse(body)}] if body else [])


def _tool_result(
    block: Block, names: dict[str, str], media: Media, at: str
) -> tuple[upstream.ChatMessage, list[Part]]:
    """A tool message, and the parts of the result that a tool message cannot carry."""
    call_id = required_str(block, "tool_use_id", at)  # `turns` checked it: never raises here
    content = block.get("content")
    texts: list[str] = []
    attached: list[Part] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for k, item in enumerate(content):
            where = f"{at}.content.{k}"
            if not isinstance(item, dict) or not isinstance(kind := item.get("type"), str):
                raise BadRequest(
                    f"{where}: must be a content block object with a type", param=where
                )
            if kind == "text":
                text = block_parts.block_text(item, where)
                if text:
                    texts.append(text)
            elif kind in ("image", "document", "search_result"):
                converted = block_parts.content_parts(item, media, where)
                if any(p["type"] != "text" for p in converted):
                    texts.append(f"[{kind}: in the next user message]")
                    attached.append(
                        media_parts.text_part(f"The {kind} returned by tool call {call_id}:")
                    )
                    attached.extend(converted)
                else:
                    texts.extend(p["text"] for p in converted if p["type"] == "text")
            else:
                block_parts.unknown(kind, where)
    elif content is not None:
        raise BadRequest(
            f"{at}.content: must be a string or a list of content blocks", param=f"{at}.content"
        )
    is_error = block.get("is_error")
    if is_error is not None and not isinstance(is_error, bool):
        raise BadRequest(f"{at}.is_error: must be a boolean", param=f"{at}.is_error")
    text = "\n".join(texts)
    if is_error:
        text = f"Error: {text}"
    message: upstream.ChatMessage = {"role": "tool", "tool_call_id": call_id, "content": text}
    if call_id in names:
        message["name"] = names[call_id]
    return message, attached
