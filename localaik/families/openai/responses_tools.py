"""A Responses API request's tools and output format -> the chat-completions ones.

Function `tools` (the Responses API's flat form: `name` beside `type`) become chat tools
(`function: {name, …}`); `tool_choice` becomes the chat one, and `allowed_tools` narrows the
tools sent instead, since chat completions has no such choice; `text.format` (`json_schema`,
`json_object`) becomes `response_format`. Built-in tools (web search, file search, computer use,
code interpreter, …) run on OpenAI's servers and are refused with a 400 that names the tool.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypeAlias, cast

from localaik.errors import BadRequest, Unsupported
from localaik.families.openai import responses_wire as responses
from localaik.upstream import wire as upstream
from localaik.wire.types import JSONValue

Narrowed: TypeAlias = tuple[set[str], Literal["auto", "required"]]
"""An `allowed_tools` choice: the names of the tools to send, and the chat `tool_choice`."""


class JsonSchemaFormat(upstream.JsonSchemaFormat):
    """The upstream's `json_schema`, with the `strict` flag `upstream.JsonSchemaFormat` does
    not list yet."""

    strict: NotRequired[bool]


def chat_tools(tools: JSONValue) -> list[upstream.FunctionTool]:
    """The chat tools for `tools` (none when it is absent)."""
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise BadRequest("tools must be a list", param="tools")
    return [_chat_tool(_function_tool(tool, f"tools[{i}]")) for i, tool in enumerate(tools)]


def _function_tool(tool: JSONValue, where: str) -> responses.FunctionTool:
    if not isinstance(tool, dict):
        raise BadRequest(f"{where} must be an object", param=where)
    kind = tool.get("type")
    if kind != "function":
        raise Unsupported(
            f"{where}.type: {kind!r} tools are not supported by localaik; "
            "it serves function tools only (built-in tools such as "
            "web_search, file_search, computer use or code_interpreter run "
            "on OpenAI's servers)",
            param=f"{where}.type",
        )
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest(f"{where}.name: required string", param=f"{where}.name")
    if tool.get("parameters") is not None and not isinstance(tool.get("parameters"), dict):
        raise BadRequest(
            f"{where}.parameters must be a JSON Schema object", param=f"{where}.parameters"
        )
    return cast(responses.FunctionTool, tool)  # its type, name and parameters, checked


def _chat_tool(tool: responses.FunctionTool) -> upstream.FunctionTool:
    function: upstream.FunctionDefinition = {"name": tool["name"]}
    description = tool.get("description")
    if isinstance(description, str):
        function["description"] = description
    parameters = tool.get("parameters")
    if parameters is not None:
        function["parameters"] = parameters
    strict = tool.get("strict")
    if isinstance(strict, bool):
        function["strict"] = strict
    return {"type": "function", "function": function}


def tool_choice(choice: JSONValue, names: list[str]) -> upstream.ToolChoice | Narrowed | None:
    """`tool_choice` -> the chat one, or the tools to keep and the choice among them."""
    if choice is None:
        return None
    if choice in ("auto", "none", "required"):
        return cast(upstream.ToolChoice, choice)  # one of the three
    if not isinstance(choice, dict):
        raise BadRequest(
            "tool_choice must be auto, none, required or an object", param="tool_choice"
        )
    kind = choice.get("type")
    if kind == "function":
        name = choice.get("name")
        if not isinstance(name, str) or name not in names:
            raise BadRequest(
                f"tool_choice.name: {name!r} is not one of the function tools",
                param="tool_choice.name",
            )
        return {"type": "function", "function": {"name": name}}
    if kind == "allowed_tools":
        mode = choice.get("mode", "auto")
        listed = choice.get("tools")
        if mode not in ("auto", "required") or not isinstance(listed, list) or not listed:
            raise BadRequest(
                "tool_choice: allowed_tools needs a mode (auto or required) and "
                "a non-empty tools list",
                param="tool_choice",
            )
        allowed = set()
        for j, tool in enumerate(listed):
            name = tool.get("name") if isinstance(tool, dict) else None
            if not isinstance(tool, dict) or tool.get("type") != "function" or name not in names:
                raise BadRequest(
                    f"tool_choice.tools[{j}] must name one of the function tools",
                    param=f"tool_choice.tools[{j}]",
                )
            allowed.add(name)
        return allowed, cast(Literal["auto", "required"], mode)  # one of the two
    raise Unsupported(
        f"tool_choice: {kind!r} is not supported by localaik (function tools only)",
        param="tool_choice",
    )


def response_format(text: JSONValue) -> upstream.ResponseFormat | None:
    """`text.format` -> `response_format` (None for plain text)."""
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
            raise BadRequest(
                "text.format.schema: a JSON Schema object is required",
                param="text.format.schema",
            )
        name = fmt.get("name")
        spec: JsonSchemaFormat = {
            "name": name if isinstance(name, str) and name else "response",
            "schema": schema,
        }
        strict = fmt.get("strict")
        if isinstance(strict, bool):
            spec["strict"] = strict
        return {"type": "json_schema", "json_schema": spec}
    raise BadRequest(
        f"text.format.type must be text, json_object or json_schema (got {kind!r})",
        param="text.format.type",
    )
