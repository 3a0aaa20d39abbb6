"""Gemini GenerateContentRequest -> OpenAI chat-completions request.

`gemini_request_to_openai` takes a camel-cased body (`casing.camelize_request`): roles, system
instruction, text, inline data and file references (through `media`), function calls and
responses paired by id or name, code execution parts as text; `generation.py` translates
generationConfig, tools and toolConfig.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from typing import Literal, cast

from localaik.errors import BadRequest
from localaik.families.gemini import generation
from localaik.families.gemini import wire as gemini
from localaik.media import parts as media_parts
from localaik.media.parts import Media, Part
from localaik.upstream.wire import ChatCompletionRequest, ChatMessage, ToolCall
from localaik.wire.types import JSONObject

ROLES: dict[str, Literal["user", "assistant"]] = {
    "user": "user",
    "model": "assistant",
    "function": "user",
    "tool": "user",
}


def gemini_request_to_openai(
    body: object, *, upstream_model: str, stream: bool, media: Media
) -> ChatCompletionRequest:
    """A camel-cased GenerateContentRequest -> an OpenAI chat-completions request."""
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    request = cast(gemini.GenerateContentRequest, body)
    if request.get("safetySettings") is not None and not isinstance(
        request["safetySettings"], list
    ):
        raise BadRequest(
            "safetySettings must be a list of SafetySetting objects", param="safetySettings"
        )
    tool_config = generation.check_tool_config(request.get("toolConfig"))
    messages: list[ChatMessage] = []
    system = request.get("systemInstruction")
    if system is not None:
        content = _system_content(system, media)
        if content:
            messages.append({"role": "system", "content": content})
    messages.extend(_contents_to_messages(request.get("contents"), media))
    if not any(m["role"] != "system" for m in messages):
        raise BadRequest("contents must hold at least one non-empty message", param="contents")

    chat: ChatCompletionRequest = {"model": upstream_model, "messages": messages}
    config = request.get("generationConfig")
    if config is not None:
        if not isinstance(config, dict):
            raise BadRequest("generationConfig must be an object", param="generationConfig")
        chat.update(generation.generation_config(config))
    tools, names = generation.tools(request.get("tools"))
    if tools:
        chat["tools"] = tools
        choice, allowed = generation.tool_choice(tool_config, names)
        if allowed is not None:
            chat["tools"] = [t for t in tools if t["function"]["name"] in allowed]
        if choice is not None:
            chat["tool_choice"] = choice
    if stream:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _system_content(system: object, media: Media) -> str | list[Part]:
    if isinstance(system, str):
        return system
    if not isinstance(system, dict):
        raise BadRequest("systemInstruction must be a Content object", param="systemInstruction")
    parts = cast(gemini.Content, system).get("parts")
    if not isinstance(parts, list):
        raise BadRequest("systemInstruction.parts must be a list", param="systemInstruction")
    out: list[Part] = []
    for i, part in enumerate(parts):
        out.extend(_plain_part(part, media, f"systemInstruction.parts[{i}]"))
    return _collapse(out)


def _collapse(parts: list[Part]) -> str | list[Part]:
    """A single text part becomes a plain string; anything else stays a list of parts."""
    if len(parts) == 1:
        only = parts[0]
        if only["type"] == "text":
            return only["text"]
    return parts


class _CallIds:
    """Unique, deterministic tool-call ids, pairing responses to calls by id or else by name."""

    def __init__(self, taken: set[str]) -> None:
        self.count = 0
        self.taken = taken
        self.pending: dict[str, deque[str]] = defaultdict(deque)

    def new(self) -> str:
        while True:
            self.count += 1
            candidate = f"call_{self.count}"
            if candidate not in self.taken:
                return candidate

    def for_call(self, name: str, given: str | None) -> str:
        call_id = given if isinstance(given, str) and given else self.new()
        self.pending[name].append(call_id)
        return call_id

    def for_response(self, name: str, given: object) -> str:
        queue = self.pending[name]
        if isinstance(given, str) and given:
            if given in queue:
                queue.remove(given)
            return given
        return queue.popleft() if queue else self.new()


def _contents_to_messages(contents: object, media: Media) -> list[ChatMessage]:
    if contents is None:
        raise BadRequest("contents is required", param="contents")
    if isinstance(contents, dict):
        contents = [contents]
    if not isinstance(contents, list):
        raise BadRequest("contents must be a list of Content objects", param="contents")
    ids = _CallIds(_given_ids(contents))
    messages: list[ChatMessage] = []
    for i, content in enumerate(contents):
        for message in _content_to_messages(content, ids, media, f"contents[{i}]"):
            _append_merged(messages, message)
    return messages


def _given_ids(contents: list[object]) -> set[str]:
    """Ids the client already gave to function calls and responses (never handed out again)."""
    taken: set[str] = set()
    for content in contents:
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else []:
            for key in ("functionCall", "functionResponse"):
                value = part.get(key) if isinstance(part, dict) else None
                if isinstance(value, dict) and isinstance(value.get("id"), str):
                    taken.add(value["id"])
    return taken


def _append_merged(messages: list[ChatMessage], message: ChatMessage) -> None:
    """Consecutive turns of one role are one turn, as Gemini treats them.

    The SDKs produce them: a streamed chat records one model Content per chunk. Chat templates
    such as Gemma's require alternating roles, so they are merged here.
    """
    last = messages[-1] if messages else None
    if (
        last is None
        or message["role"] == "tool"
        or last["role"] != message["role"]
        or "tool_calls" in last
    ):
        messages.append(message)
        return
    before, after = _as_parts(last["content"]), _as_parts(message["content"])
    if last["role"] == "assistant" and before and after:
        end, start = before[-1], after[0]
        if end["type"] == "text" and start["type"] == "text":
            # A streamed answer recorded chunk by chunk: its pieces join with nothing between.
            before[-1] = media_parts.text_part(end["text"] + start["text"])
            after = after[1:]
    parts = before + after
    last["content"] = _collapse(parts) if parts else ""
    if "tool_calls" in message:
        last["tool_calls"] = message["tool_calls"]


def _as_parts(content: str | list[Part]) -> list[Part]:
    if isinstance(content, str):
        return [media_parts.text_part(content)] if content else []
    return list(content)


def _content_to_messages(
    value: object, ids: _CallIds, media: Media, where: str
) -> list[ChatMessage]:
    if not isinstance(value, dict):
        raise BadRequest(f"{where} must be a Content object")
    content = cast(gemini.Content, value)
    role_name = content.get("role") or "user"
    if not isinstance(role_name, str) or role_name.lower() not in ROLES:
        raise BadRequest(f"{where}.role: please use a valid role: user, model (got {role_name!r})")
    role = ROLES[role_name.lower()]
    parts = content.get("parts")
    if not isinstance(parts, list):
        raise BadRequest(f"{where}.parts must be a list")

    body: list[Part] = []
    calls: list[ToolCall] = []
    tool_messages: list[ChatMessage] = []
    for j, part in enumerate(parts):
        at = f"{where}.parts[{j}]"
        if not isinstance(part, dict):
            raise BadRequest(f"{at} must be a Part object")
        if "functionResponse" in part:
            tool_messages.append(_function_response(part["functionResponse"], ids, at))
        elif "functionCall" in part:
            call = _function_call(part["functionCall"], at)
            if role == "assistant":
                calls.append(
                    {
                        "id": ids.for_call(call["name"], call.get("id")),
                        "type": "function",
                        "function": {"name": call["name"], "arguments": _compact(call.get("args"))},
                    }
                )
            else:
                body.append(
                    media_parts.text_part(
                        f"Function call {call['name']}: {_compact(call.get('args'))}"
                    )
                )
        elif "toolCall" in part:
            body.append(
                media_parts.text_part(_labelled("Tool call", part["toolCall"], "toolType", "args"))
            )
        elif "toolResponse" in part:
            body.append(
                media_parts.text_part(
                    _labelled("Tool response", part["toolResponse"], "toolType", "response")
                )
            )
        elif "executableCode" in part:
            code = cast(
                gemini.ExecutableCode, _object(part["executableCode"], f"{at}.executableCode")
            )
            body.append(
                media_parts.text_part(
                    f"Executable code ({code.get('language') or 'PYTHON'}):\n{code.get('code', '')}"
                )
            )
        elif "codeExecutionResult" in part:
            result = cast(
                gemini.CodeExecutionResult,
                _object(part["codeExecutionResult"], f"{at}.codeExecutionResult"),
            )
            output = result.get("output")
            text = (
                f"Code execution result ({result.get('outcome')}): {output}"
                if output
                else f"Code execution result: {result.get('outcome')}"
            )
            body.append(media_parts.text_part(text))
        else:
            body.extend(_plain_part(part, media, at))

    messages: list[ChatMessage] = []
    if role == "assistant":
        if body or calls:
            message: ChatMessage = {"role": "assistant", "content": _collapse(body) if body else ""}
            if calls:
                message["tool_calls"] = calls
            messages.append(message)
        messages.extend(tool_messages)
    else:
        messages.extend(tool_messages)
        if body:
            messages.append({"role": role, "content": _collapse(body)})
    return messages


def _plain_part(value: object, media: Media, where: str) -> list[Part]:
    """Text, inlineData or fileData; thought parts are the model's own and are not fed back."""
    if not isinstance(value, dict):
        raise BadRequest(f"{where} must be a Part object")
    part = cast(gemini.Part, value)
    if part.get("thought") is True:
        return []
    if "text" in part:
        text = part["text"]
        if not isinstance(text, str):
            raise BadRequest(f"{where}.text must be a string")
        return [media_parts.text_part(text)] if text else []
    if "inlineData" in part:
        blob = cast(gemini.Blob, _object(part["inlineData"], f"{where}.inlineData"))
        mime = blob.get("mimeType")
        if not isinstance(mime, str) or not mime:
            raise BadRequest(f"{where}.inlineData.mimeType: required string")
        data = media_parts.decode_base64(blob.get("data"), f"{where}.inlineData.data")
        return media_parts.blob_to_parts(mime, data, media, f"{where}.inlineData")
    if "fileData" in part:
        ref = cast(gemini.FileData, _object(part["fileData"], f"{where}.fileData"))
        return media_parts.file_uri_to_parts(
            ref.get("fileUri"), ref.get("mimeType"), media, f"{where}.fileData"
        )
    return []


def _object(value: object, where: str) -> JSONObject:
    if not isinstance(value, dict):
        raise BadRequest(f"{where} must be an object")
    return value


def _compact(value: object) -> str:
    return json.dumps(value if value is not None else {}, separators=(",", ":"), ensure_ascii=False)


def _labelled(label: str, value: object, kind_key: str, data_key: str) -> str:
    """A server-side tool's call or response (`toolCall`, `toolResponse`) as text."""
    fields: JSONObject = value if isinstance(value, dict) else {}
    return f"{label} {fields.get(kind_key) or ''}: {_compact(fields.get(data_key))}"


def _function_call(value: object, where: str) -> gemini.FunctionCall:
    """The checked function call: a name, arguments when the client gave some, and the
    client's id when it is a non-empty string."""
    call = _object(value, f"{where}.functionCall")
    name = call.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest(f"{where}.functionCall.name: required string")
    args = call.get("args")
    if args is not None and not isinstance(args, dict):
        raise BadRequest(f"{where}.functionCall.args must be an object")
    checked: gemini.FunctionCall = {"name": name}
    if args is not None:
        checked["args"] = args
    call_id = call.get("id")
    if isinstance(call_id, str) and call_id:
        checked["id"] = call_id
    return checked


def _function_response(value: object, ids: _CallIds, where: str) -> ChatMessage:
    response = cast(gemini.FunctionResponse, _object(value, f"{where}.functionResponse"))
    name = response.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest(f"{where}.functionResponse.name: required string")
    if response.get("response") is not None:
        _object(response["response"], f"{where}.functionResponse.response")
    payload: dict[str, object] = {"response": response.get("response")}
    parts = response.get("parts")
    if isinstance(parts, list) and parts:
        payload["parts"] = parts
    return {
        "role": "tool",
        "tool_call_id": ids.for_response(name, response.get("id")),
        "name": name,
        "content": _compact(payload),
    }
