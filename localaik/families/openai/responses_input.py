"""A Responses API `input` -> chat-completions messages.

`input` as a string is one user message; as items: messages (`EasyInputMessage`, content as
`responses_content` reads it), `function_call` items (assistant `tool_calls`) and
`function_call_output` items (tool messages, each paired with an earlier call by `call_id`);
`reasoning` items are the model's own and are not fed back. `system` and `developer` messages
go to the one leading system message the request builds. Consecutive turns of one role are one
turn (chat templates want roles to alternate). Items that refer to what OpenAI stores
(`item_reference`, …) or other item types are refused with a 400 that names the item.
"""

from __future__ import annotations

from typing import cast

from localaik.errors import BadRequest, Unsupported
from localaik.families.openai import responses_wire as responses
from localaik.families.openai.responses_content import (
    TEXT_PARTS,
    as_parts,
    collapse,
    content_parts,
    item_type,
)
from localaik.media.parts import Media, Part
from localaik.upstream import wire as upstream
from localaik.wire.types import JSONObject, JSONValue

ROLES = ("user", "assistant", "system", "developer")


def input_messages(
    value: JSONValue, media: Media, system: list[Part]
) -> list[upstream.ChatMessage]:
    """Chat messages for `input`; system and developer content is added to `system`."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}] if value else []
    if not isinstance(value, list):
        raise BadRequest("input must be a string or a list of input items", param="input")
    calls: dict[str, str] = {}  # call_id -> function name, of the function_call items so far
    messages: list[upstream.ChatMessage] = []
    for i, item in enumerate(value):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise BadRequest(f"{where} must be an object", param=where)
        kind = item_type(item, where)
        if kind is None and "role" in item:
            kind = "message"
        if kind == "message":
            message = _message(item, where)
            role = message["role"]
            parts = content_parts(message.get("content"), media, where, role)
            if role == "system" or role == "developer":
                system.extend(parts)
            elif parts:
                _append(messages, {"role": role, "content": collapse(parts)})
        elif kind == "function_call":
            _append(messages, _function_call(item, calls, where))
        elif kind == "function_call_output":
            _append(messages, _function_output(item, calls, where))
        elif kind == "reasoning":
            continue
        elif kind in responses.STATEFUL_ITEMS:
            raise Unsupported(
                f"{where}.type: {kind!r} items refer to items stored by OpenAI; "
                "localaik stores none: send the items themselves",
                param=f"{where}.type",
            )
        elif kind is None:
            raise BadRequest(
                f"{where}: an input item needs a type (or a role, for a message)", param=where
            )
        else:
            raise Unsupported(
                f"{where}.type: {kind!r} items are not supported by localaik "
                "(messages, function_call and function_call_output are)",
                param=f"{where}.type",
            )
    return messages


def _message(item: JSONObject, where: str) -> responses.EasyInputMessage:
    role = item.get("role")
    if role not in ROLES:
        raise BadRequest(
            f"{where}.role must be one of {', '.join(ROLES)} (got {role!r})",
            param=f"{where}.role",
        )
    return cast(responses.EasyInputMessage, item)  # its role is one of ROLES


def _append(messages: list[upstream.ChatMessage], message: upstream.ChatMessage) -> None:
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
        last["content"] = collapse(as_parts(last["content"]) + as_parts(message["content"]))


def _required_text(item: JSONObject, name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{where}.{name}: required string", param=f"{where}.{name}")
    return value


def _function_call(item: JSONObject, calls: dict[str, str], where: str) -> upstream.ChatMessage:
    """A `function_call` item (ResponseFunctionToolCall): the assistant's tool call."""
    call_id = _required_text(item, "call_id", where)
    name = _required_text(item, "name", where)
    arguments = item.get("arguments")
    if not isinstance(arguments, str):
        raise BadRequest(
            f"{where}.arguments must be a string (JSON text)", param=f"{where}.arguments"
        )
    if call_id in calls:
        raise BadRequest(
            f"{where}.call_id: {call_id!r} is the call_id of an earlier "
            "function_call; call ids must be unique",
            param=f"{where}.call_id",
        )
    calls[call_id] = name
    return {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        ],
    }


def _function_output(item: JSONObject, calls: dict[str, str], where: str) -> upstream.ChatMessage:
    """A `function_call_output` item (FunctionCallOutput): the tool's answer, as text."""
    call_id = _required_text(item, "call_id", where)
    if call_id not in calls:
        raise BadRequest(
            f"{where}.call_id: no function_call item with call_id {call_id!r} "
            "comes before this output",
            param=f"{where}.call_id",
        )
    output = item.get("output")
    if isinstance(output, list):
        texts = []
        for j, part in enumerate(output):
            text = part.get("text") if isinstance(part, dict) else None
            if (
                not isinstance(part, dict)
                or part.get("type") not in TEXT_PARTS
                or not isinstance(text, str)
            ):
                raise Unsupported(
                    f"{where}.output[{j}]: localaik takes text function outputs "
                    "only (a string or input_text parts)",
                    param=f"{where}.output[{j}]",
                )
            texts.append(text)
        output = "".join(texts)
    if not isinstance(output, str):
        raise BadRequest(
            f"{where}.output must be a string or a list of input_text parts",
            param=f"{where}.output",
        )
    return {"role": "tool", "tool_call_id": call_id, "name": calls[call_id], "content": output}
