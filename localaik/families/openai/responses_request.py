"""OpenAI Responses API request -> OpenAI chat-completions request.

`responses_request_to_chat` builds the chat request sent upstream; `context_for` keeps what the
answer translation (`translate.responses_output`) needs of the request: the model name, the
fields a `Response` object repeats, and an id to fall back on. Both read the request alone, so
a replayed answer is translated exactly as a live one.

How the request maps:

- `instructions`, and every `system` or `developer` message wherever it stands, become one
  leading system message (chat templates such as Gemma's accept a system message only first);
- `input` as a string is one user message; as items: messages (content a string or
  `input_text` / `output_text` / `refusal` / `input_image` / `input_file` parts),
  `function_call` items (assistant `tool_calls`) and `function_call_output` items (tool
  messages, each paired with an earlier call by `call_id`); `reasoning` items are the model's
  own and are not fed back; consecutive turns of one role are one turn;
- function `tools`, `tool_choice` (including `allowed_tools`), `parallel_tool_calls`,
  `text.format` (`json_schema`, `json_object`), `max_output_tokens`, `temperature`, `top_p`.

Whatever needs server-side state (`previous_response_id`, `conversation`, stored prompts,
`item_reference` items, `background`) or OpenAI's own servers (built-in tools, file ids,
remote files) is refused with a 400 that names the field.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from dataclasses import dataclass
from typing import Any

from localaik.errors import BadRequest, Unsupported
from localaik.families.openai import responses_wire as protocol
from localaik.media import parts as media_parts
from localaik.media.parts import Media, Part

Message = dict[str, Any]

_ROLES = ("user", "assistant", "system", "developer")
_TEXT_PARTS = ("input_text", "output_text")


@dataclass(frozen=True)
class ResponsesContext:
    """What the answer translation needs to know about the request."""

    model: str | None
    echo: dict[str, Any]       # the request fields a Response object repeats
    fallback_id: str           # for an answer whose upstream gave no id (never random)


def requested_model(body: dict[str, Any]) -> str | None:
    model = body.get("model")
    return model if isinstance(model, str) and model else None


def context_for(body: dict[str, Any]) -> ResponsesContext:
    """The context of a request that `validate_request` accepted."""
    text: dict[str, Any] = {"format": {"type": "text"}}
    if isinstance(body.get("text"), dict):
        text.update({k: v for k, v in body["text"].items() if v is not None})
    echo = {
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "parallel_tool_calls": _given(body, "parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": _given(body, "reasoning", {"effort": None, "summary": None}),
        "service_tier": _given(body, "service_tier", "default"),
        "store": False,
        "temperature": _given(body, "temperature", 1.0),
        "text": text,
        "tool_choice": _given(body, "tool_choice", "auto"),
        "tools": _given(body, "tools", []),
        "top_p": _given(body, "top_p", 1.0),
        "truncation": _given(body, "truncation", "disabled"),
        "user": body.get("user"),
        "metadata": _given(body, "metadata", {}),
    }
    for name in ("safety_identifier", "prompt_cache_key"):
        if body.get(name) is not None:
            echo[name] = body[name]
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]
    return ResponsesContext(requested_model(body), echo, digest)


def _given(body: dict[str, Any], name: str, default: Any) -> Any:
    value = body.get(name)
    return default if value is None else value


# ---------------------------------------------------------------------------------------------
# The request as a whole


def validate_request(body: Any) -> dict[str, Any]:
    """Field-level checks of a Responses request (items are checked while translating)."""
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    for name, value in body.items():
        if name in protocol.STATEFUL:
            if value is not None:
                raise Unsupported(f"{name}: {protocol.STATEFUL[name]}", param=name)
        elif name not in protocol.TRANSLATED and name not in protocol.ACCEPTED:
            raise Unsupported(f"{name}: localaik does not support this Responses API field "
                              "(see the README's compatibility table)", param=name)
    if body.get("background") not in (None, False):
        raise Unsupported("background: localaik answers every request in the foreground; "
                          "leave background unset or false", param="background")
    if body.get("top_logprobs") not in (None, 0):
        raise Unsupported("top_logprobs: localaik does not return log probabilities",
                          param="top_logprobs")
    _check_include(body.get("include"))
    for name, kind in (("model", str), ("instructions", str), ("stream", bool),
                       ("parallel_tool_calls", bool)):
        if body.get(name) is not None and not isinstance(body[name], kind):
            raise BadRequest(f"{name} must be a {'string' if kind is str else 'boolean'}",
                             param=name)
    for name in ("temperature", "top_p"):
        _number(body, name)
    limit = body.get("max_output_tokens")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 1):
        raise BadRequest(f"max_output_tokens must be a whole number of at least 1 (got "
                         f"{limit!r})", param="max_output_tokens")
    if "input" not in body or body["input"] is None:
        raise BadRequest("input is required: a string or a list of input items", param="input")
    return body


def _check_include(include: Any) -> None:
    if include is None:
        return
    if not isinstance(include, list) or not all(isinstance(v, str) for v in include):
        raise BadRequest("include must be a list of strings", param="include")
    for value in include:
        if value in protocol.REFUSED_INCLUDES:
            raise Unsupported(f"include: {value!r} is not supported by localaik (no "
                              f"{protocol.REFUSED_INCLUDES[value]})", param="include")


def _number(body: dict[str, Any], name: str) -> None:
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise BadRequest(f"{name} must be a number (got {value!r})", param=name)


def responses_request_to_chat(body: Any, *, upstream_model: str, stream: bool,
                              media: Media) -> dict[str, Any]:
    """A Responses API request -> an OpenAI chat-completions request."""
    body = validate_request(body)
    system: list[Part] = []
    if body.get("instructions"):
        system.append(media_parts.text_part(body["instructions"]))
    messages = _input_messages(body["input"], media, system)
    if not messages:
        raise BadRequest("input must hold at least one non-empty message", param="input")
    if system:
        messages.insert(0, {"role": "system", "content": _collapse(system)})

    chat: dict[str, Any] = {"model": requested_model(body) or upstream_model,
                            "messages": messages}
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            value = body[name]
            chat[name] = int(value) if isinstance(value, float) and value.is_integer() else value
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    tools = _tools(body.get("tools"))
    if tools:
        chat["tools"] = tools
        choice = _tool_choice(body.get("tool_choice"), [t["function"]["name"] for t in tools])
        if isinstance(choice, tuple):
            allowed, choice = choice
            chat["tools"] = [t for t in tools if t["function"]["name"] in allowed]
        if choice is not None:
            chat["tool_choice"] = choice
        if body.get("parallel_tool_calls") is not None:
            chat["parallel_tool_calls"] = body["parallel_tool_calls"]
    elif body.get("tool_choice") not in (None, "auto", "none"):
        raise BadRequest("tool_choice: there are no function tools to choose from",
                         param="tool_choice")
    response_format = _response_format(body.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    if stream:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _collapse(parts: list[Part]) -> str | list[Part]:
    """A single text part becomes a plain string; anything else stays a list of parts."""
    if len(parts) == 1 and parts[0]["type"] == "text":
        return str(parts[0]["text"])
    return parts


# ---------------------------------------------------------------------------------------------
# Input items


def _input_messages(value: Any, media: Media, system: list[Part]) -> list[Message]:
    """Chat messages for `input`; system and developer content is added to `system`."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}] if value else []
    if not isinstance(value, list):
        raise BadRequest("input must be a string or a list of input items", param="input")
    calls: dict[str, str] = {}    # call_id -> function name, of the function_call items so far
    messages: list[Message] = []
    for i, item in enumerate(value):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise BadRequest(f"{where} must be an object", param=where)
        kind = _kind(item, where)
        if kind is None and "role" in item:
            kind = "message"
        if kind == "message":
            role = item.get("role")
            if role not in _ROLES:
                raise BadRequest(f"{where}.role must be one of {', '.join(_ROLES)} (got "
                                 f"{role!r})", param=f"{where}.role")
            parts = _content_parts(item.get("content"), media, where, role)
            if role in ("system", "developer"):
                system.extend(parts)
            elif parts:
                _append(messages, {"role": role, "content": _collapse(parts)})
        elif kind == "function_call":
            _append(messages, _function_call(item, calls, where))
        elif kind == "function_call_output":
            _append(messages, _function_output(item, calls, where))
        elif kind == "reasoning":
            continue
        elif kind in protocol.STATEFUL_ITEMS:
            raise Unsupported(f"{where}.type: {kind!r} items refer to items stored by OpenAI; "
                              "localaik stores none: send the items themselves",
                              param=f"{where}.type")
        elif kind is None:
            raise BadRequest(f"{where}: an input item needs a type (or a role, for a message)",
                             param=where)
        else:
            raise Unsupported(f"{where}.type: {kind!r} items are not supported by localaik "
                              "(messages, function_call and function_call_output are)",
                              param=f"{where}.type")
    return messages


def _append(messages: list[Message], message: Message) -> None:
    """Consecutive turns of one role are one turn (chat templates want roles to alternate);
    function calls join the assistant turn before them."""
    last = messages[-1] if messages else None
    if last is None or message["role"] == "tool" or last["role"] != message["role"]:
        messages.append(message)
    elif "tool_calls" in message:
        last.setdefault("tool_calls", []).extend(message["tool_calls"])
    elif "tool_calls" in last:
        messages.append(message)
    else:
        last["content"] = _collapse(_as_parts(last["content"]) + _as_parts(message["content"]))


def _as_parts(content: str | list[Part]) -> list[Part]:
    if isinstance(content, str):
        return [media_parts.text_part(content)] if content else []
    return list(content)


def _content_parts(content: Any, media: Media, where: str, role: str) -> list[Part]:
    if isinstance(content, str):
        return [media_parts.text_part(content)] if content else []
    if not isinstance(content, list):
        raise BadRequest(f"{where}.content must be a string or a list of content parts",
                         param=f"{where}.content")
    parts: list[Part] = []
    for j, part in enumerate(content):
        at = f"{where}.content[{j}]"
        kind = _kind(part, at) if isinstance(part, dict) else None
        if kind in _TEXT_PARTS or kind == "refusal":
            key = "refusal" if kind == "refusal" else "text"
            text = part.get(key)
            if not isinstance(text, str):
                raise BadRequest(f"{at}.{key} must be a string", param=f"{at}.{key}")
            if text:
                parts.append(media_parts.text_part(text))
        elif role == "assistant" and kind in ("input_image", "input_file"):
            raise BadRequest(f"{at}: an assistant message holds text only (output_text)",
                             param=at)
        elif kind == "input_image":
            parts.extend(_image(part, media, at))
        elif kind == "input_file":
            parts.extend(_file(part, media, at))
        elif kind == "input_audio":
            raise Unsupported(f"{at}: localaik does not take audio input", param=at)
        else:
            raise BadRequest(f"{at}.type: unknown content part type {kind!r} (input_text, "
                             "input_image and input_file are accepted)", param=f"{at}.type")
    return parts


def _image(part: dict[str, Any], media: Media, where: str) -> list[Part]:
    if part.get("file_id"):
        raise Unsupported(f"{where}.file_id: localaik has no Files API; send the image as a "
                          "data: URL in image_url", param=f"{where}.file_id")
    url = part.get("image_url")
    if not isinstance(url, str) or not url:
        raise BadRequest(f"{where}.image_url: required string (a data: URL or an https URL)",
                         param=f"{where}.image_url")
    if url.startswith("data:"):
        mime, data = media_parts.decode_data_uri(url, f"{where}.image_url")
        if not mime.startswith("image/"):
            raise BadRequest(f"{where}.image_url: the data: URL holds {mime or 'no type'}, not "
                             "an image (send documents as input_file)",
                             param=f"{where}.image_url")
        return media_parts.blob_to_parts(mime, data, media, where)
    if url.lower().startswith(("https://", "http://")):
        # Passed on as a URL: localaik itself never fetches anything for a client.
        return [media_parts.image_part(url)]
    raise BadRequest(f"{where}.image_url must be a data: URL or an http(s) URL",
                     param=f"{where}.image_url")


def _file(part: dict[str, Any], media: Media, where: str) -> list[Part]:
    if part.get("file_id"):
        raise Unsupported(f"{where}.file_id: localaik has no Files API; send the bytes in "
                          "file_data", param=f"{where}.file_id")
    if part.get("file_url"):
        raise Unsupported(f"{where}.file_url: localaik does not fetch remote files; send the "
                          "bytes in file_data", param=f"{where}.file_url")
    data = part.get("file_data")
    if not isinstance(data, str) or not data:
        raise BadRequest(f"{where}.file_data: required string (a data: URL or base64)",
                         param=f"{where}.file_data")
    filename = part.get("filename")
    filename = filename if isinstance(filename, str) else ""
    if data.startswith("data:"):
        mime, raw = media_parts.decode_data_uri(data, f"{where}.file_data")
    else:
        mime, raw = "", media_parts.decode_base64(data, f"{where}.file_data")
    if not mime or mime == "application/octet-stream":
        mime = mimetypes.guess_type(filename)[0] or mime
    return media_parts.blob_to_parts(mime or "application/octet-stream", raw, media, where)


def _required_text(item: dict[str, Any], name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{where}.{name}: required string", param=f"{where}.{name}")
    return value


def _function_call(item: dict[str, Any], calls: dict[str, str], where: str) -> Message:
    call_id = _required_text(item, "call_id", where)
    name = _required_text(item, "name", where)
    arguments = item.get("arguments")
    if not isinstance(arguments, str):
        raise BadRequest(f"{where}.arguments must be a string (JSON text)",
                         param=f"{where}.arguments")
    if call_id in calls:
        raise BadRequest(f"{where}.call_id: {call_id!r} is the call_id of an earlier "
                         "function_call; call ids must be unique", param=f"{where}.call_id")
    calls[call_id] = name
    return {"role": "assistant", "content": "",
            "tool_calls": [{"id": call_id, "type": "function",
                            "function": {"name": name, "arguments": arguments}}]}


def _function_output(item: dict[str, Any], calls: dict[str, str], where: str) -> Message:
    call_id = _required_text(item, "call_id", where)
    if call_id not in calls:
        raise BadRequest(f"{where}.call_id: no function_call item with call_id {call_id!r} "
                         "comes before this output", param=f"{where}.call_id")
    output = item.get("output")
    if isinstance(output, list):
        texts = []
        for j, part in enumerate(output):
            if not isinstance(part, dict) or part.get("type") not in _TEXT_PARTS \
                    or not isinstance(part.get("text"), str):
                raise Unsupported(f"{where}.output[{j}]: localaik takes text function outputs "
                                  "only (a string or input_text parts)",
                                  param=f"{where}.output[{j}]")
            texts.append(part["text"])
        output = "".join(texts)
    if not isinstance(output, str):
        raise BadRequest(f"{where}.output must be a string or a list of input_text parts",
                         param=f"{where}.output")
    return {"role": "tool", "tool_call_id": call_id, "name": calls[call_id], "content": output}


# ---------------------------------------------------------------------------------------------
# Tools and output format


def _tools(tools: Any) -> list[dict[str, Any]]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise BadRequest("tools must be a list", param="tools")
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise BadRequest(f"{where} must be an object", param=where)
        kind = tool.get("type")
        if kind != "function":
            raise Unsupported(f"{where}.type: {kind!r} tools are not supported by localaik; "
                              "it serves function tools only (built-in tools such as "
                              "web_search, file_search, computer use or code_interpreter run "
                              "on OpenAI's servers)", param=f"{where}.type")
        function: dict[str, Any] = {"name": _required_text(tool, "name", where)}
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        parameters = tool.get("parameters")
        if parameters is not None:
            if not isinstance(parameters, dict):
                raise BadRequest(f"{where}.parameters must be a JSON Schema object",
                                 param=f"{where}.parameters")
            function["parameters"] = parameters
        if isinstance(tool.get("strict"), bool):
            function["strict"] = tool["strict"]
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: Any, names: list[str]) -> Any:
    """tool_choice -> the chat one; (allowed names, choice) when the tools must be narrowed."""
    if choice is None:
        return None
    if choice in ("auto", "none", "required"):
        return choice
    if not isinstance(choice, dict):
        raise BadRequest("tool_choice must be auto, none, required or an object",
                         param="tool_choice")
    kind = choice.get("type")
    if kind == "function":
        name = choice.get("name")
        if not isinstance(name, str) or name not in names:
            raise BadRequest(f"tool_choice.name: {name!r} is not one of the function tools",
                             param="tool_choice.name")
        return {"type": "function", "function": {"name": name}}
    if kind == "allowed_tools":
        mode = choice.get("mode", "auto")
        listed = choice.get("tools")
        if mode not in ("auto", "required") or not isinstance(listed, list) or not listed:
            raise BadRequest("tool_choice: allowed_tools needs a mode (auto or required) and "
                             "a non-empty tools list", param="tool_choice")
        allowed = set()
        for j, tool in enumerate(listed):
            if not isinstance(tool, dict) or tool.get("type") != "function" \
                    or tool.get("name") not in names:
                raise BadRequest(f"tool_choice.tools[{j}] must name one of the function tools",
                                 param=f"tool_choice.tools[{j}]")
            allowed.add(tool["name"])
        return allowed, mode
    raise Unsupported(f"tool_choice: {kind!r} is not supported by localaik (function tools "
                      "only)", param="tool_choice")


def _response_format(text: Any) -> dict[str, Any] | None:
    if text is None:
        return None
    if not isinstance(text, dict):
        raise BadRequest("text must be an object", param="text")
    fmt = text.get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict):
        raise BadRequest("text.format must be an object", param="text.format")
    kind = fmt.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        schema = fmt.get("schema")
        if not isinstance(schema, dict):
            raise BadRequest("text.format.schema: a JSON Schema object is required",
                             param="text.format.schema")
        name = fmt.get("name")
        spec: dict[str, Any] = {"name": name if isinstance(name, str) and name else "response",
                                "schema": schema}
        if isinstance(fmt.get("strict"), bool):
            spec["strict"] = fmt["strict"]
        return {"type": "json_schema", "json_schema": spec}
    raise BadRequest(f"text.format.type must be text, json_object or json_schema (got "
                     f"{kind!r})", param="text.format.type")


def _kind(item: dict[str, Any], where: str) -> str | None:
    """An item's or part's `type`: a string, or absent."""
    kind = item.get("type")
    if kind is not None and not isinstance(kind, str):
        raise BadRequest(f"{where}.type must be a string", param=f"{where}.type")
    return kind
