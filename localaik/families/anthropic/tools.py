"""Anthropic `tools` and `tool_choice` -> OpenAI function tools, `tool_choice` and
`parallel_tool_calls`. Anthropic-defined tools (bash, web search, …) are refused: a local model
knows no built-in tool schema."""

from __future__ import annotations

from localaik.errors import BadRequest, Unsupported
from localaik.families.anthropic import wire as anthropic
from localaik.families.anthropic.turns import required_str
from localaik.upstream import wire as upstream
from localaik.wire.types import JSONValue


def tools(tools: JSONValue) -> tuple[list[upstream.FunctionTool], list[str]]:
    """`tools` -> function tools and their names."""
    if tools is None:
        return [], []
    if not isinstance(tools, list):
        raise BadRequest("tools: must be a list of tool definitions", param="tools")
    out = [_function_tool(_tool(tool, f"tools.{i}")) for i, tool in enumerate(tools)]
    names = [t["function"]["name"] for t in out]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise BadRequest(
            f"tools: tool names must be unique ({duplicate!r} is defined twice)", param="tools"
        )
    return out, names


def _tool(tool: JSONValue, at: str) -> anthropic.ToolParam:
    """A custom tool, checked: what it holds of a ToolParam (a description that is not a string
    and a strict that is not a boolean are left out)."""
    if not isinstance(tool, dict):
        raise BadRequest(f"{at}: must be a tool definition object", param=at)
    kind = tool.get("type")
    if kind not in anthropic.CUSTOM_TOOL_TYPES:
        raise Unsupported(
            f"{at}: the Anthropic-defined tool {kind!r} is not supported by localaik (server "
            "tools run on Anthropic's servers, and a local model knows no built-in tool "
            "schema); define a custom tool with an input_schema instead",
            param=at,
        )
    name = required_str(tool, "name", at)
    schema = tool.get("input_schema")
    if not isinstance(schema, dict):
        raise BadRequest(
            f"{at}.input_schema: Field required (a JSON Schema object)",
            param=f"{at}.input_schema",
        )
    checked: anthropic.ToolParam = {"name": name, "input_schema": schema}
    if isinstance(description := tool.get("description"), str):
        checked["description"] = description
    if isinstance(strict := tool.get("strict"), bool):
        checked["strict"] = strict
    return checked


def _function_tool(tool: anthropic.ToolParam) -> upstream.FunctionTool:
    function: upstream.FunctionDefinition = {"name": tool["name"]}
    if "description" in tool:
        function["description"] = tool["description"]
    function["parameters"] = tool["input_schema"]
    if "strict" in tool:
        function["strict"] = tool["strict"]
    return {"type": "function", "function": function}


def tool_choice(
    choice: JSONValue, names: list[str]
) -> tuple[upstream.ToolChoice | None, bool | None]:
    """tool_choice -> (OpenAI tool_choice, parallel_tool_calls), each None when not set."""
    if choice is None:
        return None, None
    if not isinstance(choice, dict) or not isinstance(choice.get("type"), str):
        raise BadRequest("tool_choice: must be an object with a type", param="tool_choice")
    kind = choice["type"]
    disable = choice.get("disable_parallel_tool_use")
    if disable is not None and not isinstance(disable, bool):
        raise BadRequest(
            "tool_choice.disable_parallel_tool_use: must be a boolean", param="tool_choice"
        )
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
        name = required_str(choice, "name", "tool_choice")
        if name not in names:
            raise BadRequest(
                f"tool_choice.name: no tool named {name!r} in tools", param="tool_choice"
            )
        return {"type": "function", "function": {"name": name}}, parallel
    raise BadRequest(
        f"tool_choice.type: unknown type {kind!r} (auto, any, tool, none)", param="tool_choice"
    )
