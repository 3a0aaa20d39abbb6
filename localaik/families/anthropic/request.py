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

import json
from dataclasses import dataclass
from typing import Any

from localaik.errors import BadRequest, Unsupported
from localaik.families.anthropic import wire as protocol
from localaik.media import parts as media_parts
from localaik.media.parts import Media, Part

Message = dict[str, Any]
Block = dict[str, Any]


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
        raise Unsupported("thread: localaik holds no conversation between requests; send the "
                          "whole conversation", param="thread",
                          details={"error_code": "thread_unsupported_request",
                                   "unsupported": ["thread"]})
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
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) \
            or value < 1:
        raise BadRequest(f"max_tokens: must be a whole number of at least 1 (got {value!r})",
                         param="max_tokens")
    return int(value)


# ---------------------------------------------------------------------------------------------
# The request


def messages_request_to_openai(request: Any, *, upstream_model: str,
                               media: Media) -> dict[str, Any]:
    """A Messages API request -> an OpenAI chat-completions request."""
    checked = check_request(request)
    for name, why in protocol.REFUSED_FIELDS.items():
        if request.get(name):
            raise Unsupported(f"{name}: not supported by localaik ({why})", param=name)
    messages = _system(request.get("system"), media)
    messages.extend(_messages(request.get("messages"), media))
    body: dict[str, Any] = {"model": upstream_model, "messages": messages,
                            "max_tokens": max_tokens(request)}
    body.update(_sampling(request))
    tools, names = _tools(request.get("tools"))
    choice, parallel = _tool_choice(request.get("tool_choice"), names)
    if tools:
        body["tools"] = tools
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
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 \
                or (high is not None and value > high):
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
            raise BadRequest(f"system.{i}: only text blocks are accepted in the system prompt",
                             param="system")
        parts.extend(_text(block, f"system.{i}"))
    return [{"role": "system", "content": _collapse(parts)}] if parts else []


@dataclass
class _Turn:
    """One turn: consecutive messages of one role, their blocks joined, with their paths."""

    role: str
    blocks: list[tuple[Block, str]]


def turns(messages: Any) -> list[_Turn]:
    """`messages` checked and merged into turns (string content becomes one text block)."""
    if messages is None:
        raise BadRequest("messages: Field required", param="messages")
    if not isinstance(messages, list):
        raise BadRequest("messages: must be a list of messages", param="messages")
    if not messages:
        raise BadRequest("messages: at least one message is required", param="messages")
    out: list[_Turn] = []
    last = len(messages) - 1
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(message, dict):
            raise BadRequest(f"{where}: must be an object with a role and content")
        role = message.get("role")
        if role not in protocol.ROLES:
            hint = (" (the system prompt is the top-level `system` field)" if role == "system"
                    else "")
            raise BadRequest(f"{where}.role: must be \"user\" or \"assistant\" (got {role!r})"
                             f"{hint}", param=f"{where}.role")
        blocks = _blocks(message.get("content"), where)
        if not blocks and not (i == last and role == "assistant"):
            raise BadRequest(f"{where}: all messages must have non-empty content except for the "
                             "optional final assistant message", param=f"{where}.content")
        if out and out[-1].role == role:
            out[-1].blocks.extend(blocks)
        else:
            out.append(_Turn(role, blocks))
    _check_tool_pairs(out)
    return out


def _blocks(content: Any, where: str) -> list[tuple[Block, str]]:
    # A missing content is an empty one: the key drops empty lists, and a request rebuilt from
    # a key (cassette verify) must read the same.
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [({"type": "text", "text": content}, f"{where}.content")]
    if not isinstance(content, list):
        raise BadRequest(f"{where}.content: must be a string or a list of content blocks",
                         param=f"{where}.content")
    out = []
    for j, block in enumerate(content):
        at = f"{where}.content.{j}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise BadRequest(f"{at}: must be a content block object with a type", param=at)
        out.append((block, at))
    return out


def _check_tool_pairs(found: list[_Turn]) -> None:
    """Unique tool_use ids; each answered in the next turn; each result answering one."""
    seen: set[str] = set()
    for t, turn in enumerate(found):
        if turn.role == "assistant":
            ids = []
            for block, at in turn.blocks:
                if block["type"] == "tool_use":
                    block_id = _required_str(block, "id", at)
                    if block_id in seen:
                        raise BadRequest(f"{at}.id: `tool_use` ids must be unique ({block_id!r} "
                                         "is used twice)", param=f"{at}.id")
                    seen.add(block_id)
                    ids.append(block_id)
            if ids and t + 1 < len(found):
                answered = _result_ids(found[t + 1])
                missing = [i for i in ids if i not in answered]
                if missing:
                    raise BadRequest(
                        f"messages: `tool_use` ids were found without `tool_result` blocks "
                        f"immediately after: {', '.join(missing)}. Each `tool_use` block must "
                        "have a corresponding `tool_result` block in the next message.",
                        param="messages")
        else:
            asked = set()
            if t > 0 and found[t - 1].role == "assistant":
                asked = {b.get("id") for b, _ in found[t - 1].blocks
                         if b["type"] == "tool_use" and isinstance(b.get("id"), str)}
            for block, at in turn.blocks:
                if block["type"] == "tool_result":
                    result_id = _required_str(block, "tool_use_id", at)
                    if result_id not in asked:
                        raise BadRequest(
                            f"{at}: unexpected `tool_use_id` found in `tool_result` blocks: "
                            f"{result_id}. Each `tool_result` block must have a corresponding "
                            "`tool_use` block in the previous message.", param=f"{at}.tool_use_id")


def _result_ids(turn: _Turn) -> set[Any]:
    if turn.role != "user":
        return set()
    return {b.get("tool_use_id") for b, _ in turn.blocks
            if b["type"] == "tool_result" and isinstance(b.get("tool_use_id"), str)}


def _messages(messages: Any, media: Media) -> list[Message]:
    out: list[Message] = []
    names: dict[str, str] = {}  # tool_use id -> tool name, for the tool messages
    for turn in turns(messages):
        if turn.role == "assistant":
            out.extend(_assistant(turn, names))
        else:
            out.extend(_user(turn, names, media))
    return out


def _assistant(turn: _Turn, names: dict[str, str]) -> list[Message]:
    parts: list[Part] = []
    calls: list[dict[str, Any]] = []
    for block, at in turn.blocks:
        kind = block["type"]
        if kind == "text":
            parts.extend(_text(block, at))
        elif kind == "tool_use":
            name = _required_str(block, "name", at)
            arguments = block.get("input", {})
            if not isinstance(arguments, dict):
                raise BadRequest(f"{at}.input: must be an object", param=f"{at}.input")
            names[block["id"]] = name
            calls.append({"id": block["id"], "type": "function",
                          "function": {"name": name, "arguments": _compact(arguments)}})
        elif kind in protocol.THINKING_BLOCKS:
            continue
        elif kind in ("tool_result", "image", "document", "search_result"):
            raise BadRequest(f"{at}: {kind} blocks are only accepted in user messages",
                             param=at)
        else:
            _unknown(kind, at)
    if not parts and not calls:
        return []
    message: Message = {"role": "assistant", "content": _collapse(parts) if parts else ""}
    if calls:
        message["tool_calls"] = calls
    return [message]


def _user(turn: _Turn, names: dict[str, str], media: Media) -> list[Message]:
    tools: list[Message] = []
    attached: list[Part] = []   # images and documents that tool results returned
    parts: list[Part] = []
    for block, at in turn.blocks:
        kind = block["type"]
        if kind == "tool_result":
            message, extra = _tool_result(block, names, media, at)
            tools.append(message)
            attached.extend(extra)
        elif kind == "tool_use":
            raise BadRequest(f"{at}: tool_use blocks are only accepted in assistant messages",
                             param=at)
        elif kind in protocol.THINKING_BLOCKS:
            continue
        else:
            parts.extend(_content(block, media, at))
    body = attached + parts
    return tools + ([{"role": "user", "content": _collapse(body)}] if body else [])


def _tool_result(block: Block, names: dict[str, str], media: Media,
                 at: str) -> tuple[Message, list[Part]]:
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
                raise BadRequest(f"{where}: must be a content block object with a type",
                                 param=where)
            if item["type"] == "text":
                texts.extend(p["text"] for p in _text(item, where))
            elif item["type"] in ("image", "document", "search_result"):
                converted = _content(item, media, where)
                if any(p["type"] != "text" for p in converted):
                    texts.append(f"[{item['type']}: in the next user message]")
                    attached.append(media_parts.text_part(
                        f"The {item['type']} returned by tool call {block['tool_use_id']}:"))
                    attached.extend(converted)
                else:
                    texts.extend(p["text"] for p in converted)
            else:
                _unknown(item["type"], where)
    elif content is not None:
        raise BadRequest(f"{at}.content: must be a string or a list of content blocks",
                         param=f"{at}.content")
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


def _content(block: Block, media: Media, at: str) -> list[Part]:
    """A user content block other than tool use and results -> content parts."""
    kind = block["type"]
    if kind == "text":
        return _text(block, at)
    if kind == "image":
        return _image(block, media, at)
    if kind == "document":
        return _document(block, media, at)
    if kind == "search_result":
        return _search_result(block, at)
    _unknown(kind, at)
    return []


def _text(block: Block, at: str) -> list[Part]:
    text = block.get("text")
    if not isinstance(text, str):
        raise BadRequest(f"{at}.text: Field required (a string)", param=f"{at}.text")
    return [media_parts.text_part(text)] if text else []


def _source(block: Block, at: str) -> tuple[str, dict[str, Any]]:
    source = block.get("source")
    if not isinstance(source, dict):
        raise BadRequest(f"{at}.source: Field required (an object)", param=f"{at}.source")
    kind = source.get("type") or "base64"
    if not isinstance(kind, str):
        raise BadRequest(f"{at}.source.type: must be a string", param=f"{at}.source.type")
    if kind == "file":
        raise Unsupported(f"{at}.source: file sources need the Files API, which localaik does "
                          "not serve; send the content as base64", param=f"{at}.source")
    return kind, source


def _base64(source: dict[str, Any], at: str) -> tuple[str, bytes]:
    mime = source.get("media_type")
    if not isinstance(mime, str) or not mime:
        raise BadRequest(f"{at}.source.media_type: Field required",
                         param=f"{at}.source.media_type")
    return mime, media_parts.decode_base64(source.get("data"), f"{at}.source.data")


def _image(block: Block, media: Media, at: str) -> list[Part]:
    kind, source = _source(block, at)
    if kind == "base64":
        mime, data = _base64(source, at)
        if not mime.lower().startswith("image/"):
            raise BadRequest(f"{at}.source.media_type: an image needs an image/* type (got "
                             f"{mime!r})", param=f"{at}.source.media_type")
        return media_parts.blob_to_parts(mime, data, media, at)
    if kind == "url":
        url = _required_str(source, "url", f"{at}.source")
        if url.startswith("data:"):
            mime, data = media_parts.decode_data_uri(url, f"{at}.source.url")
            return media_parts.blob_to_parts(mime or "image/png", data, media, at)
        if not url.lower().startswith(("http://", "https://")):
            raise BadRequest(f"{at}.source.url: must be an http(s) or data: URL",
                             param=f"{at}.source.url")
        # Passed on as a URL: localaik itself never fetches it.
        return [media_parts.image_part(url)]
    raise BadRequest(f"{at}.source.type: unknown image source type {kind!r} (base64, url)",
                     param=f"{at}.source.type")


def _document(block: Block, media: Media, at: str) -> list[Part]:
    kind, source = _source(block, at)
    if kind == "base64":
        mime, data = _base64(source, at)
        parts = media_parts.blob_to_parts(mime, data, media, at)
    elif kind == "text":
        text = source.get("data")
        if not isinstance(text, str):
            raise BadRequest(f"{at}.source.data: Field required (a string)",
                             param=f"{at}.source.data")
        parts = [media_parts.text_part(text)] if text else []
    elif kind == "content":
        parts = []
        for block_item, where in _blocks(source.get("content"), f"{at}.source"):
            if block_item["type"] not in ("text", "image"):
                raise BadRequest(f"{where}: a content document holds text and image blocks "
                                 "only", param=where)
            parts.extend(_content(block_item, media, where))
    elif kind == "url":
        raise Unsupported(f"{at}.source: localaik does not fetch remote documents; send the "
                          "PDF as base64 (source.type base64)", param=f"{at}.source")
    else:
        raise BadRequest(f"{at}.source.type: unknown document source type {kind!r} (base64, "
                         "text, content, url)", param=f"{at}.source.type")
    heading = [media_parts.text_part(block[name]) for name in ("title", "context")
               if isinstance(block.get(name), str) and block[name]]
    return heading + parts


def _search_result(block: Block, at: str) -> list[Part]:
    lines = [f"{block[name]}" for name in ("title", "source")
             if isinstance(block.get(name), str) and block[name]]
    for item, where in _blocks(block.get("content"), at):
        if item["type"] != "text":
            raise BadRequest(f"{where}: a search result holds text blocks only", param=where)
        lines.extend(p["text"] for p in _text(item, where))
    return [media_parts.text_part("\n".join(lines))] if lines else []


def _unknown(kind: str, at: str) -> None:
    if kind in protocol.SERVER_BLOCKS:
        raise Unsupported(f"{at}: {kind} blocks belong to Anthropic's server tools, which "
                          "localaik cannot run", param=at)
    raise Unsupported(f"{at}.type: content block type {kind!r} is not supported by localaik",
                      param=f"{at}.type")


def _required_str(value: dict[str, Any], name: str, at: str) -> str:
    found = value.get(name)
    if not isinstance(found, str) or not found:
        raise BadRequest(f"{at}.{name}: Field required (a non-empty string)",
                         param=f"{at}.{name}")
    return found


def _collapse(parts: list[Part]) -> str | list[Part]:
    """A single text part becomes a plain string; anything else stays a list of parts."""
    if len(parts) == 1 and parts[0]["type"] == "text":
        return str(parts[0]["text"])
    return parts


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# tools


def _tools(tools: Any) -> tuple[list[dict[str, Any]], list[str]]:
    if tools is None:
        return [], []
    if not isinstance(tools, list):
        raise BadRequest("tools: must be a list of tool definitions", param="tools")
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        at = f"tools.{i}"
        if not isinstance(tool, dict):
            raise BadRequest(f"{at}: must be a tool definition object", param=at)
        kind = tool.get("type")
        if kind not in protocol.CUSTOM_TOOL_TYPES:
            raise Unsupported(
                f"{at}: the Anthropic-defined tool {kind!r} is not supported by localaik (server "
                "tools run on Anthropic's servers, and a local model knows no built-in tool "
                "schema); define a custom tool with an input_schema instead", param=at)
        name = _required_str(tool, "name", at)
        schema = tool.get("input_schema")
        if not isinstance(schema, dict):
            raise BadRequest(f"{at}.input_schema: Field required (a JSON Schema object)",
                             param=f"{at}.input_schema")
        function: dict[str, Any] = {"name": name}
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        function["parameters"] = schema
        if isinstance(tool.get("strict"), bool):
            function["strict"] = tool["strict"]
        out.append({"type": "function", "function": function})
    names = [t["function"]["name"] for t in out]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise BadRequest(f"tools: tool names must be unique ({duplicate!r} is defined twice)",
                         param="tools")
    return out, names


def _tool_choice(choice: Any, names: list[str]) -> tuple[Any, bool | None]:
    """tool_choice -> (OpenAI tool_choice, parallel_tool_calls), each None when not set."""
    if choice is None:
        return None, None
    if not isinstance(choice, dict) or not isinstance(choice.get("type"), str):
        raise BadRequest("tool_choice: must be an object with a type", param="tool_choice")
    kind = choice["type"]
    disable = choice.get("disable_parallel_tool_use")
    if disable is not None and not isinstance(disable, bool):
        raise BadRequest("tool_choice.disable_parallel_tool_use: must be a boolean",
                         param="tool_choice")
    parallel = False if disable else None
    if kind in ("any", "tool") and not names:
        raise BadRequest(f"tool_choice: type {kind!r} needs tools", param="tool_choice")
    if kind == "auto":
        return "auto", parallel
    if kind == "none":
        return "none", None
    if kind == "any":
        return "required", parallel
    if kind == "tool":
        name = _required_str(choice, "name", "tool_choice")
        if name not in names:
            raise BadRequest(f"tool_choice.name: no tool named {name!r} in tools",
                             param="tool_choice")
        return {"type": "function", "function": {"name": name}}, parallel
    raise BadRequest(f"tool_choice.type: unknown type {kind!r} (auto, any, tool, none)",
                     param="tool_choice")


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
        texts.extend(b["text"] for b in system if isinstance(b, dict)
                     and isinstance(b.get("text"), str))
    for turn in turns(request.get("messages")):
        for block, _ in turn.blocks:
            texts.extend(_block_texts(block))
    for tool in request.get("tools") or []:
        if isinstance(tool, dict):
            texts.extend(str(tool[k]) for k in ("name", "description")
                         if isinstance(tool.get(k), str))
            if isinstance(tool.get("input_schema"), dict):
                texts.append(_compact(tool["input_schema"]))
    return "\n".join(t for t in texts if t)


def _block_texts(block: Any) -> list[str]:
    if not isinstance(block, dict):
        return []
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        return [block["text"]]
    if kind == "tool_use":
        return [str(block.get("name", "")), _compact(block.get("input", {}))]
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
