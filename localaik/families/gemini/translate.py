"""Gemini generateContent <-> OpenAI chat completions.

Request: `gemini_request_to_openai` (body already camel-cased by `protocol.gemini`).
Response: `openai_response_to_gemini`; streams: `GeminiStream`, fed one upstream chunk at a time.
Both directions need a little of the request (`GeminiContext`): the model the client asked for
and whether the answer is an enum to unwrap. It is derived from the request alone, so a replayed
answer is translated exactly as a live one.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from localaik.errors import BadRequest, Unsupported, UpstreamBadResponse
from localaik.families.gemini import wire as gemini
from localaik.families.gemini.schema import gemini_schema_to_json_schema
from localaik.media import parts as media_parts
from localaik.media.parts import Media, Part
from localaik.upstream.arguments import call_arguments

Message = dict[str, Any]

ROLES = {"user": "user", "model": "assistant", "function": "user", "tool": "user"}

# Gemini tools that only Google's servers can run.
SERVER_TOOLS = ("googleSearch", "googleSearchRetrieval", "codeExecution", "urlContext",
                "googleMaps", "retrieval", "fileSearch", "computerUse", "enterpriseWebSearch",
                "mcpServers")


@dataclass(frozen=True)
class GeminiContext:
    """What the response translation needs to know about the request."""

    model: str
    enum_output: bool = False
    include_thoughts: bool = False


def model_name(path_model: str) -> str:
    """The model as the client named it, without the `models/` prefix."""
    return path_model.removeprefix("models/")


def context_for(request: dict[str, Any], path_model: str) -> GeminiContext:
    config = request.get("generationConfig")
    config = config if isinstance(config, dict) else {}
    mime = config.get("responseMimeType")
    thinking = config.get("thinkingConfig")
    return GeminiContext(
        model=model_name(path_model),
        enum_output=isinstance(mime, str) and mime.lower() == "text/x.enum",
        include_thoughts=isinstance(thinking, dict) and thinking.get("includeThoughts") is True,
    )


# ---------------------------------------------------------------------------------------------
# Request


def gemini_request_to_openai(request: Any, *, upstream_model: str, stream: bool,
                             media: Media) -> dict[str, Any]:
    """A camel-cased GenerateContentRequest -> an OpenAI chat-completions request."""
    if not isinstance(request, dict):
        raise BadRequest("request body must be a JSON object")
    if "cachedContent" in request:
        raise Unsupported("cachedContent is not supported by localaik: send the contents inline",
                          param="cachedContent")
    if request.get("safetySettings") is not None \
            and not isinstance(request["safetySettings"], list):
        raise BadRequest("safetySettings must be a list of SafetySetting objects",
                         param="safetySettings")
    if request.get("toolConfig") is not None:
        _check_tool_config(request["toolConfig"])
    messages: list[Message] = []
    system = request.get("systemInstruction")
    if system is not None:
        content = _system_content(system, media)
        if content:
            messages.append({"role": "system", "content": content})
    messages.extend(_contents_to_messages(request.get("contents"), media))
    if not any(m["role"] != "system" for m in messages):
        raise BadRequest("contents must hold at least one non-empty message", param="contents")

    body: dict[str, Any] = {"model": upstream_model, "messages": messages}
    config = request.get("generationConfig")
    if config is not None:
        if not isinstance(config, dict):
            raise BadRequest("generationConfig must be an object", param="generationConfig")
        body.update(_generation_config(config))
    tools, names = _tools(request.get("tools"))
    if tools:
        body["tools"] = tools
        choice = _tool_choice(request.get("toolConfig"), names)
        if isinstance(choice, tuple):
            allowed, choice = choice
            body["tools"] = [t for t in tools if t["function"]["name"] in allowed]
        if choice is not None:
            body["tool_choice"] = choice
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _system_content(system: Any, media: Media) -> str | list[Part]:
    if isinstance(system, str):
        return system
    if not isinstance(system, dict):
        raise BadRequest("systemInstruction must be a Content object", param="systemInstruction")
    parts = system.get("parts")
    if not isinstance(parts, list):
        raise BadRequest("systemInstruction.parts must be a list", param="systemInstruction")
    out: list[Part] = []
    for i, part in enumerate(parts):
        out.extend(_plain_part(part, media, f"systemInstruction.parts[{i}]"))
    return _collapse(out)


def _collapse(parts: list[Part]) -> str | list[Part]:
    """A single text part becomes a plain string; anything else stays a list of parts."""
    if len(parts) == 1 and parts[0]["type"] == "text":
        return parts[0]["text"]
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

    def for_call(self, name: str, given: Any) -> str:
        call_id = given if isinstance(given, str) and given else self.new()
        self.pending[name].append(call_id)
        return call_id

    def for_response(self, name: str, given: Any) -> str:
        queue = self.pending[name]
        if isinstance(given, str) and given:
            if given in queue:
                queue.remove(given)
            return given
        return queue.popleft() if queue else self.new()


def _contents_to_messages(contents: Any, media: Media) -> list[Message]:
    if contents is None:
        raise BadRequest("contents is required", param="contents")
    if isinstance(contents, dict):
        contents = [contents]
    if not isinstance(contents, list):
        raise BadRequest("contents must be a list of Content objects", param="contents")
    ids = _CallIds(_given_ids(contents))
    messages: list[Message] = []
    for i, content in enumerate(contents):
        for message in _content_to_messages(content, ids, media, f"contents[{i}]"):
            _append_merged(messages, message)
    return messages


def _given_ids(contents: list[Any]) -> set[str]:
    """Ids the client already gave to function calls and responses (never handed out again)."""
    taken = set()
    for content in contents:
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else []:
            for key in ("functionCall", "functionResponse"):
                value = part.get(key) if isinstance(part, dict) else None
                if isinstance(value, dict) and isinstance(value.get("id"), str):
                    taken.add(value["id"])
    return taken


def _append_merged(messages: list[Message], message: Message) -> None:
    """Consecutive turns of one role are one turn, as Gemini treats them.

    The SDKs produce them: a streamed chat records one model Content per chunk. Chat templates
    such as Gemma's require alternating roles, so they are merged here.
    """
    last = messages[-1] if messages else None
    if last is None or message["role"] == "tool" or last["role"] != message["role"] \
            or "tool_calls" in last:
        messages.append(message)
        return
    before, after = _as_parts(last["content"]), _as_parts(message["content"])
    if last["role"] == "assistant" and before and after and before[-1]["type"] == "text" \
            and after[0]["type"] == "text":
        # A streamed answer recorded chunk by chunk: its pieces join with nothing between.
        before[-1] = media_parts.text_part(before[-1]["text"] + after[0]["text"])
        after = after[1:]
    parts = before + after
    last["content"] = _collapse(parts) if parts else ""
    if "tool_calls" in message:
        last["tool_calls"] = message["tool_calls"]


def _as_parts(content: str | list[Part]) -> list[Part]:
    if isinstance(content, str):
        return [media_parts.text_part(content)] if content else []
    return list(content)


def _content_to_messages(content: Any, ids: _CallIds, media: Media, where: str) -> list[Message]:
    if not isinstance(content, dict):
        raise BadRequest(f"{where} must be a Content object")
    role_name = content.get("role") or "user"
    if not isinstance(role_name, str) or role_name.lower() not in ROLES:
        raise BadRequest(f"{where}.role: please use a valid role: user, model (got {role_name!r})")
    role = ROLES[role_name.lower()]
    parts = content.get("parts")
    if not isinstance(parts, list):
        raise BadRequest(f"{where}.parts must be a list")

    body: list[Part] = []
    calls: list[dict[str, Any]] = []
    tool_messages: list[Message] = []
    for j, part in enumerate(parts):
        at = f"{where}.parts[{j}]"
        if not isinstance(part, dict):
            raise BadRequest(f"{at} must be a Part object")
        if "functionResponse" in part:
            tool_messages.append(_function_response(part["functionResponse"], ids, at))
        elif "functionCall" in part:
            call = _function_call(part["functionCall"], at)
            if role == "assistant":
                calls.append({"id": ids.for_call(call["name"], call["id"]), "type": "function",
                              "function": {"name": call["name"],
                                           "arguments": _compact(call["args"])}})
            else:
                body.append(media_parts.text_part(
                    f"Function call {call['name']}: {_compact(call['args'])}"))
        elif "toolCall" in part:
            body.append(media_parts.text_part(_labelled("Tool call", part["toolCall"],
                                                        "toolType", "args")))
        elif "toolResponse" in part:
            body.append(media_parts.text_part(_labelled("Tool response", part["toolResponse"],
                                                        "toolType", "response")))
        elif "executableCode" in part:
            code = _object(part["executableCode"], f"{at}.executableCode")
            body.append(media_parts.text_part(
                f"Executable code ({code.get('language') or 'PYTHON'}):\n{code.get('code', '')}"))
        elif "codeExecutionResult" in part:
            result = _object(part["codeExecutionResult"], f"{at}.codeExecutionResult")
            output = result.get("output")
            text = f"Code execution result ({result.get('outcome')}): {output}" if output \
                else f"Code execution result: {result.get('outcome')}"
            body.append(media_parts.text_part(text))
        else:
            body.extend(_plain_part(part, media, at))

    messages: list[Message] = []
    if role == "assistant":
        if body or calls:
            message: Message = {"role": "assistant", "content": _collapse(body) if body else ""}
            if calls:
                message["tool_calls"] = calls
            messages.append(message)
        messages.extend(tool_messages)
    else:
        messages.extend(tool_messages)
        if body:
            messages.append({"role": role, "content": _collapse(body)})
    return messages


def _plain_part(part: Any, media: Media, where: str) -> list[Part]:
    """Text, inlineData or fileData; thought parts are the model's own and are not fed back."""
    if not isinstance(part, dict):
        raise BadRequest(f"{where} must be a Part object")
    if part.get("thought") is True:
        return []
    if "text" in part:
        text = part["text"]
        if not isinstance(text, str):
            raise BadRequest(f"{where}.text must be a string")
        return [media_parts.text_part(text)] if text else []
    if "inlineData" in part:
        blob = _object(part["inlineData"], f"{where}.inlineData")
        mime = blob.get("mimeType")
        if not isinstance(mime, str) or not mime:
            raise BadRequest(f"{where}.inlineData.mimeType: required string")
        data = media_parts.decode_base64(blob.get("data"), f"{where}.inlineData.data")
        return media_parts.blob_to_parts(mime, data, media, f"{where}.inlineData")
    if "fileData" in part:
        ref = _object(part["fileData"], f"{where}.fileData")
        return media_parts.file_uri_to_parts(ref.get("fileUri"), ref.get("mimeType"), media,
                                             f"{where}.fileData")
    return []


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"{where} must be an object")
    return value


def _compact(value: Any) -> str:
    return json.dumps(value if value is not None else {}, separators=(",", ":"),
                      ensure_ascii=False)


def _labelled(label: str, value: Any, kind_key: str, data_key: str) -> str:
    value = value if isinstance(value, dict) else {}
    return f"{label} {value.get(kind_key) or ''}: {_compact(value.get(data_key))}"


def _function_call(value: Any, where: str) -> dict[str, Any]:
    call = _object(value, f"{where}.functionCall")
    name = call.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest(f"{where}.functionCall.name: required string")
    args = call.get("args")
    if args is not None and not isinstance(args, dict):
        raise BadRequest(f"{where}.functionCall.args must be an object")
    return {"name": name, "id": call.get("id"), "args": args}


def _function_response(value: Any, ids: _CallIds, where: str) -> Message:
    response = _object(value, f"{where}.functionResponse")
    name = response.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest(f"{where}.functionResponse.name: required string")
    if response.get("response") is not None:
        _object(response["response"], f"{where}.functionResponse.response")
    payload: dict[str, Any] = {"response": response.get("response")}
    if isinstance(response.get("parts"), list) and response["parts"]:
        payload["parts"] = response["parts"]
    return {"role": "tool", "tool_call_id": ids.for_response(name, response.get("id")),
            "name": name, "content": _compact(payload)}


_NUMBER_FIELDS = {
    "temperature": "temperature",
    "topP": "top_p",
    "presencePenalty": "presence_penalty",
    "frequencyPenalty": "frequency_penalty",
}
_INT_FIELDS = {"topK": "top_k", "maxOutputTokens": "max_tokens", "seed": "seed"}


def _number(config: dict[str, Any], key: str) -> float | int:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"generationConfig.{key} must be a number (got {value!r})",
                         param=f"generationConfig.{key}")
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _integer(config: dict[str, Any], key: str) -> int:
    value = _number(config, key)
    if not isinstance(value, int):
        raise BadRequest(f"generationConfig.{key} must be a whole number (got {value!r})",
                         param=f"generationConfig.{key}")
    return value


def _generation_config(config: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, target in _NUMBER_FIELDS.items():
        if config.get(key) is not None:
            out[target] = _number(config, key)
    for key, target in _INT_FIELDS.items():
        if config.get(key) is not None:
            out[target] = _integer(config, key)
    # llama-server reads a negative max_tokens as "no limit": refuse it rather than change
    # the answer's length.
    if out.get("max_tokens", 1) < 1:
        raise BadRequest(f"generationConfig.maxOutputTokens must be at least 1 (got "
                         f"{out['max_tokens']})", param="generationConfig.maxOutputTokens")
    if config.get("candidateCount") is not None:
        count = _integer(config, "candidateCount")
        if count < 1:
            raise BadRequest("generationConfig.candidateCount must be at least 1")
        if count != 1:
            out["n"] = count
    stops = config.get("stopSequences")
    if stops:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise BadRequest("generationConfig.stopSequences must be a list of strings")
        out["stop"] = stops
    if config.get("responseLogprobs") is True:
        out["logprobs"] = True
    if config.get("logprobs") is not None:
        out["logprobs"] = True
        out["top_logprobs"] = _integer(config, "logprobs")
    modalities = config.get("responseModalities")
    if isinstance(modalities, list) and any(str(m).upper() != "TEXT" for m in modalities):
        raise Unsupported("generationConfig.responseModalities: localaik answers with TEXT only",
                          param="generationConfig.responseModalities")
    if config.get("speechConfig") is not None:
        raise Unsupported("generationConfig.speechConfig: localaik does not produce audio",
                          param="generationConfig.speechConfig")
    response_format = _response_format(config)
    if response_format is not None:
        out["response_format"] = response_format
    return out


def _response_format(config: dict[str, Any]) -> dict[str, Any] | None:
    mime = config.get("responseMimeType")
    if mime is not None and not isinstance(mime, str):
        raise BadRequest(f"generationConfig.responseMimeType must be a string (got {mime!r})",
                         param="generationConfig.responseMimeType")
    mime = mime.lower() if isinstance(mime, str) else ""
    schema: Any = None
    if config.get("responseSchema") is not None:
        schema = gemini_schema_to_json_schema(config["responseSchema"])
    elif config.get("responseJsonSchema") is not None:
        schema = config["responseJsonSchema"]
    if mime == "text/x.enum":
        if not isinstance(schema, dict) or not isinstance(schema.get("enum"), list):
            raise BadRequest("responseMimeType text/x.enum needs a responseSchema with an enum",
                             param="generationConfig.responseSchema")
        schema = {"type": "string", "enum": schema["enum"]}
    if schema is not None:
        if not isinstance(schema, dict):
            raise BadRequest("generationConfig.responseSchema must be an object")
        return {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}
    if mime == "application/json":
        return {"type": "json_object"}
    return None


def _tools(tools: Any) -> tuple[list[dict[str, Any]], list[str]]:
    if tools is None:
        return [], []
    if not isinstance(tools, list):
        raise BadRequest("tools must be a list", param="tools")
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise BadRequest(f"tools[{i}] must be an object")
        for key in tool:
            if key in SERVER_TOOLS:
                raise Unsupported(
                    f"tools[{i}].{key}: this tool runs on Google's servers and localaik cannot "
                    "serve it; only functionDeclarations are supported", param=f"tools[{i}].{key}")
        declarations = tool.get("functionDeclarations") or []
        if not isinstance(declarations, list):
            raise BadRequest(f"tools[{i}].functionDeclarations must be a list")
        for j, declaration in enumerate(declarations):
            out.append(_function_tool(declaration, f"tools[{i}].functionDeclarations[{j}]"))
    return out, [t["function"]["name"] for t in out]


def _function_tool(declaration: Any, where: str) -> dict[str, Any]:
    declaration = _object(declaration, where)
    name = declaration.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest(f"{where}.name: required string")
    function: dict[str, Any] = {"name": name}
    if isinstance(declaration.get("description"), str):
        function["description"] = declaration["description"]
    if declaration.get("parametersJsonSchema") is not None:
        function["parameters"] = declaration["parametersJsonSchema"]
    elif declaration.get("parameters") is not None:
        _object(declaration["parameters"], f"{where}.parameters")
        function["parameters"] = gemini_schema_to_json_schema(declaration["parameters"])
    return {"type": "function", "function": function}


def _check_tool_config(tool_config: Any) -> None:
    calling = _object(tool_config, "toolConfig").get("functionCallingConfig")
    if calling is None:
        return
    allowed = _object(calling, "toolConfig.functionCallingConfig").get("allowedFunctionNames")
    if allowed is not None and (not isinstance(allowed, list)
                                or not all(isinstance(n, str) for n in allowed)):
        raise BadRequest("toolConfig.functionCallingConfig.allowedFunctionNames must be a list "
                         "of function names", param="toolConfig")


def _tool_choice(tool_config: Any, names: list[str]) -> Any:
    """toolConfig -> tool_choice; (allowed names, choice) when the tool list must be narrowed."""
    if not isinstance(tool_config, dict):
        return None
    calling = tool_config.get("functionCallingConfig")
    if not isinstance(calling, dict):
        return None
    mode = str(calling.get("mode") or "AUTO").upper()
    if mode in ("AUTO", "MODE_UNSPECIFIED"):
        return "auto"
    if mode == "NONE":
        return "none"
    if mode in ("ANY", "VALIDATED"):
        allowed = calling.get("allowedFunctionNames")
        if isinstance(allowed, list) and allowed:
            unknown = [n for n in allowed if n not in names]
            if unknown:
                raise BadRequest(f"toolConfig.functionCallingConfig.allowedFunctionNames: "
                                 f"{unknown[0]!r} is not a declared function")
            if len(allowed) == 1:
                return {"type": "function", "function": {"name": allowed[0]}}
            return set(allowed), "required"
        return "required"
    raise BadRequest(f"toolConfig.functionCallingConfig.mode: unknown mode {mode!r}")


# ---------------------------------------------------------------------------------------------
# Response


def response_id(upstream_id: Any) -> str | None:
    if not isinstance(upstream_id, str) or not upstream_id:
        return None
    return upstream_id.removeprefix("chatcmpl-")


def usage_metadata(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    total = int(usage.get("total_tokens") or prompt + completion)
    meta: dict[str, Any] = {"promptTokenCount": prompt, "candidatesTokenCount": completion,
                            "totalTokenCount": total}
    details = usage.get("prompt_tokens_details")
    if isinstance(details, dict) and details.get("cached_tokens"):
        meta["cachedContentTokenCount"] = int(details["cached_tokens"])
    return meta


def _text_parts(content: Any, ctx: GeminiContext) -> list[Part]:
    if isinstance(content, str):
        texts = [content] if content else []
    elif isinstance(content, list):
        texts = [c.get("text") for c in content
                 if isinstance(c, dict) and c.get("type") in (None, "text") and c.get("text")]
    else:
        texts = []
    if ctx.enum_output:
        texts = [_unwrap_enum(t) for t in texts]
    return [{"text": t} for t in texts]


def _unwrap_enum(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _thought_parts(message: dict[str, Any], ctx: GeminiContext) -> list[Part]:
    reasoning = message.get("reasoning_content")
    if ctx.include_thoughts and isinstance(reasoning, str) and reasoning:
        return [{"text": reasoning, "thought": True}]
    return []


def function_call_part(name: Any, arguments: Any) -> Part:
    if not isinstance(name, str) or not name:
        raise UpstreamBadResponse("upstream returned a tool call without a function name")
    return {"functionCall": {"name": name, "args": call_arguments(name, arguments)}}


def _envelope(ctx: GeminiContext, upstream_id: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"modelVersion": ctx.model}
    rid = response_id(upstream_id)
    if rid:
        out["responseId"] = rid
    return out


def openai_response_to_gemini(response: Any, ctx: GeminiContext) -> dict[str, Any]:
    """A chat.completion -> a GenerateContentResponse."""
    if not isinstance(response, dict) or not isinstance(response.get("choices"), list):
        raise UpstreamBadResponse("upstream answer has no choices")
    candidates = []
    for position, choice in enumerate(response["choices"]):
        if not isinstance(choice, dict):
            raise UpstreamBadResponse("upstream choice is not an object")
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        parts = _thought_parts(message, ctx) + _text_parts(message.get("content"), ctx)
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                parts.append(function_call_part(function.get("name"), function.get("arguments")))
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
        reason = gemini.finish_reason(choice.get("finish_reason"))
        if reason:
            candidate["finishReason"] = reason
        index = choice.get("index")
        candidate["index"] = index if isinstance(index, int) else position
        candidates.append(candidate)
    out: dict[str, Any] = {"candidates": candidates}
    usage = usage_metadata(response.get("usage"))
    if usage:
        out["usageMetadata"] = usage
    out.update(_envelope(ctx, response.get("id")))
    return out


@dataclass
class _Choice:
    calls: dict[int, dict[str, str]] = field(default_factory=dict)
    finish: str | None = None
    held_text: str = ""


class GeminiStream:
    """Turns upstream chat.completion.chunk objects into streamed GenerateContentResponses.

    Text is passed on as it arrives. Tool calls are accumulated by index and sent whole, with the
    finish reason and usage, in one final chunk (also when the upstream never sent a finish
    reason: that chunk then says STOP).
    """

    def __init__(self, ctx: GeminiContext) -> None:
        self.ctx = ctx
        self.upstream_id: Any = None
        self.choices: dict[int, _Choice] = {}
        self.usage: dict[str, Any] | None = None

    def feed(self, chunk: Any) -> list[dict[str, Any]]:
        if not isinstance(chunk, dict):
            raise UpstreamBadResponse("upstream stream chunk is not a JSON object")
        if self.upstream_id is None:
            self.upstream_id = chunk.get("id")
        usage = usage_metadata(chunk.get("usage"))
        if usage:
            self.usage = usage
        candidates = []
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index") if isinstance(choice.get("index"), int) else 0
            state = self.choices.setdefault(index, _Choice())
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            for call in delta.get("tool_calls") or []:
                self._accumulate(state, call)
            if choice.get("finish_reason"):
                state.finish = choice["finish_reason"]
            parts = _thought_parts(delta, self.ctx)
            if self.ctx.enum_output:
                # An enum answer arrives as a quoted JSON string split over deltas: it is held
                # and sent unquoted with the closing chunk, as the non-stream answer is.
                if isinstance(delta.get("content"), str):
                    state.held_text += delta["content"]
            else:
                parts += _text_parts(delta.get("content"), self.ctx)
            if parts:
                candidates.append({"content": {"role": "model", "parts": parts}, "index": index})
        if not candidates:
            return []
        return [{"candidates": candidates, **_envelope(self.ctx, self.upstream_id)}]

    @staticmethod
    def _accumulate(state: _Choice, call: Any) -> None:
        if not isinstance(call, dict):
            return
        index = call.get("index") if isinstance(call.get("index"), int) else len(state.calls)
        entry = state.calls.setdefault(index, {"name": "", "arguments": ""})
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        if function.get("name"):
            entry["name"] = function["name"]
        if isinstance(function.get("arguments"), str):
            entry["arguments"] += function["arguments"]

    def finish(self) -> list[dict[str, Any]]:
        """The closing chunk: accumulated function calls, finish reasons and usage."""
        candidates = []
        for index, state in sorted(self.choices.items()) or [(0, _Choice())]:
            parts = _text_parts(state.held_text, self.ctx)
            parts += [function_call_part(c["name"], c["arguments"])
                      for _, c in sorted(state.calls.items())]
            # An SDK chat drops a streamed turn whose chunk has no parts: say "" instead.
            parts = parts or [{"text": ""}]
            candidates.append({"content": {"role": "model", "parts": parts},
                               "finishReason": gemini.finish_reason(state.finish) or "STOP",
                               "index": index})
        out: dict[str, Any] = {"candidates": candidates}
        if self.usage:
            out["usageMetadata"] = self.usage
        out.update(_envelope(self.ctx, self.upstream_id))
        return [out]


# ---------------------------------------------------------------------------------------------
# countTokens and models


def count_tokens_text(request: Any) -> str:
    """The text whose tokens countTokens counts: system instruction and every text part."""
    if not isinstance(request, dict):
        raise BadRequest("request body must be a JSON object")
    source = request.get("generateContentRequest") if isinstance(
        request.get("generateContentRequest"), dict) else request
    contents = source.get("contents")
    if contents is None:
        contents = []
    if not isinstance(contents, list):
        raise BadRequest("contents must be a list of Content objects", param="contents")
    texts: list[str] = []
    system = source.get("systemInstruction")
    for content in ([system] if isinstance(system, dict) else []) + contents:
        if not isinstance(content, dict) or not isinstance(content.get("parts", []), list):
            raise BadRequest("contents must be a list of Content objects", param="contents")
        for part in content.get("parts", []):
            if not isinstance(part, dict):
                raise BadRequest("contents[].parts[] must be Part objects", param="contents")
            if "text" in part and not isinstance(part["text"], str):
                raise BadRequest(f"a text part must hold a string (got {part['text']!r:.40})",
                                 param="contents")
            if part.get("text"):
                texts.append(part["text"])
    return "\n".join(texts)


def gemini_model(model_id: str, upstream: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Gemini `Model` object for a model name, served by an upstream model entry."""
    served = upstream.get("id") if upstream else None
    out: dict[str, Any] = {
        "name": f"models/{model_id}",
        "version": "001",
        "displayName": model_id,
        "description": f"Served by localaik from the local model {served or model_id}",
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
    }
    meta = upstream.get("meta") if upstream else None
    if isinstance(meta, dict) and isinstance(meta.get("n_ctx_train"), int):
        out["inputTokenLimit"] = meta["n_ctx_train"]
        out["outputTokenLimit"] = meta["n_ctx_train"]
    return out
