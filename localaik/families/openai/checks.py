"""The checks an OpenAI request passes before it is keyed, forwarded or recorded.

localaik forwards OpenAI requests as the client wrote them, so it must refuse what the real API
refuses *before* the upstream sees it: llama-server accepts many wrong types silently (a string
`temperature` is ignored, an unknown role becomes a user turn), and an answer to a broken
request would be recorded as if it were the answer to a good one. The checks follow the real
API's messages ("Invalid type for 'temperature': expected a number, but got a string instead.")
and name the parameter in `param`. Unknown fields pass unchecked: they are the client's
`extra_body`, for an upstream that understands them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeGuard, cast

from localaik.errors import BadRequest
from localaik.families.openai import wire
from localaik.media.parts import decode_base64
from localaik.wire.types import JSONObject, JSONValue

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
PART_TYPES = ("text", "image_url", "input_audio", "file", "refusal")


def _json_type(value: JSONValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _is_number(value: JSONValue) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(value: JSONValue) -> bool:
    return _is_number(value) and float(value).is_integer()


def _is_string_list(value: JSONValue) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    )


Check = tuple[str, Callable[[JSONValue], bool]]

NUMBER: Check = ("a number", _is_number)
INTEGER: Check = ("an integer", _is_integer)
BOOLEAN: Check = ("a boolean", lambda v: isinstance(v, bool))
STRING: Check = ("a string", lambda v: isinstance(v, str))
OBJECT: Check = ("an object", lambda v: isinstance(v, dict))
ARRAY: Check = ("an array", lambda v: isinstance(v, list))
STOP: Check = ("a string or an array of strings", _is_string_list)
CHOICE: Check = ("a string or an object", lambda v: isinstance(v, (str, dict)))
PROMPT: Check = ("a string or an array", lambda v: isinstance(v, (str, list)))

_COMMON: dict[str, Check] = {
    "model": STRING,
    "stream": BOOLEAN,
    "stream_options": OBJECT,
    "temperature": NUMBER,
    "top_p": NUMBER,
    "frequency_penalty": NUMBER,
    "presence_penalty": NUMBER,
    "max_tokens": INTEGER,
    "n": INTEGER,
    "seed": INTEGER,
    "stop": STOP,
    "logit_bias": OBJECT,
    "user": STRING,
}
CHAT_FIELDS: dict[str, Check] = {
    **_COMMON,
    "max_completion_tokens": INTEGER,
    "logprobs": BOOLEAN,
    "top_logprobs": INTEGER,
    "tools": ARRAY,
    "tool_choice": CHOICE,
    "parallel_tool_calls": BOOLEAN,
    "response_format": OBJECT,
    "metadata": OBJECT,
    "store": BOOLEAN,
    "modalities": ARRAY,
    "reasoning_effort": STRING,
}
COMPLETION_FIELDS: dict[str, Check] = {
    **_COMMON,
    "prompt": PROMPT,
    "suffix": STRING,
    "echo": BOOLEAN,
    "best_of": INTEGER,
    "logprobs": INTEGER,
}


def _bad_type(param: str, expected: str, value: JSONValue) -> BadRequest:
    return BadRequest(
        f"Invalid type for '{param}': expected {expected}, but got {_json_type(value)} instead.",
        param=param,
    )


def _fields(body: JSONObject, table: dict[str, Check]) -> None:
    # The body's few fields looked up in the table (the table's ~45 looked up in the body were
    # a tenth of a replayed request); a bad one is named in the table's order, as before.
    bad = [
        name
        for name, value in body.items()
        if value is not None and name in table and not table[name][1](value)
    ]
    if bad:
        name = min(bad, key=list(table).index)
        raise _bad_type(name, table[name][0], body[name])
    n = body.get("n")
    if _is_number(n) and n < 1:
        raise BadRequest(
            f"Invalid 'n': integer below minimum value. Expected a value >= 1, "
            f"but got {n} instead.",
            param="n",
        )


def _object(value: JSONValue, param: str) -> JSONObject:
    if not isinstance(value, dict):
        raise _bad_type(param, "an object", value)
    return value


def check_chat_request(body: JSONValue) -> wire.ChatCompletionCreateParams:
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages: a non-empty list of messages is required", param="messages")
    for i, message in enumerate(messages):
        _message(message, f"messages[{i}]")
    _fields(body, CHAT_FIELDS)
    tools = body.get("tools")
    for i, tool in enumerate(tools if isinstance(tools, list) else []):
        _tool(tool, f"tools[{i}]")
    return cast(wire.ChatCompletionCreateParams, body)  # every field it lists, checked


def check_completion_request(body: JSONValue) -> wire.CompletionCreateParams:
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    if body.get("prompt") is None:
        raise BadRequest("Missing required parameter: 'prompt'.", param="prompt")
    _fields(body, COMPLETION_FIELDS)
    return cast(wire.CompletionCreateParams, body)  # every field it lists, checked


def _message(value: JSONValue, where: str) -> None:
    message = _object(value, where)
    role = message.get("role")
    if not isinstance(role, str):
        raise BadRequest(f"{where}: each message needs a string role", param=f"{where}.role")
    if role not in ROLES:
        raise BadRequest(
            f"Invalid value for '{where}.role': {role[:40]!r}. Supported values "
            f"are: {', '.join(ROLES)}.",
            param=f"{where}.role",
        )
    content = message.get("content")
    if content is None:
        if role != "assistant":
            raise BadRequest(
                f"Missing required parameter: '{where}.content'.", param=f"{where}.content"
            )
    elif isinstance(content, list):
        for j, part in enumerate(content):
            _part(part, f"{where}.content[{j}]")
    elif not isinstance(content, str):
        raise _bad_type(f"{where}.content", "a string or an array of content parts", content)
    if message.get("name") is not None and not isinstance(message["name"], str):
        raise _bad_type(f"{where}.name", "a string", message["name"])
    calls = message.get("tool_calls")
    if calls is not None:
        if not isinstance(calls, list):
            raise _bad_type(f"{where}.tool_calls", "an array", calls)
        for j, call in enumerate(calls):
            _object(call, f"{where}.tool_calls[{j}]")
    if message.get("tool_call_id") is not None and not isinstance(message["tool_call_id"], str):
        raise _bad_type(f"{where}.tool_call_id", "a string", message["tool_call_id"])


def _part(value: JSONValue, where: str) -> None:
    part = _object(value, where)
    kind = part.get("type")
    if not isinstance(kind, str):
        raise BadRequest(f"Missing required parameter: '{where}.type'.", param=f"{where}.type")
    if kind not in PART_TYPES:
        raise BadRequest(
            f"Invalid value for '{where}.type': {kind[:40]!r}. Supported values "
            f"are: {', '.join(PART_TYPES)}.",
            param=f"{where}.type",
        )
    if kind == "text" and not isinstance(part.get("text"), str):
        raise _bad_type(f"{where}.text", "a string", part.get("text"))
    if kind == "image_url":
        image = _object(part.get("image_url"), f"{where}.image_url")
        url = image.get("url")
        if not isinstance(url, str) or not url:
            raise _bad_type(f"{where}.image_url.url", "a string", url)
        if url.startswith("data:"):
            header, comma, data = url.partition(",")
            if not comma:
                raise BadRequest(
                    f"{where}.image_url.url: a data URL needs a comma before its data",
                    param=f"{where}.image_url.url",
                )
            if header.endswith(";base64"):
                try:
                    decode_base64(data, f"{where}.image_url.url")
                except BadRequest as exc:
                    exc.param = f"{where}.image_url.url"
                    raise


def _tool(value: JSONValue, where: str) -> None:
    tool = _object(value, where)
    if not isinstance(tool.get("type"), str):
        raise BadRequest(f"Missing required parameter: '{where}.type'.", param=f"{where}.type")
    if tool["type"] == "function":
        function = _object(tool.get("function"), f"{where}.function")
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequest(
                f"Missing required parameter: '{where}.function.name'.",
                param=f"{where}.function.name",
            )
        if function.get("parameters") is not None:
            _object(function["parameters"], f"{where}.function.parameters")
