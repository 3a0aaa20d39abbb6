"""Anthropic Messages request -> OpenAI chat-completions request (and count_tokens text).

`check_request` reads what the route needs before anything else (model, stream, max_tokens);
`messages_request_to_openai` translates the whole request; `count_tokens_text` is the text
`/v1/messages/count_tokens` counts. Errors name the field the way the Anthropic API does
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
from typing import Any

from localaik.errors import BadRequest, Unsupported
from localaik.families.anthropic import content as block_parts
from localaik.families.anthropic import wire as protocol
from localaik.families.anthropic.tools import tool_choice, tools
from localaik.families.anthropic.turns import Block, Turn, required_str, turns
from localaik.media import parts as media_parts
from localaik.media.parts import Media, Part

Message = dict[str, Any]


@dataclass(frozen=True)
class Checked:
    """What the route needs to know before translating: the key's model and stream flag."""

    model: str
    stream: bool


def check_request(request: Any, *, count_tokens: bool = False) -> Checked:
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
    return Checked(model, stream and not count_tokens)


def max_tokens(request: dict[str, Any]) -> int:
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
    request: Any, *, upstream_model: str, media: Media
) -> dict[str, Any]:
    """A Messages API request -> an OpenAI chat-completions request."""
    checked = check_request(request)
    for name, why in protocol.REFUSED_FIELDS.items():
        if request.get(name):
            raise Unsupported(f"{name}: not supported by localaik ({why})", param=name)
    messages = _system(request.get("system"), media)
    messages.extend(_messages(request.get("messages"), media))
    body: dict[str, Any] = {
        "model": upstream_model,
        "messages": messages,
        "max_tokens": max_tokens(request),
    }
    body.update(_sampling(request))
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


def _sampling(request: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, high in (("temperature", 1), ("top_p", 1), ("top_k", None)):
        value = request.get(name)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value < 0
            or (high is not None and value > high)
        ):
            bounds = f"between 0 and {high}" if high is not None else "at least 0"
            raise BadRequest(f"{name}: must be a number {bounds} (got {value!r})", param=name)
        if name == "top_k" and value != int(value):
            raise BadRequest(f"top_k: must be a whole number (got {value!r})", param="top_k")
        out[name] = int(value) if isinstance(value, float) and value.is_integer() else value
    stops = request.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise BadRequest("stop_sequences: must be a list of strings", param="stop_sequences")
        if stops:
            out["stop"] = stops
    return out


def _response_format(request: dict[str, Any]) -> dict[str, Any] | None:
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


def _system(system: Any, media: Media) -> list[Message]:
    if system is None:
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}] if system else []
    if not isinstance(system, list):
        raise BadRequest("system: must be a string or a list of text blocks", param="system")
    parts = []
    for i, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise BadRequest(
                f"system.{i}: only text blocks are accepted in the system prompt", param="system"
            )
        parts.extend(block_parts.text_parts(block, f"system.{i}"))
    return [{"role": "system", "content": block_parts.collapse(parts)}] if parts else []


def _messages(messages: Any, media: Media) -> list[Message]:
    out: list[Message] = []
    names: dict[str, str] = {}  # tool_use id -> tool name, for the tool messages
    for turn in turns(messages):
        if turn.role == "assistant":
            out.extend(_assistant(turn, names))
        else:
            out.extend(_user(turn, names, media))
    return out


def _assistant(turn: Turn, names: dict[str, str]) -> list[Message]:
    parts: list[Part] = []
    calls: list[dict[str, Any]] = []
    for block, at in turn.blocks:
        kind = block["type"]
        if kind == "text":
            parts.extend(block_parts.text_parts(block, at))
        elif kind == "tool_use":
            name = required_str(block, "name", at)
            arguments = block.get("input", {})
            if not isinstance(arguments, dict):
                raise BadRequest(f"{at}.input: must be an object", param=f"{at}.input")
            names[block["id"]] = name
            calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": name, "arguments": block_parts.compact(arguments)},
                }
            )
        elif kind in protocol.THINKING_BLOCKS:
            continue
        elif kind in ("tool_result", "image", "document", "search_result"):
            raise BadRequest(f"{at}: {kind} blocks are only accepted in user messages", param=at)
        else:
            block_parts.unknown(kind, at)
    if not parts and not calls:
        return []
    message: Message = {
        "role": "assistant",
        "content": block_parts.collapse(parts) if parts else "",
    }
    if calls:
        message["tool_calls"] = calls
    return [message]


def _user(turn: Turn, names: dict[str, str], media: Media) -> list[Message]:
    tools: list[Message] = []
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
        elif kind in protocol.THINKING_BLOCKS:
            continue
        else:
            parts.extend(block_parts.content_parts(block, media, at))
    body = attached + parts
    return tools + ([{"role": "user", "content": block_parts.collapse(body)}] if body else [])


def _tool_result(
    block: Block, names: dict[str, str], media: Media, at: str
) -> tuple[Message, list[Part]]:
    """A tool message, and the parts of the result that a tool message cannot carry."""
    content = block.get("content")
    texts: list[str] = []
    attached: list[Part] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for k, item in enumerate(content):
            where = f"{at}.content.{k}"
            if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                raise BadRequest(
                    f"{where}: must be a content block object with a type", param=where
                )
            if item["type"] == "text":
                texts.extend(p["text"] for p in block_parts.text_parts(item, where))
            elif item["type"] in ("image", "document", "search_result"):
                converted = block_parts.content_parts(item, media, where)
                if any(p["type"] != "text" for p in converted):
                    texts.append(f"[{item['type']}: in the next user message]")
                    attached.append(
                        media_parts.text_part(
                            f"The {item['type']} returned by tool call {block['tool_use_id']}:"
                        )
                    )
                    attached.extend(converted)
                else:
                    texts.extend(p["text"] for p in converted)
            else:
                block_parts.unknown(item["type"], where)
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
    call_id = block["tool_use_id"]
    message: Message = {"role": "tool", "tool_call_id": call_id, "content": text}
    if call_id in names:
        message["name"] = names[call_id]
    return message, attached


# ---------------------------------------------------------------------------------------------
# count_tokens


def count_tokens_text(request: dict[str, Any]) -> str:
    """The text count_tokens counts: system, text, tool inputs and results, text documents, and
    the tool definitions; each piece on its own line. Images and PDF pages are not counted."""
    texts: list[str] = []
    system = request.get("system")
    if isinstance(system, str):
        texts.append(system)
    elif isinstance(system, list):
        texts.extend(
            b["text"] for b in system if isinstance(b, dict) and isinstance(b.get("text"), str)
        )
    for turn in turns(request.get("messages")):
        for block, _ in turn.blocks:
            texts.extend(_block_texts(block))
    for tool in request.get("tools") or []:
        if isinstance(tool, dict):
            texts.extend(
                str(tool[k]) for k in ("name", "description") if isinstance(tool.get(k), str)
            )
            if isinstance(tool.get("input_schema"), dict):
                texts.append(block_parts.compact(tool["input_schema"]))
    return "\n".join(t for t in texts if t)


def _block_texts(block: Any) -> list[str]:
    if not isinstance(block, dict):
        return []
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        return [block["text"]]
    if kind == "tool_use":
        return [str(block.get("name", "")), block_parts.compact(block.get("input", {}))]
    if kind in ("tool_result", "search_result"):
        content = block.get("content")
        if isinstance(content, str):
            return [content]
        return [t for item in content or [] for t in _block_texts(item)]
    if kind == "document":
        source = block.get("source")
        if not isinstance(source, dict):
            return []
        if source.get("type") == "text" and isinstance(source.get("data"), str):
            return [source["data"]]
        if source.get("type") == "content":
            content = source.get("content")
            if isinstance(content, str):
                return [content]
            return [t for item in content or [] for t in _block_texts(item)]
    return []
