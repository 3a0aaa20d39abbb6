"""Anthropic `tools` and `tool_choice` -> OpenAI function tools, `tool_choice` and
`parallel_tool_calls`. Anthropic-defined tools (bash, web search, …) are refused: a local model
knows no built-in tool schema."""

from __future__ import annotations

from typing import Any

from localaik.errors import BadRequest, Unsupported
from localaik.families.anthropic import wire as protocol
from localaik.families.anthropic.turns import required_str


def tools(tools: Any) -> tuple[list[dict[str, Any]], list[str]]:
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
        raise BadRequest(
            f"tools: tool names must be unique ({duplicate!r} is defined twice)", param="tools"
        )
    return out, names


def tool_choice(choice: Any, names: list[str]) -> tuple[Any, bool | None]:
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
