"""Gemini generationConfig, tools and toolConfig -> the OpenAI chat-completions fields.

Every generationConfig field has its OpenAI counterpart (`topK` 40.0 -> `top_k` 40); structured
output (`responseSchema` in Gemini's schema dialect, or `responseJsonSchema`, and the
`text/x.enum` MIME type) becomes `response_format`; function declarations become function
tools; `toolConfig` becomes `tool_choice` (ANY with several names narrows the tool list).
Tools that only Google's servers run are refused, naming the tool.
"""

from __future__ import annotations

from typing import Literal, cast

from localaik.errors import BadRequest, Unsupported
from localaik.families.gemini import wire as gemini
from localaik.families.gemini.schema import gemini_schema_to_json_schema, object_schema
from localaik.upstream.wire import (
    ChatCompletionRequest,
    FunctionDefinition,
    FunctionTool,
    ResponseFormat,
    ToolChoice,
)
from localaik.wire.types import JSONObject, JSONValue

# Gemini tools that only Google's servers can run.
SERVER_TOOLS = (
    "googleSearch",
    "googleSearchRetrieval",
    "codeExecution",
    "urlContext",
    "googleMaps",
    "retrieval",
    "fileSearch",
    "computerUse",
    "enterpriseWebSearch",
    "mcpServers",
)


NumberKey = Literal["temperature", "topP", "presencePenalty", "frequencyPenalty"]
IntKey = Literal["topK", "maxOutputTokens", "seed", "candidateCount", "logprobs"]

_NUMBER_FIELDS: dict[
    NumberKey, Literal["temperature", "top_p", "presence_penalty", "frequency_penalty"]
] = {
    "temperature": "temperature",
    "topP": "top_p",
    "presencePenalty": "presence_penalty",
    "frequencyPenalty": "frequency_penalty",
}
_INT_FIELDS: dict[IntKey, Literal["top_k", "max_tokens", "seed"]] = {
    "topK": "top_k",
    "maxOutputTokens": "max_tokens",
    "seed": "seed",
}


def _number(config: gemini.GenerationConfig, key: Literal[NumberKey, IntKey]) -> float | int:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(
            f"generationConfig.{key} must be a number (got {value!r})",
            param=f"generationConfig.{key}",
        )
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _integer(config: gemini.GenerationConfig, key: IntKey) -> int:
    value = _number(config, key)
    if not isinstance(value, int):
        raise BadRequest(
            f"generationConfig.{key} must be a whole number (got {value!r})",
            param=f"generationConfig.{key}",
        )
    return value


def generation_config(config: gemini.GenerationConfig) -> ChatCompletionRequest:
    """The chat-completions fields of a generationConfig (an object, its fields unchecked)."""
    out: ChatCompletionRequest = {}
    for number_key, number_target in _NUMBER_FIELDS.items():
        if config.get(number_key) is not None:
            out[number_target] = _number(config, number_key)
    for int_key, int_target in _INT_FIELDS.items():
        if config.get(int_key) is not None:
            out[int_target] = _integer(config, int_key)
    # llama-server reads a negative max_tokens as "no limit": refuse it rather than change
    # the answer's length.
    if out.get("max_tokens", 1) < 1:
        raise BadRequest(
            f"generationConfig.maxOutputTokens must be at least 1 (got {out['max_tokens']})",
            param="generationConfig.maxOutputTokens",
        )
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
        raise Unsupported(
            "generationConfig.responseModalities: localaik answers with TEXT only",
            param="generationConfig.responseModalities",
        )
    if config.get("speechConfig") is not None:
        raise Unsupported(
            "generationConfig.speechConfig: localaik does not produce audio",
            param="generationConfig.speechConfig",
        )
    response_format = _response_format(config)
    if response_format is not None:
        out["response_format"] = response_format
    return out


def _response_format(config: gemini.GenerationConfig) -> ResponseFormat | None:
    mime = config.get("responseMimeType")
    if mime is not None and not isinstance(mime, str):
        raise BadRequest(
            f"generationConfig.responseMimeType must be a string (got {mime!r})",
            param="generationConfig.responseMimeType",
        )
    mime = mime.lower() if isinstance(mime, str) else ""
    schema: JSONValue = None
    if config.get("responseSchema") is not None:
        schema = gemini_schema_to_json_schema(config["responseSchema"])
    elif config.get("responseJsonSchema") is not None:
        schema = config["responseJsonSchema"]
    if mime == "text/x.enum":
        if not isinstance(schema, dict) or not isinstance(schema.get("enum"), list):
            raise BadRequest(
                "responseMimeType text/x.enum needs a responseSchema with an enum",
                param="generationConfig.responseSchema",
            )
        schema = {"type": "string", "enum": schema["enum"]}
    if schema is not None:
        if not isinstance(schema, dict):
            raise BadRequest("generationConfig.responseSchema must be an object")
        return {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}
    if mime == "application/json":
        return {"type": "json_object"}
    return None


def tools(tools: object) -> tuple[list[FunctionTool], list[str]]:
    """The function tools of a request's `tools`, and their names."""
    if tools is None:
        return [], []
    if not isinstance(tools, list):
        raise BadRequest("tools must be a list", param="tools")
    out: list[FunctionTool] = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise BadRequest(f"tools[{i}] must be an object")
        tool = cast(gemini.Tool, tool)
        for key in tool:
            if key in SERVER_TOOLS:
                raise Unsupported(
                    f"tools[{i}].{key}: this tool runs on Google's servers and localaik cannot "
                    "serve it; only functionDeclarations are supported",
                    param=f"tools[{i}].{key}",
                )
        declarations = tool.get("functionDeclarations") or []
        if not isinstance(declarations, list):
            raise BadRequest(f"tools[{i}].functionDeclarations must be a list")
        for j, declaration in enumerate(declarations):
            out.append(_function_tool(declaration, f"tools[{i}].functionDeclarations[{j}]"))
    return out, [t["function"]["name"] for t in out]


def _function_tool(value: object, where: str) -> FunctionTool:
    declaration = cast(gemini.FunctionDeclaration, _object(value, where))
    name = declaration.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest(f"{where}.name: required string")
    function: FunctionDefinition = {"name": name}
    description = declaration.get("description")
    if isinstance(description, str):
        function["description"] = description
    if declaration.get("parametersJsonSchema") is not None:
        function["parameters"] = declaration["parametersJsonSchema"]
    elif declaration.get("parameters") is not None:
        parameters = _object(declaration["parameters"], f"{where}.parameters")
        function["parameters"] = object_schema(parameters)
    return {"type": "function", "function": function}


def check_tool_config(tool_config: object) -> gemini.ToolConfig | None:
    """A request's toolConfig, once its function-calling config and allowed names are known
    to be an object and a list of names (its mode is read as `tool_choice` reads it)."""
    if tool_config is None:
        return None
    checked = _object(tool_config, "toolConfig")
    calling = checked.get("functionCallingConfig")
    if calling is not None:
        allowed = _object(calling, "toolConfig.functionCallingConfig").get("allowedFunctionNames")
        if allowed is not None and (
            not isinstance(allowed, list) or not all(isinstance(n, str) for n in allowed)
        ):
            raise BadRequest(
                "toolConfig.functionCallingConfig.allowedFunctionNames must be a list "
                "of function names",
                param="toolConfig",
            )
    return cast(gemini.ToolConfig, checked)


def tool_choice(
    tool_config: gemini.ToolConfig | None, names: list[str]
) -> tuple[ToolChoice | None, set[str] | None]:
    """toolConfig -> tool_choice, and the names the tool list is narrowed to (ANY with several
    allowed names), else None."""
    if tool_config is None:
        return None, None
    calling = tool_config.get("functionCallingConfig")
    if calling is None:
        return None, None
    mode = str(calling.get("mode") or "AUTO").upper()
    if mode in ("AUTO", "MODE_UNSPECIFIED"):
        return "auto", None
    if mode == "NONE":
        return "none", None
    if mode in ("ANY", "VALIDATED"):
        allowed = calling.get("allowedFunctionNames")
        if allowed:
            unknown = [n for n in allowed if n not in names]
            if unknown:
                raise BadRequest(
                    f"toolConfig.functionCallingConfig.allowedFunctionNames: "
                    f"{unknown[0]!r} is not a declared function"
                )
            if len(allowed) == 1:
                return {"type": "function", "function": {"name": allowed[0]}}, None
            return "required", set(allowed)
        return "required", None
    raise BadRequest(f"toolConfig.functionCallingConfig.mode: unknown mode {mode!r}")


def _object(value: object, where: str) -> JSONObject:
    if not isinstance(value, dict):
        raise BadRequest(f"{where} must be an object")
    return value
